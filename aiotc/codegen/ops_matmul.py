"""Lowering of BATCH_MATMUL (issue 20): operand strides express adj_x / adj_y and batch
broadcasting, so the kernel needs no transposed copies (tflite-micro makes them)."""

from __future__ import annotations

import numpy as np

from ..fixedpoint import quantize_multiplier
from ..ir import Op
from .lowering import LayerCode, LowerContext, lowers, scale, suffix, zero_point


def _batch_strides(shape: tuple[int, ...], batch: tuple[int, int]) -> list[int]:
    """Element strides of one operand's two batch dims (padded with leading ones), 0 where broadcast."""
    dims = (1,) * (4 - len(shape)) + tuple(shape)
    matrix = dims[2] * dims[3]
    strides = [dims[1] * matrix, matrix]
    return [s if d == b else 0 for s, d, b in zip(strides, dims[:2], batch)]


@lowers("batch_matmul")
def lower_batch_matmul(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
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
        real = np.float64(scale(lhs)) * np.float64(scale(rhs)) / np.float64(scale(out))
        values["params"] = (-zero_point(lhs), -zero_point(rhs), zero_point(out), quantize_multiplier(real))
    kernel = f"aiotc_batch_matmul_{suffix(out.dtype)}"
    return LayerCode("batch_matmul", values | {"kernel": kernel}, (kernel,))
