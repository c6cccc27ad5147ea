"""SVDF, float32 and tflite-micro's integer SVDF (int16 or int8 state), bit-exact with
tflite-micro over sequences of invokes that carry the state.

Single-SVDF graphs are built with tests/oplib.py and written with aiotc's writer; the
keyword models of the tflite-micro repository (the only SVDF models in it) are read from
its source tree when one is present (tests/test_lstm.py's tflm_model), and run as
sequences on the host and in QEMU by tests/test_tflm_recurrent.py.
"""

from __future__ import annotations

import dataclasses

import numpy as np
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


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize(
    "svdf",
    [
        dict(units=38, rank=1, memory=11),  # 38 filters: blocks of 4 and a partial one; 11 values: a vector's tail
        dict(units=15, rank=3, memory=6, state_dtype="int8", state_zp=17),  # int8 state, its zero point
        # the DSP rows turned a word at a time: int16 pairs, int8 quads, rank 1 and over, the last word alone
        dict(units=38, rank=1, memory=8),
        dict(units=38, rank=2, memory=2),
        dict(units=40, rank=1, memory=12, state_dtype="int8", state_zp=-5),
        dict(units=38, rank=1, memory=8, state_dtype="int8", state_zp=3),  # int8 rows of 8: unrolled on the M4
        dict(units=20, rank=2, memory=4, state_dtype="int8", state_zp=9),
    ],
)
@pytest.mark.parametrize("packed", [True, False], ids=["packed", "rows"])
def test_state_carries_in_qemu(svdf, packed, board, tmp_path):
    """Both integer kernels' DSP (M4) and MVE (M55) paths: the state's shift (on the M4 each
    row turned as its time products are summed), the feature and time products (enough MACs
    that the planner keeps the packed kernel). A -128 under a negative weight of the filter
    before keeps the feature weights out of the packed layout (aiotc_svdf_rows_s8 then
    runs)."""
    graph = svdf_graph("int8", batches=2, features=90, **svdf)
    features = graph[graph.ops[0].inputs[1]]
    data = np.clip(features.data, -127, 127)  # TFLite's symmetric weights
    if not packed:
        data[0, 0], data[1, 0] = -3, -128
    graph = graph.with_ops(graph.ops, dict(graph.tensors) | {features.name: dataclasses.replace(features, data=data)})
    model = tmp_path / "svdf.tflite"
    model.write_bytes(write_tflite(graph))
    assert_sequence_matches(model, tmp_path / "out", board=board)
    kernel = "aiotc_svdf_packed_s8(" if packed else "aiotc_svdf_rows_s8("
    assert kernel in (tmp_path / "out" / "svdf.c").read_text()


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


@pytest.mark.parametrize("name", TFLM_SVDF_MODELS)
def test_tflm_keyword_models(name, tmp_path):
    out = compile_model(tflm_model(TFLM_SVDF_MODELS[name]), board="host", out_dir=tmp_path / "out").out_dir
    result = verify_folder(out, samples=3)
    assert result.oracle == "tflite-micro" and result.mismatches == 0, result
