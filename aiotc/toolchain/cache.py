"""The build cache of host and Arm builds: a build is made once per distinct compiler,
flags and sources, in the system temp folder.

Each build runs in a private staging folder that is renamed into place whole, so
repeated `run`/`verify`/`bench` calls on one output folder build once, and parallel
processes never share a half-written build (the first to finish wins).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def runtime_dir(out_dir: Path) -> Path:
    """Where an output folder's kernels are: its own aiotc_runtime/, or for a model of a
    group folder (aiotc/group.py) the group's, beside it."""
    own, group = Path(out_dir) / "aiotc_runtime", Path(out_dir).parent / "aiotc_runtime"
    return group if not own.is_dir() and group.is_dir() else own


def build_key(words: list[str], out_dir: Path, extra: dict[str, bytes]) -> str:
    """A hash of the compiler and flags (`words`), every C source and header of `out_dir`
    and of its runtime (headers hold inline kernels) and the `extra` generated files (name -> bytes)."""
    out_dir = Path(out_dir)
    library = {src.relative_to(out_dir).as_posix(): src.read_bytes() for src in sorted(out_dir.rglob("*.[ch]"))}
    runtime = runtime_dir(out_dir)
    if not runtime.is_relative_to(out_dir):
        library |= {f"../aiotc_runtime/{src.name}": src.read_bytes() for src in sorted(runtime.glob("*.[ch]"))}
    return content_key(words, {**library, **extra})


def content_key(words: list[str], files: dict[str, bytes]) -> str:
    """A hash of the compiler and flags (`words`) and the files (name -> bytes) a build reads."""
    key = hashlib.sha256("\0".join(words).encode())
    for name, data in sorted(files.items()):
        key.update(name.encode() + b"\0" + data + b"\0")
    return key.hexdigest()[:24]


def build_once(key: str, product: str, build: Callable[[Path], None]) -> Path:
    """The folder holding `product`: built by `build(folder)` unless a build with this key exists."""
    cache = Path(tempfile.gettempdir()) / "aiotc-build" / key
    if (cache / product).is_file():
        return cache
    staging = Path(tempfile.mkdtemp(prefix="aiotc-cc-"))
    try:
        build(staging)
        cache.parent.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(cache)
        except OSError:  # another process built the same product first
            pass
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return cache
