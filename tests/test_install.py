"""A plain (non-editable) `pip install .` gives a working aiotc in another folder.

The package list, the shipped data folders (templates, runtime_c, boards) and the
entry point are what an editable install hides; this installs the repository into a
fresh virtual environment (its dependencies taken from this interpreter's) and runs
compile, verify and bench there, from a folder outside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, shared_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(folder)], check=True)
    pip = [
        str(folder / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        str(ROOT),
    ]
    subprocess.run(pip, check=True, cwd=folder, env=_clean_env())
    return folder


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH: the installed package, not this checkout, must answer."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def aiotc(venv: Path, cwd: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(venv / "bin" / "aiotc"), *map(str, args)], capture_output=True, text=True, cwd=cwd, env=_clean_env()
    )


def test_installed_package_is_used(venv, tmp_path):
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import aiotc; print(aiotc.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_clean_env(),
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv)


def test_compile_verify_from_another_folder(venv, tmp_path):
    model = shared_model("mlperf_tiny/ad01_int8.tflite")
    compiled = aiotc(venv, tmp_path, "compile", model, "--board", "host", "-o", "out")
    assert compiled.returncode == 0, compiled.stderr
    assert (tmp_path / "out" / "aiotc_runtime").is_dir()
    verified = aiotc(venv, tmp_path, "verify", "out", "--board", "host", "--samples", "2", "--json")
    assert verified.returncode == 0, verified.stderr
    assert json.loads(verified.stdout)["mismatches"] == 0


@pytest.mark.qemu
def test_bench_from_another_folder(venv, tmp_path):
    model = shared_model("mlperf_tiny/ad01_int8.tflite")
    bench = aiotc(venv, tmp_path, "bench", model, "--board", "cortex-m4", "--json")
    assert bench.returncode == 0, bench.stderr
    assert json.loads(bench.stdout)["instructions"] > 0
