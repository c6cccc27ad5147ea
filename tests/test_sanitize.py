"""The generated C under AddressSanitizer and UBSan: no report on any shared model, with
the arena, input and output as exactly sized heap blocks, so the planned arena is
provably all the memory the code touches."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from aiotc.driver import compile_model
from aiotc.errors import ToolchainError
from aiotc.resources import data_dir
from aiotc.samples import random_samples
from aiotc.toolchain.sanitize import SanitizedModel
from aiotc.verification import verify

from .conftest import shared_model

MODELS = [
    "mlperf_tiny/kws_ref_model.tflite",
    "mlperf_tiny/vww_96_int8.tflite",
    "mlperf_tiny/pretrainedResnet_quant.tflite",
    "mlperf_tiny/ad01_int8.tflite",
    "mlperf_tiny/str_ww_ref_model.tflite",
    "mlperf_tiny/vww_96_float.tflite",
    "mlperf_tiny/pretrainedResnet.tflite",
    "mlperf_tiny/ad01_fp32.tflite",
    "keras/fire_64_int8.tflite",
    "keras/fire_64_float.tflite",
    "keras/mcunet_like_160_int8.tflite",
    "keras/mcunet_like_160_float.tflite",
    "keras/mbv2_w035_144_int8.tflite",
    "keras/mbv2_w035_144_float.tflite",
]


@pytest.mark.slow
@pytest.mark.parametrize("relative", MODELS)
def test_no_sanitizer_report_and_oracle_outputs(relative, tmp_path):
    out = compile_model(shared_model(relative), board="host", out_dir=tmp_path / "out").out_dir
    runner = SanitizedModel.build(out)
    result = verify(out, "host", random_samples(runner.inputs, 2, seed=5), runner=runner)
    assert result.mismatches == 0, result


def test_an_arena_one_granule_short_is_caught(tmp_path):
    """The arena cut 16 bytes into the highest activation: ASan reports the write past it, so the
    activations' extent is tight and the guard works. (Cut below the highest activation, not the
    arena's end: a scratch buffer may sit on top, and the host build of the 1x1 and gemm kernels
    leaves the scratch they widen columns into on DSP cores untouched.)"""
    result = compile_model(shared_model("mlperf_tiny/kws_ref_model.tflite"), board="host", out_dir=tmp_path / "out")
    out = result.out_dir
    top = max(
        entry["offset"] + entry["bytes"]
        for entry in result.report["memory"]["layout"]
        if not entry["buffer"].startswith("scratch:")
    )
    short = tmp_path / "short"
    shutil.copytree(out, short)
    header = short / "kws_ref_model.h"
    text = header.read_text()
    size = int(re.search(r"KWS_REF_MODEL_ARENA_SIZE (\d+)u", text).group(1))
    header.write_text(text.replace(f"KWS_REF_MODEL_ARENA_SIZE {size}u", f"KWS_REF_MODEL_ARENA_SIZE {top - 16}u"))
    runner = SanitizedModel.build(short)
    with pytest.raises(ToolchainError, match="heap-buffer-overflow"):
        runner.invoke_batch(random_samples(runner.inputs, 1, seed=0))
    assert SanitizedModel.build(out).invoke_batch(random_samples(runner.inputs, 1, seed=0))


def test_the_arena_is_the_only_writable_global(tmp_path):
    """No kernel and no generated graph keeps mutable state: nm finds no .data/.bss symbol but NAME_arena."""
    out = compile_model(shared_model("keras/fire_64_int8.tflite"), board="host", out_dir=tmp_path / "out").out_dir
    runtime = data_dir("runtime_c")
    sources = [out / "fire_64_int8.c", out / "fire_64_int8_weights.c", *sorted((runtime / "src").glob("*.c"))]
    build = tmp_path / "objects"
    build.mkdir()
    # -fno-pie as on a microcontroller: a PIE build puts const structs holding pointers in
    # .data.rel.ro (read-only once relocated), which nm would list as data too.
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-O2",
            "-fno-common",
            "-fno-pie",
            f"-I{out}",
            f"-I{runtime / 'include'}",
            "-c",
            *map(str, sources),
        ],
        cwd=build,
        check=True,
    )
    symbols = subprocess.run(
        ["nm", "--defined-only", *sorted(p.name for p in build.glob("*.o"))],
        cwd=build,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    writable = re.findall(r"^[0-9a-f]+ [bBdD] (\S+)$", symbols, re.M)
    assert writable == ["fire_64_int8_arena"]
