"""The static arena plan: every activation and scratch buffer at a fixed offset.

Liveness comes from the op order: a tensor lives from the op that writes it to its
last reader; an op's scratch lives only while it runs. Graph inputs and outputs are
not in the arena: the kernels read the caller's input and write the caller's output
buffer directly. A streamed stage (schedule.py) runs ops 0..k as one unit, so its
cached bands and scratch live through all of it. Placement is an interval-packing problem: we try
several greedy orders (largest first as TFLite Micro does, longest-lived first,
earliest first), each placing a buffer at the lowest offset that overlaps no
conflicting buffer, keep the smallest arena, and stop as soon as one meets the
lower bound (the largest total live at any op, which no placement can beat).
Every plan is verified before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph
from .schedule import StreamStage, row_bytes, stream_stage, streamable


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
class ArenaPlan:
    offsets: dict[str, int]  # tensor name -> offset
    scratch_offsets: dict[str, int]  # op name -> offset of its scratch
    size: int  # arena bytes, a multiple of the alignment
    lower_bound: int  # max over ops of the bytes live at that op
    buffers: tuple[Buffer, ...]  # what was placed (scratch buffers named "scratch:<op>")
    op_count: int

    def live_bytes(self) -> list[int]:
        """Bytes live while each op runs (its inputs, outputs and scratch included)."""
        return live_profile(self.buffers, self.op_count)


def buffers_of(graph: Graph, scratch_bytes: dict[str, int], alignment: int, stage: StreamStage | None = None) -> list[Buffer]:
    """Live intervals of the arena buffers of `graph` in its op order (and stage)."""
    external = set(graph.inputs) | set(graph.outputs)
    stage_end = stage.last_op if stage else -1
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, op in enumerate(graph.ops):
        at = 0 if index <= stage_end else index  # a stage runs as one unit
        until = max(index, stage_end)
        for name in op.inputs:
            if name is not None and not graph[name].is_const and name not in external:
                last[name] = max(last.get(name, 0), until)
        for name in op.outputs:
            if name not in external:
                first.setdefault(name, at)
                last[name] = max(last.get(name, at), until)
    cached = stage.cached_rows if stage else {}
    buffers = [Buffer(name, align(max(cached[name] * row_bytes(graph, name) if name in cached else graph[name].nbytes, 1), alignment), first[name], last[name]) for name in first]
    for index, op in enumerate(graph.ops):
        if scratch_bytes.get(op.name, 0) > 0:
            span = (0, stage_end) if index <= stage_end else (index, index)
            buffers.append(Buffer(f"scratch:{op.name}", align(scratch_bytes[op.name], alignment), *span))
    return buffers


def live_profile(buffers, op_count: int) -> list[int]:
    """Bytes of arena live at each op: its lower bound is the maximum."""
    live = [0] * max(op_count, 1)
    for b in buffers:
        for i in range(b.first, b.last + 1):
            live[i] += b.size
    return live


def place(buffers: list[Buffer], order: list[int]) -> dict[int, int]:
    """Greedy: each buffer, in `order`, at the lowest offset free of conflicting placed buffers."""
    offsets: dict[int, int] = {}
    for i in order:
        b = buffers[i]
        busy = sorted((offsets[j], offsets[j] + buffers[j].size) for j in offsets if b.overlaps_in_time(buffers[j]))
        offset = 0
        for start, stop in busy:
            if offset + b.size <= start:
                break
            offset = max(offset, stop)
        offsets[i] = offset
    return offsets


ORDERS = {
    "largest first": lambda b: (-b.size, b.first, b.name),
    "longest lived first": lambda b: (-(b.last - b.first), -b.size, b.name),
    "earliest first": lambda b: (b.first, -b.size, b.name),
    "largest area first": lambda b: (-b.size * (b.last - b.first + 1), b.name),
}


def plan_arena(graph: Graph, scratch_bytes: dict[str, int], alignment: int = 16, stage: StreamStage | None = None) -> ArenaPlan:
    """Place every arena buffer of `graph` (streaming `stage` first if given); verified, deterministic."""
    buffers = buffers_of(graph, scratch_bytes, alignment, stage)
    bound = max(live_profile(buffers, len(graph.ops)))
    best: dict[int, int] | None = None
    best_size = 0
    for key in ORDERS.values():
        order = sorted(range(len(buffers)), key=lambda i: key(buffers[i]))
        offsets = place(buffers, order)
        size = max((offsets[i] + buffers[i].size for i in offsets), default=0)
        if best is None or size < best_size:
            best, best_size = offsets, size
        if best_size <= bound:
            break
    assert best is not None or not buffers
    best = best or {}
    plan = ArenaPlan(
        offsets={b.name: best[i] for i, b in enumerate(buffers) if not b.name.startswith("scratch:")},
        scratch_offsets={b.name.removeprefix("scratch:"): best[i] for i, b in enumerate(buffers) if b.name.startswith("scratch:")},
        size=align(best_size, alignment),
        lower_bound=bound,
        buffers=tuple(buffers),
        op_count=len(graph.ops),
    )
    verify_plan(plan, alignment)
    return plan


def verify_plan(plan: ArenaPlan, alignment: int = 16) -> None:
    """No two buffers live at the same time share a byte; all aligned and inside the arena."""
    offset_of = {**plan.offsets, **{f"scratch:{k}": v for k, v in plan.scratch_offsets.items()}}
    placed = sorted(plan.buffers, key=lambda b: offset_of[b.name])
    for i, a in enumerate(placed):
        start = offset_of[a.name]
        if start % alignment or start + a.size > plan.size:
            raise AssertionError(f"arena plan: {a.name} at {start} (+{a.size}) is misaligned or outside {plan.size}")
        for b in placed[i + 1 :]:
            if offset_of[b.name] >= start + a.size:
                break
            if a.overlaps_in_time(b):
                raise AssertionError(f"arena plan: {a.name} and {b.name} overlap while both live")


STREAM_MODES = [(push, rows) for push in (True, False) for rows in (1, 2, 4)]


def plan_memory(graph: Graph, scratch_bytes: dict[str, int], patch: str = "auto", alignment: int = 16, slack: float = 0.02) -> tuple[StreamStage | None, ArenaPlan]:
    """The schedule with the smallest arena: layer by layer, or the first k+1 ops streamed.

    Every streamable prefix is simulated and planned in each streaming mode (a few
    milliseconds each). Among the plans within `slack` of the smallest arena, the one
    with the fewest band calls wins: less code for the same memory.
    """
    candidates = [(None, plan_arena(graph, scratch_bytes, alignment))]
    if patch != "off":
        for push, rows in STREAM_MODES:
            for last_op in range(1, len(graph.ops)):
                if not streamable(graph.ops[last_op], graph):
                    break
                stage = stream_stage(graph, last_op, rows, push)
                if stage is not None:
                    candidates.append((stage, plan_arena(graph, scratch_bytes, alignment, stage)))
    smallest = min(plan.size for _, plan in candidates)
    return min((c for c in candidates if c[1].size <= smallest * (1 + slack)), key=lambda c: (c[0].calls if c[0] else 0, c[1].size))
