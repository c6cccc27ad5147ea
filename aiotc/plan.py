"""The static arena plan: every activation and scratch buffer at a fixed offset.

Liveness comes from the op order: a tensor lives from the op that writes it (graph
inputs from the start) to its last reader (graph outputs to the end); an op's
scratch lives only while it runs. Placement is an interval-packing problem: we try
several greedy orders (largest first as TFLite Micro does, longest-lived first,
earliest first), each placing a buffer at the lowest offset that overlaps no
conflicting buffer, keep the smallest arena, and stop as soon as one meets the
lower bound (the largest total live at any op, which no placement can beat).
Every plan is verified before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from .ir import Graph


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
        live = [0] * self.op_count
        for b in self.buffers:
            for i in range(b.first, min(b.last, self.op_count - 1) + 1):
                live[i] += b.size
        return live


def buffers_of(graph: Graph, scratch_bytes: dict[str, int], alignment: int) -> list[Buffer]:
    """Live intervals of the activations and scratch of `graph` in its op order."""
    end = max(len(graph.ops) - 1, 0)
    first = {name: 0 for name in graph.inputs}
    last = {name: 0 for name in graph.inputs}
    for index, op in enumerate(graph.ops):
        for name in op.inputs:
            if name is not None and not graph[name].is_const:
                last[name] = index
        for name in op.outputs:
            first.setdefault(name, index)
            last[name] = max(last.get(name, index), index)
    for name in graph.outputs:
        last[name] = end
    buffers = [Buffer(name, align(max(graph[name].nbytes, 1), alignment), first[name], last[name]) for name in first]
    buffers += [Buffer(f"scratch:{op.name}", align(scratch_bytes[op.name], alignment), i, i) for i, op in enumerate(graph.ops) if scratch_bytes.get(op.name, 0) > 0]
    return buffers


def lower_bound(buffers: list[Buffer], op_count: int) -> int:
    live = [0] * max(op_count, 1)
    for b in buffers:
        for i in range(b.first, b.last + 1):
            live[i] += b.size
    return max(live, default=0)


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


def plan_arena(graph: Graph, scratch_bytes: dict[str, int], alignment: int = 16) -> ArenaPlan:
    """Place every activation and scratch buffer of `graph`; verified, deterministic."""
    buffers = buffers_of(graph, scratch_bytes, alignment)
    bound = lower_bound(buffers, len(graph.ops))
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
