"""Compiles are reproducible and independent: the same model gives the same bytes, in
any folder, in any process, beside any other compile; parallel host builds of one
library share the cache safely; aiotc writes only to its output folder and the temp folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from aiotc.driver import compile_model
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel, build_shared_library

from .conftest import shared_model

MODELS = [
    "mlperf_tiny/vww_96_int8.tflite",
    "keras/fire_64_int8.tflite",
    "mlperf_tiny/ad01_fp32.tflite",
    "mlperf_tiny/str_ww_ref_model.tflite",
]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _compile(model: Path, out_dir: Path, board: str = "cortex-m4") -> dict[str, bytes]:
    return tree(compile_model(model, board=board, out_dir=out_dir).out_dir)


def test_same_model_twice_gives_identical_folders(tmp_path):
    model = shared_model("mlperf_tiny/pretrainedResnet_quant.tflite")
    first = _compile(model, tmp_path / "a" / "resnet")
    second = _compile(model, tmp_path / "elsewhere" / "other_name")
    assert first.keys() == second.keys() and len(first) > 5
    assert [name for name in first if first[name] != second[name]] == []
    for name, data in first.items():  # nothing of where it was written leaks into it
        assert str(tmp_path).encode() not in data, name


def test_parallel_compiles_equal_serial_compiles(tmp_path):
    models = [shared_model(m) for m in MODELS]
    serial = [_compile(model, tmp_path / "serial" / model.stem) for model in models]
    with ProcessPoolExecutor(max_workers=len(models)) as pool:
        parallel = list(pool.map(_compile, models, [tmp_path / "parallel" / model.stem for model in models]))
    for model, one, other in zip(models, serial, parallel):
        assert one == other, model.name


def test_parallel_host_builds_share_one_cache_entry(tmp_path):
    """Four processes build the same never-built library at once: one cached product, and it works."""
    out = compile_model(shared_model("mlperf_tiny/ad01_int8.tflite"), out_dir=tmp_path / "ad01").out_dir
    nonce = (f"-DAIOTC_TEST_NONCE={uuid.uuid4().int % 10**9}",)  # a fresh cache key: nobody built this yet
    with ProcessPoolExecutor(max_workers=4) as pool:
        libraries = list(pool.map(build_shared_library, [out] * 4, ["ad01_int8"] * 4, [nonce] * 4))
    assert len(set(libraries)) == 1 and libraries[0].is_file()
    assert [p.name for p in libraries[0].parent.iterdir()] == [libraries[0].name]
    reference = HostModel.build(out)
    model = HostModel(libraries[0], reference.name, reference.inputs, reference.outputs, 4096)
    sample = random_samples(reference.inputs, 1, seed=3)[0]
    assert all(np.array_equal(a, b) for a, b in zip(model.invoke(sample), reference.invoke(sample)))


WRITES = re.compile(
    r'^\d+\s+(?:openat\(AT_FDCWD, "([^"]+)", [^)]*O_(?:WRONLY|RDWR|CREAT)[^)]*\)|(?:mkdir|rename|unlink|rmdir)\w*\((?:AT_FDCWD, )?"([^"]+)")[^=]*= \d+',
    re.M,
)


def test_aiotc_writes_only_to_its_output_folder_and_the_temp_folder(tmp_path):
    """compile, then verify (host build and oracle), traced by strace: every file written, made, renamed or removed.

    The one write beside OUT is its staging sibling `.OUT.*`, renamed into place so
    OUT appears whole or not at all, and gone afterwards. (Not --sanitize:
    LeakSanitizer refuses to run under ptrace.)
    """
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace not installed")
    work, temp, out = tmp_path / "cwd", tmp_path / "temp", tmp_path / "out"
    work.mkdir(), temp.mkdir()
    env = os.environ | {"TMPDIR": str(temp), "PYTHONDONTWRITEBYTECODE": "1"}
    model = shared_model("mlperf_tiny/ad01_int8.tflite")
    written: set[str] = set()
    for args in (
        ["compile", str(model), "-o", str(out), "-q"],
        ["verify", str(out), "--board", "host", "--samples", "2"],
    ):
        trace = tmp_path / "trace.txt"
        command = [
            strace,
            "-f",
            "-qq",
            "-e",
            "trace=openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir",
            "-o",
            str(trace),
            sys.executable,
            "-m",
            "aiotc",
            *args,
        ]
        run = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        written |= {os.path.normpath(work / (a or b)) for a, b in WRITES.findall(trace.read_text())}
    allowed = (str(out), str(tmp_path / ".out."), str(temp), str(tmp_path / "trace.txt"), "/dev/")
    assert written and [path for path in sorted(written) if not path.startswith(allowed)] == []
    assert list(work.iterdir()) == [] and not list(tmp_path.glob(".out.*"))
