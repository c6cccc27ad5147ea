"""PRELU, ELU, LEAKY_RELU, L2_NORMALIZATION, L2_POOL_2D, LOG_SOFTMAX and GELU against tflite-micro, bit for bit (float: 1e-5 of range)."""

from __future__ import annotations

import numpy as np
import pytest

from aiotc import ir
from aiotc.driver import compile_model
from aiotc.errors import ModelError
from aiotc.export.tflite import write_tflite

from .oplib import OpGraph, assert_matches_oracle

DTYPES = ["int8", "float32"]
ALL_INT8 = [[np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1)]]

PRELU_CASES = {
    "per channel": dict(shape=(1, 4, 5, 6), alpha_shape=(1, 1, 6)),
    "shared over height": dict(shape=(1, 3, 4, 5), alpha_shape=(1, 4, 5)),
    "full alpha": dict(shape=(2, 3, 7), alpha_shape=(2, 3, 7)),
    "scalar alpha, rank 1": dict(shape=(9,), alpha_shape=(1,)),
    "rank 2": dict(shape=(3, 8), alpha_shape=(8,)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", PRELU_CASES)
def test_prelu(case, dtype, tmp_path):
    kwargs = dict(PRELU_CASES[case])
    g = OpGraph(seed=11, dtype=dtype)
    x = g.input(kwargs.pop("shape"), scale=0.05, zero_point=-10)
    assert_matches_oracle(g.build(g.prelu(x, **kwargs, out_scale=0.04, out_zp=7)), tmp_path)


@pytest.mark.parametrize(
    "in_zp, alpha_zp, out_scale, out_zp", [(-128, 0, 0.05, -128), (127, -128, 0.01, 127), (0, 127, 0.2, 0)]
)
def test_prelu_int8_every_value_and_extreme_zero_points(in_zp, alpha_zp, out_scale, out_zp, tmp_path):
    g = OpGraph(seed=12)
    x = g.input((1, 16, 16, 1), scale=0.05, zero_point=in_zp)
    assert_matches_oracle(g.build(g.prelu(x, (1,), alpha_zp, out_scale, out_zp)), tmp_path, inputs=ALL_INT8)


@pytest.mark.parametrize(
    "in_scale, in_zp, out_scale, out_zp",
    [(0.05, 0, 0.05, 0), (0.1, -128, 0.04, 25), (0.02, 127, 0.01, -128), (0.2, 30, 1 / 16, 127)],
)
def test_elu_int8_every_value(in_scale, in_zp, out_scale, out_zp, tmp_path):
    g = OpGraph(seed=13)
    x = g.input((1, 16, 16, 1), scale=in_scale, zero_point=in_zp)
    assert_matches_oracle(g.build(g.unary("elu", x, out_scale, out_zp)), tmp_path, inputs=ALL_INT8)


def test_elu_float(tmp_path):
    g = OpGraph(seed=13, dtype="float32")
    x = g.input((2, 5, 7), dtype="float32")
    inputs = [[np.random.default_rng(s).normal(0, 3, (2, 5, 7)).astype(np.float32)] for s in range(3)]
    assert_matches_oracle(g.build(g.unary("elu", x)), tmp_path, inputs=inputs)


def leaky_relu_graph(dtype: str) -> ir.Graph:
    """LEAKY_RELU over every value of `dtype` (int8, int16; the first input) and 105 more
    (a tail after 4-lane steps): alphas below and above 1 and negative, output scales
    finer and coarser (shifts left and right, saturating); int8 with zero points away
    from 0, int16 (zero points 0) with an identity beyond the fast loop's left shift of 8
    (the reference loop)."""
    if dtype == "int8":
        g = OpGraph(seed=14)
        x, odd = g.input((1, 16, 16, 1), 0.05, -7), g.input((1, 3, 5, 7), 0.11, 100)
        outs = [(x, 0.04, -20, 0.2), (x, 0.02, 30, 1.7), (x, 0.06, 0, -0.3), (odd, 0.1, -128, 0.1)]
    else:
        g = OpGraph(seed=46, dtype="int16")
        x, odd = g.input((1, 256, 256, 1), 1e-3), g.input((1, 3, 5, 7), 2e-3)
        outs = [(x, 1.3e-3, 0, 0.2), (x, 0.3e-3, 0, 1.7), (x, 2e-3, 0, -0.3), (x, 1e-6, 0, 0.01), (odd, 2.2e-3, 0, 0.1)]
    return g.build(*(g.unary("leaky_relu", t, scale, zp, ir.LeakyRelu(alpha)) for t, scale, zp, alpha in outs))


def leaky_relu_samples(graph: ir.Graph) -> list[list[np.ndarray]]:
    """Every value of the type in order and reversed; the short input random and at both ends."""
    every, odd = (graph[name] for name in graph.inputs)
    info = np.iinfo(every.dtype)
    values = np.arange(info.min, info.max + 1).astype(info.dtype).reshape(every.shape)
    noise = np.random.default_rng(12).integers(info.min, info.max + 1, odd.shape).astype(info.dtype)
    return [
        [values, noise],
        [values[:, ::-1], np.full(odd.shape, info.min, info.dtype)],
        [values, np.full(odd.shape, info.max, info.dtype)],
    ]


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_leaky_relu_every_value_matches_the_oracle(dtype, tmp_path):
    graph = leaky_relu_graph(dtype)
    assert_matches_oracle(graph, tmp_path, inputs=leaky_relu_samples(graph))


L2_SHAPES = [(1, 3, 4, 10), (2, 5, 3), (4, 7), (16,), (3, 1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", L2_SHAPES)
def test_l2_normalization(shape, dtype, tmp_path):
    g = OpGraph(seed=14, dtype=dtype)
    x = g.input(shape, scale=0.05, zero_point=-9)
    assert_matches_oracle(g.build(g.unary("l2_normalization", x, 1 / 128, 0)), tmp_path)


@pytest.mark.parametrize("zero_point", [-128, 127, 0])
def test_l2_normalization_int8_extremes(zero_point, tmp_path):
    """Rows of all-zero-point (norm 0), one value off it (norm 1), extremes and big norms."""
    g = OpGraph(seed=15)
    x = g.input((6, 16), scale=0.02, zero_point=zero_point)
    rows = np.full((6, 16), zero_point, np.int64)
    rows[1, 3] = zero_point + (1 if zero_point < 127 else -1)
    rows[2] = np.resize([-128, 127], 16)
    rows[3] = 127
    rows[4] = -128
    rows[5] = np.arange(-128, 128, 16)
    assert_matches_oracle(
        g.build(g.unary("l2_normalization", x, 1 / 128, 0)), tmp_path, inputs=[[rows.astype(np.int8)]]
    )


L2_POOL_CASES = {
    "2x2 stride 2 valid": dict(kernel=(2, 2), stride=(2, 2), padding="valid"),
    "3x3 stride 1 same": dict(kernel=(3, 3), stride=(1, 1), padding="same"),
    "odd size, stride 2 same": dict(kernel=(3, 2), stride=(2, 2), padding="same"),
    "fused relu6": dict(kernel=(2, 2), stride=(1, 1), padding="valid", activation="relu6"),
}


@pytest.mark.parametrize("case", L2_POOL_CASES)
def test_l2_pool_float(case, tmp_path):
    g = OpGraph(seed=16, dtype="float32")
    x = g.input((1, 7, 9, 3), dtype="float32")
    inputs = [[np.random.default_rng(s).normal(0, 5, (1, 7, 9, 3)).astype(np.float32)] for s in range(3)]
    assert_matches_oracle(g.build(g.pool("l2_pool2d", x, **L2_POOL_CASES[case])), tmp_path, inputs=inputs)


@pytest.mark.parametrize("shape", [(1, 10), (2, 3, 7), (1, 2, 2, 5), (6,)])
def test_log_softmax_float(shape, tmp_path):
    g = OpGraph(seed=17, dtype="float32")
    x = g.input(shape, dtype="float32")
    inputs = [[np.random.default_rng(s).normal(0, 4, shape).astype(np.float32)] for s in range(3)]
    assert_matches_oracle(g.build(g.unary("log_softmax", x)), tmp_path, inputs=inputs)


@pytest.mark.parametrize("in_scale, in_zp", [(0.1, 0), (0.05, -128), (0.25, 127), (1.0, 5), (0.02, -30)])
@pytest.mark.parametrize("shape", [(1, 10), (2, 3, 7), (4, 1)])
def test_log_softmax_int8(shape, in_scale, in_zp, tmp_path):
    g = OpGraph(seed=18)
    x = g.input(shape, scale=in_scale, zero_point=in_zp)
    assert_matches_oracle(g.build(g.unary("log_softmax", x, 16 / 256, 127)), tmp_path)


def test_log_softmax_int8_every_value(tmp_path):
    """One row of all 256 values, rows of extremes (saturated differences, equal values)."""
    g = OpGraph(seed=18)
    x = g.input((4, 256), scale=0.08, zero_point=-3)
    rows = np.stack(
        [np.arange(-128, 128), np.full(256, 127), np.resize([-128, 127], 256), np.resize([0, 1, 2, -128], 256)]
    )
    assert_matches_oracle(g.build(g.unary("log_softmax", x, 16 / 256, 127)), tmp_path, inputs=[[rows.astype(np.int8)]])


def test_log_softmax_int8_needs_tflite_output_quantization(tmp_path):
    g = OpGraph(seed=18)
    x = g.input((1, 10), scale=0.1, zero_point=0)
    model = tmp_path / "model.tflite"
    model.write_bytes(write_tflite(g.build(g.unary("log_softmax", x, 0.1, 127))))
    with pytest.raises(ModelError, match="scale 16/256"):
        compile_model(model, board="host", out_dir=tmp_path / "out")


@pytest.mark.parametrize("approximate", [False, True], ids=["erf", "tanh"])
@pytest.mark.parametrize("in_zp, out_scale, out_zp", [(-128, 0.03, -128), (127, 0.01, 127), (0, 0.05, -20)])
def test_gelu_int8_every_value(approximate, in_zp, out_scale, out_zp, tmp_path):
    """tflite-micro has no GELU: the op-by-op oracle runs it in LiteRT's reference, whose int8
    GELU is a table made in Prepare; every int8 input, zero points at both ends."""
    g = OpGraph(seed=13)
    x = g.input((1, 16, 16, 1), scale=0.05, zero_point=in_zp)
    graph = g.build(g.unary("gelu", x, out_scale, out_zp, ir.Gelu(approximate)))
    assert_matches_oracle(graph, tmp_path, inputs=ALL_INT8, oracle="tflite-micro op by op")


def gelu_graph():
    """float32 GELU in both forms."""
    g = OpGraph(seed=14, dtype="float32")
    x = g.input((1, 3, 5, 7))
    return g.build(*(g.unary("gelu", x, attrs=ir.Gelu(approximate)) for approximate in (False, True)))


def test_gelu_float(tmp_path):
    assert_matches_oracle(gelu_graph(), tmp_path)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_onnx_gelu(approximate, tmp_path):
    """ONNX Gelu (opset 20) against onnxruntime."""
    import onnx
    from onnx import TensorProto, helper

    from .test_onnx import _check

    node = helper.make_node("Gelu", ["x"], ["y"], approximate=approximate)
    graph = helper.make_graph(
        [node],
        "gelu",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 37])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 37])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 9
    onnx.save(model, tmp_path / "gelu.onnx")
    _check(tmp_path / "gelu.onnx", tmp_path)
