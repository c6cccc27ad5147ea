"""Lowerings of layout ops (issue 20): PACK, and the copies whose input index is a sum
of per-axis tables (TILE, BROADCAST_TO, RESIZE_NEAREST_NEIGHBOR, REVERSE_V2, GATHER,
MIRROR_PAD, DEPTH_TO_SPACE, SPACE_TO_DEPTH, BATCH_TO_SPACE_ND, SPACE_TO_BATCH_ND),
and RESIZE_BILINEAR.

The per-axis tables are computed here, once, so one byte-level kernel
(aiotc_index_copy) serves every such op and dtype; SPLIT, SPLIT_V, SLICE and UNPACK
are strided slices (the frontend makes one per output).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from ..errors import ModelError
from ..ir import ITEMSIZE, Op
from ..resample import band_of, bilinear_axis, integer_bilinear, nearest_index
from .lowering import LayerCode, LowerContext, dims, lowers
from .ops_movement import MOVEMENT_DTYPES, _check_rank, element_strides


@lowers("pack", dtypes=MOVEMENT_DTYPES)
def lower_pack(op: Op, ctx: LowerContext) -> LayerCode:
    """Stacking is concatenation of rows: each input gives one row per outer index."""
    shape = ctx.graph[op.inputs[0]].shape
    outer = int(np.prod(shape[: op.attrs.axis], dtype=np.int64))
    row_bytes = [ctx.graph[name].nbytes // max(outer, 1) for name in op.inputs]
    values = {
        "inputs": [ctx.ptr(name) for name in op.inputs],
        "row_bytes": row_bytes,
        "outer": outer,
        "output": ctx.ptr(op.outputs[0]),
    }
    return LayerCode("concat", values, ("aiotc_concat",))


def _index_tables(
    op: Op, in_shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> tuple[tuple[int, ...], list[np.ndarray]]:
    """(the output's shape as the copy walks it, per axis the input element offset of each position)."""
    a, k = op.attrs, op.kind
    if k == "gather":
        out_shape = in_shape[: a.axis] + (len(a.indices),) + in_shape[a.axis + 1 :]
    in_shape = (1,) * (len(out_shape) - len(in_shape)) + in_shape  # BROADCAST_TO may add axes
    stride = element_strides(in_shape)
    positions = [np.arange(d, dtype=np.int64) for d in out_shape]
    if k in ("tile", "broadcast_to"):
        index = [p % d for p, d in zip(positions, in_shape)]
    elif k == "reverse":
        index = [d - 1 - p if axis in a.axes else p for axis, (p, d) in enumerate(zip(positions, in_shape))]
    elif k == "mirror_pad":
        mode: Literal["reflect", "symmetric"] = "reflect" if a.reflect else "symmetric"  # numpy's modes are TFLite's
        index = [np.pad(np.arange(d), pads, mode=mode) for d, pads in zip(in_shape, a.paddings)]
    elif k == "resize_nearest":
        out_rows, in_rows, first, first_in = band_of(a, out_shape[1], in_shape[1])
        rows = nearest_index(out_rows, in_rows, a.align_corners, a.half_pixel_centers)[first : first + out_shape[1]]
        cols = nearest_index(out_shape[2], in_shape[2], a.align_corners, a.half_pixel_centers)
        index = [positions[0], rows - first_in, cols, positions[3]]
    elif k == "gather":
        index = [np.array(a.indices, dtype=np.int64) if axis == a.axis else p for axis, p in enumerate(positions)]
    elif k in ("batch_to_space", "space_to_batch"):
        in_shape, out_shape = _nhwc(in_shape), _nhwc(out_shape)
        return out_shape, _batch_tables(k, a, in_shape, out_shape)
    else:
        return out_shape, _block_tables(k, a.block_size, in_shape, out_shape, stride)
    return out_shape, [i * s for i, s in zip(index, stride)]


def _block_tables(kind: str, b: int, in_shape, out_shape, stride) -> list[np.ndarray]:
    """DEPTH_TO_SPACE reads channel ((h % b) * b + w % b) * C' + c of pixel (h / b, w / b);
    SPACE_TO_DEPTH is its inverse. Either way the offset splits into per-axis terms."""
    n, h, w, c = (np.arange(d, dtype=np.int64) for d in out_shape)
    if kind == "depth_to_space":
        depth = out_shape[3]
        return [n * stride[0], h // b * stride[1] + h % b * b * depth, w // b * stride[2] + w % b * depth, c]
    depth = in_shape[3]
    return [
        n * stride[0],
        h * b * stride[1],
        w * b * stride[2],
        c // (b * depth) * stride[1] + c // depth % b * stride[2] + c % depth,
    ]


def _nhwc(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A 3-D batch-space shape (N, H, C) as NHWC with W = 1, as TFLite extends it."""
    return (shape[0], shape[1], 1, shape[2]) if len(shape) == 3 else shape


def _batch_tables(kind: str, a, in_shape, out_shape) -> list[np.ndarray]:
    """BATCH_TO_SPACE_ND: output pixel (h + top, w + left) comes from batch
    ((h % bh) * bw + w % bw) * N' + n at (h / bh, w / bw); SPACE_TO_BATCH_ND is the inverse."""
    (bh, bw), ((top, _), (left, _)) = a.block, a.crops
    _, height, width, depth = in_shape
    image, row = height * width * depth, width * depth
    n, h, w, c = (np.arange(d, dtype=np.int64) for d in out_shape)
    if kind == "batch_to_space":
        batches = out_shape[0]
        h, w = h + top, w + left
        return [n * image, h % bh * bw * batches * image + h // bh * row, w % bw * batches * image + w // bw * depth, c]
    batches = in_shape[0]
    return [n % batches * image + n // batches // bw * row + n // batches % bw * depth, h * bh * row, w * bw * depth, c]


@lowers(
    "tile",
    "broadcast_to",
    "resize_nearest",
    "reverse",
    "gather",
    "mirror_pad",
    "depth_to_space",
    "space_to_depth",
    "batch_to_space",
    "space_to_batch",
    dtypes=MOVEMENT_DTYPES,
)
def lower_index_copy(op: Op, ctx: LowerContext) -> LayerCode:
    _check_rank(op, ctx)
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    shape, tables = _index_tables(op, inp.shape, out.shape)
    if len(shape) > 4:
        raise ModelError(f"{op.kind} {op.name!r}: tensors of rank > 4 are not supported")
    tables = [np.zeros(1, np.int64)] * (4 - len(tables)) + tables
    values = {
        "output_dims": dims(shape),
        "offsets": ctx.const(np.concatenate(tables).astype(np.int32), "offsets"),
        "element_size": int(ITEMSIZE[out.dtype]),
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
    }
    return LayerCode("index_copy", values, ("aiotc_index_copy",))


@lowers("resize_bilinear")
def lower_resize_bilinear(op: Op, ctx: LowerContext) -> LayerCode:
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    integer = integer_bilinear(op, ctx.graph)
    values = {
        "input_dims": dims(inp.shape),
        "output_dims": dims(out.shape),
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
    }
    out_rows, in_rows, first, first_in = band_of(op.attrs, out.shape[1], inp.shape[1])
    rows = tuple(row[first : first + out.shape[1]] for row in bilinear_axis(out_rows, in_rows, op.attrs, integer))
    cols = bilinear_axis(out.shape[2], inp.shape[2], op.attrs, integer)
    for name, (lower, upper, frac), shift in (("row", rows, first_in), ("col", cols, 0)):
        lower, upper = lower - shift, upper - shift
        values[f"{name}s"] = ctx.const(np.stack([lower, upper], axis=1).ravel().astype(np.int32), f"{name}s")
        values[f"{name}_frac"] = ctx.const(frac, f"{name}_frac")
    kernel = "aiotc_resize_bilinear_s8" if integer else "aiotc_resize_bilinear_f32"
    return LayerCode("resize_bilinear", values | {"kernel": kernel}, (kernel,))


CAST_TYPES = {
    "int8": "AIOTC_TYPE_INT8",
    "int16": "AIOTC_TYPE_INT16",
    "int32": "AIOTC_TYPE_INT32",
    "float32": "AIOTC_TYPE_FLOAT32",
}


@lowers("cast", dtypes=tuple(CAST_TYPES))
def lower_cast(op: Op, ctx: LowerContext) -> LayerCode:
    inp, out = ctx.graph[op.inputs[0]], ctx.graph[op.outputs[0]]
    if out.dtype not in CAST_TYPES:
        raise ModelError(f"cast {op.name!r}: to {out.dtype} is not supported (int8, int16, int32, float32)")
    values = {
        "size": out.size,
        "input_type": CAST_TYPES[inp.dtype],
        "output_type": CAST_TYPES[out.dtype],
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
    }
    return LayerCode("cast", values, ("aiotc_cast",))


@lowers("zeros_like", dtypes=("int8", "int32", "float32"))
def lower_zeros_like(op: Op, ctx: LowerContext) -> LayerCode:
    """Raw zeros (0.0 is all zero bytes), whatever the quantization, as tflite-micro writes them."""
    return LayerCode("zeros", {"output": ctx.ptr(op.outputs[0]), "bytes": ctx.graph[op.outputs[0]].nbytes})
