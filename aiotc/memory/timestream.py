"""Streaming along time (--stream): one new frame per call, the window's feature maps kept.

A model over a sliding window of T frames (the input's rows) is run once per frame,
the window shifted by one frame each call. Every layer of the stage (the first
layers: convs, depthwise, pools, elementwise, stride 1 along time) keeps its whole
output window in the state (outside the arena), and each call computes only the rows
that changed: the newest row, and the rows that read the window's padding (its
`top` and `bottom` border rows, recomputed every call as the windowed model computes
them). Every other row is the row below it in the previous call (the convolutions do
not know where the window starts), so a one-row shift of each cached map plus those
calls gives exactly the windowed model's feature maps; the head (flatten, pools over
the window, fully connected) then runs on them whole. Before the first frame the
window holds zero frames (the input's zero point), and its feature maps are computed
in full once: the output of call n < T is the windowed model's on T - n zero frames
followed by the n frames given.

A Conv1D as TFLite converts it slides along the columns of a one-row image; such a
model is first turned on its side (H and W swapped: the same bytes) so that time
runs along the rows, as the row-band machinery of streaming.py expects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import UsageError
from ..ir import Graph, Op, Padding, Tensor
from ..ops import OPS
from .reorder import best_order
from .streaming import BandCall, Read, input_rows, kernel_geometry, streamable


@dataclass(frozen=True)
class TimeStream:
    """The plan of a --stream library: which ops run per frame, on which rows."""

    window: str  # the input window: T rows, kept in the state; the caller passes its newest row
    frame: str  # the graph input: one frame
    last_op: int  # ops 0..last_op are the stage; the rest (the head) runs on whole maps
    kept: tuple[str, ...]  # the window and every stage output, whole, in the state (shifted each call)
    warm: tuple[BandCall, ...]  # the first call since a reset: every row of every stage layer
    calls: tuple[BandCall, ...]  # every call: the rows of each stage layer that change


def plan_time_stream(graph: Graph) -> tuple[Graph, TimeStream]:
    """The graph as the stream library runs it, and its per-frame plan; UsageError when it cannot stream."""
    if len(graph.inputs) != 1:
        raise UsageError(f"--stream takes a model with one input (the frames), this one has {len(graph.inputs)}")
    graph = _time_along_rows(best_order(graph))
    graph, window, frame = _frame_input(graph)
    border = {window: (0, 0)}  # tensor -> rows at its top and bottom that read the window's padding
    last_op = -1
    for index, op in enumerate(graph.ops):
        problem = _stage_problem(op, graph, border)
        if problem:
            if last_op < 0:
                raise UsageError(f"--stream: layer {op.name!r} ({op.kind}) {problem}, so no layer can run per frame")
            break
        border[op.outputs[0]] = _border(op, graph, border)
        last_op = index
    if last_op < 0:
        raise UsageError("--stream: the model has no layer")
    kept = tuple(border)
    stuck = [t for t in kept if t in graph.outputs]
    if stuck:
        raise UsageError(
            f"--stream: output {stuck[0]!r} is a feature map along time; --stream needs a head (pool, flatten, dense) after the streamed layers"
        )
    stage = graph.ops[: last_op + 1]
    warm = tuple(_call(graph, i, 0, graph[op.outputs[0]].shape[1]) for i, op in enumerate(stage))
    calls = tuple(c for i, op in enumerate(stage) for c in _changed(graph, i, border[op.outputs[0]]))
    graph = replace(graph, state=(*graph.state, *kept))
    return graph, TimeStream(window, frame, last_op, kept, warm, calls)


def _stage_problem(op: Op, graph: Graph, border: dict) -> str | None:
    """Why `op` cannot run per frame on the maps kept so far (None: it can)."""
    data = [t for t in op.inputs if t is not None and not graph[t].is_const]
    if not data or any(t not in border for t in data):
        return "does not read the frames' feature maps"
    if not streamable(op, graph):
        return "needs the whole window (it is not a conv, pool or elementwise op along time)"
    stride = kernel_geometry(op, graph)[1] if OPS[op.kind].windowed else 1
    if stride != 1:
        return f"has stride {stride} along time (one output row per {stride} frames, a new phase each frame)"
    return None


def _border(op: Op, graph: Graph, border: dict) -> tuple[int, int]:
    """Rows of the output that read the window's padding: an input's border, plus the op's own padding."""
    data = [t for t in op.inputs if t is not None and t in border]
    top, bottom = max(border[t][0] for t in data), max(border[t][1] for t in data)
    if OPS[op.kind].windowed:
        return top + op.attrs.padding.top, bottom + op.attrs.padding.bottom
    return top, bottom


def _call(graph: Graph, index: int, a: int, b: int) -> BandCall:
    """Rows [a, b) of op `index`, every map stored whole."""
    op = graph.ops[index]
    reads = []
    for t in op.inputs:
        if t is None or graph[t].is_const:
            reads.append(None)
        else:
            ia, ib = input_rows(op, graph, t, a, b)
            reads.append(Read(t, (ia, ib), ia))
    return BandCall(index, (a, b), a, tuple(reads))


def _changed(graph: Graph, index: int, border: tuple[int, int]) -> list[BandCall]:
    """The calls of op `index` each frame: its top border rows, and the newest row with the bottom border."""
    height = graph[graph.ops[index].outputs[0]].shape[1]
    top, bottom = border
    newest = height - bottom - 1
    if newest <= top:  # no row survives from the previous window: all change
        return [_call(graph, index, 0, height)]
    return ([_call(graph, index, 0, top)] if top else []) + [_call(graph, index, newest, height)]


def _frame_input(graph: Graph) -> tuple[Graph, str, str]:
    """The graph with its input replaced by one frame; the window (T x F x C) it slides over."""
    name = graph.inputs[0]
    window = name
    ops = graph.ops
    first = ops[0] if ops else None
    source = graph[name]
    if (
        first is not None
        and first.kind == "reshape"
        and first.inputs[0] == name
        and len(graph.consumers[name]) == 1
        and graph[first.outputs[0]].shape[:2] == source.shape[:2]
    ):  # a Conv1D's expand_dims: the window is its output, same bytes
        window, ops = first.outputs[0], ops[1:]
    shape = graph[window].shape
    if len(shape) != 4 or shape[0] != 1 or shape[1] < 2:
        raise UsageError(
            f"--stream slides over the rows of a 1 x T x F (x C) input, T > 1; input {name!r} is {list(source.shape)}"
        )
    frame = f"{name} (one frame)"
    tensors = dict(graph.tensors)
    tensors[frame] = replace(source, name=frame, shape=(1, 1, *source.shape[2:]))
    layouts = {frame: graph.layouts[name]} if name in graph.layouts else {}
    return replace(graph, tensors=tensors, ops=ops, inputs=(frame,), layouts=layouts), window, frame


def _time_along_rows(graph: Graph) -> Graph:
    """A Conv1D graph (every 4-D map one row high) turned on its side: rows and columns swapped.

    The bytes of a 1 x 1 x W x C map and a 1 x W x 1 x C map are the same, so only
    shapes, filters and the ops' row/column attributes change. Other graphs are returned as they are."""
    maps = [t for t in graph.tensors.values() if len(t.shape) == 4 and not t.is_const]
    if not maps or any(t.shape[1] != 1 for t in maps) or all(t.shape[2] == 1 for t in maps):
        return graph
    for op in graph.ops:
        touches = any(t is not None and len(graph[t].shape) == 4 for t in (*op.inputs, *op.outputs))
        if touches and not (OPS[op.kind].windowed or OPS[op.kind].rowwise(op) or op.kind == "reshape"):
            return graph  # an op with axes we do not turn: stream it as it is
    tensors = {name: _swapped(t) if len(t.shape) == 4 else t for name, t in graph.tensors.items()}
    ops = tuple(replace(op, attrs=_swapped_attrs(op.attrs)) if OPS[op.kind].windowed else op for op in graph.ops)
    return replace(graph, tensors=tensors, ops=ops)


def _swapped(t: Tensor) -> Tensor:
    data = np.ascontiguousarray(np.swapaxes(t.data, 1, 2)) if t.data is not None else None
    return replace(t, shape=(t.shape[0], t.shape[2], t.shape[1], t.shape[3]), data=data)


def _swapped_attrs(attrs):
    p = attrs.padding
    changes = {"padding": Padding(p.left, p.right, p.top, p.bottom), "stride": attrs.stride[::-1]}
    for field in ("dilation", "kernel"):
        if hasattr(attrs, field):
            changes[field] = getattr(attrs, field)[::-1]
    return replace(attrs, **changes)
