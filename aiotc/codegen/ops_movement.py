"""Lowerings of data movement: reshape, concatenation, padding, transpose, strided slice.

Values never change here, so one byte-level kernel serves every dtype. TFLite Micro
copies the bytes whatever the input's and output's quantization say (a converter may give
a REVERSE_V2 or TRANSPOSE output a scale of its own), and so does aiotc; only its
CONCATENATION refuses inputs it would have to requantize (_concatenable).
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..ir import ITEMSIZE, Op
from .lowering import LayerCode, LowerContext, dims, lowers, zero_point

MOVEMENT_DTYPES = ("int8", "int16", "float32")


def _concatenable(op: Op, ctx: LowerContext) -> None:
    """TFLite Micro's int8 CONCATENATION takes only inputs of the output's scale and zero
    point, its int16 one only zero points 0 (it copies, never requantizes)."""
    out = ctx.graph[op.outputs[0]]
    for name in op.inputs:
        t = ctx.graph[name]
        if out.dtype == "int8" and t.quant != out.quant:
            raise ModelError(
                f"{op.kind} {op.name!r}: int8 inputs must share the output's scale and zero point (as in TFLite Micro)"
            )
        if out.dtype == "int16" and (zero_point(t) or zero_point(out)):
            raise ModelError(f"{op.kind} {op.name!r}: int16 inputs and output need zero point 0 (as in TFLite Micro)")


@lowers("reshape", dtypes=(*MOVEMENT_DTYPES, "int32", "bool"))  # bytes: an arg max's indices, a mask
def lower_reshape(op: Op, ctx: LowerContext) -> LayerCode:
    values = {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "bytes": ctx.graph[op.outputs[0]].nbytes,
    }
    return LayerCode("reshape", values)


@lowers("concat", dtypes=MOVEMENT_DTYPES)
def lower_concat(op: Op, ctx: LowerContext) -> LayerCode:
    _concatenable(op, ctx)
    if op.attrs.activation != "none":
        raise ModelError(f"concat {op.name!r}: a fused activation on concatenation is not supported")
    graph = ctx.graph
    out = graph[op.outputs[0]]
    axis = op.attrs.axis
    outer = int(np.prod(out.shape[:axis], dtype=np.int64))
    row_bytes = [graph[name].nbytes // outer for name in op.inputs]
    values = {
        "inputs": [ctx.ptr(name) for name in op.inputs],
        "row_bytes": row_bytes,
        "outer": outer,
        "output": ctx.ptr(op.outputs[0]),
    }
    return LayerCode("concat", values, ("aiotc_concat",))


def element_strides(shape: tuple[int, ...]) -> np.ndarray:
    """Elements between neighbours along each axis of a C-ordered `shape`."""
    return np.array([int(np.prod(shape[i + 1 :], dtype=np.int64)) for i in range(len(shape))], dtype=np.int64)


def _strides(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """Element strides of a shape seen as 4-D NHWC."""
    full = dims(shape)
    return (full[1] * full[2] * full[3], full[2] * full[3], full[3], 1)


def _to4(values: tuple[int, ...], fill: int) -> tuple[int, ...]:
    return (fill,) * (4 - len(values)) + tuple(values)


def _check_rank(op: Op, ctx: LowerContext) -> None:
    if len(ctx.graph[op.inputs[0]].shape) > 4:
        raise ModelError(f"{op.kind} {op.name!r}: tensors of rank > 4 are not supported")


@lowers("transpose", dtypes=MOVEMENT_DTYPES)
def lower_transpose(op: Op, ctx: LowerContext) -> LayerCode:
    """Any rank whose moved axes merge into at most 4 (a ShuffleNet's channel shuffle: 1 x H x
    W x G x C/G with the last two swapped is H*W rows of a G x C/G transpose)."""
    strides = element_strides(ctx.graph[op.inputs[0]].shape)
    return _strided_copy(op, ctx, 0, tuple(int(strides[p]) for p in op.attrs.perm))


@lowers("strided_slice", dtypes=MOVEMENT_DTYPES)
def lower_strided_slice(op: Op, ctx: LowerContext) -> LayerCode:
    _check_rank(op, ctx)
    inp = ctx.graph[op.inputs[0]]
    a = op.attrs
    strides = _strides(inp.shape)
    begin, stride = _to4(a.begin, 0), _to4(a.strides, 1)
    offset = sum(b * s for b, s in zip(begin, strides))
    return _strided_copy(op, ctx, offset, tuple(k * s for k, s in zip(stride, strides)))


def _strided_copy(op: Op, ctx: LowerContext, offset: int, step: tuple[int, ...]) -> LayerCode:
    out = ctx.graph[op.outputs[0]]
    # The output may have dropped (shrunk) axes; the copy walks the full-rank slice.
    full_out = _slice_shape(op, ctx) if op.kind == "strided_slice" else out.shape
    copy = _copy_axes(full_out, step)
    if copy is None:
        raise ModelError(f"{op.kind} {op.name!r}: moves more than 4 axes that do not merge (at most 4 are supported)")
    shape, in_step, out_step = copy
    values = {
        "dims": shape,
        "offset": offset,
        "in_step": in_step,
        "out_step": out_step,
        "element_size": int(ITEMSIZE[out.dtype]),
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
    }
    return LayerCode("strided_copy", values, ("aiotc_strided_copy",))


def _copy_axes(shape: tuple[int, ...], step: tuple[int, ...]) -> tuple[tuple[int, ...], ...] | None:
    """(sizes, input steps, output steps) of the copy as 4-D (None: more than 4 axes remain).
    Each axis that steps on where its inner neighbour ends is merged into it, so a slice of
    whole rows is one copy; the innermost axis is the output's own, or the one the input
    steps through element by element where that is longer (a transpose reads its input in
    order, writes it apart)."""
    axes: list[tuple[int, int]] = []  # (size, input step), in the output's order
    for size, stride in zip(shape, step):
        if size == 1:
            continue  # never steps
        if axes and axes[-1][1] == size * stride:
            axes[-1] = (axes[-1][0] * size, stride)
        else:
            axes.append((size, stride))
    out_steps = [int(np.prod([a[0] for a in axes[i + 1 :]], dtype=np.int64)) for i in range(len(axes))]
    full = [(size, stride, out) for (size, stride), out in zip(axes, out_steps)] or [(1, 1, 1)]
    reader = max((a for a in full if a[1] == 1), key=lambda a: a[0], default=full[-1])
    if reader[0] > full[-1][0]:
        full.remove(reader)
        full.append(reader)
    if len(full) > 4:
        return None
    full = [(1, 0, 0)] * (4 - len(full)) + full
    return tuple(tuple(a[i] for a in full) for i in range(3))


def _merge_padding(
    in_shape: tuple[int, ...], before: tuple[int, ...], out_shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(input, before, output) 4-D dims with each unpadded axis merged into its outer
    neighbour: the kernel copies whole input rows, as long as the padding leaves them."""
    axes: list[tuple[int, int, int]] = []  # innermost first
    for size, pad, out_size in reversed(list(zip(in_shape, before, out_shape))):
        if axes and axes[-1][0] == axes[-1][2]:
            inner = axes[-1][0]
            axes[-1] = (size * inner, pad * inner, out_size * inner)
        else:
            axes.append((size, pad, out_size))
    axes = list(reversed(axes))
    axes = [(1, 0, 1)] * (4 - len(axes)) + axes
    return tuple(a[0] for a in axes), tuple(a[1] for a in axes), tuple(a[2] for a in axes)


def _slice_shape(op: Op, ctx: LowerContext) -> tuple[int, ...]:
    a = op.attrs
    sizes = [
        max(0, -(-(e - b) // s)) if s > 0 else max(0, -(-(b - e) // -s)) for b, e, s in zip(a.begin, a.end, a.strides)
    ]
    return _to4(tuple(sizes), 1)


@lowers("pad", dtypes=MOVEMENT_DTYPES)
def lower_pad(op: Op, ctx: LowerContext) -> LayerCode:
    _check_rank(op, ctx)
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    before = _to4(tuple(p[0] for p in op.attrs.paddings), 0)
    pad_value = np.array([zero_point(out)], dtype=inp.dtype) if out.quant is not None else np.zeros(1, dtype=inp.dtype)
    input_dims, before, output_dims = _merge_padding(dims(inp.shape), before, dims(out.shape))
    values = {
        "input_dims": input_dims,
        "before": before,
        "output_dims": output_dims,
        "element_size": int(ITEMSIZE[out.dtype]),
        "pad_value": ctx.const(pad_value, "pad_value"),
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
    }
    return LayerCode("pad", values, ("aiotc_pad",))
