"""Lifetimes: which arena buffers a schedule has, and the ops each lives through.

Liveness comes from the op order: a tensor lives from the op that writes it to its
last reader; an op's scratch lives only while it runs. Graph inputs and outputs are
not in the arena: the kernels read the caller's input and write the caller's output
buffer directly. A streamed stage (streaming.py) runs ops i..k as one unit, so its
cached bands and scratch, and the whole tensors it reads, live through all of it (one
scratch buffer, which its band calls take in turn). In-place ops (inplace.py) may
overlap their output with a dying input; reshapes of a dying input alias it, those of a
graph input read it in the caller's buffer (views). The largest total live at any op is the
lower bound no placement can beat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph
from ..kernels import Kernel
from ..ops import OPS
from .inplace import InPlace, aliases, in_place_pairs
from .streaming import StreamStage, row_bytes


def align(n: int, to: int) -> int:
    return (n + to - 1) // to * to


@dataclass(frozen=True)
class Buffer:
    """A block of arena memory live during ops first..last (inclusive)."""

    name: str
    size: int
    first: int
    last: int

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class Lifetimes:
    """The arena buffers of a schedule and the relations between them."""

    buffers: list[Buffer]
    alias: dict[str, str]  # tensor -> the buffer it shares
    in_place: list[InPlace]
    scratch_alias: dict[str, str]  # op -> the op whose scratch buffer it shares (streamed stages)
    views: dict[str, str]  # tensor -> the graph input it is a reshape of: read in the caller's buffer


def lifetimes(
    graph: Graph,
    kernels: dict[str, Kernel],
    alignment: int,
    stages: tuple[StreamStage, ...] = (),
    candidates: list[InPlace] | None = None,
) -> Lifetimes:
    """Live intervals of the arena buffers of `graph` in its op order (and streamed stages);
    `candidates`: inplace.in_place_candidates, when computed once for many schedules."""
    external = set(graph.inputs) | set(graph.outputs) | set(graph.state)  # state lives outside the arena
    span = stage_spans(len(graph.ops), stages)
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, op in enumerate(graph.ops):
        at, until = span[index]  # a stage runs as one unit
        for name in op.inputs:
            if name is not None and not graph[name].is_const and name not in external:
                last[name] = max(last.get(name, 0), until)
        for name in op.outputs:
            if name not in external:
                first.setdefault(name, at)
                last[name] = max(last.get(name, at), until)
    for name in graph.state_updates.values():  # copied into the state after the last op
        if name in last:
            last[name] = len(graph.ops) - 1
    staged = {name for stage in stages for op in graph.ops[stage.first_op : stage.last_op + 1] for name in op.outputs}
    # a stage's reshape writes a band of its own: its input may be a band buffer
    alias = {name: root for name, root in aliases(graph, last, external).items() if name not in staged}
    views = {name: root for name, root in alias.items() if root in graph.inputs}
    for name in views:  # outside the arena, as the input
        del alias[name], first[name], last[name]
    for name, root in alias.items():  # an alias extends its root's life and is not a buffer of its own
        last[root] = max(last[root], last.pop(name))
        del first[name]
    cached = {name: rows for stage in stages for name, rows in stage.cached_rows.items()}
    buffers = [
        Buffer(
            name,
            align(max(cached[name] * row_bytes(graph, name) if name in cached else graph[name].nbytes, 1), alignment),
            first[name],
            last[name],
        )
        for name in first
    ]
    # A stage's band calls run one at a time and a kernel keeps nothing in its scratch from
    # one call to the next, so the stage's ops share one scratch buffer, the largest of theirs.
    scratch_bytes = {name: kernel.scratch_bytes for name, kernel in kernels.items()}
    scratch_alias: dict[str, str] = {}
    for stage in stages:
        scratching = [op.name for op in graph.ops[stage.first_op : stage.last_op + 1] if scratch_bytes[op.name] > 0]
        shared = max(scratching, key=lambda name: scratch_bytes[name], default=None)
        scratch_alias |= {name: shared for name in scratching if name != shared}
    for index, op in enumerate(graph.ops):
        if scratch_bytes[op.name] > 0 and op.name not in scratch_alias:
            buffers.append(Buffer(f"scratch:{op.name}", align(scratch_bytes[op.name], alignment), *span[index]))
    dies_at = {name: last[alias.get(name, name)] for name in (*first, *alias)}
    pairs = [
        p
        for p in in_place_pairs(graph, kernels, dies_at, alignment, candidates)
        if not any(stage.first_op <= p.op_index <= stage.last_op for stage in stages)
        and p.input not in alias
        and p.output not in alias
    ]
    return Lifetimes(buffers, alias, pairs, scratch_alias, views)


def stage_spans(op_count: int, stages: tuple[StreamStage, ...]) -> list[tuple[int, int]]:
    """Per op, the first and last op it runs with: itself, or its whole streamed stage."""
    span = [(index, index) for index in range(op_count)]
    for stage in stages:
        for index in range(stage.first_op, stage.last_op + 1):
            span[index] = (stage.first_op, stage.last_op)
    return span


def stage_lower_bound(
    graph: Graph, kernels: dict[str, Kernel], last_op: int, alignment: int, min_rows: dict[str, int], first_op: int = 0
) -> int:
    """Arena bytes no streamed stage of ops first_op..last_op goes below, in any streaming mode.

    Every buffer a stage writes lives through all of it (lifetimes above), so they are
    all live at once with the stage's shared scratch: each output stored whole, each
    cached tensor holding at least the rows one band of its reader reads (`min_rows`,
    streaming.band_rows); a reshape in a stage writes its own band, as any op there. So
    are the earlier ops' tensors read in or after it (a reshape there may alias its
    input, so its output counts nothing).
    """
    external = set(graph.inputs) | set(graph.outputs) | set(graph.state)
    later_reads = {t for op in graph.ops[last_op + 1 :] for t in op.inputs}
    read_from = {t for op in graph.ops[first_op:] for t in op.inputs}
    staged = graph.ops[first_op : last_op + 1]
    total = 0
    for index, op in enumerate(graph.ops[: last_op + 1]):
        if index < first_op and OPS[op.kind].alias:
            continue
        for name in op.outputs:
            if name in external or (index < first_op and name not in read_from):
                continue
            cached = index >= first_op and name == op.outputs[0] and name not in later_reads
            size = min_rows.get(name, 1) * row_bytes(graph, name) if cached else graph[name].nbytes
            total += align(max(size, 1), alignment)
    scratch = max(kernels[op.name].scratch_bytes for op in staged)
    return total + (align(scratch, alignment) if scratch else 0)


def live_profile(buffers, op_count: int, in_place=()) -> list[int]:
    """Bytes of arena live at each op: no placement goes below the maximum.

    An in-place pair needs only max(input + slack, output), not their sum (or, bottom band
    first, max(input, lift + output)); an op with several pairs may overlap its output with
    each, so all their savings come off.
    """
    change = np.zeros(max(op_count, 1) + 1, np.int64)
    for b in buffers:
        change[b.first] += b.size
        change[b.last + 1] -= b.size
    live = np.cumsum(change)[:-1]
    size = {b.name: b.size for b in buffers}
    for p in in_place:
        below = max(size[p.input] + p.slack, size[p.output])
        above = below if p.lift is None else max(size[p.input], p.lift + size[p.output])
        live[p.op_index] -= size[p.input] + size[p.output] - min(below, above)
    return [int(bytes_) for bytes_ in live]
