"""Lowerings of the elementwise math family (issue 20): MAXIMUM, MINIMUM, DIV, ABS, SQRT,
comparisons, ...

Float ops call one kernel per arity with a selector (aiotc_math_f32,
aiotc_binary_math_f32, aiotc_compare_f32); int8 inputs that TFLite rescales are
rescaled by 256-entry tables computed here with TFLite Micro's integer arithmetic
(elementwise.cc, squared_difference.cc, comparisons.cc), so the C only indexes.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..fixedpoint import (
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    quantize_multiplier_smaller_than_one,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)
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


def _require_one_quantization(op: Op, ctx: LowerContext, names) -> None:
    """Raw int8 values compared or copied (MAXIMUM, MINIMUM, SELECT_V2) mean the same
    only in one quantization, as tflite-micro assumes; any other graph is refused."""
    quants = {
        (scale(ctx.graph[n]), zero_point(ctx.graph[n]))
        for n in (*names, op.outputs[0])
        if ctx.graph[n].quant is not None
    }
    if len(quants) > 1:
        raise ModelError(
            f"{op.kind} {op.name!r}: its int8 inputs and output must share one scale and zero point (tflite-micro uses the raw values)"
        )


@lowers(*INT8_BINARY)
@lowers(*(set(BINARY) - set(INT8_BINARY)), dtypes=("float32",))
def lower_binary_math(op: Op, ctx: LowerContext) -> LayerCode:
    values = _broadcast_values(op, ctx, _selector(op.kind))
    if ctx.graph[op.outputs[0]].dtype == "float32":
        values["clamp"] = (
            activation_limits(op, ctx.graph) if op.kind == "div" else (c_float(float("-inf")), c_float(float("inf")))
        )
        return LayerCode("binary_math", values | {"kernel": "aiotc_binary_math_f32"}, ("aiotc_binary_math_f32",))
    if op.kind == "squared_difference":
        return _squared_difference_s8(op, ctx, values)
    _require_one_quantization(op, ctx, op.inputs[:2])
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
    tables = [
        rescale_table(zero_point(t), COMPARE_LEFT_SHIFT, quantize_multiplier_smaller_than_one(np.float64(scale(t))))
        for t in inputs
    ]
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
        "tables": (
            ctx.const(rescale_table(zero_point(in1), shift, q1), "table1"),
            ctx.const(rescale_table(zero_point(in2), shift, q2), "table2"),
        ),
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


def _mul(a: int, b: int) -> int:
    return int(saturating_rounding_doubling_high_mul(np.int64(a), int(b)))


def _wrap(x: int) -> int:
    """int32 wrap-around, as gemmlowp's fixed-point subtraction."""
    return (x + 2**31) % 2**32 - 2**31


def _saturating_shift_left(x: int, exponent: int) -> int:
    """gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent."""
    threshold = (1 << (31 - exponent)) - 1
    return 2**31 - 1 if x > threshold else -(2**31) if x < -threshold else x << exponent


def inv_sqrt_multiplier(value: int) -> tuple[int, int]:
    """common.h GetInvSqrtQuantizedMultiplierExp(value, kReverseShift): 1/sqrt(value) as
    a multiplier and left shift, by gemmlowp's five Newton-Raphson steps in Q3.28."""
    if value <= 1:
        return 2**31 - 1, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    pairs = (32 - value.bit_length() - 1) // 2 - 1  # CountLeadingZeros - 1, in bit pairs, less one
    shift -= pairs
    value <<= 2 * pairs
    half_input = int(rounding_divide_by_pot(np.int64(value >> 1), 1))
    x = 1 << 28  # F3 one
    for _ in range(5):
        x3 = _saturating_shift_left(_mul(_mul(x, x), x), 6)
        x = _saturating_shift_left(_wrap(_mul((1 << 28) + (1 << 27), x) - _mul(half_input, x3)), 3)
    x = _mul(x, 1518500250)  # sqrt(2) / 2 in Q0.31
    if shift < 0:
        x, shift = x << -shift, 0
    return x, -shift


def rsqrt_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int) -> np.ndarray:
    """elementwise.cc RsqrtEvalQuantized for each int8 value in (uint8_t) order. Below the
    zero point TFLite reports an error (no real result); the table saturates there, as at 0."""
    multiplier, shift = quantize_multiplier(
        1.0 / np.float64(np.sqrt(np.float32(input_scale)) * np.float32(output_scale))
    )
    table = []
    for x in np.arange(256, dtype=np.uint8).view(np.int8).tolist():
        value = x - input_zero_point
        if value <= 0:
            table.append(127)
            continue
        inv, inv_shift = inv_sqrt_multiplier(value)
        data = multiply_by_quantized_multiplier(np.int64(1), inv, inv_shift + 20)
        table.append(int(multiply_by_quantized_multiplier(data, multiplier, shift - 20)) + output_zero_point)
    return np.clip(table, -128, 127).astype(np.int8)


INT8_TABLES = {"abs": abs_table, "rsqrt": rsqrt_table}


@lowers(*INT8_TABLES)
@lowers(*(set(UNARY) - set(INT8_TABLES)), dtypes=("float32",))
def lower_math(op: Op, ctx: LowerContext) -> LayerCode:
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    values = _unary_values(op, ctx)
    if inp.dtype == "float32":
        return LayerCode(
            "unary_f32", values | {"kernel": "aiotc_math_f32", "args": [_selector(op.kind)]}, ("aiotc_math_f32",)
        )
    table = ctx.const(INT8_TABLES[op.kind](scale(inp), zero_point(inp), scale(out), zero_point(out)), "table")
    return LayerCode("unary_f32", values | {"kernel": "aiotc_lookup_s8", "args": [table]}, ("aiotc_lookup_s8",))


@lowers("logical_and", "logical_or", dtypes=("bool",))
def lower_logical(op: Op, ctx: LowerContext) -> LayerCode:
    values = _broadcast_values(op, ctx, f"AIOTC_{op.kind.upper()}")
    return LayerCode("binary_math", values | {"kernel": "aiotc_logical"}, ("aiotc_logical",))


@lowers("logical_not", dtypes=("bool",))
def lower_logical_not(op: Op, ctx: LowerContext) -> LayerCode:
    return LayerCode(
        "unary_f32", _unary_values(op, ctx) | {"kernel": "aiotc_logical_not", "args": []}, ("aiotc_logical_not",)
    )


@lowers("select_v2", dtypes=("bool",))  # the condition's dtype; the values may be any type
def lower_select(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    cond, in1, in2, out = (graph[t] for t in (*op.inputs[:3], op.outputs[0]))
    _require_one_quantization(op, ctx, op.inputs[1:3])
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
