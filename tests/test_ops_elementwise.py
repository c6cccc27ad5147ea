"""Elementwise math ops (issue 20) against tflite-micro: MAXIMUM, MINIMUM, DIV,
SQUARED_DIFFERENCE, FLOOR_DIV, FLOOR_MOD and the unary ABS, SQRT, EXP, ... ."""

from __future__ import annotations

import numpy as np
import pytest

from aiotc import ir
from aiotc.errors import ModelError

from .oplib import OpGraph, assert_matches_oracle

SHAPES = {
    "same shape": ((1, 4, 5, 3), (1, 4, 5, 3)),
    "channel broadcast": ((1, 4, 5, 3), (1, 1, 1, 3)),
    "scalar-like operand": ((2, 3, 7), (1,)),
    "both broadcast": ((1, 1, 5, 3), (1, 4, 1, 3)),
    "rank 1, odd": ((7,), (7,)),
    "rank 2, first broadcast": ((1, 9), (5, 9)),
}


def _float_samples(rng, shapes, low, high, count=3):
    return [[rng.uniform(low, high, s).astype(np.float32) for s in shapes] for _ in range(count)]


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("kind", ["maximum", "minimum"])
@pytest.mark.parametrize("case", SHAPES)
def test_maximum_minimum(case, kind, dtype, tmp_path):
    a_shape, b_shape = SHAPES[case]
    g = OpGraph(seed=11, dtype=dtype)
    zero_point = -128 if kind == "maximum" else 127  # zero points at the ends of int8
    a = g.input(a_shape, scale=0.04, zero_point=zero_point)
    b = g.input(b_shape, scale=0.04, zero_point=zero_point)
    assert_matches_oracle(g.build(g.broadcast(kind, a, b)), tmp_path)


def test_int8_maximum_with_differently_quantized_inputs_is_refused(tmp_path):
    """tflite-micro compares raw int8 values: with two ranges the result would be meaningless."""
    g = OpGraph(seed=12)
    a = g.input((1, 4, 4, 2), scale=0.04, zero_point=3)
    b = g.input((1, 4, 4, 2), scale=0.05, zero_point=3)
    with pytest.raises(ModelError, match="quantized differently"):
        assert_matches_oracle(g.build(g.broadcast("maximum", a, b)), tmp_path)


UNARY_FLOAT_RANGES = {  # inputs inside each function's domain
    "abs": (-5, 5),
    "neg": (-5, 5),
    "sqrt": (0, 9),
    "rsqrt": (0.01, 9),
    "square": (-5, 5),
    "exp": (-6, 6),
    "log": (0.01, 50),
    "sin": (-7, 7),
    "cos": (-7, 7),
    "ceil": (-5, 5),
    "floor": (-5, 5),
    "round": (-5, 5),
}


@pytest.mark.parametrize("shape", [(1, 5, 3, 7), (11,)])
@pytest.mark.parametrize("kind", UNARY_FLOAT_RANGES)
def test_unary_float(kind, shape, tmp_path):
    g = OpGraph(seed=13, dtype="float32")
    x = g.input(shape)
    samples = _float_samples(np.random.default_rng(13), [shape], *UNARY_FLOAT_RANGES[kind])
    assert_matches_oracle(g.build(g.unary(kind, x)), tmp_path, inputs=samples)


def test_round_takes_ties_to_even(tmp_path):
    g = OpGraph(seed=14, dtype="float32")
    x = g.input((32,))
    ties = np.arange(-8, 8, dtype=np.float32) + np.float32(0.5)
    samples = [[np.concatenate([ties, ties + np.float32(0.25)])]]
    assert_matches_oracle(g.build(g.unary("round", x)), tmp_path, inputs=samples)


ABS_QUANT = {  # (input scale, zero point), (output scale, zero point)
    "same scale": ((0.05, 0), (0.05, -128)),
    "input zero point at the top": ((0.05, 127), (0.05, -128)),
    "input zero point at the bottom, rescaled": ((0.02, -128), (0.03, -128)),
    "rescaled up, saturating": ((0.1, 0), (0.04, -20)),
}


@pytest.mark.parametrize("case", ABS_QUANT)
def test_abs_int8_all_values(case, tmp_path):
    (s_in, zp_in), (s_out, zp_out) = ABS_QUANT[case]
    g = OpGraph(seed=15)
    x = g.input((1, 16, 16, 1), scale=s_in, zero_point=zp_in)
    samples = [[np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1)]]
    assert_matches_oracle(g.build(g.unary("abs", x, out_scale=s_out, out_zp=zp_out)), tmp_path, inputs=samples)


def test_int8_sqrt_is_refused(tmp_path):
    """tflite-micro has no int8 SQRT: aiotc says so instead of guessing."""
    g = OpGraph(seed=16)
    x = g.input((1, 4, 4, 1), scale=0.05, zero_point=-128)
    with pytest.raises(ModelError, match="sqrt"):
        assert_matches_oracle(g.build(g.unary("sqrt", x)), tmp_path)


@pytest.mark.parametrize("kind", ["div", "squared_difference", "floor_div", "floor_mod"])
@pytest.mark.parametrize("case", SHAPES)
def test_binary_float(case, kind, tmp_path):
    a_shape, b_shape = SHAPES[case]
    g = OpGraph(seed=17, dtype="float32")
    a, b = g.input(a_shape), g.input(b_shape)
    rng = np.random.default_rng(17)
    samples = []
    for _ in range(3):  # divisors of both signs, kept away from zero
        divisor = rng.uniform(0.3, 3, b_shape) * rng.choice([-1, 1], b_shape)
        samples.append([rng.uniform(-10, 10, a_shape).astype(np.float32), divisor.astype(np.float32)])
    attrs = ir.Binary() if kind == "div" else None
    assert_matches_oracle(g.build(g.broadcast(kind, a, b, attrs=attrs)), tmp_path, inputs=samples)


@pytest.mark.parametrize("activation", ["relu", "relu6"])
def test_div_fused_activation(activation, tmp_path):
    g = OpGraph(seed=18, dtype="float32")
    a, b = g.input((1, 3, 3, 4)), g.input((1, 1, 1, 4))
    samples = [
        [
            np.random.default_rng(18).uniform(-20, 20, (1, 3, 3, 4)).astype(np.float32),
            np.array([0.5, -0.7, 2.0, 3.0], np.float32).reshape(1, 1, 1, 4),
        ]
    ]
    assert_matches_oracle(g.build(g.broadcast("div", a, b, attrs=ir.Binary(activation))), tmp_path, inputs=samples)


@pytest.mark.parametrize("out_scale, out_zp", [(0.45, -128), (0.02, 127)])  # covering the range; saturating
@pytest.mark.parametrize("case", SHAPES)
def test_squared_difference_int8(case, out_scale, out_zp, tmp_path):
    a_shape, b_shape = SHAPES[case]
    g = OpGraph(seed=19)
    a = g.input(a_shape, scale=0.04, zero_point=-128)
    b = g.input(b_shape, scale=0.07, zero_point=127)
    assert_matches_oracle(
        g.build(g.broadcast("squared_difference", a, b, out_scale=out_scale, out_zp=out_zp)), tmp_path
    )


COMPARISONS = ["equal", "not_equal", "greater", "greater_equal", "less", "less_equal"]


@pytest.mark.parametrize("kind", COMPARISONS)
@pytest.mark.parametrize("case", ["same shape", "channel broadcast", "rank 1, odd", "rank 2, first broadcast"])
def test_compare_int8_differently_quantized(case, kind, tmp_path):
    """Both inputs rescaled to a common fixed point first: equal values in different
    quantizations compare equal exactly when TFLite's rounding says so."""
    a_shape, b_shape = SHAPES[case]
    g = OpGraph(seed=20)
    a = g.input(a_shape, scale=0.04, zero_point=-128)
    b = g.input(b_shape, scale=0.02, zero_point=127)
    assert_matches_oracle(g.build(g.broadcast(kind, a, b, out_dtype="bool")), tmp_path, samples=8)


@pytest.mark.parametrize("kind", COMPARISONS)
def test_compare_int8_same_quantization_hits_equal_values(kind, tmp_path):
    g = OpGraph(seed=21)
    a = g.input((1, 16, 16, 1), scale=0.05, zero_point=3)
    b = g.input((1, 16, 16, 1), scale=0.05, zero_point=3)
    values = np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1)
    samples = [[values, values], [values, np.roll(values, 1)], [values, values[:, ::-1]]]
    assert_matches_oracle(g.build(g.broadcast(kind, a, b, out_dtype="bool")), tmp_path, inputs=samples)


@pytest.mark.parametrize("kind", COMPARISONS)
@pytest.mark.parametrize("case", ["same shape", "scalar-like operand", "both broadcast"])
def test_compare_float(case, kind, tmp_path):
    a_shape, b_shape = SHAPES[case]
    g = OpGraph(seed=22, dtype="float32")
    a, b = g.input(a_shape), g.input(b_shape)
    rng = np.random.default_rng(22)  # small integers: ties happen
    samples = [[rng.integers(-2, 3, s).astype(np.float32) for s in (a_shape, b_shape)] for _ in range(3)]
    assert_matches_oracle(g.build(g.broadcast(kind, a, b, out_dtype="bool")), tmp_path, inputs=samples)


def _bools(rng, shape):
    return rng.integers(0, 2, shape).astype(np.bool_)


@pytest.mark.parametrize("kind", ["logical_and", "logical_or"])
@pytest.mark.parametrize("case", ["same shape", "channel broadcast", "rank 1, odd", "both broadcast"])
def test_logical_binary(case, kind, tmp_path):
    a_shape, b_shape = SHAPES[case]
    g = OpGraph(seed=23)
    a, b = g.bool_input(a_shape), g.bool_input(b_shape)
    rng = np.random.default_rng(23)
    samples = [[_bools(rng, a_shape), _bools(rng, b_shape)] for _ in range(3)]
    assert_matches_oracle(g.build(g.broadcast(kind, a, b, out_dtype="bool")), tmp_path, inputs=samples)


@pytest.mark.parametrize("shape", [(1, 3, 5, 2), (9,)])
def test_logical_not(shape, tmp_path):
    g = OpGraph(seed=24)
    x = g.bool_input(shape)
    assert_matches_oracle(g.build(g.logical_not(x)), tmp_path, inputs=[[_bools(np.random.default_rng(24), shape)]])


SELECT_SHAPES = {  # condition, x, y
    "same shape": ((1, 4, 5, 3), (1, 4, 5, 3), (1, 4, 5, 3)),
    "condition per channel": ((3,), (1, 4, 5, 3), (1, 4, 5, 3)),
    "all broadcast": ((1, 4, 1, 1), (1, 1, 5, 3), (3,)),
    "rank 1, odd": ((7,), (7,), (1,)),
}


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", SELECT_SHAPES)
def test_select_v2(case, dtype, tmp_path):
    c_shape, a_shape, b_shape = SELECT_SHAPES[case]
    g = OpGraph(seed=25, dtype=dtype)
    c = g.bool_input(c_shape)
    a = g.input(a_shape, scale=0.05, zero_point=-128)
    b = g.input(b_shape, scale=0.05, zero_point=-128)
    rng = np.random.default_rng(25)
    samples = []
    for _ in range(3):
        if dtype == "int8":
            values = [rng.integers(-128, 128, s).astype(np.int8) for s in (a_shape, b_shape)]
        else:
            values = [rng.standard_normal(s).astype(np.float32) for s in (a_shape, b_shape)]
        samples.append([_bools(rng, c_shape), *values])
    assert_matches_oracle(g.build(g.select(c, a, b)), tmp_path, inputs=samples)


def test_int8_select_with_differently_quantized_values_is_refused(tmp_path):
    g = OpGraph(seed=26)
    c = g.bool_input((1, 2, 2, 1))
    a = g.input((1, 2, 2, 1), scale=0.05, zero_point=0)
    b = g.input((1, 2, 2, 1), scale=0.05, zero_point=4)
    with pytest.raises(ModelError, match="quantized differently"):
        assert_matches_oracle(g.build(g.select(c, a, b)), tmp_path)


ONNX_UNARY = {  # op: a node making its input fit the domain, if it needs one
    "Abs": None,
    "Neg": None,
    "Exp": None,
    "Sin": None,
    "Cos": None,
    "Ceil": None,
    "Floor": None,
    "Round": None,
    "Sqrt": "Abs",
    "Log": "Exp",
}


@pytest.mark.parametrize("op", ONNX_UNARY)
def test_onnx_unary_after_conv(op, tmp_path):
    """Checked against onnxruntime (the float model compiled as it is)."""
    from onnx import helper

    from .test_onnx import _check, _model, _w

    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1])]
    if ONNX_UNARY[op]:
        nodes.append(helper.make_node(ONNX_UNARY[op], ["c"], ["d"]))
    nodes.append(helper.make_node(op, [nodes[-1].output[0]], ["y"]))
    _check(_model(tmp_path, nodes, [("x", [1, 2, 6, 7])], None, [("W", _w(4, 2, 3, 3)), ("B", _w(4))]), tmp_path)


def test_onnx_div_by_a_constant_and_by_a_tensor(tmp_path):
    from onnx import helper

    from .test_onnx import _check, _model, _w

    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("Div", ["c", "D"], ["d"]),
        helper.make_node("Exp", ["c"], ["e"]),  # positive: a divisor never zero
        helper.make_node("Div", ["d", "e"], ["y"]),
    ]
    divisor = np.array([0.5, -2.0, 3.0, 1.5], np.float32).reshape(1, 4, 1, 1)
    _check(_model(tmp_path, nodes, [("x", [1, 2, 5, 5])], None, [("W", _w(4, 2, 3, 3)), ("D", divisor)]), tmp_path)


RSQRT_QUANT = {  # (input scale, zero point), (output scale, zero point)
    "zero point at the bottom": ((0.05, -128), (0.02, -128)),
    "mid zero point, fine output": ((0.01, -20), (0.1, -128)),
    "coarse input, saturating": ((0.5, -100), (0.004, -128)),
}


@pytest.mark.parametrize("case", RSQRT_QUANT)
def test_rsqrt_int8_all_defined_values(case, tmp_path):
    """Every int8 value at or above the zero point (below it TFLite reports an error), 0 included."""
    (s_in, zp_in), (s_out, zp_out) = RSQRT_QUANT[case]
    g = OpGraph(seed=27)
    count = 128 - zp_in
    x = g.input((count,), scale=s_in, zero_point=zp_in)
    samples = [[np.arange(zp_in, 128).astype(np.int8)]]
    assert_matches_oracle(g.build(g.unary("rsqrt", x, out_scale=s_out, out_zp=zp_out)), tmp_path, inputs=samples)


def test_int8_select_not_read_from_tflite_still_needs_one_quantization(tmp_path):
    """A graph made in aiotc (ONNX, its own PTQ) meets the same rule in the lowering."""
    from pathlib import Path

    from aiotc.boards import load_board
    from aiotc.driver import CompileOptions, build_library, plan_graph

    g = OpGraph(seed=28)
    c = g.bool_input((4,))
    a, b = g.input((4,), scale=0.05), g.input((4,), scale=0.05)
    planned = plan_graph(g.build(g.select(c, a, b, out_scale=0.1)), CompileOptions())
    with pytest.raises(ModelError, match="share one scale and zero point"):
        build_library(planned, "m", load_board("host"), Path("m.tflite"))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_chain_through_bool_tensors(dtype, tmp_path):
    """The family's ops feeding each other in the arena, bool tensors between them."""
    g = OpGraph(seed=29, dtype=dtype)
    x = g.input((1, 6, 7, 5), scale=0.05, zero_point=-3)
    y = g.input((1, 6, 7, 5), scale=0.05, zero_point=-3)
    t = g.unary("abs", x)
    m = g.broadcast("maximum", t, g.unary("abs", y))
    flags = g.logical_not(g.broadcast("greater", m, t, out_dtype="bool"))
    assert_matches_oracle(g.build(g.select(flags, m, g.broadcast("minimum", m, t))), tmp_path)
