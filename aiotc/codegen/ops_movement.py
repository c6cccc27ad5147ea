"""Lowerings of data movement: reshape, concatenation, padding, transpose, strided slice.

Values never change here, so one byte-level kernel serves every dtype; quantized
inputs and outputs must share their quantization, as TFLite Micro requires.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..ir import Op
from .lowering import LayerCode, LowerContext, lowers

MOVEMENT_DTYPES = ("int8", "int16", "float32")


def _same_quantization(op: Op, ctx: LowerContext) -> None:
    out = ctx.graph[op.outputs[0]]
    for name in op.inputs:
        if name is not None and ctx.graph[name].quant != out.quant:
            raise ModelError(f"{op.kind} {op.name!r}: inputs and output must share quantization (as in TFLite Micro)")


@lowers("reshape", dtypes=MOVEMENT_DTYPES)
def lower_reshape(op: Op, ctx: LowerContext) -> LayerCode:
    values = {"input": ctx.ptr(op.inputs[0]), "output": ctx.ptr(op.outputs[0]), "bytes": ctx.graph[op.outputs[0]].nbytes}
    return LayerCode("reshape", values)


@lowers("concat", dtypes=MOVEMENT_DTYPES)
def lower_concat(op: Op, ctx: LowerContext) -> LayerCode:
    _same_quantization(op, ctx)
    if op.attrs.activation != "none":
        raise ModelError(f"concat {op.name!r}: a fused activation on concatenation is not supported")
    graph = ctx.graph
    out = graph[op.outputs[0]]
    axis = op.attrs.axis
    outer = int(np.prod(out.shape[:axis], dtype=np.int64))
    row_bytes = [graph[name].nbytes // outer for name in op.inputs]
    values = {"inputs": [ctx.ptr(name) for name in op.inputs], "row_bytes": row_bytes, "outer": outer, "output": ctx.ptr(op.outputs[0])}
    return LayerCode("concat", values, ("aiotc_concat",))
