"""`aiotc ops` against tflite-micro's op resolver (issue 20): every builtin MicroMutableOpResolver
registers is listed by aiotc, or is named below with the reason it is not."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from .conftest import aiotc

RESOLVER = "tensorflow/lite/micro/micro_mutable_op_resolver.h"
TFLM_TREE = Path.home() / ".cache" / "tflm-peer" / "tflite-micro"
TFLM_MIRROR = Path("/work/.mirror/tensorflow+tflite-micro/repo")

OUT_OF_SCOPE = {  # builtins issue 20 leaves out, and why
    "IF": "control flow: subgraphs (WHILE of a fixed trip count is unrolled; IF is not taken yet)",
    "CUSTOM": "custom ops are registered by name: CUSTOM_OUT_OF_SCOPE",
}
NOT_YET: dict[str, str] = {}  # in issue 20's scope, not done yet: add an entry while its op is missing
CUSTOM_OUT_OF_SCOPE = {  # custom ops the resolver registers by name
    **dict.fromkeys(
        (
            "SignalDelay",
            "SignalEnergy",
            "SignalFftAutoScale",
            "SignalFilterBank",
            "SignalFilterBankLog",
            "SignalFilterBankSpectralSubtraction",
            "SignalFilterBankSquareRoot",
            "SignalFramer",
            "SignalIrfft",
            "SignalOverlapAdd",
            "SignalPCAN",
            "SignalRfft",
            "SignalStacker",
            "SignalWindow",
        ),
        "the signal library's audio front end (issue 20 leaves it out)",
    ),
    "CIRCULAR_BUFFER": "streaming state kept across invokes",
    "TFLM_DECODE": "tflite-micro's compressed-weight decoder",
    "TFLite_Detection_PostProcess": "object-detection box decoding and non-max suppression",
}


def _resolver() -> str:
    if (TFLM_TREE / RESOLVER).is_file():
        return (TFLM_TREE / RESOLVER).read_text()
    if TFLM_MIRROR.is_dir():
        done = subprocess.run(
            ["git", "--git-dir", str(TFLM_MIRROR), "show", f"HEAD:{RESOLVER}"], capture_output=True, text=True
        )
        if done.returncode == 0:
            return done.stdout
    pytest.skip("no tflite-micro source tree or mirror to read the resolver from")


def test_every_tflite_micro_builtin_is_listed_or_named_as_left_out():
    header = _resolver()
    resolver = set(re.findall(r"BuiltinOperator_(\w+)", header))
    assert len(resolver) > 90  # the header was read, not an unrelated file
    result = aiotc("ops", env={"COLUMNS": "250"})
    assert result.returncode == 0, result.stderr
    listed = set(re.findall(r"\b[A-Z][A-Z0-9_]*[A-Z0-9]\b", result.stdout))
    explained = set(OUT_OF_SCOPE) | set(NOT_YET)
    assert resolver - listed - explained == set(), "tflite-micro builtins aiotc neither lists nor explains"
    assert explained & listed == set(), "listed as supported: drop them from OUT_OF_SCOPE / NOT_YET"
    assert explained <= resolver
    assert set(re.findall(r'AddCustom\("(\w+)"', header)) <= set(CUSTOM_OUT_OF_SCOPE)


def test_ops_lists_types_and_int4_weights():
    from aiotc.cli import kernel_types

    assert kernel_types("conv2d") == ("int8", "int16", "float32", "int4 weights")
    assert "int4 weights" not in kernel_types("add") and "float32" in kernel_types("add")
    words = aiotc("ops", env={"COLUMNS": "250"}).stdout
    assert "int4" in words and "HardSigmoid" in words and "Slice" in words
