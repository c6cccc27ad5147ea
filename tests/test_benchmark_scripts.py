"""The benchmark scripts' bad-input paths: one line, exit 2, before any measuring."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from .conftest import ROOT


def test_latency_without_cmsis5_says_how_to_get_it(tmp_path):
    """A fresh clone has no CMSIS_5 mirror (MIRROR) and no export of it (~/.cache/tflm-old)."""
    shutil.copy(ROOT / "benchmarks" / "latency.json", tmp_path / "latency.json")
    env = os.environ | {"PYTHONPATH": str(ROOT), "HOME": str(tmp_path), "MIRROR": str(tmp_path / "mirror")}
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "latency.py"), "--reuse", "peer,aiotc", "--out", str(tmp_path / "latency.md")],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    assert result.returncode == 2
    assert (
        result.stderr.count("\n") == 1 and "git clone --bare https://github.com/ARM-software/CMSIS_5" in result.stderr
    )
    assert not (tmp_path / "latency.md").exists()
