"""Lowerings of elementwise arithmetic, reductions, softmax and activations.

Every constant is derived as TFLite Micro's Prepare derives it (add_common.cc,
mul_common.cc, reduce_common.cc, softmax_common.cc), in the same float/double
precision, so the C only evaluates.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelError
from ..fixedpoint import quantize_multiplier, quantize_multiplier_smaller_than_one
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


@lowers("add", "sub", "mul")
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
    }
    if values["quantized"]:
        s1, s2, so = scale(in1), scale(in2), scale(out)
        values |= {"input1_offset": -zero_point(in1), "input2_offset": -zero_point(in2), "output_offset": zero_point(out)}
        if op.kind == "mul":
            values |= {"left_shift": 0, "q1": (0, 0), "q2": (0, 0), "qout": quantize_multiplier(np.float64(s1) * np.float64(s2) / np.float64(so))}
        else:
            left_shift = ADD_LEFT_SHIFT[out.dtype]
            twice_max = 2 * np.float64(max(np.float32(s1), np.float32(s2)))
            values |= {
                "left_shift": left_shift,
                "q1": quantize_multiplier_smaller_than_one(np.float64(s1) / twice_max),
                "q2": quantize_multiplier_smaller_than_one(np.float64(s2) / twice_max),
                "qout": quantize_multiplier_smaller_than_one(twice_max / ((1 << left_shift) * np.float64(so))),
            }
    kernel = f"aiotc_{op.kind}_{suffix(out.dtype)}"
    return LayerCode("binary", values | {"kernel": kernel}, (kernel,))


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
    reduced = [0, 0, 0, 0]
    for axis in op.attrs.axes:
        reduced[4 - rank + axis] = 1
    values = {"input": ctx.ptr(op.inputs[0]), "output": ctx.ptr(op.outputs[0]), "input_dims": dims(inp.shape), "reduce_dims": tuple(reduced), "quantized": inp.dtype != "float32"}
    if values["quantized"]:
        count = int(np.prod([inp.shape[a] for a in op.attrs.axes]))
        values |= {"input_offset": -zero_point(inp), "output_offset": zero_point(out), "quant": mean_multiplier(scale(inp), scale(out), count)}
    kernel = f"aiotc_mean_{suffix(inp.dtype)}"
    return LayerCode("mean", values | {"kernel": kernel}, (kernel,))


def softmax_params(beta: float, input_scale: float) -> tuple[int, int, int]:
    """PreprocessSoftmaxScaling + CalculateInputRadius for int8 input (Q5.26 differences)."""
    real = min(np.float64(beta) * np.float64(input_scale) * (1 << (31 - SOFTMAX_INTEGER_BITS)), (1 << 31) - 1.0)
    multiplier, left_shift = quantize_multiplier(real)
    assert left_shift >= 0, "softmax input multiplier must be >= 1"
    radius = math.floor(((1 << SOFTMAX_INTEGER_BITS) - 1) * (1 << (31 - SOFTMAX_INTEGER_BITS)) / (1 << left_shift))
    return multiplier, left_shift, -radius


@lowers("softmax")
def lower_softmax(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    depth = inp.shape[-1]
    values = {"input": ctx.ptr(op.inputs[0]), "output": ctx.ptr(op.outputs[0]), "rows": inp.size // depth, "depth": depth, "quantized": inp.dtype != "float32", "beta": c_float(op.attrs.beta)}
    if values["quantized"]:
        if zero_point(out) != -128 or np.float32(scale(out)) != np.float32(1 / 256):
            raise ModelError(f"softmax {op.name}: int8 output must have scale 1/256 and zero point -128")
        values["params"] = softmax_params(op.attrs.beta, scale(inp))
    kernel = f"aiotc_softmax_{suffix(inp.dtype)}"
    return LayerCode("softmax", values | {"kernel": kernel}, (kernel,))
