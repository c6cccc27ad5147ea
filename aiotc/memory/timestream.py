"""Streaming along time (--stream): one new frame per call, the window's feature maps kept.

A model over a sliding window of T frames (the input's rows) is run once per frame,
the window shifted by one frame each call. The stage (the first layers: convs,
depthwise, pools, elementwise, stride 1 along time) computes per call only the rows
of each map that change: the newest row, and the rows that read the window's padding
(its `top` and `bottom` border rows, recomputed every call as the windowed model
computes them). Every other row is the row below it in the previous call (a
convolution does not know where the window starts), so the state keeps, per map, the
last rows any call reads (the halo of streaming.py's row bands, kept across calls;
the whole map when the head reads it), shifted by one row per call. The head
(flatten, pools over the window, fully connected) then runs on whole maps.

Before the first frame (and after a reset) the window holds zero frames (the input's
zero point): the first call runs one zero frame through the stage, and since on a
constant window every row of a map that reads no padding is the same, copies each
map's newest row over its older ones (`Fill`). So call n < T gives exactly the
windowed model's output on T - n zero frames followed by the n frames given.

A Conv1D as TFLite converts it slides along the columns of a one-row image, between
reshapes from and to 1 x L x C sequences (Keras' causal padding, a PAD before the
conv, is the conv's own by then: passes.fold_pads_into_windows): such a graph is first
made one chain of one-row images (the reshapes dropped) and turned on its side (H and W
swapped: the same bytes), so that time runs along the rows, as the row-band machinery of
streaming.py expects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import UsageError
from ..ir import Graph, Op, Padding, Tensor
from ..ops import OPS
from .reorder import best_order
from .streaming import BandCall, Read, input_rows, kernel_geometry, streamable, sums_rows


@dataclass(frozen=True)
class Fill:
    """After a map's calls on a window of zero frames: its older rows all equal its newest one."""

    tensor: str
    source: int  # the buffer row of the newest row
    rows: tuple[int, int]  # the buffer rows [a, b) it is copied to


@dataclass(frozen=True)
class TimeStream:
    """The plan of a --stream library: which rows of which ops run per frame, which rows are kept."""

    window: str  # the input window: T rows; the caller passes its newest row
    frame: str  # the graph input: one frame
    source_input: str  # the windowed model's input
    last_op: int  # ops 0..last_op are the stage; the rest (the head) runs on whole maps
    kept: dict[str, int]  # the window and every stage output -> its last rows the state keeps
    calls: tuple[BandCall, ...]  # each frame: the rows of each stage layer that change
    fills: tuple[Fill, ...]  # the first frame since a reset (zero frames): per stage layer, after its calls


def plan_time_stream(graph: Graph) -> tuple[Graph, TimeStream]:
    """The graph as the stream library runs it, and its per-frame plan; UsageError when it cannot stream."""
    if len(graph.inputs) != 1:
        raise UsageError(f"--stream takes a model with one input (the frames), this one has {len(graph.inputs)}")
    graph = _time_along_rows(_conv1d_as_images(best_order(graph)))
    source_input = graph.inputs[0]
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
    stuck = [t for t in border if t in graph.outputs]
    if stuck:
        raise UsageError(
            f"--stream: output {stuck[0]!r} is a feature map along time; --stream needs a head (pool, flatten, dense) after the streamed layers"
        )
    stage = graph.ops[: last_op + 1]
    rows = [
        (i, a, b)
        for i, op in enumerate(stage)
        for a, b in _changed(graph[op.outputs[0]].shape[1], border[op.outputs[0]])
    ]
    first = _first_rows(graph, last_op, border, [_call(graph, i, a, b, {}) for i, a, b in rows])
    calls = tuple(_call(graph, i, a, b, first) for i, a, b in rows)
    fills = []
    for op in stage:
        out = op.outputs[0]
        top, bottom = border[out]
        newest = graph[out].shape[1] - bottom - 1
        if max(first[out], top) < newest:
            fills.append(Fill(out, newest - first[out], (max(first[out], top) - first[out], newest - first[out])))
    kept = {t: graph[t].shape[1] - first[t] for t in border}
    graph = replace(graph, state=(*graph.state, *kept))
    return graph, TimeStream(window, frame, source_input, last_op, kept, calls, tuple(fills))


def _first_rows(graph: Graph, last_op: int, border: dict, calls: list[BandCall]) -> dict[str, int]:
    """Per kept map, the first row any call reads or writes (0 when the head reads it whole): rows above are dropped."""
    head_reads = {t for op in graph.ops[last_op + 1 :] for t in op.inputs}
    first = {t: 0 if t in head_reads else graph[t].shape[1] - 1 for t in border}
    for call in calls:
        out = graph.ops[call.op_index].outputs[0]
        first[out] = min(first[out], call.rows[0])
        for read in call.reads:
            if read is not None:
                first[read.tensor] = min(first[read.tensor], read.rows[0])
    return first


def _stage_problem(op: Op, graph: Graph, border: dict) -> str | None:
    """Why `op` cannot run per frame on the maps kept so far (None: it can)."""
    data = [t for t in op.inputs if t is not None and not graph[t].is_const]
    if not data or any(t not in border for t in data):
        return "does not read the frames' feature maps"
    # a resize's rows are no shift of the frames'; a row sum sums the whole window
    if not streamable(op, graph) or OPS[op.kind].row_map is not None or sums_rows(op, graph):
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


def _call(graph: Graph, index: int, a: int, b: int, first: dict[str, int]) -> BandCall:
    """Rows [a, b) of op `index`, each map's buffer starting at its image row `first`."""
    op = graph.ops[index]
    reads: list[Read | None] = []
    for t in op.inputs:
        if t is None or graph[t].is_const:
            reads.append(None)
        else:
            ia, ib = input_rows(op, graph, t, a, b)
            reads.append(Read(t, (ia, ib), ia - first.get(t, 0)))
    return BandCall(index, (a, b), a - first.get(op.outputs[0], 0), tuple(reads))


def _changed(height: int, border: tuple[int, int]) -> list[tuple[int, int]]:
    """The rows of a map that change each frame: its top border rows, and the newest row with the bottom border."""
    top, bottom = border
    newest = height - bottom - 1
    if newest <= top:  # no row survives from the previous window: all change
        return [(0, height)]
    return ([(0, top)] if top else []) + [(newest, height)]


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
    if len(shape) == 3 and shape[0] == 1 and shape[1] > 1 and graph.consumers[window]:
        user = graph.consumers[window][0]
        raise UsageError(
            f"--stream: layer {user.name!r} ({user.kind}) reads the 1 x T x F input and is no conv, pool or"
            " elementwise op along time, so no layer can run per frame"
        )
    if len(shape) != 4 or shape[0] != 1 or shape[1] < 2:
        raise UsageError(
            f"--stream slides over the rows of a 1 x T x F (x C) input, T > 1; input {name!r} is {list(source.shape)}"
        )
    frame = f"{name} (one frame)"
    tensors = dict(graph.tensors)
    tensors[frame] = replace(source, name=frame, shape=(1, 1, *source.shape[2:]))
    layouts = {frame: graph.layouts[name]} if name in graph.layouts else {}
    return replace(graph, tensors=tensors, ops=ops, inputs=(frame,), layouts=layouts), window, frame


def on_its_side(graph: Graph) -> Graph | None:
    """A Conv1D graph as row bands stream it without --stream: one chain of one-row
    images turned on its side, so that its sequence axis runs along the rows. None when
    turning changes nothing or would change the shape of a graph input or output."""
    imaged = _conv1d_as_images(_sequence_views(graph))
    turned = _time_along_rows(imaged)
    ends = (*graph.inputs, *graph.outputs)
    if turned is imaged or any(turned[t].shape != graph[t].shape for t in ends):
        return None
    return turned


def _sequence_views(graph: Graph) -> Graph:
    """The graph with each op other than a reshape or an elementwise op reading a 1 x L x C
    sequence through a reshape of its own (the same bytes, an alias): the sequence itself
    can then become an image (a TCN's residual adds, whose last sum a slice reads)."""
    plain = lambda op: op is not None and (op.kind == "reshape" or OPS[op.kind].elementwise)  # noqa: E731
    tensors = dict(graph.tensors)
    ops: list[Op] = []
    for op in graph.ops:
        inputs = list(op.inputs)
        for k, name in enumerate(inputs):
            t = graph[name] if name else None
            if plain(op) or t is None or t.is_const or len(t.shape) != 3 or t.shape[0] != 1:
                continue
            if not plain(graph.producers.get(name)):
                continue
            view = f"{name} (sequence)"
            if view not in tensors:
                tensors[view] = replace(t, name=view)
                ops.append(Op(f"{name} (as a sequence)", "reshape", (name,), (view,)))
            inputs[k] = view
        ops.append(replace(op, inputs=tuple(inputs)))
    return graph.with_ops(ops, tensors)


def _conv1d_as_images(graph: Graph) -> Graph:
    """A Conv1D graph as one chain of one-row images: the TFLite converter alternates 1 x L x C
    sequences and 1 x 1 x L x C images (reshapes between them). Here the sequences that
    only reshapes and elementwise ops touch become images, and the reshapes left between
    equal shapes disappear."""
    touching = lambda t: [graph.producers.get(t), *graph.consumers[t]]  # noqa: E731
    imaged = {
        name: replace(t, shape=(1, 1, *t.shape[1:]))
        for name, t in graph.tensors.items()
        if len(t.shape) == 3
        and not t.is_const
        and name not in (*graph.inputs, *graph.outputs)
        and t.shape[0] == 1
        and all(op is not None and (op.kind == "reshape" or OPS[op.kind].elementwise) for op in touching(name))
    }
    mixed = True
    while mixed:  # an elementwise op's operands and output are all images or all sequences
        mixed = False
        for op in graph.ops:
            maps = [t for t in (*op.inputs, *op.outputs) if t and len(graph[t].shape) == 3 and not graph[t].is_const]
            if OPS[op.kind].elementwise and {t in imaged for t in maps} == {True, False}:
                mixed = True
                for t in maps:
                    imaged.pop(t, None)
    graph = replace(graph, tensors={**graph.tensors, **imaged})
    rename: dict[str, str] = {}
    ops = []
    for op in graph.ops:
        op = replace(op, inputs=tuple(rename.get(t, t) if t else t for t in op.inputs))
        if (
            op.kind == "reshape"
            and graph[op.inputs[0]].shape == graph[op.outputs[0]].shape
            and op.outputs[0] not in graph.outputs
        ):
            rename[op.outputs[0]] = op.inputs[0]
        else:
            ops.append(op)
    return graph.with_ops(ops)


def _time_along_rows(graph: Graph) -> Graph:
    """A Conv1D graph (every 4-D map one row high) turned on its side: rows and columns swapped.

    The bytes of a 1 x 1 x W x C map and a 1 x W x 1 x C map are the same, so only
    shapes, filters and the ops' row/column attributes change. Other graphs are returned as they are."""
    maps = [t for t in graph.tensors.values() if len(t.shape) == 4 and not t.is_const]
    if not maps or any(t.shape[1] != 1 for t in maps) or all(t.shape[2] == 1 for t in maps):
        return graph
    for op in graph.ops:
        touches = any(t is not None and len(graph[t].shape) == 4 for t in (*op.inputs, *op.outputs))
        if touches and not (OPS[op.kind].windowed or OPS[op.kind].rowwise(op)):
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
