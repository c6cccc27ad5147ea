"""Codegen of a streamed stage: band calls, halo shifts, and loops over the steady state.

Each band call is lowered like any layer, on a view of its op in which the band is a
smaller image (shapes with the band's rows, top padding shifted; a resize's row tables
cut from the whole image's). Pointers into tensors stored whole (the caller's input and
output, the stage's outputs, the earlier layers' outputs a tail stage reads) advance
from band to band; pointers into cached bands do not. Once the bands settle into a periodic
pattern, consecutive periods differ only in those advancing pointers, so they are
emitted as one C loop whose pointers step by a constant: the code stays small
however many rows the stage streams.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from ..ir import Graph, Op, Tensor, zero_point
from ..memory.inplace import bottom_first_bands
from ..memory.streaming import BandCall, Read, StreamStage, input_rows, kernel_geometry, row_bytes, sums_rows
from ..memory.timestream import TimeStream
from ..ops import OPS

TOKEN = re.compile(r"@@(\d+)@@")
MIN_REPEATS = 3
MAX_PERIOD = 8


@dataclass(frozen=True)
class Statement:
    """One layer block of the stage: C text with pointer tokens @@k@@ for advancing pointers."""

    index: int  # op index, for the comment and the profiling hook
    op: Op
    text: str
    pointers: tuple[tuple[str, int], ...]  # per token: (tensor, byte offset)
    note: str
    scratch: bool  # whether the op's scratch context is declared


class BandContext:
    """The LowerContext of one band call (see module docstring)."""

    def __init__(self, emitter, graph: Graph, fixed: dict[str, str], moving: dict[str, int]):
        self.graph = graph
        self.kernels = emitter.kernels
        self.plain_pairs = emitter.plain_pairs
        self._emitter = emitter
        self._fixed = fixed
        self._moving = moving  # tensor -> byte offset, emitted as tokens
        self.tokens: list[tuple[str, int]] = []

    def ptr(self, tensor: str) -> str:
        if tensor in self._fixed:
            return self._fixed[tensor]
        if tensor in self._moving:
            self.tokens.append((tensor, self._moving[tensor]))
            return f"@@{len(self.tokens) - 1}@@"
        return self._emitter.ptr(tensor)

    def const(self, array: np.ndarray, hint: str) -> str:
        return self._emitter.const(array, hint)

    def scratch(self) -> str:
        return self._emitter.scratch()


def band_context(graph: Graph, cached, call: BandCall, emitter) -> tuple[Op, BandContext]:
    """The op restricted to its band, and the context that lowers it (pointers into `cached` maps stay fixed)."""
    op = graph.ops[call.op_index]
    tensors = dict(graph.tensors)
    fixed, moving = {}, {}

    def place(tensor: str, rows: tuple[int, int], buffer_row: int) -> None:
        t = graph[tensor]
        tensors[tensor] = replace(t, shape=(t.shape[0], rows[1] - rows[0], *t.shape[2:]))
        offset = buffer_row * row_bytes(graph, tensor)
        if tensor in cached:
            fixed[tensor] = emitter.ptr(tensor, offset)
        else:
            moving[tensor] = offset

    for read in call.reads:
        if read is not None:
            place(read.tensor, read.rows, read.buffer_row)
    if sums_rows(op, graph):  # every band adds to the whole output's sums
        moving[op.outputs[0]] = 0
    else:
        place(op.outputs[0], call.rows, call.buffer_row)
    if OPS[op.kind].windowed:
        _, stride, _, top = kernel_geometry(op, graph)
        padding = replace(op.attrs.padding, top=top - call.rows[0] * stride + call.reads[0].rows[0])
        op = replace(op, attrs=replace(op.attrs, padding=padding))
    elif OPS[op.kind].band is not None:  # a resize's tables cut, a transposed conv's padding, a row sum's rows
        op = replace(op, attrs=OPS[op.kind].band(op, graph, call.rows[0], call.reads[0].rows[0]))
    view = replace(graph, tensors=tensors, ops=(op,))
    return op, BandContext(emitter, view, fixed, moving)


def stage_statements(graph: Graph, stage: StreamStage, emitter, lower) -> list[list[Statement]]:
    """Per step, the statements of its band calls and halo shifts. `lower(op, context) -> text`."""
    steps = []
    for calls, shifts in stage.steps:
        statements = [band_statement(graph, stage.cached_rows, call, emitter, lower) for call in calls]
        for shift in shifts:
            rb = row_bytes(graph, shift.tensor)
            producer = graph.producers[shift.tensor]
            dst, src = emitter.ptr(shift.tensor), emitter.ptr(shift.tensor, shift.drop * rb)
            text = f"aiotc_bytes_copy_down({dst}, {src}, {shift.keep * rb});"
            statements.append(
                Statement(
                    graph.ops.index(producer),
                    producer,
                    text,
                    (),
                    f"keep the last {shift.keep} rows (halo) for the next band",
                    False,
                )
            )
        steps.append(statements)
    return steps


def band_statement(graph: Graph, cached, call: BandCall, emitter, lower) -> Statement:
    """One band call lowered: `lower(op, context) -> text`."""
    op, context = band_context(graph, cached, call, emitter)
    note = f"rows {call.rows[0]}..{call.rows[1] - 1}"
    return Statement(call.op_index, op, lower(op, context), tuple(context.tokens), note, True)


def bottom_first_statements(graph: Graph, index: int, emitter, lower) -> list[Statement]:
    """A layer that overlaps its input from above (memory/inplace.py): its band calls, bottom band first."""
    op = graph.ops[index]
    bands = bottom_first_bands(op, graph)
    assert bands is not None

    def read(name: str | None, a: int, b: int) -> Read | None:
        if name is None or graph[name].is_const:
            return None
        rows = input_rows(op, graph, name, a, b)
        return Read(name, rows, rows[0])  # stored whole: image row r at buffer row r

    calls = [BandCall(index, (a, b), a, tuple(read(name, a, b) for name in op.inputs)) for a, b in bands]
    statements = [band_statement(graph, {}, call, emitter, lower) for call in calls]
    return [replace(s, note=f"{s.note}, bottom band first: in place above its input") for s in statements]


def frame_shift(graph: Graph, frames: TimeStream, emitter) -> list[str]:
    """The C that moves the window one frame on: each kept map drops its oldest row, the new frame comes in."""
    lines = []
    for tensor, rows in frames.kept.items():
        rb = row_bytes(graph, tensor)
        if rows > 1:
            lines.append(f"memmove({emitter.ptr(tensor)}, {emitter.ptr(tensor, rb)}, {(rows - 1) * rb}u);")
    newest = (frames.kept[frames.window] - 1) * row_bytes(graph, frames.window)
    lines.append(f"memcpy({emitter.ptr(frames.window, newest)}, frame, {row_bytes(graph, frames.window)}u);")
    return lines


def frame_fills(graph: Graph, frames: TimeStream, tensor: str, emitter) -> list[str]:
    """The C of `tensor`'s fills (copy its newest row over the older ones kept)."""
    rb = row_bytes(graph, tensor)
    return [
        f"for (int32_t row = {fill.rows[0]}; row < {fill.rows[1]}; row++) {{\n"
        f"    memcpy({emitter.ptr(tensor, 0, f'{rb} * row')}, {emitter.ptr(tensor, fill.source * rb)}, {rb}u);\n}}"
        for fill in frames.fills
        if fill.tensor == tensor
    ]


def zero_frame(frame: Tensor, emitter) -> str:
    """A const frame of the input's zero point: what the window holds before the first frame."""
    emitter.layer = None
    return emitter.const(np.full(frame.size, zero_point(frame), dtype=frame.dtype), "zero_frame")


@dataclass(frozen=True)
class Loop:
    """`repeats` iterations of `period` steps; pointer k of the body advances by steps[k] bytes."""

    repeats: int
    body: list[Statement]
    strides: list[int]


def compress(steps: list[list[Statement]]) -> list[Statement | Loop]:
    """Unrolled statements, with runs of identical periods folded into loops."""
    result: list[Statement | Loop] = []
    i = 0
    while i < len(steps):
        best = None
        for period in range(1, MAX_PERIOD + 1):
            repeats, strides = _run(steps, i, period)
            if repeats >= MIN_REPEATS and (best is None or repeats * period > best[0] * best[1]):
                best = (repeats, period, strides)
        if best is None:
            result.extend(steps[i])
            i += 1
            continue
        repeats, period, strides = best
        body = [s for step in steps[i : i + period] for s in step]
        result.append(Loop(repeats, body, strides))
        i += repeats * period
    return result


def _run(steps, start: int, period: int) -> tuple[int, list[int]]:
    """How many consecutive copies of steps[start:start+period] follow, and their pointer strides."""
    first = [s for step in steps[start : start + period] for s in step]
    if start + period > len(steps) or not first:
        return 0, []
    shape = [(s.index, s.text, tuple(t for t, _ in s.pointers)) for s in first]
    offsets = [o for s in first for _, o in s.pointers]
    repeats, strides = 1, None
    while start + (repeats + 1) * period <= len(steps):
        nxt = [s for step in steps[start + repeats * period : start + (repeats + 1) * period] for s in step]
        if [(s.index, s.text, tuple(t for t, _ in s.pointers)) for s in nxt] != shape:
            break
        delta = [o - p for o, p in zip((o for s in nxt for _, o in s.pointers), offsets)]
        expected = [d * repeats for d in strides] if strides is not None else None
        if strides is None:
            strides = [d // repeats for d in delta]
        elif delta != expected:
            break
        repeats += 1
    return repeats, strides or [0] * len(offsets)


def resolve(statement: Statement, emitter, strides: list[int] | None = None, var: str = "band") -> str:
    """The statement's C text with its pointer tokens made C (advancing by `strides` in a loop)."""

    def pointer(match: re.Match) -> str:
        k = int(match.group(1))
        tensor, offset = statement.pointers[k]
        step = strides[k] if strides else 0
        return emitter.ptr(tensor, offset, f"{step} * {var}" if step else None)

    return TOKEN.sub(pointer, statement.text)
