"""Memory regions: the arena's buffers spread over several RAMs, the hottest in the fastest.

A board may list several memories (boards.py): a small fast one (TCM, block RAM), an
ordinary SRAM, slow external RAM. The schedule and its single-arena plan are chosen as
before; then the buffers are placed again, one region at a time being filled:

- region by region, fastest first: when placement's orders fit all the buffers left in
  the region, they all go there (a plan that fits the fast memory stays whole);
- else each buffer left, in the order of its heat, hottest first, goes there if it fits
  at the lowest offset clear of the region's buffers live at the same time
  (placement.lowest_start, in-place overlaps kept). Heat is the accesses per byte the
  ops touching it make, estimated as their MACs plus one pass over the buffer each: a
  streamed stage's band buffers are small and every band call of the stage reads them,
  so they come first; a layer's im2col scratch is hot, a large map read once cold;
- then each region's buffers are placed again with placement's orders, kept where that
  packs them tighter (the membership stays).

The plan keeps one offset per buffer in a flat view, the regions back to back: region
start + offset in the region, which is where it sits in the caller's block of
invoke_with_arena (and what the report's layout and verify --layers read). Codegen turns
it into a pointer off the region's own array, placed by its linker section.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..ir import Graph
from ..kernels import Kernel
from .analysis import op_macs
from .inplace import InPlace
from .lifetimes import Buffer, Lifetimes, align, lifetimes, live_profile
from .placement import ArenaPlan, RegionSpan, lowest_start, named_offsets, pack, relaxations, verify_plan
from .streaming import StreamStage


@dataclass(frozen=True)
class Region:
    """A memory the arena may use, as MemoryOptions lists them: fastest first."""

    name: str
    capacity: int  # bytes


def heat(graph: Graph, life: Lifetimes) -> dict[str, float]:
    """Estimated accesses per byte of each buffer: the MACs of the ops touching it plus one
    pass over it per op, over its bytes (a streamed stage's ops share one scratch)."""
    touches: dict[str, list[int]] = {b.name: [] for b in life.buffers}
    for op in graph.ops:
        names = {life.alias.get(t, t) for t in (*op.inputs, *op.outputs) if t is not None}
        names.add(f"scratch:{life.scratch_alias.get(op.name, op.name)}")
        for name in names & touches.keys():
            touches[name].append(op_macs(op, graph))
    size = {b.name: b.size for b in life.buffers}
    return {name: (sum(macs) + len(macs) * size[name]) / size[name] for name, macs in touches.items()}


def first_fit(
    buffers: list[Buffer], in_place: list[InPlace], regions: tuple[Region, ...], order: list[int]
) -> tuple[np.ndarray, np.ndarray] | int:
    """(region index, offset in it) of each buffer: region by region, fastest first, all the
    buffers left when placement's orders fit them in it, else each in `order` that fits at
    the lowest free offset. The index of the first buffer that fits none when one does not."""
    relaxed = relaxations(buffers, in_place)
    first, last, size = (np.array([getattr(b, f) for b in buffers], np.int64) for f in ("first", "last", "size"))
    where = np.full(len(buffers), -1, np.int64)
    offset = np.zeros(len(buffers), np.int64)
    for r, region in enumerate(regions):
        left = [i for i in order if where[i] < 0]
        names = {buffers[i].name for i in left}
        whole = pack(
            [buffers[i] for i in left], [p for p in in_place if {p.input, p.output} <= names], region.capacity, 0
        )
        if whole is not None:
            where[left], offset[left] = r, [whole[0][k] for k in range(len(left))]
            break
        for i in left:
            live = (first <= last[i]) & (first[i] <= last) & (where == r)
            start = lowest_start(i, np.flatnonzero(live), offset, size, relaxed.get(i, ()))
            if start + size[i] <= region.capacity:
                where[i], offset[i] = r, start
    unplaced = [i for i in order if where[i] < 0]
    return unplaced[0] if unplaced else (where, offset)


def weight_copies(consts: list[tuple[str, int, int]], rooms: list[tuple[str, int]], alignment: int) -> dict[str, str]:
    """Which constants get a copy in fast RAM, and in which region: `consts` are (symbol,
    bytes, MACs of the layer reading it), `rooms` the bytes each region has left after the
    arena, fastest first. Hottest first (MACs per byte: a conv's filter is read once per
    output pixel), each into the first region with room; the rest stay in flash only."""
    left = dict(rooms)
    copies: dict[str, str] = {}
    for symbol, nbytes, macs in sorted(consts, key=lambda c: (-c[2] / max(c[1], 1), c[0])):
        for region, _ in rooms:
            if macs and align(nbytes, alignment) <= left[region]:
                copies[symbol], left[region] = region, left[region] - align(nbytes, alignment)
                break
    return copies


def place_in_regions(
    graph: Graph,
    kernels: dict[str, Kernel],
    plan: ArenaPlan,
    stages: tuple[StreamStage, ...],
    regions: tuple[Region, ...],
    alignment: int,
) -> ArenaPlan | Buffer:
    """`plan`'s buffers placed across `regions` (see the module's docstring), verified; the
    first buffer that fits no region when they do not hold them all."""
    life = lifetimes(graph, kernels, alignment, stages)
    buffers = list(plan.buffers)
    warmth = heat(graph, life)
    order = sorted(range(len(buffers)), key=lambda i: (-warmth[buffers[i].name], buffers[i].name))
    fitted = first_fit(buffers, list(plan.in_place), regions, order)
    if isinstance(fitted, int):
        return buffers[fitted]
    where, offset = fitted
    spans, start = [], 0
    flat: dict[int, int] = {}
    for r, region in enumerate(regions):
        members = [i for i in range(len(buffers)) if where[i] == r]
        inside = [buffers[i] for i in members]
        names = {b.name for b in inside}
        pairs = [p for p in plan.in_place if p.input in names and p.output in names]
        at = {i: int(offset[i]) for i in members}
        used = max((at[i] + buffers[i].size for i in members), default=0)
        peak = max(live_profile(inside, plan.op_count, pairs)) if inside else 0
        tighter = pack(inside, pairs, used - 1, peak) if inside else None
        if tighter is not None:
            at, used = {i: tighter[0][k] for k, i in enumerate(members)}, tighter[1]
        flat |= {i: start + at[i] for i in members}
        spans.append(RegionSpan(region.name, start, align(used, alignment), region.capacity, peak))
        start += spans[-1].size
    offsets, scratch = named_offsets(buffers, flat, life)
    placed = replace(
        plan,
        offsets=offsets,
        scratch_offsets=scratch,
        size=start,
        regions=tuple(spans),
    )
    verify_plan(placed, alignment)
    return placed
