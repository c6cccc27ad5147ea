"""Memory planning: where every activation and scratch buffer of a model lives (docs/memory.md).

`plan_memory` is the one entry point. It runs the ops in the order of least peak memory
(reorder.py), then tries every schedule -- layer by layer, or the first layers, later
ones over layer by layer's peak, or both streamed in row bands (streaming.py) -- each
with its buffers' lifetimes (lifetimes.py, with the overlaps inplace.py allows) placed
in one arena (placement.py), and keeps the one `MemoryOptions` asks for. Each layer's
scratch and in-place contract come from kernel selection (aiotc/kernels.py), made
before. Given several memory regions, the buffers are then spread over them, the
hottest in the fastest (regions.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product, takewhile

from ..errors import BudgetError
from ..ir import Graph
from ..kernels import Kernel
from .analysis import op_macs
from .inplace import in_place_candidates
from .kernel_choice import lighter_kernels
from .lifetimes import stage_lower_bound
from .placement import ArenaPlan, fit_arena
from .regions import Region, place_in_regions
from .reorder import best_order
from .streaming import StreamStage, band_rows, least_calls, mac_overhead, stream_stage, streamable


@dataclass(frozen=True)
class MemoryOptions:
    """What the schedule choice weighs: the CLI's --patch, --patch-overhead and --sram-budget."""

    stream: str = "auto"  # "off": layer by layer only (the CLI's --patch)
    max_overhead: float = 0.2  # MACs a streamed stage may add, a fraction of the model's (--patch-overhead)
    sram_budget: int | None = None  # with a budget, the fewest band calls that fit it win
    fixed_order: bool = False  # keep the graph's op order (a --stream plan refers to ops by index)
    alignment: int = 16
    regions: tuple[Region, ...] = ()  # the memories to spread the arena over, fastest first; (): one arena


@dataclass(frozen=True)
class MemoryPlan:
    """Where everything lives: what codegen and the report read."""

    graph: Graph  # the ops in the order planned
    stages: tuple[StreamStage, ...]  # the first layers streamed, later ones (a tail), both or neither
    arena: ArenaPlan
    kernels: dict[str, Kernel]  # the kernels planned for: scratch-free ones where that lowers the arena


def plan_memory(graph: Graph, kernels: dict[str, Kernel], options: MemoryOptions = MemoryOptions()) -> MemoryPlan:
    """The op order, the schedule and the arena of `graph`, its layers run by `kernels`
    or, where a kernel's scratch raises the arena, by a scratch-free one (kernel_choice.py)."""
    graph = graph if options.fixed_order else best_order(graph)
    kernels, stages, arena = lighter_kernels(
        graph,
        kernels,
        options.sram_budget,
        choose_schedule(graph, kernels, options),
        lambda trial: choose_schedule(graph, trial, options),
    )
    if options.regions:
        placed = place_in_regions(graph, kernels, arena, stages, options.regions, options.alignment)
        if not isinstance(placed, ArenaPlan):
            memories = ", ".join(f"{r.name} {r.capacity:,} B" for r in options.regions)
            raise BudgetError(
                f"the arena ({arena.size:,} B) does not fit the memory regions ({memories}): "
                f"buffer {placed.name} ({placed.size:,} B) finds room in none"
            )
        arena = placed
    return MemoryPlan(graph, stages, arena, kernels)


# (push, rows per step, paced): pull, push, and push paced one band at a time (streaming.stream_stage)
STREAM_MODES = [
    (push, rows, paced) for push, paced in ((True, True), (True, False), (False, False)) for rows in (1, 2, 4)
]

# A stage's streaming mode and its ops: ((push, rows per step, paced), (first op, last op))
Part = tuple[tuple[bool, int, bool], tuple[int, int]]


def choose_schedule(
    graph: Graph, kernels: dict[str, Kernel], options: MemoryOptions
) -> tuple[tuple[StreamStage, ...], ArenaPlan]:
    """The schedule to use: layer by layer, or with the first ops streamed (a head stage),
    later ones over layer by layer's peak (a tail stage), or both.

    The candidates are every streamable prefix and every tail (tail_spans) in each
    streaming mode, and every pair of a prefix and a tail, both in one mode (every pair
    of modes would place some thousand schedules on a U-Net). Without a budget, the
    smallest arena wins, each band call counted as BYTES_PER_CALL more bytes (so a few
    bytes do not buy many calls). With `sram_budget`, the one with the fewest band
    calls that fits it (layer by layer when that fits), else the smallest.
    Stages whose MAC overhead exceeds `max_overhead` are not considered (cached halos
    recompute nothing, so today's stages are all at 0%; the check keeps any recomputing
    schedule honest).

    Simulating and placing a schedule takes milliseconds, an exact lower bound of its
    arena microseconds: each stage's own buffers and the whole tensors live through it
    (lifetimes.stage_lower_bound), and the bytes live at each op outside the stages,
    which are those of layer by layer; its band calls have a lower bound too
    (streaming.least_calls: a stage pushing a long input a row at a time makes
    thousands). Candidates go in the order of their least cost, and one
    whose bound shows it cannot win is never simulated. The choice is the one trying
    them all makes (ties keep that order too).
    """
    pairs = in_place_candidates(graph, kernels, options.alignment)  # the same in every schedule
    whole = fit_arena(graph, kernels, options.alignment, (), None, pairs)
    assert whole is not None
    budget = options.sram_budget
    if options.stream == "off" or (budget is not None and whole.size <= budget):
        return (), whole  # within a budget, nothing has fewer band calls than layer by layer
    n = len(graph.ops)
    ok = [streamable(op, graph) for op in graph.ops]
    # heads from the first op, and from the first after the reshapes opening the graph: those
    # of the input are views of it (lifetimes.py), which a stage would copy band by band
    starts = {0, next((i for i, op in enumerate(graph.ops) if op.kind != "reshape"), 0)}
    heads = [(s, last) for s in sorted(starts) for last in takewhile(lambda i: ok[i], range(s, n)) if last > s]
    live = whole.live_bytes()  # outside the stages, the same buffers are live as layer by layer
    tails = tail_spans(ok, live.index(max(live)))
    min_rows = band_rows(graph)
    own = {
        (first, last): stage_lower_bound(graph, kernels, last, options.alignment, min_rows, first)
        for first, last in heads + tails
    }

    def bound(head: Part | None, tail: Part | None) -> int:
        outside = live[head[1][1] + 1 if head else 0 : tail[1][0] if tail else n]
        return max(own[head[1]] if head else 0, own[tail[1]] if tail else 0, *outside)

    macs = [op_macs(op, graph) for op in graph.ops]
    simulated: dict[Part, StreamStage | None] = {}

    def simulate(part: Part) -> StreamStage | None:
        if part not in simulated:
            (push, rows, paced), (first, last) = part
            stage = stream_stage(graph, last, rows, push, paced, first)
            fits = stage is not None and mac_overhead(graph, stage, macs) <= options.max_overhead
            simulated[part] = stage if fits else None
        return simulated[part]

    combos: list[tuple[Part | None, Part | None]] = [
        *((head, None) for head in product(STREAM_MODES, heads)),
        *((None, tail) for tail in product(STREAM_MODES, tails)),
        *(
            ((mode, head), (mode, tail))
            for mode in STREAM_MODES
            for head in heads
            for tail in tails
            if head[1] < tail[0]
        ),
    ]
    # (rank in the order of a full search, candidate); layer by layer first
    tried: list[tuple[int, tuple[tuple[StreamStage, ...], ArenaPlan]]] = [(0, ((), whole))]
    best = whole.size  # the least cost tried

    def fewest_calls(part: Part) -> int:
        (push, rows, paced), (first, last) = part
        return least_calls(graph, last, rows, push, paced, first)

    fewest = {part: fewest_calls(part) for combo in combos for part in combo if part}  # per stage
    ranked = list(enumerate(combos, 1))  # rank: the order of a full search
    least = {  # the least cost each can have
        rank: bound(head, tail) + BYTES_PER_CALL * sum(fewest[part] for part in (head, tail) if part)
        for rank, (head, tail) in ranked
    }
    fruitless = 0  # ops placed since the best cost last fell
    for rank, (head, tail) in sorted(ranked, key=lambda r: least[r[0]]):
        parts = tuple(part for part in (head, tail) if part)
        if (budget is None or bound(head, tail) > budget) and least[rank] > best:
            continue
        if fruitless >= FRUITLESS_OPS:
            break
        stages = tuple(stage for stage in map(simulate, parts) if stage is not None)
        if len(stages) < len(parts):
            continue
        limit = max(best - BYTES_PER_CALL * calls(stages), budget or 0)  # above it, it can neither win nor fit
        plan = fit_arena(graph, kernels, options.alignment, stages, limit, pairs)
        fruitless += n
        if plan is not None:
            tried.append((rank, (stages, plan)))
            if cost((stages, plan)) < best:
                best, fruitless = cost((stages, plan)), 0
    fits = [(rank, c) for rank, c in tried if budget is not None and c[1].size <= budget]
    if fits:
        return min(fits, key=lambda rc: (calls(rc[1][0]), rc[1][1].size, rc[0]))[1]
    return min(tried, key=lambda rc: (cost(rc[1]), rc[1][1].size, rc[0]))[1]


def tail_spans(streams: list[bool], peak: int) -> list[tuple[int, int]]:
    """The tail stages worth trying: the streamable ops from some op (not the first) up to
    and over layer by layer's `peak` op, to the end of their run (the graph's end for a
    U-Net; before the output's transpose for an ONNX one). `streams`: whether each op
    streams. Other runs are left alone: their stages cannot lower that peak."""
    if not streams[peak]:
        return []
    first, last = peak, peak
    while first > 1 and streams[first - 1]:
        first -= 1
    while last + 1 < len(streams) and streams[last + 1]:
        last += 1
    return [(start, last) for start in range(max(first, 1), min(peak, last - 1) + 1)]


def least_plan(plans: list[MemoryPlan], sram_budget: int | None) -> MemoryPlan:
    """Of the plans of one model's graphs (a Conv1D graph upright and on its side), the one
    choose_schedule would keep: within a budget the fewest band calls, else the least cost."""
    fits = [p for p in plans if sram_budget is not None and p.arena.size <= sram_budget]
    if fits:
        return min(fits, key=lambda p: (calls(p.stages), p.arena.size))
    return min(plans, key=lambda p: (cost((p.stages, p.arena)), p.arena.size))


def calls(stages: tuple[StreamStage, ...]) -> int:
    return sum(stage.calls for stage in stages)


def cost(candidate: tuple[tuple[StreamStage, ...], ArenaPlan]) -> int:
    """Arena bytes with each band call counted as BYTES_PER_CALL more."""
    return candidate[1].size + BYTES_PER_CALL * calls(candidate[0])


# What a band call is worth in arena bytes when no budget is given: each call repeats a
# kernel's setup, its odd last pixels and block edges. kws_ref_model's smallest arena
# (11,024 B) streams five layers in one-row bands 5 pixels wide (125 calls); 2-row bands
# over four layers (51 calls, 11,536 B) take 158 k fewer instructions on the M4: 2.1 k a
# call, 8 B at the 250 instructions a byte of arena is worth (as kernel_choice.py weighs
# kernels). So kws takes the 51-call stage (its 125 calls save 7 B each), and
# str_ww_ref_model its 18-call one (4,784 B) over 119 calls (4,528 B, +21% instructions),
# while the stages that save more per extra call (mbv2 17 B, mcunet 79 B, vww 31 B) stay.
BYTES_PER_CALL = 8

# The search stops once the placements since the last cheaper schedule have placed this many
# ops' buffers (a placement's work). Where layer by layer's placement is far above its lower
# bound (nasnet_mobile_96: 135,520 B over 124,400 B), every stage over its peak has a bound
# below it and would be placed: 190 placements of a 380-op graph, none cheaper. On the corpus
# and the shared models a cheaper schedule came at most 1,729 ops' placements after the last
# (densenet121_96: 7 of 247 ops; unet_bilinear_64 float: 89 of 13).
FRUITLESS_OPS = 4096
