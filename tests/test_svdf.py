"""SVDF, float32 and tflite-micro's integer SVDF (int16 or int8 state), bit-exact with
tflite-micro over sequences of invokes that carry the state.

Single-SVDF graphs are built with tests/oplib.py and written with aiotc's writer; the
keyword models of the tflite-micro repository (the only SVDF models in it) are read from
a checkout of it when one is present (AIOTC_TFLM_REPO, a git dir).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aiotc.driver import compile_model
from aiotc.errors import UnsupportedOpsError
from aiotc.export.tflite import write_tflite
from aiotc.frontend.tflite import load_tflite

from .conftest import assert_sequence_matches, verify_folder
from .oplib import OpGraph, assert_matches_oracle
from .test_lstm import tflm_model

TFLM_SVDF_MODELS = {
    "keyword_scrambled": "tensorflow/lite/micro/models/keyword_scrambled.tflite",
    "keyword_scrambled_8bit": "tensorflow/lite/micro/models/keyword_scrambled_8bit.tflite",
}
# In tflite-micro too, the scrambled weights of the 8-bit model leave its outputs the same
# whatever the state holds: its sequences are compared, the state cannot show in them.
SHOWS_STATE = {"keyword_scrambled": True, "keyword_scrambled_8bit": False}


def svdf_graph(dtype="int8", batches=1, features=12, seed=0, **svdf):
    g = OpGraph(seed=seed, dtype=dtype)
    x = g.input((batches, features), scale=0.03, zero_point=-7)
    return g.build(g.svdf(x, **svdf))


CASES = {
    "rank1": dict(units=4, rank=1, memory=5),
    "rank2_int16_state": dict(units=6, rank=2, memory=8),
    "int8_state_zero_point": dict(units=4, rank=2, memory=6, state_dtype="int8", state_zp=-20),
    "batches": dict(batches=3, units=3, rank=3, memory=4),
    "memory1": dict(units=5, rank=1, memory=1),
}


@pytest.mark.parametrize("case", CASES)
def test_int8_svdf_is_bit_exact(case, tmp_path):
    assert_matches_oracle(svdf_graph("int8", **CASES[case]), tmp_path, samples=4)


@pytest.mark.parametrize("case", ["rank1", "batches"])
@pytest.mark.parametrize("activation", ["none", "relu"])
def test_float_svdf_matches(case, activation, tmp_path):
    kwargs = {k: v for k, v in CASES[case].items() if k not in ("state_dtype", "state_zp")}
    assert_matches_oracle(svdf_graph("float32", activation=activation, **kwargs), tmp_path, samples=4)


def test_float_svdf_without_bias(tmp_path):
    assert_matches_oracle(svdf_graph("float32", units=4, rank=2, memory=3, bias=False), tmp_path, samples=3)


@pytest.mark.parametrize(
    "dtype, svdf",
    [
        ("int8", dict(units=6, rank=2, memory=8)),
        ("int8", dict(units=4, rank=2, memory=6, state_dtype="int8", state_zp=17)),
        ("float32", dict(units=4, rank=2, memory=5)),
    ],
)
def test_state_carries_across_invokes_and_resets(dtype, svdf, tmp_path):
    model = tmp_path / "svdf.tflite"
    model.write_bytes(write_tflite(svdf_graph(dtype, batches=2, **svdf)))
    assert_sequence_matches(model, tmp_path / "out", tolerance=0 if dtype == "int8" else 1e-5)


def test_integer_svdf_without_bias_is_refused(tmp_path):
    path = tmp_path / "svdf.tflite"
    path.write_bytes(write_tflite(svdf_graph("int8", units=4, bias=False)))
    with pytest.raises(UnsupportedOpsError, match="without a bias"):
        load_tflite(path)


def test_state_is_outside_the_arena(tmp_path):
    model = tmp_path / "svdf.tflite"
    model.write_bytes(write_tflite(svdf_graph("int8", batches=2, units=4, rank=2, memory=6)))
    report = compile_model(model, board="host", out_dir=tmp_path / "out").report
    assert report["state_bytes"] == 2 * 2 * 6 * 8  # int16 [2, 6 x 8], a multiple of 16 bytes
    assert not {b["buffer"] for b in report["memory"]["layout"]} & {s["tensor"] for s in report["state"]}


def every_svdf_output(model: Path) -> Path:
    """The model with each SVDF layer's output as a model output. The keyword models'
    scrambled weights saturate their softmax (every output is the same), so a sequence
    test compares each layer's output, which its state shapes, instead."""
    graph = load_tflite(model)
    outputs = tuple(op.outputs[0] for op in graph.ops if op.kind == "svdf")
    last = max(i for i, op in enumerate(graph.ops) if op.outputs[0] in outputs)
    path = model.with_name(f"{model.stem}_svdf.tflite")
    path.write_bytes(write_tflite(dataclasses.replace(graph, outputs=outputs).with_ops(graph.ops[: last + 1])))
    return path


@pytest.mark.parametrize("name", TFLM_SVDF_MODELS)
def test_tflm_keyword_models(name, tmp_path):
    model = tflm_model(TFLM_SVDF_MODELS[name], tmp_path)
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    result = verify_folder(out, samples=3)
    assert result.oracle == "tflite-micro" and result.mismatches == 0, result
    assert_sequence_matches(every_svdf_output(model), tmp_path / "sequence", shows_state=SHOWS_STATE[name])


@pytest.mark.qemu
@pytest.mark.parametrize("name", TFLM_SVDF_MODELS)
def test_tflm_keyword_models_in_qemu(name, tmp_path):
    model = every_svdf_output(tflm_model(TFLM_SVDF_MODELS[name], tmp_path))
    assert_sequence_matches(model, tmp_path / "out", board="cortex-m4", shows_state=SHOWS_STATE[name])
