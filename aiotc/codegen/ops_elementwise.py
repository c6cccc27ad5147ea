"""Lowerings of elementwise arithmetic, reductions, softmax and activations.

Every constant is derived as TFLite Micro's Prepare derives it (add_common.cc,
mul_common.cc, reduce_common.cc, softmax_common.cc), in the same float/double
precision, so the C only evaluates.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError
from ..fixedpoint import (
    INT_RANGE,
    hard_swish_table,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    quantize_multiplier_smaller_than_one,
    quantize_value,
    sigmoid_table,
    tflite_round,
)
from ..ir import Op
from .lowering import LayerCode, LowerContext, activation_limits, c_float, dims, lowers, scale, suffix, zero_point

ADD_LEFT_SHIFT = {"int8": 20, "int16": 15}
SOFTMAX_INTEGER_BITS = 5


def broadcast_strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Element strides of `shape` along each of the 4-D output dims (0 where broadcast)."""
    full, out = dims(shape), dims(out_shape)
    strides, step = [0, 0, 0, 0], 1
    for axis in (3, 2, 1, 0):
        strides[axis] = step if full[axis] == out[axis] else 0
        step *= full[axis]
    return tuple(strides)  # type: ignore[return-value]


@lowers("mul")
@lowers("add", "sub", dtypes=("int8", "int16", "float32"))
def lower_binary(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    in1, in2, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    lo, hi = activation_limits(op, graph)
    values = {
        "input1": ctx.ptr(op.inputs[0]),
        "input2": ctx.ptr(op.inputs[1]),
        "output": ctx.ptr(op.outputs[0]),
        "output_dims": dims(out.shape),
        "stride1": broadcast_strides(in1.shape, out.shape),
        "stride2": broadcast_strides(in2.shape, out.shape),
        "act_min": lo,
        "act_max": hi,
        "quantized": out.dtype != "float32",
        "tables": None,
    }
    if values["quantized"]:
        s1, s2, so = scale(in1), scale(in2), scale(out)
        values |= {
            "input1_offset": -zero_point(in1),
            "input2_offset": -zero_point(in2),
            "output_offset": zero_point(out),
        }
        if op.kind == "mul":
            values |= {
                "left_shift": 0,
                "q1": (0, 0),
                "q2": (0, 0),
                "qout": quantize_multiplier(np.float64(s1) * np.float64(s2) / np.float64(so)),
            }
        else:
            left_shift = ADD_LEFT_SHIFT[out.dtype]
            twice_max = 2 * np.float64(max(np.float32(s1), np.float32(s2)))
            values |= {
                "left_shift": left_shift,
                "q1": quantize_multiplier_smaller_than_one(np.float64(s1) / twice_max),
                "q2": quantize_multiplier_smaller_than_one(np.float64(s2) / twice_max),
                "qout": quantize_multiplier_smaller_than_one(twice_max / ((1 << left_shift) * np.float64(so))),
            }
            if out.dtype == "int8":
                sign = -1 if op.kind == "sub" else 1
                values["tables"] = (
                    ctx.const(rescale_table(zero_point(in1), left_shift, values["q1"]), "table1"),
                    ctx.const(sign * rescale_table(zero_point(in2), left_shift, values["q2"]), "table2"),
                )
                return LayerCode("binary", values | {"kernel": "aiotc_add_table_s8"}, ("aiotc_add_table_s8",))
            values["subtract"] = int(op.kind == "sub")  # int16: aiotc_add_s16, element by element
            return LayerCode("binary", values | {"kernel": "aiotc_add_s16"}, ("aiotc_add_s16",))
    kernel = f"aiotc_{op.kind}_{suffix(out.dtype)}"
    return LayerCode("binary", values | {"kernel": kernel}, (kernel,))


def rescale_table(zero_point: int, left_shift: int, quant: tuple[int, int]) -> np.ndarray:
    """An int8 add/sub input rescaled as TFLite does it, for each of its 256 values in
    (uint8_t) order: MultiplyByQuantizedMultiplier((x - zero_point) << left_shift)."""
    x = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.int64)
    return multiply_by_quantized_multiplier((x - zero_point) * (1 << left_shift), *quant).astype(np.int32)


def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """reduce.h QuantizedMeanOrSum: input/output scale with 1/count folded into the multiplier."""
    multiplier, shift = quantize_multiplier(np.float64(input_scale) / np.float64(output_scale))
    bits = min(count.bit_length() - 1, 32, 31 + shift)
    return int((multiplier << bits) // count), shift - bits


@lowers("mean")
def lower_mean(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    rank = len(inp.shape)
    if op.attrs.rows is not None:  # a band of a streamed row sum (ops.global_mean)
        first, rows = op.attrs.rows
        last = first + inp.shape[1] == rows
        values = {
            "input": ctx.ptr(op.inputs[0]),
            "output": ctx.ptr(op.outputs[0]),
            "input_dims": dims(inp.shape),
            "first": int(first == 0),
            "count": rows * inp.shape[2] if last else 0,
        }
        return LayerCode("mean_rows", values | {"kernel": "aiotc_mean_rows_f32"}, ("aiotc_mean_rows_f32",))
    reduced = [0, 0, 0, 0]
    for axis in op.attrs.axes:
        reduced[4 - rank + axis] = 1
    values = {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "input_dims": dims(inp.shape),
        "reduce_dims": tuple(reduced),
        "quantized": inp.dtype != "float32",
    }
    if values["quantized"]:
        count = int(np.prod([inp.shape[a] for a in op.attrs.axes]))
        values |= {
            "input_offset": -zero_point(inp),
            "output_offset": zero_point(out),
            "quant": mean_multiplier(scale(inp), scale(out), count),
        }
    kernel = f"aiotc_mean_{suffix(inp.dtype)}"
    return LayerCode("mean", values | {"kernel": kernel}, (kernel,))


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius for int8 input (Q5.26 differences)."""
    real = min(np.float64(beta) * np.float64(input_scale) * (1 << (31 - SOFTMAX_INTEGER_BITS)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    if left_shift < 0:
        raise ModelError(f"softmax input scale {input_scale:g} (beta {beta:g}) is too small for TFLite's int8 softmax")
    radius = math.floor(((1 << SOFTMAX_INTEGER_BITS) - 1) * (1 << (31 - SOFTMAX_INTEGER_BITS)) / (1 << left_shift))
    return multiplier, left_shift, -radius


@lowers("softmax")
def lower_softmax(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    depth = inp.shape[-1]
    values = {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "rows": inp.size // depth,
        "depth": depth,
        "quantized": inp.dtype != "float32",
        "beta": c_float(op.attrs.beta),
    }
    if values["quantized"]:
        if out.dtype == "int16":  # tflite-micro's check: zero point -32768, scale 1/65536 within 0.1%
            if zero_point(out) != -32768 or abs(scale(out) - 1 / 65536) > 0.001 / 65536:
                raise ModelError(f"softmax {op.name}: int16 output must have scale 1/65536 and zero point -32768")
        elif zero_point(out) != -128 or np.float32(scale(out)) != np.float32(1 / 256):
            raise ModelError(f"softmax {op.name}: int8 output must have scale 1/256 and zero point -128")
        values["params"] = softmax_params(op.attrs.beta, scale(inp))
    kernel = f"aiotc_softmax_{suffix(inp.dtype)}" + ("_s16" if out.dtype == "int16" else "")
    return LayerCode("softmax", values | {"kernel": kernel}, (kernel,))


# --- unary ops ----------------------------------------------------------------------

SIGMOID_INPUT_INTEGER_BITS = 4
IDENTITY = (1 << 30, 1)  # a multiplier/shift pair that requantizes x to exactly x


def _unary_values(op: Op, ctx: LowerContext) -> dict:
    inp = ctx.graph[op.inputs[0]]
    return {"input": ctx.ptr(op.inputs[0]), "output": ctx.ptr(op.outputs[0]), "size": inp.size}


def sigmoid_params(input_scale: float) -> tuple[int, int, int]:
    """Logistic/tanh Prepare: input multiplier to Q4.27, its shift, and the saturation radius."""
    q, shift = math.frexp(np.float64(input_scale) * (1 << (31 - SIGMOID_INPUT_INTEGER_BITS)))
    if shift < 0:
        raise ModelError(f"input scale {input_scale} is too small for TFLite's int8 logistic/tanh")
    multiplier = tflite_round(q * (1 << 31))
    multiplier = (multiplier + 2**31) % 2**32 - 2**31  # static_cast<int32_t>, as TFLite does
    radius = math.floor(
        ((1 << SIGMOID_INPUT_INTEGER_BITS) - 1) * (1 << (31 - SIGMOID_INPUT_INTEGER_BITS)) / (1 << shift)
    )
    return multiplier, shift, radius


def _int16_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier, then DownScaleInt32ToInt16Multiplier (hard swish)."""
    multiplier, exponent = quantize_multiplier(real)
    if multiplier >= 2**31 - 1 - (1 << 15):
        return 2**15 - 1, exponent
    return (multiplier + (1 << 15)) >> 16, exponent


# An int8 input less its zero point (at most 255) shifted left this much stays an int32,
# as the reference's arithmetic assumes; past it (scale ratios above 2^22) the C kernel runs.
REQUANTIZE_TABLE_MAX_SHIFT = 23


def requantize_table(input_zero_point: int, quant: tuple[int, int], output_offset: int, limits) -> np.ndarray:
    """The int8 output of each int8 input (RELU, RELU6, QUANTIZE int8 -> int8), indexed by
    its byte (uint8 order): tflite-micro's MultiplyByQuantizedMultiplier, offset and clamp."""
    values = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.int64) - input_zero_point
    requantized = multiply_by_quantized_multiplier(values, *quant) + output_offset
    return np.clip(requantized, *limits).astype(np.int8)


@lowers("relu", "relu6")
@lowers("quantize", dtypes=("int8", "int16", "int32", "float32"))
def lower_requantize(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    values = _unary_values(op, ctx)
    if inp.dtype == "float32" and out.dtype == "float32":
        lo, hi = {"relu": (0.0, float("inf")), "relu6": (0.0, 6.0)}[op.kind]
        return LayerCode(
            "unary_f32",
            values | {"kernel": "aiotc_clamp_f32", "args": [c_float(lo), c_float(hi)]},
            ("aiotc_clamp_f32",),
        )
    if inp.dtype == "float32":  # quantize float -> int8
        values |= {"kernel": "aiotc_quantize_f32_s8", "args": [c_float(scale(out)), zero_point(out)]}
        return LayerCode("unary_f32", values, ("aiotc_quantize_f32_s8",))
    if op.kind == "relu6":  # TFLite Micro clamps in the input's domain, output = input scale
        quant, offset_out = IDENTITY, zero_point(inp)
        limits = (max(-128, zero_point(inp)), min(127, quantize_value(scale(inp), zero_point(inp), 6.0)))
    else:
        quant = quantize_multiplier(
            np.float64(np.float32(scale(inp)) / np.float32(scale(out)))
            if op.kind == "relu"
            else np.float64(scale(inp)) / np.float64(scale(out))
        )
        offset_out = zero_point(out)
        limits = INT_RANGE[out.dtype]
        if op.kind == "relu":
            limits = (max(-128, zero_point(out)), 127)
    if inp.dtype == out.dtype == "int8" and quant[1] <= REQUANTIZE_TABLE_MAX_SHIFT:
        table = requantize_table(zero_point(inp), quant, offset_out, limits)
        args = [ctx.const(table, "table")]
        return LayerCode("unary_f32", values | {"kernel": "aiotc_lookup_s8", "args": args}, ("aiotc_lookup_s8",))
    kernel = (
        f"aiotc_requantize_{suffix(inp.dtype)}"
        if inp.dtype == out.dtype
        else f"aiotc_requantize_{suffix(inp.dtype)}_{suffix(out.dtype)}"
    )
    values |= {
        "input_offset": -zero_point(inp),
        "output_offset": offset_out,
        "quant": quant,
        "limits": limits,
        "kernel": kernel,
    }
    return LayerCode("requantize", values, (kernel,))


@lowers("leaky_relu", dtypes=("int8", "int16", "float32"))
def lower_leaky_relu(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    values = _unary_values(op, ctx)
    if inp.dtype == "float32":
        return LayerCode(
            "unary_f32",
            values | {"kernel": "aiotc_leaky_relu_f32", "args": [c_float(op.attrs.alpha)]},
            ("aiotc_leaky_relu_f32",),
        )
    s_in, s_out, alpha = np.float32(scale(inp)), np.float32(scale(out)), np.float32(op.attrs.alpha)
    values |= {
        "input_offset": -zero_point(inp),
        "output_offset": zero_point(out),
        "identity": quantize_multiplier(np.float64(s_in) / np.float64(s_out)),
        "alpha": quantize_multiplier(np.float64(s_in) * np.float64(alpha) / np.float64(s_out)),
    }
    kernel = f"aiotc_leaky_relu_{suffix(inp.dtype)}"
    return LayerCode("leaky_relu", values | {"kernel": kernel}, (kernel,))


@lowers("logistic", "tanh")
def lower_sigmoid(op: Op, ctx: LowerContext) -> LayerCode:
    """int8: a 256-entry table of tflite-micro's fixed-point results (about 250 instructions
    an element when computed at run time, 4 when looked up)."""
    inp = ctx.graph[op.inputs[0]]
    values = _unary_values(op, ctx)
    if inp.dtype == "float32":
        kernel = f"aiotc_{op.kind}_f32"
        return LayerCode("unary_f32", values | {"kernel": kernel, "args": []}, (kernel,))
    multiplier, shift, radius = sigmoid_params(scale(inp))
    table = ctx.const(sigmoid_table(op.kind, zero_point(inp), radius, multiplier, shift), "table")
    return LayerCode("unary_f32", values | {"kernel": "aiotc_lookup_s8", "args": [table]}, ("aiotc_lookup_s8",))


@lowers("hard_swish")
def lower_hard_swish(op: Op, ctx: LowerContext) -> LayerCode:
    """int8: a 256-entry table of tflite-micro's int16 fixed-point results (about 70
    instructions an element on a Cortex-M4 when computed at run time)."""
    graph = ctx.graph
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    values = _unary_values(op, ctx)
    if inp.dtype == "float32":
        return LayerCode(
            "unary_f32", values | {"kernel": "aiotc_hard_swish_f32", "args": []}, ("aiotc_hard_swish_f32",)
        )
    hires = np.float32(1.0 / 128.0) * np.float32(scale(inp))
    output_multiplier = _int16_multiplier(np.float64(hires / np.float32(scale(out))))
    reluish = _int16_multiplier(np.float64(hires / np.float32(3.0 / 32768.0)))
    if output_multiplier[1] > 0:
        raise ModelError(f"hard_swish {op.name!r}: output scale too small for TFLite's int8 hard swish")
    table = hard_swish_table(zero_point(inp), zero_point(out), reluish, output_multiplier)
    args = [ctx.const(table, "table")]
    return LayerCode("unary_f32", values | {"kernel": "aiotc_lookup_s8", "args": args}, ("aiotc_lookup_s8",))


@lowers("dequantize", dtypes=("int8",))
def lower_dequantize(op: Op, ctx: LowerContext) -> LayerCode:
    inp = ctx.graph[op.inputs[0]]
    values = _unary_values(op, ctx) | {
        "kernel": "aiotc_dequantize_s8_f32",
        "args": [c_float(scale(inp)), zero_point(inp)],
    }
    return LayerCode("unary_f32", values, ("aiotc_dequantize_s8_f32",))
