"""Lowerings of PRELU, ELU, L2_NORMALIZATION, L2_POOL_2D, LOG_SOFTMAX, ADD_N and CUMSUM (issue 20),
their constants derived as TFLite Micro's Prepare derives them (prelu_common.cc,
elu.cc, l2norm.cc, log_softmax.cc, add_n.cc, cumsum.cc)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ModelError
from ..fixedpoint import quantize_multiplier, tflite_round
from ..ir import Op
from .lowering import LayerCode, LowerContext, dims, lowers, scale, suffix, zero_point
from .ops_conv import lower_pool
from .ops_elementwise import ADD_LEFT_SHIFT, broadcast_strides, softmax_params

lowers("l2_pool2d", dtypes=("float32",))(
    lower_pool
)  # as avg / max pooling: kernel aiotc_l2pool_f32 (runtime_c/src/aiotc_pool_f32.c)


@lowers("prelu")
def lower_prelu(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    inp, alpha, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    values = {
        "input": ctx.ptr(op.inputs[0]),
        "alpha": ctx.ptr(op.inputs[1]),
        "output": ctx.ptr(op.outputs[0]),
        "output_dims": dims(out.shape),
        "stride1": broadcast_strides(inp.shape, out.shape),
        "stride2": broadcast_strides(alpha.shape, out.shape),
        "quantized": out.dtype != "float32",
    }
    if values["quantized"]:
        s_in, s_alpha, s_out = (np.float64(scale(t)) for t in (inp, alpha, out))
        values |= {
            "input_offset": -zero_point(inp),
            "alpha_offset": -zero_point(alpha),
            "output_offset": zero_point(out),
            "identity": quantize_multiplier(s_in / s_out),
            "alpha_quant": quantize_multiplier(s_in * s_alpha / s_out),
        }
    kernel = f"aiotc_prelu_{suffix(out.dtype)}"
    return LayerCode("prelu", values | {"kernel": kernel}, (kernel,))


def lookup_table(
    function, input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int
) -> np.ndarray:
    """elu.cc PopulateLookupTable in float32: each int8 value dequantized, transformed,
    requantized; indexed by the value's byte (uint8_t order)."""
    values = np.arange(256, dtype=np.uint8).view(np.int8).astype(np.int32)
    dequantized = np.float32(input_scale) * (values - input_zero_point).astype(np.float32)
    rescaled = function(dequantized).astype(np.float32) * (np.float32(1) / np.float32(output_scale))
    quantized = np.array([tflite_round(float(v)) for v in rescaled]) + output_zero_point
    return np.clip(quantized, -128, 127).astype(np.int8)


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, np.exp(x) - np.float32(1), x).astype(np.float32)


@lowers("elu")
def lower_elu(op: Op, ctx: LowerContext) -> LayerCode:
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    values = {"input": ctx.ptr(op.inputs[0]), "output": ctx.ptr(op.outputs[0]), "size": inp.size}
    if inp.dtype == "float32":
        return LayerCode("unary_f32", values | {"kernel": "aiotc_elu_f32", "args": []}, ("aiotc_elu_f32",))
    table = ctx.const(lookup_table(_elu, scale(inp), zero_point(inp), scale(out), zero_point(out)), "table")
    return LayerCode("unary_f32", values | {"kernel": "aiotc_lookup_s8", "args": [table]}, ("aiotc_lookup_s8",))


def _gelu(approximate: bool):
    """TFLite's GeluTransform for its int8 table: float32 but for erf, which takes x / sqrt(2) in double."""

    def gelu(x: np.ndarray) -> np.ndarray:
        if approximate:
            inner = np.float32(np.sqrt(2 / np.pi)) * (x + np.float32(0.044715) * x * x * x)
            return (np.float32(0.5) * x * (np.float32(1) + np.tanh(inner))).astype(np.float32)
        erf = np.array([math.erf(float(v) * math.sqrt(0.5)) for v in x])
        return ((np.float32(0.5) * x).astype(np.float64) * (1.0 + erf)).astype(np.float32)

    return gelu


@lowers("gelu")
def lower_gelu(op: Op, ctx: LowerContext) -> LayerCode:
    """int8 as TFLite's gelu.cc: a 256-entry table made in Prepare (tflite-micro has no GELU)."""
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    values = {"input": ctx.ptr(op.inputs[0]), "output": ctx.ptr(op.outputs[0]), "size": inp.size}
    if inp.dtype == "float32":
        args = [int(op.attrs.approximate)]
        return LayerCode("unary_f32", values | {"kernel": "aiotc_gelu_f32", "args": args}, ("aiotc_gelu_f32",))
    function = _gelu(op.attrs.approximate)
    table = ctx.const(lookup_table(function, scale(inp), zero_point(inp), scale(out), zero_point(out)), "table")
    return LayerCode("unary_f32", values | {"kernel": "aiotc_lookup_s8", "args": [table]}, ("aiotc_lookup_s8",))


@lowers("l2_normalization")
def lower_l2_normalization(op: Op, ctx: LowerContext) -> LayerCode:
    inp = ctx.graph[op.inputs[0]]
    depth = inp.shape[-1]
    # unary_f32 prints kernel(args..., size, input, output): here (rows, depth, ...)
    values: dict[str, Any] = {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "size": depth,
        "args": [inp.size // depth],
    }
    if inp.dtype == "int8":  # the kernel writes scale 1/128, zero point 0 whatever the output says, as tflite-micro
        values["args"].insert(0, -zero_point(inp))
    kernel = f"aiotc_l2_normalization_{suffix(inp.dtype)}"
    return LayerCode("unary_f32", values | {"kernel": kernel}, (kernel,))


def log_softmax_params(input_scale: float) -> tuple[int, int, int, int, int]:
    """PreprocessLogSoftmaxScalingExp (beta 1, Q5.26 differences) and diff_min, as log_softmax.cc."""
    multiplier, left_shift, diff_min = softmax_params(1.0, input_scale)
    reverse = quantize_multiplier((1 << (31 - left_shift)) / np.float64(multiplier))
    return multiplier, left_shift, *reverse, diff_min


@lowers("log_softmax")
def lower_log_softmax(op: Op, ctx: LowerContext) -> LayerCode:
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    depth = inp.shape[-1]
    values = {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "size": depth,
        "args": [inp.size // depth],
    }
    if inp.dtype == "float32":
        return LayerCode("unary_f32", values | {"kernel": "aiotc_log_softmax_f32"}, ("aiotc_log_softmax_f32",))
    if zero_point(out) != 127 or np.float32(scale(out)) != np.float32(16 / 256):
        raise ModelError(f"log_softmax {op.name}: int8 output must have scale 16/256 and zero point 127")
    return LayerCode("log_softmax", values | {"params": log_softmax_params(scale(inp))}, ("aiotc_log_softmax_s8",))


def rescaled_sum_params(inp, out) -> tuple:
    """add_n.cc / cumsum.cc Prepare: inputs rescaled as ADD rescales them (2^20 steps)."""
    twice = 2 * np.float64(scale(inp))
    left_shift = ADD_LEFT_SHIFT["int8"]
    return (
        -zero_point(inp),
        zero_point(out),
        left_shift,
        quantize_multiplier(np.float64(scale(inp)) / twice),
        quantize_multiplier(twice / ((1 << left_shift) * np.float64(scale(out)))),
    )


@lowers("add_n")
def lower_add_n(op: Op, ctx: LowerContext) -> LayerCode:
    first, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    values = {
        "inputs": [ctx.ptr(name) for name in op.inputs],
        "output": ctx.ptr(op.outputs[0]),
        "size": first.size,
        "params": None,
    }
    if out.dtype == "int8":
        if any((scale(ctx.graph[n]), zero_point(ctx.graph[n])) != (scale(first), zero_point(first)) for n in op.inputs):
            raise ModelError(f"add_n {op.name}: int8 inputs must share one scale and zero point (tflite-micro)")
        values["params"] = rescaled_sum_params(first, out)
    kernel = f"aiotc_add_n_{suffix(out.dtype)}"
    return LayerCode(
        "add_n", values | {"kernel": kernel, "c_type": "int8_t" if out.dtype == "int8" else "float"}, (kernel,)
    )


@lowers("cumsum")
def lower_cumsum(op: Op, ctx: LowerContext) -> LayerCode:
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    a = op.attrs
    layout = (
        int(np.prod(inp.shape[: a.axis], dtype=np.int64)),
        inp.shape[a.axis],
        int(np.prod(inp.shape[a.axis + 1 :], dtype=np.int64)),
    )
    values = {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "layout": layout,
        "flags": (int(a.exclusive), int(a.reverse)),
        "params": None,
    }
    if inp.dtype == "int8":
        values["params"] = rescaled_sum_params(inp, out)
    kernel = f"aiotc_cumsum_{suffix(inp.dtype)}"
    return LayerCode("cumsum", values | {"kernel": kernel}, (kernel,))
