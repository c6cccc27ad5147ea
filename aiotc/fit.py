"""--precision auto under the budgets: the loop that picks per-layer precisions until the
model's flash and arena fit, measuring each candidate by building (and, for a Cortex-M
board, linking) it."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from .boards import Board
from .errors import BudgetError, UsageError
from .ir import Graph
from .options import CompileOptions
from .output import write_files
from .quantize import Quantized
from .quantize.mixed import Latency
from .report import flash_figure, report_files, target_figures
from .schema import Report
from .toolchain import arm

if TYPE_CHECKING:
    from .driver import Planned
    from .quantize.mixed import LayerChoice


class PlanStage(Protocol):
    def __call__(self, graph: Graph, quantized: Quantized, compact_int4: bool = False) -> Planned: ...


def check_latency_budget(options: CompileOptions, target: Board) -> None:
    """--latency-budget bounds --precision auto's search, on a board whose clock the database knows."""
    from .boards import all_boards
    from .latency import latency_known

    if options.latency_budget is None:
        return
    if options.calib is None or options.calib.precision != "auto":
        raise UsageError("--latency-budget bounds the precision search: give --precision auto (and --calib DATA)")
    if not latency_known(target):
        known = ", ".join(b.name for b in all_boards() if latency_known(b))
        raise UsageError(
            f"--latency-budget: the board database has no clock for {target.name} (boards with one: {known})"
        )


def fit_budgets(
    planned: Planned,
    target: Board,
    options: CompileOptions,
    plan: PlanStage,
    build: Callable[[Planned], tuple[dict, Report]],
    progress=None,
) -> Planned:
    """--precision auto: int4 weights in the least sensitive layers until the model's flash
    (as linked for a Cortex-M board, the weights on the host) is within the budget, and
    int16 activations where they gain most while flash and arena allow.

    The first build measures the all-int8 flash; the integer program then saves what
    the budget asks, and each build that still misses (the kernels' code) asks for the
    miss more; fidelity comes first, so an assignment the fast int4 kernels' code pushes
    over the budget takes the smaller int4 reference loops before more int4 layers. An
    arena over the SRAM budget excludes the w8a16 layer with the largest int16 output
    and solves again. The builds link with room to spare, so a miss is measured.

    `plan` and `build` are the pipeline's stages (plan_graph, build_library) that turn a
    candidate assignment into a planned graph and its files and report."""
    quantized, limit = (
        planned.quantized,
        options.flash_budget if options.flash_budget is not None else target.flash_bytes,
    )
    sram_limit = options.sram_budget if options.sram_budget is not None else target.sram_bytes
    roomy = replace(target, flash_bytes=arm.machine_for(target).flash_size) if target.qemu_machine else target

    def measured(candidate: Planned) -> tuple[int, int]:
        """(flash figure, weights bytes) of a candidate's build."""
        files, report = build(candidate)
        return flash_figure(report | target_figures(files, roomy)), report["weights_bytes"]

    int8_flash, int8_weights = measured(planned)
    wide_code = WIDE_KERNEL_CODE if target.qemu_machine else 0  # the host's flash figure is the weights
    every_int4 = {(c.name, "w4a8") for c in quantized.search.choices if c.precision == "w4a8"}
    must_save, assignment = int8_flash - limit, {}
    excluded: frozenset[LayerChoice] = frozenset()
    tick = progress("fitting the flash, SRAM and latency budgets", None) if progress else None
    latency = None
    if options.latency_budget is not None:
        int8_ms, latency = measure_latency(planned, quantized, plan, build, roomy, options.latency_budget)
    for _ in range(MAX_FIT_ROUNDS):
        # A mixed build carries the int8 and the int4 kernels, every layer w4a8 only the
        # int4 ones: what the kernels' code adds is not monotonic in the saving, so when a
        # miss asks more than int4 weights save, the all-w4a8 build decides.
        assignment = quantized.search.assign(
            min(must_save, quantized.search.max_saving()), excluded, wide_code, latency
        )
        mixed = quantized.with_precision(assignment)
        planned = plan(mixed.graph, mixed)
        wide = [layer for layer, p in assignment.items() if p == "w8a16"]
        if planned.plan.size > sram_limit and wide:
            largest = max(
                wide,
                key=lambda layer: (
                    mixed.float_graph[next(op for op in mixed.float_graph.ops if op.name == layer).outputs[0]].size
                ),
            )
            excluded |= {c for c in quantized.search.choices if c.name == largest and c.precision == "w8a16"}
            continue
        miss = measured(planned)[0] - limit
        if miss > 0 and "w4a8" in assignment.values():  # the int4 reference loops: less code, ~10x the instructions
            compact = plan(mixed.graph, mixed, compact_int4=True)
            compact_miss = measured(compact)[0] - limit
            # under a latency budget the reference loops count only where they fit and are fast enough
            if latency is None or (compact_miss <= 0 and bench_ms(compact, build, roomy)[0] <= latency.budget_ms):
                if compact_miss <= 0:
                    planned = compact
                miss = min(miss, compact_miss)
        if miss <= 0 and latency is not None:
            # the program's ms are per layer, measured apart: the build's own decide
            slow = bench_ms(planned, build, roomy)[0] - latency.budget_ms
            if slow > 0:
                latency = replace(latency, allowance_ms=latency.allowance_ms - slow)
                continue
        if miss <= 0 or not assignment:
            break
        if set(assignment.items()) == every_int4:
            raise BudgetError(f"even int4 weights in every layer leave the model {miss:,} B over the flash budget")
        must_save += miss
    pareto = [
        point | {"flash_bytes": int8_flash - (int8_weights - point["weights_bytes"])}
        for point in quantized.search.pareto(
            assignment, int8_weights, wide_code, (int8_ms, latency) if latency is not None else None
        )
    ]
    timing = {}
    if latency is not None:
        final_ms = bench_ms(planned, build, roomy)[0]
        if final_ms > latency.budget_ms:
            raise BudgetError(
                f"no precision assignment within the flash budget meets the latency budget of {latency.budget_ms:g} ms "
                f"on {target.name} (the closest takes {final_ms:.2f} ms)"
            )
        timing = {"latency_budget_ms": latency.budget_ms, "int8_latency_ms": int8_ms, "latency_ms": final_ms}
    report = (
        planned.quantized.report
        | timing
        | {
            "flash_budget": limit,
            "sram_budget": sram_limit,
            "int8_flash_bytes": int8_flash,
            "int4_kernels": "reference loops (less code)" if planned.compact_int4 else "fast",
            "sensitivity": quantized.search.sensitivity_table(),
            "pareto": pareto,
        }
    )
    if tick:
        tick()
    return replace(planned, quantized=replace(planned.quantized, report=report))


MAX_FIT_ROUNDS = 12
WIDE_KERNEL_CODE = 4096  # flash of the 16x8 kernels: conv, depthwise, fully connected and both QUANTIZE directions take 4,044 B on the M4 at -O2


def bench_ms(candidate: Planned, build: Callable[[Planned], tuple[dict, Report]], board: Board) -> tuple[float, dict]:
    """A candidate's estimated ms per inference on `board`, in total and per layer (`aiotc bench`'s figures)."""
    from .toolchain.qemu import QemuModel

    files, report = build(candidate)
    with tempfile.TemporaryDirectory(prefix="aiotc-latency-") as folder:
        write_files(Path(folder), files | report_files(report, board))
        figures = QemuModel.build(Path(folder), board).bench()
    return figures["ms"], {layer["name"]: layer["ms"] for layer in figures["layers"]}


def measure_latency(
    planned: Planned,
    quantized: Quantized,
    plan: PlanStage,
    build: Callable[[Planned], tuple[dict, Report]],
    board: Board,
    budget_ms: float,
) -> tuple[float, Latency]:
    """The all-w8a8 build's ms, and each choice's ms over its layer's w8a8 ones: one build
    with every layer at each precision the search offers, benched in QEMU with the trace.

    The all-w8a8 build is the fastest assignment (the int4 kernels unpack weights, the
    16x8 ones take about twice the instructions): over the budget, it is a BudgetError
    before any other build."""
    int8_ms, base = bench_ms(planned, build, board)
    if int8_ms > budget_ms:
        raise BudgetError(
            f"even the fastest precision assignment (every layer w8a8) takes {int8_ms:.2f} ms on {board.name}, "
            f"over the latency budget of {budget_ms:g} ms by {int8_ms - budget_ms:.2f} ms"
        )
    added: dict[tuple[str, str], float] = {}
    for precision in sorted({c.precision for c in quantized.search.choices}):
        every = {c.name: precision for c in quantized.search.choices if c.precision == precision}
        variant = quantized.with_precision(every)
        _, layers = bench_ms(plan(variant.graph, variant), build, board)
        added |= {(name, precision): layers.get(name, base.get(name, 0.0)) - base.get(name, 0.0) for name in every}
    return int8_ms, Latency(budget_ms, budget_ms - int8_ms, added)
