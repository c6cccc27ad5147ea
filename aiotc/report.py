"""report.json: the plan and figures of a compiled model, and the budget checks that read them.

build_report assembles what the pipeline decided (layers, arena, patch plan, memory layout);
target_figures adds what linking for a Cortex-M board measures (flash, stack);
check_budget and check_flash turn a miss into a BudgetError that says by how much and what fits.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from pathlib import Path

from . import __version__
from .boards import Board, all_boards
from .codegen.escape import path_text
from .errors import BudgetError
from .ir import ITEMSIZE, Graph
from .memory import ArenaPlan
from .memory.analysis import op_macs, op_weight_bytes
from .memory.streaming import StreamStage, mac_overhead
from .ops import OPS
from .output import write_files
from .report_html import render_html, render_pareto_svg
from .schema import Buffer, Dequantized, Layer, Memory, Patch, Report, Tail, TargetFigures
from .toolchain import arm

PRECISION = {"int8": "w8a8", "int16": "w8a16", "float32": "f32"}


def build_report(
    graph: Graph, plan, board: Board, name: str, model_path: Path, facts: dict, stages: tuple[StreamStage, ...] = ()
) -> Report:
    live = plan.live_bytes()
    layers: list[Layer] = []
    for index, op in enumerate(graph.ops):
        out = graph[op.outputs[0]]
        layers.append(
            {
                "name": op.name,
                "op": op.kind,
                "output_shape": list(out.shape),
                "precision": layer_precision(op, graph),
                "macs": op_macs(op, graph),
                "weights_bytes": op_weight_bytes(op, graph),
                "live_bytes": live[index],
                "kernel": facts["layer_kernels"][op.name]["kernel"],
                "kernel_choice": facts["layer_kernels"][op.name]["why"],
                "output": op.outputs[0],
                "output_dtype": out.dtype,
                "output_offset": whole_output_offset(graph, plan, index, stages),
            }
        )
    report: Report = {
        "model": path_text(model_path.name),
        "source": path_text(model_path.resolve()),
        "name": name,
        "board": board.name,
        "aiotc_version": __version__,
        "macs": sum(layer["macs"] for layer in layers),
        "arena_bytes": plan.size,
        "arena_lower_bound": plan.lower_bound,
        "weights_bytes": facts["weights_bytes"],
        "state_bytes": facts["state_bytes"],  # NAME_STATE_SIZE: recurrent state kept across invokes, outside the arena
        "state": facts["state"],
        "patch": head_report(graph, stages, plan.views),
        "tail": tail_report(graph, stages, plan.views),
        "io_bytes": facts["io_bytes"],
        "inputs": facts["inputs"],
        "outputs": facts["outputs"],
        "kernels": facts["kernels"],
        "layers": layers,
        "memory": memory_report(graph, plan),
    }
    if "stream" in facts:
        report["stream"] = facts["stream"]
    if plan.regions:
        memories = {m.name: m for m in board.memories}
        report["regions"] = [
            {
                "name": r.name,
                "speed": memories[r.name].speed,
                "base": memories[r.name].base,
                "capacity": r.capacity,
                "bytes": r.size,
                "peak_bytes": r.peak,
                "weights_bytes": facts["weight_copies"].get(r.name, {}).get("bytes", 0),
                "weights": facts["weight_copies"].get(r.name, {}).get("weights", []),
                "start": r.start,
            }
            for r in plan.regions
        ]
    return report


def dequantized_figures(graph: Graph) -> Dequantized:
    """How much flash a hybrid model's weights take as the file stores them and as float32."""
    stored = graph.dequantized.values()
    return {
        "tensors": len(stored),
        "stored_bytes": sum(math.ceil(count * ITEMSIZE[dtype]) for dtype, count in stored),
        "float32_bytes": 4 * sum(count for _, count in stored),
    }


def report_files(report: Report, board: Board) -> dict[str, str | bytes]:
    """The report's files in the output folder: report.json, report.html, and pareto.svg after a precision search."""
    files: dict[str, str | bytes] = {
        "report.json": json.dumps(report, indent=2) + "\n",
        "report.html": render_html(report, board),
    }
    if report.get("pareto"):
        files["pareto.svg"] = render_pareto_svg(report["pareto"])
    return files


def layer_precision(op, graph: Graph) -> str:
    """w8a8 | w4a8 | w8a16 | f32: the weights' bits (int4 weights make w4a8) and the output's type."""
    if OPS[op.kind].weighted and graph[op.inputs[1]].dtype == "int4":
        return "w4a8"
    out = graph[op.outputs[0]]
    return PRECISION.get(out.dtype, out.dtype)


def whole_output_offset(graph: Graph, plan, index: int, stages: tuple[StreamStage, ...]) -> int | None:
    """Where the layer's whole output sits in the arena right after it ran (verify --layers reads
    it there); None for a graph output (in the caller's buffer), recurrent state, and a
    streamed stage's layers before its last, which hold only a band of rows."""
    name = graph.ops[index].outputs[0]
    if name in graph.outputs or any(stage.first_op <= index < stage.last_op for stage in stages):
        return None
    return plan.offsets.get(name)


def memory_report(graph: Graph, plan: ArenaPlan) -> Memory:
    """The arena layout (every buffer's offset, size and lifetime in op indices) and the in-place overlaps."""
    offset_of = plan.offsets | {f"scratch:{k}": v for k, v in plan.scratch_offsets.items()}
    size_of = {b.name: b.size for b in plan.buffers}
    bottom_first = plan.bottom_first()
    overlap = lambda a, b: offset_of[a] < offset_of[b] + size_of[b] and offset_of[b] < offset_of[a] + size_of[a]  # noqa: E731
    return {
        "timeline": plan.live_bytes(),
        "layout": [
            layout_entry(b, offset_of[b.name], plan)
            for b in sorted(plan.buffers, key=lambda b: (b.first, offset_of[b.name]))
        ],
        "aliases": sorted(name for name in plan.offsets if name not in {b.name for b in plan.buffers}),
        "scratch_aliases": sorted(
            name for name in plan.scratch_offsets if f"scratch:{name}" not in {b.name for b in plan.buffers}
        ),  # a stage's ops share one scratch
        "in_place": [
            {
                "layer": graph.ops[p.op_index].name,
                "input": p.input,
                "output": p.output,
                "slack": p.slack,
                "lift": p.lift,
                "bottom_first": p.op_index in bottom_first,
            }
            for p in plan.in_place
            if overlap(p.input, p.output)
        ],
    }


def layout_entry(b, offset: int, plan: ArenaPlan) -> Buffer:
    """A buffer of the arena layout; over several memory regions, with its region and offset there."""
    entry: Buffer = {"buffer": b.name, "offset": offset, "bytes": b.size, "first_op": b.first, "last_op": b.last}
    for r in plan.regions:
        if offset < r.start + r.size:
            entry["region"], entry["region_offset"] = r.name, offset - r.start
            break
    return entry


def opens_graph(graph: Graph, stage: StreamStage, views: dict[str, str]) -> bool:
    """A stage of the first layers: only views of the input (its reshapes, no code) run before it."""
    return all(op.outputs[0] in views for op in graph.ops[: stage.first_op])


def head_report(graph: Graph, stages: tuple[StreamStage, ...], views: dict[str, str]) -> Patch | None:
    """The streamed first layers in report.json's `patch` entry: rows are tiles, halos cached."""
    stage = next((stage for stage in stages if opens_graph(graph, stage, views)), None)
    if stage is None:
        return None
    return {
        "split_after": graph.ops[stage.last_op].name,
        "split_index": stage.last_op,
        "grid": [len(stage.steps), 1],
        "mac_overhead": round(mac_overhead(graph, stage), 6),
        "mode": "row bands with cached halos",
        "band_calls": stage.calls,
    }


def check_budget(
    report: Report, board: Board, sram_budget: int | None = None, flash_budget: int | None = None, streamed: bool = True
) -> None:
    """The arena must fit the SRAM budget (default: the board's SRAM) and the constants the flash budget.

    A miss says by how much, and what would fit: streaming when it was off, the boards with room."""
    misses = []
    ram = (
        ("arena + state", report["arena_bytes"] + report["state_bytes"])
        if report.get("state_bytes")
        else ("arena", report["arena_bytes"])
    )
    for what, needed, budget, memory in (
        (*ram, sram_budget, "SRAM"),
        ("weights", report["weights_bytes"], flash_budget, "flash"),
    ):
        limit = budget if budget is not None else board_bytes(report, board, memory)
        source = f"the {memory} budget is" if budget is not None else f"{board.name} has"
        if needed > limit:
            misses.append(f"{what} needs {needed:,} B of {memory}, {source} {limit:,} B (over by {needed - limit:,} B)")
            if memory == "SRAM" and not streamed:
                misses.append("--patch auto streams the first layers in row bands and may need less")
    if misses:
        raise BudgetError("model does not fit: " + "; ".join(misses) + fitting_boards(report))


def board_bytes(report: Report, board: Board, memory: str) -> int:
    """The board's flash, or its SRAM: the regions' capacities when the arena is spread over several."""
    if memory == "SRAM" and report.get("regions"):
        return sum(r["capacity"] for r in report["regions"])
    return board.flash_bytes if memory == "flash" else board.sram_bytes


def flash_figure(report: Report) -> int:
    """What --flash-budget bounds: the linked flash on a Cortex-M board, the weights on the host."""
    return report.get("flash_bytes") or report["weights_bytes"]


def check_flash(report: Report, board: Board, flash_budget: int | None) -> None:
    if flash_budget is not None and flash_figure(report) > flash_budget:
        what = "weights, graph code and kernels" if report.get("flash_bytes") else "weights"
        hint = "" if "pareto" in report else "; --precision auto with --calib puts int4 weights where they cost least"
        raise BudgetError(
            f"model does not fit: {what} need {flash_figure(report):,} B of flash, the flash budget is "
            f"{flash_budget:,} B (over by {flash_figure(report) - flash_budget:,} B){hint}"
        )


def target_figures(files: dict[str, str | bytes], board: Board) -> TargetFigures:
    """What the library takes on a Cortex-M board, from linking it there: its flash
    (weights, graph code, kernels) and the static stack estimate of NAME_invoke with
    every function's frame (gcc's -fstack-usage figures, via -fcallgraph-info=su).

    The link is cached by content, so a later `bench`/`run` of the folder reuses it;
    it raises BudgetError when the library does not fit the board. The host board and
    a machine without arm-none-eabi-gcc get no figures (the report says why)."""
    if board.qemu_machine is None:
        return {
            "target_build": "none: the host board is built by the host compiler when run",
            "flash_bytes": None,
            "stack": None,
        }
    if shutil.which(arm.GCC) is None:
        return {
            "target_build": f"none: {arm.GCC} not found (Debian package gcc-arm-none-eabi)",
            "flash_bytes": None,
            "stack": None,
        }
    with tempfile.TemporaryDirectory(prefix="aiotc-figures-") as folder:
        write_files(Path(folder), files)
        image = arm.build_image(Path(folder), board)
    stack = image.stack
    return {
        "target_build": f"{arm.GCC} {' '.join(board.cflags)} {' '.join(arm.COMMON_FLAGS)}",
        "flash_bytes": image.flash_model_bytes,
        "stack": {
            "estimate_bytes": stack.estimate_bytes,
            "deepest_chain": stack.path,
            "largest_frame": stack.largest_frame,
            "largest_frame_bytes": stack.largest_frame_bytes,
            "frames": stack.frames,
            "external_calls": stack.external_calls,
            "external_frame_bytes": stack.external_frame_bytes,
        },
    }


def fitting_boards(report: Report, limit: int = 4) -> str:
    """What would fit: the smallest boards of the database with room for the arena and the weights."""
    fits = sorted(
        (
            b
            for b in all_boards()
            if b.qemu_machine and b.sram_bytes >= report["arena_bytes"] and b.flash_bytes >= report["weights_bytes"]
        ),
        key=lambda b: (b.sram_bytes, b.flash_bytes, b.name),
    )
    if not fits:
        return "; no board of `aiotc boards` has room for it"
    return "; it fits " + ", ".join(
        f"{b.name} ({b.sram_bytes // 1024:,} KiB SRAM, {b.flash_bytes // 1024:,} KiB flash)" for b in fits[:limit]
    )


def tail_report(graph: Graph, stages: tuple[StreamStage, ...], views: dict[str, str]) -> Tail | None:
    """The streamed later layers (a tail stage) in report.json's `tail` entry."""
    stage = next((stage for stage in stages if not opens_graph(graph, stage, views)), None)
    if stage is None:
        return None
    return {
        "split_before": graph.ops[stage.first_op].name,
        "split_index": stage.first_op,
        "last_index": stage.last_op,
        "mac_overhead": round(mac_overhead(graph, stage), 6),
        "band_calls": stage.calls,
    }
