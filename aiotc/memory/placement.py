"""Placement: every arena buffer at a fixed offset, verified.

Placement is an interval-packing problem: we try several greedy orders (ORDERS:
largest first as TFLite Micro does, longest-lived first, earliest first, ...), each
placing a buffer at the lowest offset that overlaps no conflicting buffer, keep the
smallest arena, and stop as soon as one meets the lower bound (lifetimes.py).
In-place ops relax one conflict: their output may start `slack` bytes below a dying
input and overlap the rest of it, or, for a layer that can run bottom band first, start
`lift` bytes above it (inplace.py); the offsets then say which way each layer runs.
Every plan is verified before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from itertools import product

import numpy as np

from ..ir import Graph
from ..kernels import Kernel
from .inplace import InPlace
from .lifetimes import Buffer, Lifetimes, align, lifetimes, live_profile
from .streaming import StreamStage


@dataclass(frozen=True)
class RegionSpan:
    """One memory's part of a plan over several: the arena is the regions back to back."""

    name: str
    start: int  # where it starts in the plan's offsets
    size: int  # its array's bytes, a multiple of the alignment
    capacity: int  # the bytes the memory has for aiotc
    peak: int  # the most bytes live in it at once


@dataclass(frozen=True)
class ArenaPlan:
    offsets: dict[str, int]  # tensor name -> offset (aliases share their root's)
    scratch_offsets: dict[str, int]  # op name -> offset of its scratch
    size: int  # arena bytes, a multiple of the alignment
    lower_bound: int  # max over ops of the bytes live at that op (in-place overlaps taken off)
    buffers: tuple[Buffer, ...]  # what was placed (scratch buffers named "scratch:<op>")
    op_count: int
    in_place: tuple[InPlace, ...] = ()  # the overlaps the plan may use
    regions: tuple[RegionSpan, ...] = ()  # several memories (regions.py): offsets are region start + offset in it
    views: dict[str, str] = field(default_factory=dict)  # tensor -> the graph input it reshapes (no arena bytes)

    def live_bytes(self) -> list[int]:
        """Bytes live while each op runs (its inputs, outputs and scratch included)."""
        return live_profile(self.buffers, self.op_count, self.in_place)

    def bottom_first(self) -> frozenset[int]:
        """The ops whose output overlaps their input from above: they run bottom band first."""
        offset_of = self.offsets
        size = {b.name: b.size for b in self.buffers}
        return frozenset(
            p.op_index
            for p in self.in_place
            if offset_of[p.output] > offset_of[p.input] - p.slack
            and offset_of[p.output] < offset_of[p.input] + size[p.input]
            and offset_of[p.output] + size[p.output] > offset_of[p.input]
        )


def place(
    buffers: list[Buffer], order: list[int], in_place: list[InPlace], limit: int | None = None
) -> dict[int, int] | None:
    """Greedy: each buffer, in `order`, at the lowest offset free of conflicting placed buffers;
    None as soon as one would end above `limit` bytes.

    A placed buffer j forbids the starts in the open interval (off_j - size_i, off_j + size_j);
    when i is the in-place output of j the interval shrinks to (off_j - slack, ...), and when
    i is the input j overwrites, to (..., off_j + slack); a lift shrinks the other end too,
    to (..., off_j + lift) and (off_j - lift, ...). Sizes, slacks and offsets are
    multiples of the alignment, so the lowest free start is 0 or the end of an interval:
    a sweep over the intervals by their start moves it past each one it falls inside.
    """
    relaxed = relaxations(buffers, in_place)
    first, last, size = (np.array([getattr(b, f) for b in buffers], np.int64) for f in ("first", "last", "size"))
    offset = np.zeros(len(buffers), np.int64)
    placed = np.zeros(len(buffers), bool)
    for i in order:
        js = np.flatnonzero(placed & (first <= last[i]) & (first[i] <= last))  # placed, live at the same time
        offset[i] = lowest_start(i, js, offset, size, relaxed.get(i, ()))
        if limit is not None and offset[i] + size[i] > limit:
            return None
        placed[i] = True
    return {i: int(offset[i]) for i in order}


def relaxations(buffers: list[Buffer], in_place: list[InPlace]) -> dict[int, list[tuple[int, int, int]]]:
    """i -> (j, lo or hi end (0/1), offset from off_j): the conflicts in-place ops relax (see place)."""
    index_of = {b.name: i for i, b in enumerate(buffers)}
    relaxed: dict[int, list[tuple[int, int, int]]] = {}
    for p in in_place:
        src, dst = index_of[p.input], index_of[p.output]
        relaxed.setdefault(dst, []).append((src, 0, -p.slack))
        relaxed.setdefault(src, []).append((dst, 1, p.slack))
        if p.lift is not None:
            relaxed.setdefault(dst, []).append((src, 1, p.lift))
            relaxed.setdefault(src, []).append((dst, 0, -p.lift))
    return relaxed


def lowest_start(i: int, js: np.ndarray, offset: np.ndarray, size: np.ndarray, relaxed) -> int:
    """The lowest offset for buffer i clear of the placed buffers `js` (sorted indices), as place says."""
    lo, hi = offset[js] - size[i], offset[js] + size[js]
    for j, end, delta in relaxed:
        at = np.searchsorted(js, j)
        if at < js.size and js[at] == j:
            (lo, hi)[end][at] = offset[j] + delta
    by_start = np.argsort(lo, kind="stable")
    reach = np.maximum.accumulate(np.concatenate(([0], hi[by_start])))  # the sweep's start before each interval
    free = np.flatnonzero(lo[by_start] >= reach[:-1])  # it stops at the first interval past its start
    return int(reach[free[0]] if free.size else reach[-1])


ORDERS = {
    "largest first": lambda b: (-b.size, b.first, b.name),
    "longest lived first": lambda b: (-(b.last - b.first), -b.size, b.name),
    "earliest first": lambda b: (b.first, -b.size, b.name),
    "largest area first": lambda b: (-b.size * (b.last - b.first + 1), b.name),
    "latest first": lambda b: (-b.first, -b.size, b.name),  # lets in-place chains descend
}


def plan_arena(
    graph: Graph, kernels: dict[str, Kernel], alignment: int = 16, stages: tuple[StreamStage, ...] = ()
) -> ArenaPlan:
    """Place every arena buffer of `graph` (its `stages` streamed); verified, deterministic."""
    plan = fit_arena(graph, kernels, alignment, stages, None)
    assert plan is not None
    return plan


def fit_arena(
    graph: Graph,
    kernels: dict[str, Kernel],
    alignment: int,
    stages: tuple[StreamStage, ...],
    limit: int | None,
    candidates: list[InPlace] | None = None,
) -> ArenaPlan | None:
    """plan_arena's plan, or None when it would not fit in `limit` bytes. A placement order
    stops as soon as it cannot fit, or cannot beat the best order so far (so the plan is
    the same as placing every order to its end). `candidates`: see lifetimes."""
    life = lifetimes(graph, kernels, alignment, stages, candidates)
    buffers = life.buffers
    bound = max(live_profile(buffers, len(graph.ops), life.in_place))
    if limit is not None and bound > limit:
        return None
    packed = pack(buffers, life.in_place, limit, bound)
    if packed is None:
        return None
    best, best_size = packed
    offsets, scratch_offsets = named_offsets(buffers, best, life)
    plan = ArenaPlan(
        offsets=offsets,
        scratch_offsets=scratch_offsets,
        size=align(best_size or 0, alignment),
        lower_bound=bound,
        buffers=tuple(buffers),
        op_count=len(graph.ops),
        in_place=tuple(life.in_place),
        views=life.views,
    )
    verify_plan(plan, alignment)
    return plan


def named_offsets(buffers: list[Buffer], at: dict[int, int], life: Lifetimes) -> tuple[dict[str, int], dict[str, int]]:
    """The plan's tensor -> offset and op -> scratch offset of `buffers` placed `at` (index ->
    offset): aliases at their root's, a stage's ops at their shared scratch."""
    tensors = {b.name: at[i] for i, b in enumerate(buffers) if not b.name.startswith("scratch:")}
    scratch = {b.name.removeprefix("scratch:"): at[i] for i, b in enumerate(buffers) if b.name.startswith("scratch:")}
    return (
        tensors | {name: tensors[root] for name, root in life.alias.items()},
        scratch | {name: scratch[root] for name, root in life.scratch_alias.items()},
    )


def pack(
    buffers: list[Buffer], in_place: list[InPlace], limit: int | None, bound: int
) -> tuple[dict[int, int], int] | None:
    """The smallest placement of ORDERS (buffer index -> offset, bytes), None if none fits in
    `limit`; an order stops as soon as it cannot fit or beat the best so far, and the search as
    soon as one meets `bound` (so the plan is the same as placing every order to its end).
    The orders place outputs only below their inputs first, then either side (lifts): a layer
    runs bottom band first only where that makes the arena smaller, its band calls not for free."""
    best: dict[int, int] = {}
    best_size = None
    below = [replace(p, lift=None) for p in in_place]
    for pairs, key in product([below, in_place] if below != in_place else [below], ORDERS.values()):
        # Scratch buffers (small, one op long) go last, into the holes the activations leave.
        order = sorted(range(len(buffers)), key=lambda i: (buffers[i].name.startswith("scratch:"), key(buffers[i])))
        placed = place(buffers, order, pairs, limit if best_size is None else best_size - 1)
        if placed is None:
            continue
        best, best_size = placed, max((placed[i] + buffers[i].size for i in placed), default=0)
        if best_size <= bound:
            break
    return None if best_size is None else (best, best_size)


def verify_plan(plan: ArenaPlan, alignment: int = 16) -> None:
    """No two buffers live at the same time share a byte unless an in-place op allows it; aligned; inside."""
    offset_of = {**plan.offsets, **{f"scratch:{k}": v for k, v in plan.scratch_offsets.items()}}
    pair = {(p.input, p.output): p for p in plan.in_place}

    def legal(x: str, y: str) -> bool:
        """Output y of in-place pair (x, y) far enough below x, or (bottom band first) above it."""
        p = pair.get((x, y))
        return p is not None and (
            offset_of[y] <= offset_of[x] - p.slack or (p.lift is not None and offset_of[y] >= offset_of[x] + p.lift)
        )

    placed = sorted(plan.buffers, key=lambda b: offset_of[b.name])
    for i, a in enumerate(placed):
        start = offset_of[a.name]
        if start % alignment or start + a.size > plan.size:
            raise AssertionError(f"arena plan: {a.name} at {start} (+{a.size}) is misaligned or outside {plan.size}")
        if plan.regions and not any(r.start <= start and start + a.size <= r.start + r.size for r in plan.regions):
            raise AssertionError(f"arena plan: {a.name} at {start} (+{a.size}) is in no one region")
        for b in placed[i + 1 :]:
            if offset_of[b.name] >= start + a.size:
                break
            if not a.overlaps_in_time(b):
                continue
            if legal(a.name, b.name) or legal(b.name, a.name):
                continue
            raise AssertionError(f"arena plan: {a.name} and {b.name} overlap while both live")
