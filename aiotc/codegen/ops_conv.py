"""Lowerings of the conv family: conv2d, depthwise_conv2d, fully_connected and pooling.

Multipliers follow TFLite Micro's Prepare exactly: conv and depthwise (and per-channel
fully connected) compute input_scale * filter_scale / output_scale in double from the
float32 scales; per-tensor fully connected multiplies the two float32 scales in
float32 first (GetQuantizedConvolutionMultipler). A different rounding of one
multiplier changes outputs, so these details matter.
"""

from __future__ import annotations

import numpy as np

from ..fixedpoint import quantize_multiplier_array
from ..ir import Op
from .lowering import LayerCode, LowerContext, activation_limits, dims, lowers, scale, suffix, zero_point


def _channel_multipliers(op: Op, ctx: LowerContext, channels: int) -> tuple[str, str]:
    """Per-output-channel multiplier and shift arrays (a per-tensor filter repeats its one)."""
    graph = ctx.graph
    inp, filt, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    filter_scales = filt.quant.scale.astype(np.float64)
    if filter_scales.size == 1:
        filter_scales = np.repeat(filter_scales, channels)
    if op.kind == "fully_connected" and filt.quant.scale.size == 1:
        product = np.float64(np.float32(scale(inp)) * np.float32(filt.quant.scale[0]))
        reals = np.full(channels, product / np.float64(scale(out)))
    else:
        reals = np.float64(scale(inp)) * filter_scales / np.float64(scale(out))
    multipliers, shifts = quantize_multiplier_array(reals)
    return ctx.const(multipliers, f"{op.name}_multiplier"), ctx.const(shifts, f"{op.name}_shift")


def _bias(op: Op, ctx: LowerContext) -> str:
    return ctx.ptr(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] is not None else "0"


def _common(op: Op, ctx: LowerContext) -> dict:
    graph = ctx.graph
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    lo, hi = activation_limits(op, graph)
    return {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "input_dims": dims(inp.shape),
        "output_dims": dims(out.shape),
        "input_offset": -zero_point(inp),
        "output_offset": zero_point(out),
        "act_min": lo,
        "act_max": hi,
        "quantized": inp.dtype != "float32",
    }


@lowers("conv2d", "depthwise_conv2d")
def lower_conv(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    filt, out = graph[op.inputs[1]], graph[op.outputs[0]]
    a = op.attrs
    values = _common(op, ctx) | {
        "filter": ctx.ptr(op.inputs[1]),
        "filter_dims": filt.shape,  # OHWI, or 1HW(C*M)
        "bias": _bias(op, ctx),
        "stride": a.stride,
        "padding": (a.padding.top, a.padding.left),
        "dilation": a.dilation,
        "ch_mult": getattr(a, "depth_multiplier", 1),
    }
    if values["quantized"]:
        values["multiplier"], values["shift"] = _channel_multipliers(op, ctx, out.shape[-1])
    name = "convolve" if op.kind == "conv2d" else "depthwise_conv"
    kernel = f"aiotc_{name}_{suffix(graph[op.inputs[0]].dtype)}"
    return LayerCode(op.kind, values | {"kernel": kernel}, (kernel,))


@lowers("fully_connected")
def lower_fully_connected(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    inp, filt, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    out_c, depth = filt.shape
    values = _common(op, ctx) | {
        "filter": ctx.ptr(op.inputs[1]),
        "bias": _bias(op, ctx),
        "input_dims": (inp.size // depth, 1, 1, depth),
        "filter_dims": (out_c, 1, 1, depth),
        "output_dims": (out.size // out_c, 1, 1, out_c),
        "filter_offset": -zero_point(filt),
    }
    if values["quantized"]:
        values["multiplier"], values["shift"] = _channel_multipliers(op, ctx, out_c)
    kernel = f"aiotc_fully_connected_{suffix(inp.dtype)}"
    return LayerCode("fully_connected", values | {"kernel": kernel}, (kernel,))


@lowers("avg_pool2d", "max_pool2d")
def lower_pool(op: Op, ctx: LowerContext) -> LayerCode:
    a = op.attrs
    values = _common(op, ctx) | {"kernel_hw": a.kernel, "stride": a.stride, "padding": (a.padding.top, a.padding.left)}
    kernel = f"aiotc_{op.kind.split('_')[0]}pool_{suffix(ctx.graph[op.inputs[0]].dtype)}"
    return LayerCode("pool", values | {"kernel": kernel}, (kernel,))
