"""Lowerings of indexed reads and writes (issue 20): GATHER_ND, EMBEDDING_LOOKUP and
DYNAMIC_UPDATE_SLICE, whose indices are tensors the kernels read at run time.

A constant index tensor (one the frontend evaluated too) is passed as a constant array:
the kernel then reads and checks it exactly as tflite-micro does with a computed one, so
one path serves both. Values only move, so one byte-level kernel serves every dtype,
except for EMBEDDING_LOOKUP's int8 values read as float32 rows.
"""

from __future__ import annotations

import numpy as np

from ..ir import ITEMSIZE, Op
from .lowering import LayerCode, LowerContext, dims, lowers
from .ops_movement import _check_rank

GATHER_ND_MAX_DEPTH = 5  # AIOTC_GATHER_ND_MAX_DEPTH, tflite-micro's MAX_INDICES_ND


def _gather_nd_values(ctx: LowerContext, params: str, indices: str, output: str, depth: int, slices: int) -> dict:
    shape = ctx.graph[params].shape
    strides = [int(np.prod(shape[i + 1 :], dtype=np.int64)) for i in range(depth)]
    return {
        "slices": slices,
        "depth": depth,
        "strides": strides + [0] * (GATHER_ND_MAX_DEPTH - depth),
        "slice_size": int(np.prod(shape[depth:], dtype=np.int64)),
        "input_size": ctx.graph[params].size,
        "element_size": int(ITEMSIZE[ctx.graph[params].dtype]),
        "indices": ctx.ptr(indices),
        "input": ctx.ptr(params),
        "output": ctx.ptr(output),
    }


@lowers("gather_nd")  # tflite-micro's GATHER_ND: float32 and int8 params
def lower_gather_nd(op: Op, ctx: LowerContext) -> LayerCode:
    indices = ctx.graph[op.inputs[1]]
    slices = int(np.prod(indices.shape[:-1], dtype=np.int64))
    values = _gather_nd_values(ctx, op.inputs[0], op.inputs[1], op.outputs[0], indices.shape[-1], slices)
    return LayerCode("gather_nd", values, ("aiotc_gather_nd",))


@lowers("embedding_lookup")  # int8 -> int8 or float32, float32 -> float32
def lower_embedding_lookup(op: Op, ctx: LowerContext) -> LayerCode:
    """Rows of the same dtype are GATHER_ND's depth-1 slices (its check is the ids' range);
    int8 values into float32 rows are multiplied by their row's scale."""
    values, ids, out = (ctx.graph[name] for name in (*op.inputs[:2], op.outputs[0]))
    if values.dtype == out.dtype:
        code = _gather_nd_values(ctx, values.name, ids.name, out.name, 1, ids.size)
        return LayerCode("gather_nd", code, ("aiotc_gather_nd",))
    # TFLite's hybrid lookup: a scale per row when the values have one (LiteRT reads them;
    # tflite-micro reads only the first), else one for the whole table.
    scales = values.quant.scale.astype(np.float32)
    code = {
        "count": ids.size,
        "rows": values.shape[0],
        "columns": values.size // values.shape[0],
        "scales": ctx.const(scales, "scales"),
        "per_row": int(scales.size > 1),
        "ids": ctx.ptr(ids.name),
        "input": ctx.ptr(values.name),
        "output": ctx.ptr(out.name),
    }
    return LayerCode("embedding_lookup", code, ("aiotc_embedding_lookup_s8_f32",))


@lowers("dynamic_update_slice", dtypes=("int8", "int16", "int32", "float32"))  # tflite-micro's types
def lower_dynamic_update_slice(op: Op, ctx: LowerContext) -> LayerCode:
    _check_rank(op, ctx)
    operand, update, start = op.inputs[:3]
    values = {
        "operand_dims": dims(ctx.graph[operand].shape),
        "update_dims": dims(ctx.graph[update].shape),
        "rank": len(ctx.graph[operand].shape),
        "element_size": int(ITEMSIZE[ctx.graph[operand].dtype]),
        "start": ctx.ptr(start),
        "operand": ctx.ptr(operand),
        "update": ctx.ptr(update),
        "output": ctx.ptr(op.outputs[0]),
    }
    return LayerCode("dynamic_update_slice", values, ("aiotc_dynamic_update_slice",))
