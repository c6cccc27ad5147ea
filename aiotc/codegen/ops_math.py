"""Lowerings of the elementwise math family (issue 20): MAXIMUM, MINIMUM, DIV, ABS, SQRT,
comparisons, ...

Float ops call one kernel per arity with a selector (aiotc_math_f32,
aiotc_binary_math_f32, aiotc_compare_f32); int8 inputs that TFLite rescales are
rescaled by 256-entry tables computed here with TFLite Micro's integer arithmetic
(elementwise.cc, squared_difference.cc, comparisons.cc), so the C only indexes.
"""

from __future__ import annotations

import numpy as np

from ..fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier, quantize_multiplier_smaller_than_one
from ..ir import Op
from .lowering import LayerCode, LowerContext, activation_limits, c_float, dims, lowers, scale, zero_point
from .ops_elementwise import _unary_values, broadcast_strides, rescale_table

UNARY = ("abs", "neg", "sqrt", "rsqrt", "square", "exp", "log", "sin", "cos", "ceil", "floor", "round")
BINARY = ("maximum", "minimum", "div", "squared_difference", "floor_div", "floor_mod")
INT8_BINARY = ("maximum", "minimum", "squared_difference")
SQUARED_DIFFERENCE_LEFT_SHIFT = 7  # squared_difference.cc, int8
COMPARISONS = ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal")


def _selector(kind: str) -> str:
    return f"AIOTC_MATH_{kind.upper()}"


def _broadcast_values(op: Op, ctx: LowerContext, selector: str) -> dict:
    """Pointers, output dims and per-input broadcast strides of a two-input op."""
    graph = ctx.graph
    in1, in2, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    return {
        "selector": selector,
        "input1": ctx.ptr(op.inputs[0]),
        "input2": ctx.ptr(op.inputs[1]),
        "output": ctx.ptr(op.outputs[0]),
        "output_dims": dims(out.shape),
        "stride1": broadcast_strides(in1.shape, out.shape),
        "stride2": broadcast_strides(in2.shape, out.shape),
        "clamp": None,
        "tables": None,
    }


@lowers(*INT8_BINARY)
@lowers(*(set(BINARY) - set(INT8_BINARY)), dtypes=("float32",))
def lower_binary_math(op: Op, ctx: LowerContext) -> LayerCode:
    values = _broadcast_values(op, ctx, _selector(op.kind))
    if ctx.graph[op.outputs[0]].dtype == "float32":
        values["clamp"] = activation_limits(op, ctx.graph) if op.kind == "div" else (c_float(float("-inf")), c_float(float("inf")))
        return LayerCode("binary_math", values | {"kernel": "aiotc_binary_math_f32"}, ("aiotc_binary_math_f32",))
    if op.kind == "squared_difference":
        return _squared_difference_s8(op, ctx, values)
    return LayerCode("binary_math", values | {"kernel": "aiotc_binary_math_s8"}, ("aiotc_binary_math_s8",))


COMPARE_LEFT_SHIFT = 8  # comparisons.cc, int8


@lowers(*COMPARISONS)
def lower_compare(op: Op, ctx: LowerContext) -> LayerCode:
    """int8: both inputs to a common fixed point, comparisons.cc's Prepare (each input's
    scale itself is its multiplier), by tables."""
    values = _broadcast_values(op, ctx, f"AIOTC_COMPARE_{op.kind.upper()}")
    inputs = [ctx.graph[t] for t in op.inputs[:2]]
    if inputs[0].dtype == "float32":
        return LayerCode("binary_math", values | {"kernel": "aiotc_compare_f32"}, ("aiotc_compare_f32",))
    tables = [rescale_table(zero_point(t), COMPARE_LEFT_SHIFT, quantize_multiplier_smaller_than_one(np.float64(scale(t)))) for t in inputs]
    values["tables"] = tuple(ctx.const(table, f"table{i + 1}") for i, table in enumerate(tables))
    return LayerCode("binary_math", values | {"kernel": "aiotc_compare_s8"}, ("aiotc_compare_s8",))


def _squared_difference_s8(op: Op, ctx: LowerContext, values: dict) -> LayerCode:
    """squared_difference.cc PrepareQuantized: inputs rescaled as ADD's (left shift 7), the
    output multiplier taking the square of their common scale."""
    in1, in2, out = (ctx.graph[t] for t in (*op.inputs[:2], op.outputs[0]))
    shift = SQUARED_DIFFERENCE_LEFT_SHIFT
    twice_max = 2 * np.float64(max(np.float32(scale(in1)), np.float32(scale(in2))))
    q1 = quantize_multiplier_smaller_than_one(np.float64(scale(in1)) / twice_max)
    q2 = quantize_multiplier_smaller_than_one(np.float64(scale(in2)) / twice_max)
    values |= {
        "quantized": True,
        "input1_offset": -zero_point(in1),
        "input2_offset": -zero_point(in2),
        "output_offset": zero_point(out),
        "left_shift": shift,
        "q1": q1,
        "q2": q2,
        "qout": quantize_multiplier(twice_max * twice_max / ((1 << (2 * shift)) * np.float64(scale(out)))),
        "act_min": -128,
        "act_max": 127,
        "tables": (ctx.const(rescale_table(zero_point(in1), shift, q1), "table1"), ctx.const(rescale_table(zero_point(in2), shift, q2), "table2")),
        "kernel": "aiotc_squared_difference_s8",
    }
    return LayerCode("binary", values, ("aiotc_squared_difference_s8",))


def abs_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int) -> np.ndarray:
    """elementwise.cc AbsEvalQuantized for each int8 value in (uint8_t) order; the
    rescale is skipped when the float32 scales are equal, as TFLite skips it."""
    x = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.int64)
    value = np.abs(x - input_zero_point)
    s_in, s_out = np.float32(input_scale), np.float32(output_scale)
    if s_in != s_out:
        value = multiply_by_quantized_multiplier(value, *quantize_multiplier(np.float64(s_in / s_out)))
    return np.clip(value + output_zero_point, -128, 127).astype(np.int8)


@lowers("abs")
@lowers(*(set(UNARY) - {"abs"}), dtypes=("float32",))
def lower_math(op: Op, ctx: LowerContext) -> LayerCode:
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    values = _unary_values(op, ctx)
    if inp.dtype == "float32":
        return LayerCode("unary_f32", values | {"kernel": "aiotc_math_f32", "args": [_selector(op.kind)]}, ("aiotc_math_f32",))
    table = ctx.const(abs_table(scale(inp), zero_point(inp), scale(out), zero_point(out)), "table")
    return LayerCode("unary_f32", values | {"kernel": "aiotc_table_s8", "args": [table]}, ("aiotc_table_s8",))


@lowers("logical_and", "logical_or", dtypes=("bool",))
def lower_logical(op: Op, ctx: LowerContext) -> LayerCode:
    values = _broadcast_values(op, ctx, f"AIOTC_{op.kind.upper()}")
    return LayerCode("binary_math", values | {"kernel": "aiotc_logical"}, ("aiotc_logical",))


@lowers("logical_not", dtypes=("bool",))
def lower_logical_not(op: Op, ctx: LowerContext) -> LayerCode:
    return LayerCode("unary_f32", _unary_values(op, ctx) | {"kernel": "aiotc_logical_not", "args": []}, ("aiotc_logical_not",))


@lowers("select_v2", dtypes=("bool",))  # the condition's dtype; the values may be any type
def lower_select(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    cond, in1, in2, out = (graph[t] for t in (*op.inputs[:3], op.outputs[0]))
    values = {
        "condition": ctx.ptr(op.inputs[0]),
        "input1": ctx.ptr(op.inputs[1]),
        "input2": ctx.ptr(op.inputs[2]),
        "output": ctx.ptr(op.outputs[0]),
        "element_size": out.nbytes // max(out.size, 1),
        "output_dims": dims(out.shape),
        "condition_strides": broadcast_strides(cond.shape, out.shape),
        "stride1": broadcast_strides(in1.shape, out.shape),
        "stride2": broadcast_strides(in2.shape, out.shape),
    }
    return LayerCode("select", values, ("aiotc_select",))
