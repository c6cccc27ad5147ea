"""Lowering of BATCH_MATMUL (issue 20): operand strides express adj_x / adj_y and batch
broadcasting, so the reference kernel needs no transposed copies (tflite-micro makes them);
aiotc_batch_matmul_packed_s8 copies what it reads into scratch, and a constant rhs that
the gemm takes runs as a 1x1 convolution (or fully connected layer) over the lhs rows."""

from __future__ import annotations

import numpy as np

from ..fixedpoint import quantize_multiplier, quantize_multiplier_array
from ..ir import Op, Tensor
from .lowering import LayerCode, LowerContext, lowers, scale, suffix, zero_point
from .ops_conv import fast_values, int8_requantization, packed_fc_values, reduced_multipliers


def _batch_strides(shape: tuple[int, ...], batch: tuple[int, int]) -> list[int]:
    """Element strides of one operand's two batch dims (padded with leading ones), 0 where broadcast."""
    dims = (1,) * (4 - len(shape)) + tuple(shape)
    matrix = dims[2] * dims[3]
    strides = [dims[1] * matrix, matrix]
    return [s if d == b else 0 for s, d, b in zip(strides, dims[:2], batch)]


def _multiplier(lhs: Tensor, rhs: Tensor, out: Tensor) -> float:
    """lhs scale x rhs scale / output scale in double: what the PyPI tflite-micro's outputs
    match (a float32 product, as its fully connected layer takes, does not)."""
    return float(np.float64(scale(lhs)) * np.float64(scale(rhs)) / np.float64(scale(out)))


def _by_weights(op: Op, ctx: LowerContext, kernel: str) -> LayerCode:
    """The layer as the 1x1 convolution's gemm over the lhs rows as pixels, or a packed fully
    connected layer over its one row (kernels.matmul_by_weights): the rhs columns are the
    weight rows, the input offset folded into a bias."""
    lhs, rhs, out = (ctx.graph[n] for n in (*op.inputs[:2], op.outputs[0]))
    depth, cols = lhs.shape[-1], out.shape[-1]
    rows = lhs.size // depth
    multipliers, shifts = quantize_multiplier_array(np.full(cols, _multiplier(lhs, rhs, out)))
    values = {
        "quantized": True,
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "filter_dims": (cols, 1, 1, depth),
        "input_offset": -zero_point(lhs),
        "filter_offset": 0,
        "output_offset": zero_point(out),
        "act_min": -128,
        "act_max": 127,
        "kernel": kernel,
    } | int8_requantization(ctx, multipliers, shifts, 1)
    if kernel == "aiotc_fully_connected_packed_s8":
        values |= {"input_dims": (1, 1, 1, depth), "output_dims": (1, 1, 1, cols)} | packed_fc_values(op, ctx)
        return LayerCode("fully_connected", values, (kernel,))
    values |= {
        "input_dims": (1, 1, rows, depth),
        "output_dims": (1, 1, rows, cols),
        "stride": (1, 1),
        "padding": (0, 0),
        "dilation": (1, 1),
    } | fast_values(op, ctx, kernel)
    return LayerCode("conv2d", values, (kernel,))


@lowers("batch_matmul", dtypes=("int8", "int16", "float32"))
def lower_batch_matmul(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    kernel = ctx.kernels[op.name].name
    if kernel in ("aiotc_convolve_1x1_s8", "aiotc_fully_connected_packed_s8"):
        return _by_weights(op, ctx, kernel)
    lhs, rhs, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    out_dims = (1,) * (4 - len(out.shape)) + tuple(out.shape)
    rows, cols = out_dims[2], out_dims[3]
    depth = lhs.shape[-2] if op.attrs.adj_x else lhs.shape[-1]
    batch = (out_dims[0], out_dims[1])
    values = {
        "lhs": ctx.ptr(op.inputs[0]),
        "rhs": ctx.ptr(op.inputs[1]),
        "output": ctx.ptr(op.outputs[0]),
        "batch": batch,
        "lhs_batch_stride": _batch_strides(lhs.shape, batch),
        "rhs_batch_stride": _batch_strides(rhs.shape, batch),
        "dims": (rows, cols, depth),
        "lhs_strides": (1, rows) if op.attrs.adj_x else (depth, 1),  # (row, depth)
        "rhs_strides": (1, depth) if op.attrs.adj_y else (cols, 1),  # (depth, col)
        "quantized": out.dtype != "float32",
    }
    if values["quantized"]:
        multiplier = quantize_multiplier(_multiplier(lhs, rhs, out))
        if out.dtype == "int16":  # the 16-bit multiplier and total shift of aiotc_requantize_s64
            reduced, total = reduced_multipliers(np.array([multiplier[0]]), np.array([multiplier[1]]))
            multiplier = (int(reduced[0]), int(total[0]))
        values["params"] = (-zero_point(lhs), -zero_point(rhs), zero_point(out), multiplier)
    kernel = kernel or f"aiotc_batch_matmul_{suffix(out.dtype)}"
    values["context"] = ctx.scratch() if kernel.startswith("aiotc_batch_matmul_packed") else None
    return LayerCode("batch_matmul", values | {"kernel": kernel}, (kernel,))
