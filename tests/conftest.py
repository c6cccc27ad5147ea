"""Shared test helpers: where the shared models are, the CLI as a subprocess, and
running a compiled folder against its oracle."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"


def shared_model(relative: str) -> Path:
    """A model of ../shared/models; the test is skipped where that folder is absent."""
    path = MODELS / relative
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path


def aiotc(*args, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m aiotc ARGS` as a user runs it, with this checkout's aiotc whatever the folder."""
    environment = os.environ | {"PYTHONPATH": str(ROOT)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "aiotc", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=environment
    )


def verify_folder(out: Path, board: str = "host", samples: int = 3, seed: int = 1):
    """The compiled folder built for `board` (host gcc or QEMU) against its oracle on random inputs."""
    from aiotc.samples import random_samples
    from aiotc.verification import build_runner, verify

    runner = build_runner(out, board)
    return verify(out, board, random_samples(runner.inputs, samples, seed), runner=runner)


def assert_bit_exact(result, oracle: str = "tflite-micro") -> None:
    assert result.oracle == oracle and result.samples > 0, result
    assert result.mismatches == 0 and result.max_abs_diff == 0, result
