"""Reductions (SUM, REDUCE_MAX, REDUCE_MIN, ARG_MAX, ARG_MIN) against tflite-micro, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.driver import compile_model
from aiotc.errors import UnsupportedOpsError
from aiotc.export.tflite import write_tflite
from aiotc.frontend import load_model
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .oplib import OpGraph, assert_matches_oracle, mixed_precision_model
from .tflite_raw import RawModel

DTYPES = ["int8", "float32"]

REDUCE_CASES = {
    "spatial keepdims": dict(shape=(1, 5, 6, 3), axes=(1, 2)),
    "channels squeezed": dict(shape=(1, 3, 3, 7), axes=(3,), keepdims=False),
    "all of rank 4": dict(shape=(2, 3, 2, 5), axes=(0, 1, 2, 3), keepdims=False),
    "batch and width": dict(shape=(3, 2, 4, 3), axes=(0, 2)),
    "rank 1": dict(shape=(9,), axes=(0,), keepdims=False),
    "rank 2 rows": dict(shape=(4, 7), axes=(1,)),
    "rank 3 middle": dict(shape=(2, 5, 3), axes=(1,), keepdims=False),
}


@pytest.mark.parametrize("kind", ["sum", "reduce_max", "reduce_min"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", REDUCE_CASES)
def test_reduce(kind, case, dtype, tmp_path):
    kwargs = dict(REDUCE_CASES[case])
    g = OpGraph(seed=3, dtype=dtype)
    x = g.input(kwargs.pop("shape"), scale=0.05, zero_point=-7)
    if kind == "sum":  # a wider output range: sums of many values
        kwargs |= dict(out_scale=0.4, out_zp=5)
    assert_matches_oracle(g.build(g.reduce(kind, x, **kwargs)), tmp_path)


@pytest.mark.parametrize("in_zp, out_scale, out_zp", [(-128, 0.05, 127), (127, 0.02, -128), (0, 1.0, 0)])
def test_sum_int8_zero_points_at_the_ends_and_saturation(in_zp, out_scale, out_zp, tmp_path):
    """Extreme zero points and a small output scale: sums saturate at both ends."""
    g = OpGraph(seed=4)
    x = g.input((1, 4, 4, 6), scale=0.05, zero_point=in_zp)
    extremes = [
        [np.resize(np.array([-128, 127, -1, 0, 1], np.int8), (1, 4, 4, 6))],
        [np.full((1, 4, 4, 6), -128, np.int8)],
        [np.full((1, 4, 4, 6), 127, np.int8)],
    ]
    assert_matches_oracle(
        g.build(g.reduce("sum", x, (1, 3), out_scale=out_scale, out_zp=out_zp)), tmp_path, inputs=extremes
    )


@pytest.mark.parametrize("kind", ["reduce_max", "reduce_min"])
def test_max_min_int8_extremes(kind, tmp_path):
    """All -128 or all 127 (the kernels' starting values), and both mixed."""
    g = OpGraph(seed=5)
    x = g.input((2, 3, 5), scale=0.1, zero_point=-128)
    extremes = [[np.full((2, 3, 5), v, np.int8)] for v in (-128, 127)] + [
        [np.resize(np.array([127, -128, 3], np.int8), (2, 3, 5))]
    ]
    assert_matches_oracle(g.build(g.reduce(kind, x, (2,), keepdims=False)), tmp_path, inputs=extremes)


@pytest.mark.parametrize("kind", ["reduce_max", "reduce_min"])
def test_max_min_float_infinities(kind, tmp_path):
    """All -inf (max) or +inf (min): tflite-micro starts from -FLT_MAX / FLT_MAX and keeps it."""
    g = OpGraph(seed=5, dtype="float32")
    x = g.input((2, 4), dtype="float32")
    value = -np.inf if kind == "reduce_max" else np.inf
    inputs = [[np.array([[value] * 4, [1.0, value, -2.0, 0.5]], np.float32)]]
    assert_matches_oracle(g.build(g.reduce(kind, x, (1,), keepdims=False)), tmp_path, inputs=inputs)


ARG_CASES = {
    "channels": dict(shape=(1, 3, 3, 10), axis=3),
    "height": dict(shape=(1, 5, 2, 3), axis=1),
    "batch": dict(shape=(4, 2, 3), axis=0),
    "rank 1": dict(shape=(7,), axis=0),
    "rank 2 classifier": dict(shape=(3, 12), axis=1),
}


@pytest.mark.parametrize("kind", ["arg_max", "arg_min"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", ARG_CASES)
def test_arg_min_max(kind, case, dtype, tmp_path):
    kwargs = dict(ARG_CASES[case])
    g = OpGraph(seed=6, dtype=dtype)
    x = g.input(kwargs.pop("shape"), scale=0.05, zero_point=3)
    assert_matches_oracle(g.build(g.arg_min_max(kind, x, **kwargs)), tmp_path)


@pytest.mark.parametrize("kind", ["arg_max", "arg_min"])
def test_arg_min_max_ties_take_the_first_index(kind, tmp_path):
    g = OpGraph(seed=6)
    x = g.input((2, 6), scale=0.05, zero_point=0)
    ties = [[np.array([[5, 127, -128, 127, -128, 5], [0] * 6], np.int8)]]
    assert_matches_oracle(g.build(g.arg_min_max(kind, x, 1)), tmp_path, inputs=ties)


@pytest.mark.parametrize("kind", ["arg_max", "arg_min"])
def test_arg_min_max_float_nan(kind, tmp_path):
    """tflite-micro compares plainly: a NaN never replaces the best value, a leading NaN stays best."""
    g = OpGraph(seed=6, dtype="float32")
    x = g.input((4, 4), dtype="float32")
    nan = np.nan
    inputs = [[np.array([[nan, 1.0, -3.0, 2.0], [nan] * 4, [0.5, nan, 0.5, -nan], [1.0, nan, 2.0, nan]], np.float32)]]
    assert_matches_oracle(g.build(g.arg_min_max(kind, x, 1)), tmp_path, inputs=inputs)


def _raw_reduce(
    opname: str, axes, out_shape, out_quant=(0.05, -7), out_dtype="int8", options="ReducerOptions", **fields
) -> bytes:
    """One int8 reduction over a (2, 3, 4) input with axes written as given (negative ones too)."""
    m = RawModel()
    x = m.tensor((2, 3, 4), "int8", quant=(0.05, -7))
    axis = m.const(np.array(axes, np.int32))
    y = m.tensor(out_shape, out_dtype, quant=out_quant)
    m.op(opname, [x, axis], [y], options, **fields)
    return m.build([x], [y])


@pytest.mark.parametrize(
    "opname, axes, out_shape, options, fields",
    [
        ("REDUCE_MAX", [-1], (2, 3), "ReducerOptions", {}),
        ("REDUCE_MIN", [-3, 2], (1, 3, 1), "ReducerOptions", {"KeepDims": True}),
        ("ARG_MAX", [-2], (2, 4), "ArgMaxOptions", {"OutputType": 2}),
    ],
)
def test_negative_axes_from_a_tflite_file(opname, axes, out_shape, options, fields, tmp_path):
    """Axes counted from the end, as converters write them, reduce the same axes as in tflite-micro."""
    out_dtype = "int32" if opname == "ARG_MAX" else "int8"
    model = tmp_path / "model.tflite"
    model.write_bytes(
        _raw_reduce(opname, axes, out_shape, None if out_dtype == "int32" else (0.05, -7), out_dtype, options, **fields)
    )
    op = load_model(model).ops[0]
    assert all(a >= 0 for a in (op.attrs.axes if hasattr(op.attrs, "axes") else (op.attrs.axis,)))
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    runner = HostModel.build(out)
    result = verify(out, "host", random_samples(runner.inputs, 4, 0), runner=runner)
    assert result.mismatches == 0


def test_max_with_a_rescaled_output_is_refused(tmp_path):
    """tflite-micro's int8 REDUCE_MAX copies values: it needs the input's scale and zero point."""
    model = tmp_path / "model.tflite"
    model.write_bytes(_raw_reduce("REDUCE_MAX", [1], (2, 4), out_quant=(0.1, -7)))
    with pytest.raises(UnsupportedOpsError, match="REDUCE_MAX.*quantization differ"):
        load_model(model)


def test_arg_max_int64_output_is_refused(tmp_path):
    model = tmp_path / "model.tflite"
    model.write_bytes(_raw_reduce("ARG_MAX", [1], (2, 4), None, "int64", "ArgMaxOptions", OutputType=4))
    with pytest.raises(UnsupportedOpsError, match="ARG_MAX.*int64 output"):
        load_model(model)


def test_a_quantized_classifier_head_keeps_its_int32_arg_max(tmp_path):
    """PTQ of a float FC -> ARG_MAX quantizes the FC and leaves the int32 indices alone."""
    g = OpGraph(seed=9, dtype="float32")
    head = g.arg_min_max("arg_max", g.fully_connected(g.input((1, 8), dtype="float32"), 6), 1)
    source = tmp_path / "float.tflite"
    source.write_bytes(write_tflite(g.build(head)))
    model = mixed_precision_model(source, tmp_path / "int8.tflite", lambda layers: {n: "w8a8" for n in layers})
    graph = load_model(model)
    assert [graph[t].dtype for t in (*graph.inputs, *graph.outputs)] == ["int8", "int32"]
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    runner = HostModel.build(out)
    assert verify(out, "host", random_samples(runner.inputs, 4, 0), runner=runner).mismatches == 0
