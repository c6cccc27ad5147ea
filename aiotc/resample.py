"""Where a resize reads: per output row or column, the input rows or columns and the
fraction between them, computed as tflite-micro computes them.

The lowerings build their index tables from these, and the streaming planner reads the
same tables to know which input rows a band of output rows needs (aiotc/ops.py's
`row_map`), so a band call never reads a row the plan did not keep.
"""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache

import numpy as np

from .ir import Graph, Op


def nearest_index(out_size: int, in_size: int, align_corners: bool, half_pixel_centers: bool) -> np.ndarray:
    """tflite's GetNearestNeighbor, in float32 as it computes it (std::round: half away from zero)."""
    f32 = np.float32
    scale = f32(in_size - 1) / f32(out_size - 1) if align_corners and out_size > 1 else f32(in_size) / f32(out_size)
    at = (np.arange(out_size, dtype=f32) + f32(0.5 if half_pixel_centers else 0.0)) * scale
    wide = at.astype(np.float64)  # x + 0.5 exact, as std::round rounds x itself
    index = (np.sign(wide) * np.floor(np.abs(wide) + 0.5) if align_corners else np.floor(wide)).astype(np.int64)
    index = np.minimum(index, in_size - 1)
    return np.maximum(index, 0) if half_pixel_centers else index


def bilinear_axis(out_size: int, in_size: int, attrs, integer: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per output position: the lower and upper input index and the fraction between them,
    as TFLite's reference computes them (int8: in 1/1024ths, float32: in float32)."""
    if integer:
        num, den = (in_size - 1, out_size - 1) if attrs.align_corners and out_size > 1 else (in_size, out_size)
        scale = (1024 * num + den // 2) // den
        at = np.arange(out_size, dtype=np.int64) * scale + (scale // 2 - 512 if attrs.half_pixel_centers else 0)
        lower, upper = np.maximum(at // 1024, 0), np.minimum((at + 1023) // 1024, in_size - 1)
        return lower, upper, (at - 1024 * lower).astype(np.int32)
    f32 = np.float32
    scale = (
        f32(in_size - 1) / f32(out_size - 1) if attrs.align_corners and out_size > 1 else f32(in_size) / f32(out_size)
    )
    at = np.arange(out_size, dtype=f32)
    at = (at + f32(0.5)) * scale - f32(0.5) if attrs.half_pixel_centers else at * scale
    lower, upper = np.maximum(np.floor(at), 0).astype(np.int64), np.minimum(np.ceil(at).astype(np.int64), in_size - 1)
    return lower, upper, (at - lower.astype(f32)).astype(f32)


def integer_bilinear(op: Op, graph: Graph) -> bool:
    """Whether the bilinear resize runs TFLite's integer arithmetic (int8) or float32's."""
    return graph[op.inputs[0]].dtype == "int8"


def band_of(attrs, out_rows: int, in_rows: int) -> tuple[int, int, int, int]:
    """(full output rows, full input rows, first output row, first input row) of a resize
    whose output and input have `out_rows` and `in_rows`: a band call's (ir.Resize.rows),
    else the whole image's."""
    return attrs.rows or (out_rows, in_rows, 0, 0)


def band_attrs(op: Op, graph: Graph, first: int, first_in: int):
    """A band call's attributes: its output rows from `first`, its input's from `first_in`,
    of the whole image's (band_of)."""
    return replace(op.attrs, rows=(*_heights(op, graph), first, first_in))


def nearest_rows(op: Op, graph: Graph) -> tuple[Rows, Rows]:
    """Per output row of a whole nearest resize, the first and last input row it reads (one row)."""
    return _nearest_rows(op.attrs, *_heights(op, graph))


def bilinear_rows(op: Op, graph: Graph) -> tuple[Rows, Rows]:
    """Per output row of a whole bilinear resize, the first and last input row it reads (nondecreasing)."""
    return _bilinear_rows(op.attrs, *_heights(op, graph), integer_bilinear(op, graph))


Rows = tuple[int, ...]


# The streaming planner asks for a resize's rows at every band of every candidate stage:
# computed once per resize.
@lru_cache(maxsize=256)
def _nearest_rows(attrs, out_rows: int, in_rows: int) -> tuple[Rows, Rows]:
    index = tuple(map(int, nearest_index(out_rows, in_rows, attrs.align_corners, attrs.half_pixel_centers)))
    return index, index


@lru_cache(maxsize=256)
def _bilinear_rows(attrs, out_rows: int, in_rows: int, integer: bool) -> tuple[Rows, Rows]:
    lower, upper, _ = bilinear_axis(out_rows, in_rows, attrs, integer)
    return tuple(map(int, lower)), tuple(map(int, upper))


def _heights(op: Op, graph: Graph) -> tuple[int, int]:
    return graph[op.outputs[0]].shape[1], graph[op.inputs[0]].shape[1]
