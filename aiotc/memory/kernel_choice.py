"""Memory-aware kernel choice: a fast kernel's scratch weighed against the arena.

Kernel selection (aiotc/kernels.py) gives each layer its fastest kernel, and some of
those take scratch: the packed fully connected kernel widens its input to int16, 8,000 B
for a 4,000-input layer, twice the activations of a keyword model. Where such a scratch
buffer sits on the arena's peak (it reaches the top of the arena, or lives at the op
with the most bytes live), the layer's scratch-free reference kernel is tried, the
schedule chosen again, and kept when the arena shrinks enough: arena first within the
SRAM budget, then instructions. Over a budget every saving counts; otherwise the
saving must pay for the reference kernel's extra instructions, BYTES_PER_KMAC bytes
per thousand MACs of the layer. A quad kernel (4 pixels per pass over the weights) is
weighed the same way against its pair twin, which takes less scratch and
QUAD_BYTES_PER_KMAC's worth more instructions.

No kernel is traded while the arena is at most half of interpreter_floor: the bytes a
layer-by-layer interpreter that keeps no tensor in place (tflite-micro) needs at the
least. That arena already meets the target of half tflite-micro's whatever the scratch,
and the bytes a trade would save are worth less than the instructions it costs.
"""

from __future__ import annotations

from collections.abc import Callable

from ..ir import Graph
from ..kernels import QUAD_KERNELS, Kernel, scratch_free_kernel
from ..ops import OPS
from .analysis import op_macs
from .placement import ArenaPlan
from .streaming import StreamStage

# What a reference kernel's extra work costs in arena bytes. On the Cortex-M4 (QEMU)
# tflite-micro's micro_speech fully connected layer (16,000 MACs) takes 24,160
# instructions packed and 128,400 with the reference loops: 6.5 more per MAC. A byte of
# arena is worth about 250 instructions (a band call, ~2 k instructions, counts as
# memory.BYTES_PER_CALL = 8 bytes): 6.5 x 1000 / 250 = 26 bytes per thousand MACs. That
# layer gives up its 8,000 B scratch (arena 12,016 -> 4,688 B, +11% instructions); the
# model's 320 k-MAC convolution keeps its 480 B one.
BYTES_PER_KMAC = 26
# A quad kernel's gain over its pair twin, likewise: on the Cortex-M4 (QEMU)
# pretrainedResnet_quant's quad layers (11.8 M MACs) take 554 k instructions fewer than
# as pairs, 47 per thousand MACs: 47 / 250 = 0.19 bytes. (On a board whose flash has wait
# states they also read the weights half as often, which instructions do not count.)
QUAD_BYTES_PER_KMAC = 0.19


def interpreter_floor(graph: Graph) -> int:
    """Arena bytes tflite-micro needs at the least: the largest layer's activation inputs and
    output, each in its own buffer (a reshape, an alias, needs nothing of its own)."""
    return max(
        (
            sum(graph[name].nbytes for name in {*op.inputs, *op.outputs} if name and not graph[name].is_const)
            for op in graph.ops
            if not OPS[op.kind].alias
        ),
        default=0,
    )


def on_peak(arena: ArenaPlan) -> list[str]:
    """Layers whose scratch buffer sits on the arena's peak, the largest scratch first."""
    live = arena.live_bytes()
    peak = [
        b
        for b in arena.buffers
        if b.name.startswith("scratch:")
        and (
            arena.scratch_offsets[b.name.removeprefix("scratch:")] + b.size == arena.size
            or max(live[b.first : b.last + 1]) == arena.lower_bound
        )
    ]
    return [b.name.removeprefix("scratch:") for b in sorted(peak, key=lambda b: -b.size)]


Schedule = tuple[tuple[StreamStage, ...], ArenaPlan]


def lighter_kernels(
    graph: Graph,
    kernels: dict[str, Kernel],
    budget: int | None,
    schedule: Schedule,
    plan: Callable[[dict[str, Kernel]], Schedule],
) -> tuple[dict[str, Kernel], tuple[StreamStage, ...], ArenaPlan]:
    """(kernels, stages, arena): `schedule`'s (stages, arena) with scratch-free kernels where
    they lower the arena; `plan(kernels)` chooses the schedule for other kernels."""
    stages, arena = schedule
    ops = {op.name: op for op in graph.ops}
    floor = interpreter_floor(graph)
    while (budget is None and 2 * arena.size > floor) or (budget is not None and arena.size > budget):
        for name in on_peak(arena):
            lighter = scratch_free_kernel(ops[name], graph, kernels[name])
            over = budget is not None and arena.size > budget
            rate = QUAD_BYTES_PER_KMAC if kernels[name].name in QUAD_KERNELS else BYTES_PER_KMAC
            worth = 1 if over else rate * op_macs(ops[name], graph) / 1000
            # the saving is about the scratch's bytes: when even those do not pay, no need to plan again
            if lighter is None or kernels[name].scratch_bytes - lighter.scratch_bytes < worth:
                continue
            trial_stages, trial_arena = plan(kernels | {name: lighter})
            if arena.size - trial_arena.size >= worth:
                lighter_name = lighter.name or "reference"
                kind = (
                    f"{lighter_name} kernel ({lighter.scratch_bytes:,} B scratch)"
                    if lighter.scratch_bytes
                    else f"scratch-free {lighter_name} kernel"
                )
                why = (
                    f"{kind}: {kernels[name].name}'s {kernels[name].scratch_bytes:,} B"
                    f" scratch sat on the arena's peak ({arena.size:,} -> {trial_arena.size:,} B)"
                )
                kernels = kernels | {name: Kernel(lighter.name, lighter.scratch_bytes, lighter.write_group, why)}
                stages, arena = trial_stages, trial_arena
                break
        else:
            break
    return kernels, stages, arena
