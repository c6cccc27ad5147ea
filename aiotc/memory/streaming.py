"""Streaming: the first layers (or later ones) run in bands of rows, all a band at a time.

The largest activations of a CNN sit in its first layers. Instead of materializing
them (layer by layer) or recomputing overlapping patches (MCUNetV2), aiotc streams
the first layers in bands of rows: each step computes a few new output rows of
every layer of the stage, each layer keeps only the input rows its next band still
needs (the halo, cached as in StreamNet, so nothing is recomputed: 0% MAC overhead),
and only the stage's final output is stored whole. Later layers, where layer by layer's
peak is (a U-Net's decoder, whose maps grow back towards its output), stream the same
way as a tail stage: what they read from earlier layers is stored whole, and so is their
last map, or the graph's output is written band by band. Everything is simulated here at compile time; the generated C is
the unrolled list of band calls and halo shifts.

A band call of op `op` computes output rows [a, b) from input rows [ia, ib) that sit
at row `buffer_row` of the input's buffer. Kernels see the band as a smaller image
whose top padding is P - a*S + ia (possibly negative: an offset into the band), so
the ordinary kernels compute it exactly, padding only at the true image borders.

The CLI's `--patch` and report.json's `patch` entry name this schedule (after the
patch-based inference it replaces); in the code it is a stream stage.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass

from ..ir import Graph, Op
from ..ops import OPS
from .analysis import op_macs


@dataclass(frozen=True)
class Read:
    tensor: str
    rows: tuple[int, int]  # image rows [ia, ib) read
    buffer_row: int  # where row ia sits in the tensor's buffer


@dataclass(frozen=True)
class BandCall:
    op_index: int
    rows: tuple[int, int]  # output rows [a, b)
    buffer_row: int  # where output row a is written in the output's buffer
    reads: tuple[Read | None, ...]  # per op input (None: a constant)


@dataclass(frozen=True)
class Shift:
    """Drop the first `drop` rows of a cached buffer, keeping the next `keep` (a memmove)."""

    tensor: str
    drop: int
    keep: int


@dataclass(frozen=True)
class StreamStage:
    last_op: int  # ops first_op..last_op are streamed
    steps: tuple[tuple[tuple[BandCall, ...], tuple[Shift, ...]], ...]
    cached_rows: dict[str, int]  # internal tensor -> rows its buffer holds at most
    outputs: frozenset[str]  # tensors of the stage stored whole
    first_op: int = 0  # 0: the first layers (a head stage); else later ones (a tail stage)

    @property
    def calls(self) -> int:
        return sum(len(calls) for calls, _ in self.steps)


def kernel_geometry(op: Op, graph: Graph) -> tuple[int, int, int, int]:
    """(kernel height, stride, dilation, top padding) along the rows of a conv-like op."""
    a = op.attrs
    if OPS[op.kind].convolves:
        return graph[op.inputs[1]].shape[1], a.stride[0], a.dilation[0], a.padding.top
    return a.kernel[0], a.stride[0], 1, a.padding.top


def input_rows(op: Op, graph: Graph, tensor: str, a: int, b: int) -> tuple[int, int]:
    """Rows of input `tensor` that output rows [a, b) of `op` read."""
    return _read_rows(_window(op, graph), graph[tensor].shape[1], a, b)


@dataclass(frozen=True)
class RowMap:
    """Output row r reads input rows lo[r]..hi[r] (a resize: ops.py's row_map)."""

    lo: tuple[int, ...]
    hi: tuple[int, ...]


# How an op's output rows read its input rows: kernel_geometry of a windowed op, a resize's
# RowMap, or None: output row r reads input row r
Window = tuple[int, int, int, int] | RowMap | None


def _window(op: Op, graph: Graph) -> Window:
    if OPS[op.kind].windowed:
        return kernel_geometry(op, graph)
    row_map = OPS[op.kind].row_map
    return RowMap(*row_map(op, graph)) if row_map is not None else None


def _read_rows(window: Window, height: int, a: int, b: int) -> tuple[int, int]:
    """input_rows, given the op's window and the input's height."""
    if window is None:
        return a, b
    if isinstance(window, RowMap):
        return window.lo[a], window.hi[b - 1] + 1
    k, s, d, p = window
    return max(0, a * s - p), min(height, (b - 1) * s - p + (k - 1) * d + 1)


def streamable(op: Op, graph: Graph) -> bool:
    """Ops whose output rows depend on a contiguous band of each input's rows: the rows of a
    1 x H x W x C map, or of a 1 x L x C sequence (a Conv1D graph's residual adds); and row
    sums, which take their input band by band, where nothing else reads that input (else it
    is whole anyway, an SE block's). Their sums are whole only once their stage ends: an op
    reading them does not stream."""
    if sums_rows(op, graph):
        return _sums_alone(op, graph)
    if any(t in graph.producers and _sums_alone(graph.producers[t], graph) for t in op.inputs if t is not None):
        return False
    out = graph[op.outputs[0]]
    if len(out.shape) not in (3, 4) or out.shape[0] != 1:
        return False
    data = [graph[t] for t in op.inputs if t is not None and not graph[t].is_const]
    if OPS[op.kind].windowed:
        return len(out.shape) == 4
    row_map = OPS[op.kind].row_map
    if row_map is not None:  # every output row reads a row (a transposed conv's rows past its input's reach do not)
        return len(out.shape) == 4 and all(a <= b for a, b in zip(*row_map(op, graph)))
    if OPS[op.kind].rowwise(op):
        consts = [graph[t] for t in op.inputs if t is not None and graph[t].is_const]
        return all(t.shape[:2] == out.shape[:2] for t in data) and all(
            _same_every_row(c, len(out.shape)) for c in consts
        )
    return False


def sums_rows(op: Op, graph: Graph) -> bool:
    """An op whose output sums its input's rows (OpDef.row_sum): its band calls each add a band
    of them; the stage counts its output's rows as its input's, one row of sums computed per row read."""
    row_sum = OPS[op.kind].row_sum
    return row_sum is not None and row_sum(op, graph)


def _sums_alone(op: Op, graph: Graph) -> bool:
    """A row sum, its input's only reader."""
    return sums_rows(op, graph) and len(graph.consumers[op.inputs[0]]) == 1


def stage_rows(graph: Graph, tensor: str) -> int:
    """The rows a stage computes of `tensor`: its height, or a row sum's input's."""
    producer = graph.producers.get(tensor)
    if producer is not None and sums_rows(producer, graph):
        return graph[producer.inputs[0]].shape[1]
    return graph[tensor].shape[1]


def band_rows(graph: Graph) -> dict[str, int]:
    """The fewest rows a cached buffer of each tensor can hold in any stage: what one output
    row of its widest streamable reader reads (a band call reads all of it from the buffer)."""
    rows: dict[str, int] = {}
    for op in graph.ops:
        if not streamable(op, graph):
            continue
        for t in op.inputs:
            if t is not None and not graph[t].is_const:
                spans = (
                    b - a
                    for a, b in (input_rows(op, graph, t, r, r + 1) for r in range(stage_rows(graph, op.outputs[0])))
                )
                rows[t] = max(rows.get(t, 1), *spans)
    return rows


def _same_every_row(const, rank: int) -> bool:
    """A constant operand that broadcasts over the rows (axis 1 of a rank-`rank` output): a band
    call reads it whole (one that varies by row would need its band's rows, which band calls do not slice)."""
    return len(const.shape) < rank - 1 or const.shape[1 - rank] == 1


def stream_stage(
    graph: Graph, last_op: int, rows_per_step: int = 1, push: bool = False, paced: bool = False, first_op: int = 0
) -> StreamStage | None:
    """Simulate streaming ops first_op..last_op; None when they cannot be streamed.

    Tensors the stage reads from earlier ops are whole (as the graph's inputs are); the
    ones it writes are cached bands, but those read after it or kept (the graph's
    outputs, written into the caller's buffer) are stored whole.

    Pull (the default) advances the stage's outputs by `rows_per_step` rows per step
    and computes what they need; push advances the first layers by `rows_per_step`
    rows and lets every later layer compute whatever its inputs allow. Push keeps
    the thinnest bands (least memory) at the price of more, smaller calls. Paced push
    also caps every later layer at `rows_per_step` rows a step: the rows a layer can
    compute only once its input is complete (those that read its bottom padding, all
    at once) then flow down one band at a time instead of swelling every buffer below.
    Elsewhere a layer's input grows by at most `rows_per_step` rows a step, so the
    cap never holds a layer back before the input is read to its end (but an upsampling
    resize, whose rows outnumber its input's: it lags, and its input keeps the rows).
    """
    ops = graph.ops[first_op : last_op + 1]
    if not all(streamable(op, graph) for op in ops):
        return None
    produced = {op.outputs[0]: i for i, op in enumerate(ops)}
    later_reads = {t for op in graph.ops[last_op + 1 :] for t in op.inputs} | graph.kept
    outputs = frozenset(t for t in produced if t in later_reads)
    if not outputs or any(stage_rows(graph, t) < 2 for t in outputs):
        return None
    # The simulation runs a step per row band (thousands for a long sequence): each op's
    # facts are looked up once here, not per step.
    windows = [_window(op, graph) for op in ops]
    outs = [op.outputs[0] for op in ops]
    data = [tuple(t for t in op.inputs if t is not None and not graph[t].is_const) for op in ops]
    height = {t: stage_rows(graph, t) for names in (*data, outs) for t in names}
    users = {t: [i for i, op in enumerate(ops) if t in op.inputs] for t in produced}
    done = dict.fromkeys(produced, 0)
    start = dict.fromkeys(produced, 0)  # first image row held in the buffer (0 for whole tensors)
    cached = dict.fromkeys((t for t in produced if t not in outputs), 0)

    steps = []
    for step in range(max(height[t] for t in produced) * 4):
        if all(done[t] == height[t] for t in outputs):
            break
        goal = (
            _push_goal(ops, produced, done, height, rows_per_step, paced)
            if push
            else _pull_goal(ops, windows, produced, outputs, done, height, step, rows_per_step)
        )
        calls = []
        for index, op in enumerate(ops):  # computation flows forwards
            out = outs[index]
            a, b = done[out], goal.get(out, 0)
            if b <= a:
                continue
            b = min(b, _rows_available(windows[index], data[index], done, height[out], height))
            if b <= a:
                continue
            reads: list[Read | None] = []
            for t in op.inputs:
                if t is None or graph[t].is_const:
                    reads.append(None)
                    continue
                ia, ib = _read_rows(windows[index], height[t], a, b)
                reads.append(Read(t, (ia, ib), ia - start.get(t, 0)))
            calls.append(BandCall(first_op + index, (a, b), a - start[out], tuple(reads)))
            done[out] = b
            if out in cached:
                cached[out] = max(cached[out], b - start[out])
        shifts = []
        for t in cached:  # drop the rows no future band reads
            pending = [
                _read_rows(windows[u], height[t], done[outs[u]], done[outs[u]] + 1)[0]
                for u in users[t]
                if done[outs[u]] < height[outs[u]]
            ]
            keep_from = min(
                [*pending, done[t]]
            )  # rows not yet computed (a stride skips them) are written, then dropped
            if keep_from > start[t]:
                if done[t] > keep_from:
                    shifts.append(Shift(t, keep_from - start[t], done[t] - keep_from))
                start[t] = keep_from
        steps.append((tuple(calls), tuple(shifts)))
    assert all(done[t] == height[t] for t in outputs), "stream stage left rows uncomputed"
    return StreamStage(last_op, tuple(steps), cached, outputs, first_op)


def least_calls(graph: Graph, last_op: int, rows_per_step: int, push: bool, paced: bool, first_op: int = 0) -> int:
    """The fewest band calls stream_stage(graph, last_op, ..., first_op) can make, known
    without simulating it: every op runs at least one; pushed, an op fed only from outside
    the stage (paced: every op) computes at most `rows_per_step` rows a call."""
    ops = graph.ops[first_op : last_op + 1]
    produced = {op.outputs[0] for op in ops}
    capped = [push and (paced or not any(t in produced for t in op.inputs)) for op in ops]
    return sum(
        math.ceil(stage_rows(graph, op.outputs[0]) / rows_per_step) if cap else 1 for op, cap in zip(ops, capped)
    )


def _rows_available(window: Window, inputs: tuple[str, ...], done: dict, limit: int, height: dict) -> int:
    """How many of an op's `limit` output rows the rows of its `inputs` computed so far allow."""
    for t in inputs:
        if t in done and done[t] < height[t]:
            if window is None:
                limit = min(limit, done[t])
            elif isinstance(window, RowMap):  # the rows whose last input row is done
                limit = min(limit, bisect_left(window.hi, done[t]))
            else:
                k, s, d, p = window
                limit = min(limit, max(0, (done[t] + p - (k - 1) * d - 1) // s + 1))
    return limit


def _push_goal(ops, produced, done, height, rows_per_step, paced: bool = False) -> dict[str, int]:
    """Layers fed only from outside advance by rows_per_step; the rest as far as they can (paced: by rows_per_step too)."""
    goal = {}
    for op in ops:
        out = op.outputs[0]
        fed_inside = any(t in produced for t in op.inputs)
        goal[out] = height[out] if fed_inside and not paced else min(height[out], done[out] + rows_per_step)
    return goal


def _pull_goal(ops, windows, produced, outputs, done, height, step, rows_per_step) -> dict[str, int]:
    """Stage outputs advance by rows_per_step rows of the smallest one; demand flows backwards."""
    clock = min(height[t] for t in outputs)
    target = min(clock, (step + 1) * rows_per_step)
    need = {t: math.ceil(height[t] * target / clock) for t in outputs}
    for index in reversed(range(len(ops))):
        op, out = ops[index], ops[index].outputs[0]
        end = max(done[out], need.get(out, 0))
        need[out] = end
        if end > done[out]:
            for t in op.inputs:
                if t in produced:
                    need[t] = max(need.get(t, 0), _read_rows(windows[index], height[t], done[out], end)[1])
    return need


def row_bytes(graph: Graph, tensor: str) -> int:
    t = graph[tensor]
    return t.nbytes // t.shape[1]


def mac_overhead(graph: Graph, stage: StreamStage, macs: list[int] | None = None) -> float:
    """MACs the stage's band calls execute beyond its layers' own MACs, as a fraction of the
    model's (`macs`: each op's, when the caller weighs many stages of one graph)."""
    macs = [op_macs(op, graph) for op in graph.ops] if macs is None else macs
    total = sum(macs)
    executed = sum(
        macs[c.op_index] * (c.rows[1] - c.rows[0]) / stage_rows(graph, graph.ops[c.op_index].outputs[0])
        for calls, _ in stage.steps
        for c in calls
    )
    layers = sum(macs[stage.first_op : stage.last_op + 1])
    return (executed - layers) / total if total else 0.0
