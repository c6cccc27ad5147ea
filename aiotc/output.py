"""Writing the output folder: whole or not at all, and never at the cost of a file aiotc did not write.

aiotc records what it wrote in `manifest.sha256` (the format of `sha256sum`, so
`sha256sum -c manifest.sha256` checks a folder by hand). Before replacing a folder it
compares the folder with that record: a file it did not write, or one of its own that was
edited since, stops the write with one line naming them, unless `force`, which moves them
to a backup folder beside OUT. The old folder is replaced in one atomic swap
(renameat2 RENAME_EXCHANGE on Linux), so a killed compile leaves the old folder or the
new one, never a mix.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import itertools
import os
import shutil
import sys
import tempfile
from pathlib import Path

from .errors import UsageError

MANIFEST = "manifest.sha256"


def write_folder(out_dir: Path, files: dict[str, str | bytes], force: bool = False) -> Path | None:
    """Write all files to a sibling temp folder, then swap it in for OUT.

    Returns the backup folder when `force` moved files aiotc did not write (or edited ones) there."""
    out_dir = Path(out_dir).resolve()
    foreign, edited = files_at_risk(out_dir, files) if out_dir.exists() else ([], [])
    at_risk = sorted(foreign + edited)
    if at_risk and not force:
        held = [
            f"{what} ({', '.join(rels)})"
            for what, rels in (
                ("files aiotc did not write", foreign),
                ("files it wrote that were edited since", edited),
            )
            if rels
        ]
        raise UsageError(
            f"{out_dir} holds {' and '.join(held)}: move them, choose another -o, or pass --force to move them to {out_dir.name}.backup"
        )
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
        try:
            write_files(staging, files)
            write_manifest(staging, {rel: digest(staging / rel) for rel in files})
            os.chmod(staging, 0o755)
            swap_in(staging, out_dir)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    except OSError as exc:  # a full disk, a read-only folder: OUT stays as it was
        raise UsageError(f"cannot write {out_dir}: {exc.strerror}; it is left as it was") from None
    # staging now holds the old folder: interrupted before the backup is done, it stays
    backup = back_up(staging, at_risk, out_dir) if at_risk else None
    shutil.rmtree(staging, ignore_errors=True)
    return backup


def files_at_risk(out_dir: Path, new_files: dict) -> tuple[list[str], list[str]]:
    """OUT's files (relative paths) that aiotc did not write, and those it wrote that someone edited since."""
    if not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a folder; choose another -o")
    present = sorted(folder_entries(out_dir))
    if MANIFEST in present:
        written = read_manifest(out_dir)
        foreign = [rel for rel in present if rel not in written and rel != MANIFEST]
        return foreign, [rel for rel in present if rel in written and written[rel] != digest(out_dir / rel)]
    if present and "report.json" not in present:
        raise UsageError(f"{out_dir} exists and is not an aiotc output folder; choose another -o")
    return [rel for rel in present if rel not in new_files], []  # an older aiotc's folder: edits go unseen


def folder_entries(folder: Path) -> list[str]:
    """Every file, symlink and empty folder under `folder`, as relative paths (folders end in /)."""
    entries = []
    for root, dirs, names in os.walk(folder):
        rel = Path(root).relative_to(folder)
        entries += [(rel / name).as_posix() for name in names]
        entries += [(rel / name).as_posix() for name in dirs if os.path.islink(os.path.join(root, name))]
        if not dirs and not names and root != str(folder):
            entries.append(rel.as_posix() + "/")
    return entries


def digest(path: Path) -> str:
    """sha256 of a file's bytes (of a symlink's target path: aiotc writes no symlinks)."""
    data = os.readlink(path).encode() if path.is_symlink() else path.read_bytes() if path.is_file() else b""
    return hashlib.sha256(data).hexdigest()


def write_manifest(folder: Path, written: dict[str, str]) -> None:
    """Record `written` (relative path -> sha256) as the files aiotc wrote in `folder`."""
    write_file(folder / MANIFEST, "".join(f"{sha}  {rel}\n" for rel, sha in sorted(written.items())).encode())


def read_manifest(folder: Path) -> dict[str, str]:
    """Relative path -> sha256, as write_manifest recorded them."""
    return {
        rel: sha for sha, rel in (line.split("  ", 1) for line in (folder / MANIFEST).read_text().splitlines() if line)
    }


def swap_in(new: Path, out_dir: Path) -> None:
    """Put folder `new` at `out_dir` in one step; the old folder, if any, ends at `new`'s path."""
    if not out_dir.exists():
        new.rename(out_dir)
    elif not exchange(new, out_dir):  # a system without RENAME_EXCHANGE: two renames, a short window without OUT
        aside = new.with_name(new.name + ".old")
        out_dir.rename(aside)
        new.rename(out_dir)
        aside.rename(new)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None) if sys.platform == "linux" else None
    if renameat2 is None:
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):  # old kernel, or a file system without it
        return False
    raise OSError(code, os.strerror(code), str(b))


def back_up(old: Path, rels: list[str], out_dir: Path) -> Path:
    """Move `rels` out of the replaced folder into the first free OUT.backup[-N] beside OUT."""
    backup = next(
        path
        for n in itertools.count(1)
        if not (path := out_dir.with_name(f"{out_dir.name}.backup" + (f"-{n}" if n > 1 else ""))).exists()
    )
    for rel in rels:
        target = backup / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        (old / rel).rename(target)
    return backup


def write_file(path: Path, data: bytes) -> None:
    """Write through a sibling temp file and rename: the file is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def rewrite_file(out_dir: Path, rel: str, data: bytes) -> None:
    """Replace one file of an output folder aiotc wrote, and record it as aiotc's in the manifest
    (a model's folder inside a group folder: the group's manifest)."""
    out_dir = Path(out_dir)
    write_file(out_dir / rel, data)
    folder, key = out_dir, rel
    if not (out_dir / MANIFEST).is_file() and (out_dir.parent / "models.json").is_file():
        folder, key = out_dir.parent, f"{out_dir.name}/{rel}"
    if (folder / MANIFEST).is_file():
        write_manifest(folder, read_manifest(folder) | {key: digest(out_dir / rel)})


def write_files(folder: Path, files: dict[str, str | bytes]) -> None:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
