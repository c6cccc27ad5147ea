"""The op table (aiotc/ops.py): the code registered per kind stays in step with it, and stages read its facts right."""

import numpy as np
import pytest
import tflite

from aiotc import ir
from aiotc.codegen.emit import LOWERINGS
from aiotc.errors import ModelError
from aiotc.frontend import checks, onnx, supported_ops
from aiotc.frontend.checks import check_graph
from aiotc.ops import OPS

from ..oplib import quant

ONNX_WITHOUT_KIND = {"Identity", "Dropout", "Cast", "QuantizeLinear", "DequantizeLinear"}  # their converters emit no op
ONNX_DECOMPOSED = {"GRU", "LSTM", "RNN"}  # unrolled into fully connected and elementwise layers
TFLITE_WITHOUT_KIND = {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE", "WHILE"}  # state; unrolled


def test_every_kind_has_a_lowering_and_every_lowering_a_kind():
    assert set(LOWERINGS) == set(OPS)


def test_the_tflite_frontend_reads_exactly_the_builtins_of_the_table():
    in_table = {name for facts in OPS.values() for name in facts.tflite}
    assert set(supported_ops()["TFLite"]) == in_table | TFLITE_WITHOUT_KIND


def test_export_writes_real_builtins():
    assert all(facts.tflite and hasattr(tflite.BuiltinOperator, facts.tflite[0]) for facts in OPS.values())


def test_every_onnx_converter_emits_a_kind_of_the_table():
    in_table = {name for facts in OPS.values() for name in facts.onnx}
    assert in_table <= set(onnx.CONVERTERS)
    assert set(onnx.CONVERTERS) - in_table == ONNX_WITHOUT_KIND | ONNX_DECOMPOSED


def test_shape_rules_name_kinds_of_the_table():
    assert set(checks.SHAPE_RULES) <= set(OPS)


def test_weighted_kinds_take_a_filter():
    assert all(facts.min_inputs >= 2 for facts in OPS.values() if facts.weighted)


def _depthwise_graph(channel_bias: int) -> ir.Graph:
    """A 3x3 depthwise int8 layer: only channel 0 has weights (all 127), its bias `channel_bias`."""
    weights = np.zeros((1, 3, 3, 4), np.int8)
    weights[..., 0] = 127
    tensors = {
        "x": ir.Tensor("x", (1, 5, 5, 4), "int8", quant(0.01)),
        "w": ir.Tensor("w", weights.shape, "int8", quant([0.01] * 4, axis=3), weights),
        "b": ir.Tensor("b", (4,), "int32", None, np.array([channel_bias, 0, 0, 0], np.int32)),
        "y": ir.Tensor("y", (1, 5, 5, 4), "int8", quant(0.01)),
    }
    op = ir.Op("dw", "depthwise_conv2d", ("x", "w", "b"), ("y",), ir.DepthwiseConv2D(padding=ir.Padding(1, 1, 1, 1)))
    return ir.Graph("dw", tensors, (op,), ("x",), ("y",))


def test_accumulator_check_sums_each_channel_along_the_weight_axis():
    """Channel 0's worst case is 9 x 127 x 255 + bias: one more than int32 holds is refused."""
    limit = 2**31 - 1 - 9 * 127 * 255
    check_graph(_depthwise_graph(limit))
    with pytest.raises(ModelError, match="accumulator can overflow"):
        check_graph(_depthwise_graph(limit + 1))
