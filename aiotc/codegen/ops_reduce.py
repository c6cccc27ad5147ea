"""Lowerings of reductions: SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_ALL (over dimensions), ARG_MAX, ARG_MIN (along one axis).

int8 SUM is TFLite Micro's QuantizedMeanOrSum without the 1/count: aiotc_mean_s8 with
the plain input/output scale multiplier (reduce_common.cc). int8 max/min copy values.
"""

from __future__ import annotations

import numpy as np

from ..fixedpoint import quantize_multiplier
from ..ir import Op
from .lowering import LayerCode, LowerContext, dims, lowers, scale, suffix, zero_point

REDUCE_OPERATIONS = {
    "reduce_max": "AIOTC_REDUCE_MAX",
    "reduce_min": "AIOTC_REDUCE_MIN",
    "sum": "AIOTC_REDUCE_SUM",
    "reduce_all": "AIOTC_REDUCE_MIN",  # bools are 0 or 1 bytes: ALL is their minimum
}


@lowers("reduce_all", dtypes=("bool",))  # tflite-micro: bool only
@lowers("sum", "reduce_max", "reduce_min")
def lower_reduce(op: Op, ctx: LowerContext) -> LayerCode:
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    reduced = [0, 0, 0, 0]
    for axis in op.attrs.axes:
        reduced[4 - len(inp.shape) + axis] = 1
    values = {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "input_dims": dims(inp.shape),
        "reduce_dims": tuple(reduced),
        "operation": REDUCE_OPERATIONS[op.kind],
        "mean_params": None,
    }
    if op.kind == "sum" and inp.dtype == "int8":
        values["mean_params"] = (
            -zero_point(inp),
            zero_point(out),
            quantize_multiplier(np.float64(scale(inp)) / np.float64(scale(out))),
        )
        kernel = "aiotc_mean_s8"
    elif inp.dtype == "bool":  # REDUCE_ALL: the int8 kernel's minimum on the 0/1 bytes
        values |= {"input": f"(const int8_t *){values['input']}", "output": f"(int8_t *){values['output']}"}
        kernel = "aiotc_reduce_s8"
    else:
        kernel = f"aiotc_reduce_{suffix(inp.dtype)}"
    return LayerCode("reduce", values | {"kernel": kernel}, (kernel,))


@lowers("arg_max", "arg_min")
def lower_arg_min_max(op: Op, ctx: LowerContext) -> LayerCode:
    shape, axis = ctx.graph[op.inputs[0]].shape, op.attrs.axis
    values = {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "is_max": int(op.kind == "arg_max"),
        "outer": int(np.prod(shape[:axis], dtype=np.int64)),
        "axis_size": shape[axis],
        "inner": int(np.prod(shape[axis + 1 :], dtype=np.int64)),
    }
    kernel = f"aiotc_arg_min_max_{suffix(ctx.graph[op.inputs[0]].dtype)}"
    return LayerCode("arg_min_max", values | {"kernel": kernel}, (kernel,))
