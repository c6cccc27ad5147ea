"""Memory planning: where every activation and scratch buffer of a model lives (docs/memory.md).

`plan_memory` is the one entry point. It runs the ops in the order of least peak memory
(reorder.py), then tries every schedule -- layer by layer, or the first layers
streamed in row bands (streaming.py) -- each with its buffers' lifetimes
(lifetimes.py, with the overlaps inplace.py allows) placed in one arena
(placement.py), and keeps the one `MemoryOptions` asks for. Each layer's scratch
and in-place contract come from kernel selection (aiotc/kernels.py), made before.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph
from ..kernels import Kernel
from .placement import ArenaPlan, plan_arena
from .reorder import best_order
from .streaming import StreamStage, mac_overhead, stream_stage, streamable


@dataclass(frozen=True)
class MemoryOptions:
    """What the schedule choice weighs: the CLI's --patch, --patch-overhead and --sram-budget."""

    stream: str = "auto"  # "off": layer by layer only (the CLI's --patch)
    max_overhead: float = 0.2  # MACs a streamed stage may add, a fraction of the model's (--patch-overhead)
    sram_budget: int | None = None  # with a budget, the fewest band calls that fit it win
    fixed_order: bool = False  # keep the graph's op order (a --stream plan refers to ops by index)
    alignment: int = 16


@dataclass(frozen=True)
class MemoryPlan:
    """Where everything lives: what codegen and the report read."""

    graph: Graph  # the ops in the order planned
    stage: StreamStage | None  # the first layers streamed; None: layer by layer
    arena: ArenaPlan


def plan_memory(graph: Graph, kernels: dict[str, Kernel], options: MemoryOptions = MemoryOptions()) -> MemoryPlan:
    """The op order, the schedule and the arena of `graph`, its layers run by `kernels`."""
    graph = graph if options.fixed_order else best_order(graph)
    stage, arena = choose_schedule(graph, kernels, options)
    return MemoryPlan(graph, stage, arena)


# (push, rows per step, paced): pull, push, and push paced one band at a time (streaming.stream_stage)
STREAM_MODES = [
    (push, rows, paced) for push, paced in ((True, True), (True, False), (False, False)) for rows in (1, 2, 4)
]


def choose_schedule(
    graph: Graph, kernels: dict[str, Kernel], options: MemoryOptions
) -> tuple[StreamStage | None, ArenaPlan]:
    """The schedule to use: layer by layer, or the first k+1 ops streamed.

    Every streamable prefix is simulated and planned in each streaming mode (a few
    milliseconds each). Without a budget, the smallest arena wins, each band call
    counted as BYTES_PER_CALL more bytes (so a few bytes do not buy many calls). With
    `sram_budget`, the one with the fewest band calls that fits it (layer by layer
    when that fits), else the smallest. Stages whose MAC overhead
    exceeds `max_overhead` are not considered (cached halos recompute nothing, so
    today's stages are all at 0%; the check keeps any recomputing schedule honest).
    """
    candidates: list[tuple[StreamStage | None, ArenaPlan]] = [(None, plan_arena(graph, kernels, options.alignment))]
    if options.stream != "off":
        for push, rows, paced in STREAM_MODES:
            for last_op in range(1, len(graph.ops)):
                if not streamable(graph.ops[last_op], graph):
                    break
                stage = stream_stage(graph, last_op, rows, push, paced)
                if stage is not None and mac_overhead(graph, stage) <= options.max_overhead:
                    candidates.append((stage, plan_arena(graph, kernels, options.alignment, stage)))
    calls = lambda c: c[0].calls if c[0] else 0  # noqa: E731
    smallest = min(plan.size for _, plan in candidates)
    budget = options.sram_budget
    if budget is not None and budget >= smallest:
        return min((c for c in candidates if c[1].size <= budget), key=lambda c: (calls(c), c[1].size))
    return min(candidates, key=lambda c: (c[1].size + BYTES_PER_CALL * calls(c), c[1].size))


# What a band call is worth in arena bytes when no budget is given: each call repeats a
# kernel's setup (0.1-2.3 k instructions on the M4), so str_ww_ref_model's 119-call stage
# (4,528 B, +21% instructions) loses to its 18-call one (4,784 B), while every stage that
# saves more than this per extra call (mcunet 79 B, vww 31 B, kws 9 B) is kept.
BYTES_PER_CALL = 4
