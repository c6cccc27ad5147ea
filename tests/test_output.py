"""The output folder: a recompile never deletes what aiotc did not write, and a killed
compile leaves the old folder or the new one, whole."""

from __future__ import annotations

import errno
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from aiotc import output
from aiotc.output import MANIFEST, digest, read_manifest, rewrite_file, write_folder

from .test_cli import aiotc, stripes  # noqa: F401  (the fixture)


def complete(folder) -> bool:
    """The folder is exactly what its manifest says: no file missing, edited or added."""
    written = read_manifest(folder)
    present = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {MANIFEST}
    return present == written.keys() and all(digest(folder / rel) == sha for rel, sha in written.items())


def test_a_file_of_the_users_stops_the_recompile_and_stays(stripes, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    assert aiotc("compile", stripes, "-o", out, "-q").returncode == 0
    (out / "app.c").write_text("int main(void) { return 0; }\n")
    (out / "board").mkdir()
    result = aiotc("compile", stripes, "-o", out, "-q")
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert (
        "files aiotc did not write (app.c, board/):" in result.stderr
        and "--force" in result.stderr
        and "Traceback" not in result.stderr
    )
    assert (out / "app.c").read_text() == "int main(void) { return 0; }\n" and (out / "board").is_dir()


def test_an_edited_generated_file_is_named(stripes, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    assert aiotc("compile", stripes, "-o", out, "-q").returncode == 0
    with open(out / "stripes.h", "a") as header:
        header.write("#define BOARD_LED 3\n")
    result = aiotc("compile", stripes, "-o", out, "-q")
    assert result.returncode == 2 and "files it wrote that were edited since (stripes.h):" in result.stderr
    assert (out / "stripes.h").read_text().endswith("#define BOARD_LED 3\n")


def test_force_replaces_and_keeps_a_backup(stripes, tmp_path):  # noqa: F811
    out = tmp_path / "out"
    assert aiotc("compile", stripes, "-o", out, "-q").returncode == 0
    generated = (out / "stripes.h").read_text()
    (out / "notes" / "todo.txt").parent.mkdir()
    (out / "notes" / "todo.txt").write_text("mine")
    (out / "stripes.h").write_text("edited")
    (tmp_path / "out.backup").mkdir()  # an earlier backup is never overwritten
    result = aiotc("compile", stripes, "-o", out, "-q", "--force")
    assert result.returncode == 0, result.stderr
    backup = tmp_path / "out.backup-2"
    assert str(backup) in result.stderr
    assert (backup / "notes" / "todo.txt").read_text() == "mine" and (backup / "stripes.h").read_text() == "edited"
    assert (out / "stripes.h").read_text() == generated and not (out / "notes").exists() and complete(out)


def test_a_recompile_of_an_untouched_folder_and_after_bench_rewrote_its_report(tmp_path):
    out = tmp_path / "out"
    write_folder(out, {"m.c": "int x;\n", "report.json": "{}\n"})
    rewrite_file(out, "report.html", b"<html>with instructions</html>")  # what `bench OUT` does
    assert write_folder(out, {"m.c": "int y;\n", "report.json": "{}\n"}) is None
    assert (out / "m.c").read_text() == "int y;\n" and not (out / "report.html").exists() and complete(out)


def test_a_folder_of_an_older_aiotc_without_manifest(tmp_path):
    """Only the files the new build writes count as aiotc's: a README of the user's stops it."""
    out = tmp_path / "out"
    out.mkdir()
    for name in ("m.c", "report.json", "README"):
        (out / name).write_text("old")
    with pytest.raises(output.UsageError, match=r"did not write \(README\):"):
        write_folder(out, {"m.c": "new", "report.json": "{}"})
    (out / "README").unlink()
    write_folder(out, {"m.c": "new", "report.json": "{}"})
    assert (out / "m.c").read_text() == "new"


def test_a_full_disk_leaves_the_old_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_folder(out, {"a.c": "1", "report.json": "{}"})

    def full(folder, files):
        (folder / "a.c").write_text("half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(output, "write_files", full)
    with pytest.raises(output.UsageError, match="No space left on device; it is left as it was"):
        write_folder(out, {"a.c": "2", "report.json": "{}"})
    assert (out / "a.c").read_text() == "1" and complete(out) and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_the_swap_without_rename_exchange(tmp_path, monkeypatch):
    monkeypatch.setattr(output, "exchange", lambda a, b: False)
    out = tmp_path / "out"
    write_folder(out, {"a.c": "1", "report.json": "{}"})
    write_folder(out, {"b.c": "2", "report.json": "{}"})
    assert sorted(p.name for p in out.iterdir()) == ["b.c", MANIFEST, "report.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no temp folder left behind


def test_a_killed_compile_leaves_the_old_folder_or_the_new(stripes, tmp_path):  # noqa: F811
    """20 compiles killed at random moments: half anywhere in the run, half just after the
    staging folder appears (the write and the swap). Names alternate, so a mix would show."""
    out = tmp_path / "out"
    assert aiotc("compile", stripes, "-o", out, "--name", "a", "-q").returncode == 0
    start = time.monotonic()
    assert aiotc("compile", stripes, "-o", out, "--name", "b", "-q").returncode == 0
    duration = time.monotonic() - start
    rng = random.Random(26)
    for attempt in range(20):
        for leftover in tmp_path.glob(".out.*"):  # a killed compile's staging folder
            shutil.rmtree(leftover)
        process = subprocess.Popen(
            [sys.executable, "-m", "aiotc", "compile", str(stripes), "-o", str(out), "--name", "ab"[attempt % 2], "-q"],
            stderr=subprocess.PIPE,
        )
        if attempt % 2:
            time.sleep(rng.uniform(0, duration))
        else:  # the staging folder appeared: aiotc is writing
            while process.poll() is None and not any(p.name.startswith(".out.") for p in tmp_path.iterdir()):
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.02))
        process.send_signal(signal.SIGKILL)
        assert process.wait() in (0, -signal.SIGKILL), process.stderr.read()
        assert len(read_manifest(out)) > 5 and complete(out), (
            f"attempt {attempt}: {sorted(p.name for p in out.iterdir())}"
        )
