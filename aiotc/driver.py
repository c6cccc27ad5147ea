"""The compiler pipeline, read top to bottom:

    frontend -> passes -> quantize -> support check -> reorder -> schedule + plan -> codegen -> report -> output folder

Each stage takes the previous stage's result and nothing else; the graph is checked
after every pass. The output folder appears whole or not at all.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from . import __version__
from .analysis import op_macs, op_weight_bytes
from .boards import Board, all_boards, load_board
from .codegen.emit import emit_library
from .codegen.lowering import LOWERINGS, support_problem
from .errors import BudgetError, UnsupportedOpsError, UsageError
from .export.tflite import write_tflite
from .frontend import load_model
from .ir import Graph
from .passes import run_passes
from .plan import ArenaPlan, mac_overhead, plan_memory
from .quantize import Calibration, Quantized, needs_quantization, quantize_model, quantize_qdq
from .reorder import best_order
from .report_html import render_html, render_pareto_svg
from .schedule import StreamStage
from .toolchain import arm

PRECISION = {"int8": "w8a8", "int16": "w8a16", "float32": "f32"}


@dataclass(frozen=True)
class CompileResult:
    out_dir: Path
    name: str
    graph: Graph
    plan: object
    report: dict


@dataclass(frozen=True)
class Planned:
    """A model through every stage that decides memory: what `inspect --memory` shows."""

    graph: Graph
    scratch: dict[str, int]
    stage: StreamStage | None
    plan: ArenaPlan
    quantized: Quantized | None = None  # set when aiotc quantized a float model


def plan_model(model_path: str | Path, patch: str = "auto", patch_overhead: float = 0.2, sram_budget: int | None = None, calib: Calibration | None = None, progress=None) -> Planned:
    """frontend -> passes -> quantize (with calibration data) -> support check -> reorder -> schedule + plan."""
    graph = run_passes(load_model(Path(model_path)))
    quantized = quantize_model(graph, calib, progress) if calib is not None else quantize_qdq(graph) if graph.quant_hints else None
    return plan_graph(quantized.graph if quantized else graph, patch, patch_overhead, sram_budget, quantized)


def plan_graph(graph: Graph, patch: str, patch_overhead: float, sram_budget: int | None, quantized: Quantized | None = None) -> Planned:
    """support check -> reorder -> schedule + plan, for a graph ready to lower."""
    check_supported(graph)
    graph = best_order(graph)
    scratch = {op.name: LOWERINGS[op.kind].scratch_bytes(op, graph) for op in graph.ops}
    stage, plan = plan_memory(graph, scratch, patch, sram_budget, patch_overhead)
    return Planned(graph, scratch, stage, plan, quantized)


def compile_model(
    model_path: str | Path,
    board: str = "host",
    out_dir: str | Path | None = None,
    name: str | None = None,
    patch: str = "auto",
    patch_overhead: float = 0.2,
    sram_budget: int | None = None,
    flash_budget: int | None = None,
    calib: Calibration | None = None,
    progress=None,
) -> CompileResult:
    """Compile a model file into a C library folder for `board` (budgets default to the board's memories).

    With `calib`, a float model is quantized to int8 first; the folder then also holds
    the quantized model as NAME.tflite, the oracle `verify` compares the C with. With
    `calib.precision == "auto"`, layers take int4 weights until the flash budget holds
    and int16 activations where they gain within the SRAM budget."""
    model_path = Path(model_path)
    target = load_board(board)
    name = library_name(name or model_path.stem)
    out_dir = Path(out_dir) if out_dir is not None else Path("out") / name

    planned = plan_model(model_path, patch, patch_overhead, sram_budget, calib, progress)
    if planned.quantized is not None and planned.quantized.search is not None:
        planned = fit_budgets(planned, name, target, model_path, flash_budget, (patch, patch_overhead, sram_budget), progress)
    files, report = build_library(planned, name, target, model_path)
    check_budget(report, target, sram_budget, flash_budget, streamed=patch != "off")
    report |= target_figures(files, target)
    check_flash(report, target, flash_budget)
    files["report.json"] = json.dumps(report, indent=2) + "\n"
    files["report.html"] = render_html(report, target)
    if report.get("pareto"):
        files["pareto.svg"] = render_pareto_svg(report["pareto"])
    write_folder(out_dir, files)
    return CompileResult(out_dir, name, planned.graph, planned.plan, report)


def build_library(planned: Planned, name: str, target: Board, model_path: Path) -> tuple[dict[str, str | bytes], dict]:
    """The output folder's files (report.json without the target figures) and the report."""
    graph, plan, stage = planned.graph, planned.plan, planned.stage
    files, facts = emit_library(graph, plan, name, planned.scratch, target.name, source=model_path.name, stage=stage)
    report = build_report(graph, plan, target, name, model_path, facts, stage)
    if planned.quantized is not None:
        files[f"{name}.tflite"] = write_tflite(graph)
        report["oracle_model"] = f"{name}.tflite"
        report["quantization"] = planned.quantized.report
        if "pareto" in planned.quantized.report:
            report["pareto"] = planned.quantized.report["pareto"]
    files["report.json"] = json.dumps(report, indent=2) + "\n"  # the target build reads the name and layers
    return files, report


def fit_budgets(planned: Planned, name: str, target: Board, model_path: Path, flash_budget: int | None, plan_args: tuple, progress=None) -> Planned:
    """--precision auto: int4 weights in the least sensitive layers until the model's flash
    (as linked for a Cortex-M board, the weights on the host) is within the budget, and
    int16 activations where they gain most while flash and arena allow.

    The first build measures the all-int8 flash; the integer program then saves what
    the budget asks, and each build that still misses (the kernels' code) asks for the
    miss more; fidelity comes first, so an assignment the fast int4 kernels' code pushes
    over the budget takes the smaller int4 reference loops before more int4 layers. An
    arena over the SRAM budget excludes the w8a16 layer with the largest int16 output
    and solves again. The builds link with room to spare, so a miss is measured."""
    quantized, limit = planned.quantized, flash_budget if flash_budget is not None else target.flash_bytes
    sram_limit = plan_args[2] if plan_args[2] is not None else target.sram_bytes
    roomy = replace(target, flash_bytes=arm.machine_for(target).flash_size) if target.qemu_machine else target

    def measured(candidate: Planned) -> tuple[int, int]:
        """(flash figure, weights bytes) of a candidate's build."""
        files, report = build_library(candidate, name, target, model_path)
        return flash_figure(report | target_figures(files, roomy)), report["weights_bytes"]

    int8_flash, int8_weights = measured(planned)
    wide_code = WIDE_KERNEL_CODE if target.qemu_machine else 0  # the host's flash figure is the weights
    every_int4 = {(c.name, "w4a8") for c in quantized.search.choices if c.precision == "w4a8"}
    must_save, excluded, assignment = int8_flash - limit, frozenset(), {}
    tick = progress("fitting the flash and SRAM budgets", None) if progress else None
    for _ in range(MAX_FIT_ROUNDS):
        # A mixed build carries the int8 and the int4 kernels, every layer w4a8 only the
        # int4 ones: what the kernels' code adds is not monotonic in the saving, so when a
        # miss asks more than int4 weights save, the all-w4a8 build decides.
        assignment = quantized.search.assign(min(must_save, quantized.search.max_saving()), excluded, wide_code)
        mixed = quantized.with_precision(assignment)
        planned = plan_graph(mixed.graph, *plan_args, mixed)
        wide = [layer for layer, p in assignment.items() if p == "w8a16"]
        if planned.plan.size > sram_limit and wide:
            largest = max(wide, key=lambda layer: mixed.float_graph[next(op for op in mixed.float_graph.ops if op.name == layer).outputs[0]].size)
            excluded |= {c for c in quantized.search.choices if c.name == largest and c.precision == "w8a16"}
            continue
        miss = measured(planned)[0] - limit
        if miss > 0 and "w4a8" in assignment.values():  # the int4 reference loops: less code, ~10x the instructions
            compact = plan_graph(replace(mixed.graph, compact_int4=True), *plan_args, mixed)
            compact_miss = measured(compact)[0] - limit
            if compact_miss <= 0:
                planned = compact
            miss = min(miss, compact_miss)
        if miss <= 0 or not assignment:
            break
        if set(assignment.items()) == every_int4:
            raise BudgetError(f"even int4 weights in every layer leave the model {miss:,} B over the flash budget")
        must_save += miss
    pareto = [point | {"flash_bytes": int8_flash - (int8_weights - point["weights_bytes"])} for point in quantized.search.pareto(assignment, int8_weights, wide_code)]
    report = planned.quantized.report | {"flash_budget": limit, "sram_budget": sram_limit, "int8_flash_bytes": int8_flash, "int4_kernels": "reference loops (less code)" if planned.graph.compact_int4 else "fast", "sensitivity": quantized.search.sensitivity_table(), "pareto": pareto}
    if tick:
        tick()
    return replace(planned, quantized=replace(planned.quantized, report=report))


MAX_FIT_ROUNDS = 12
WIDE_KERNEL_CODE = 4096  # flash of the 16x8 kernels: conv, depthwise, fully connected and both QUANTIZE directions take 4,044 B on the M4 at -O2


def flash_figure(report: dict) -> int:
    """What --flash-budget bounds: the linked flash on a Cortex-M board, the weights on the host."""
    return report.get("flash_bytes") or report["weights_bytes"]


def check_flash(report: dict, board: Board, flash_budget: int | None) -> None:
    if flash_budget is not None and flash_figure(report) > flash_budget:
        what = "weights, graph code and kernels" if report.get("flash_bytes") else "weights"
        hint = "" if "pareto" in report else "; --precision auto with --calib puts int4 weights where they cost least"
        raise BudgetError(f"model does not fit: {what} need {flash_figure(report):,} B of flash, the flash budget is {flash_budget:,} B (over by {flash_figure(report) - flash_budget:,} B){hint}")


def export_model(model_path: str | Path, tflite_path: str | Path, calib: Calibration | None = None, progress=None) -> dict:
    """MODEL as a .tflite, quantized to int8 first when it is float and calibration data is given.

    Returns report.json's "quantization" entry ({} when nothing was quantized)."""
    model_path, tflite_path = Path(model_path), Path(tflite_path)
    graph = run_passes(load_model(model_path))
    if calib is None and needs_quantization(graph) and not graph.quant_hints:
        raise UsageError(f"{model_path.name} is a float model: exporting quantizes it, so pass --calib DATA (a .npy/.npz, a folder, or 'random')")
    quantized = quantize_model(graph, calib, progress) if calib is not None else quantize_qdq(graph) if graph.quant_hints else None
    write_file(tflite_path, write_tflite(quantized.graph if quantized else graph))
    return quantized.report if quantized else {}


def write_file(path: Path, data: bytes) -> None:
    """Write through a sibling temp file and rename: the file is whole or absent."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def library_name(text: str) -> str:
    """The model's C name: the file stem made a C identifier."""
    ident = re.sub(r"\W+", "_", text).strip("_")
    if not ident:
        raise UsageError(f"cannot make a C name from {text!r}: pass --name")
    return ident if not ident[0].isdigit() else f"m_{ident}"


def check_supported(graph: Graph) -> None:
    """Every op must have a lowering for its types; report all that do not at once."""
    problems = [p for op in graph.ops if (p := support_problem(op, graph))]
    if problems:
        raise UnsupportedOpsError(problems, tuple(sorted(LOWERINGS)))


def build_report(graph: Graph, plan, board: Board, name: str, model_path: Path, facts: dict, stage=None) -> dict:
    live = plan.live_bytes()
    layers = []
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
            }
        )
    return {
        "model": model_path.name,
        "source": str(model_path.resolve()),
        "name": name,
        "board": board.name,
        "aiotc_version": __version__,
        "macs": sum(layer["macs"] for layer in layers),
        "arena_bytes": plan.size,
        "arena_lower_bound": plan.lower_bound,
        "weights_bytes": facts["weights_bytes"],
        "state_bytes": facts["state_bytes"],  # NAME_STATE_SIZE: recurrent state kept across invokes, outside the arena
        "state": facts["state"],
        "patch": stage_report(graph, stage),
        "io_bytes": {"input": sum(e["bytes"] for e in facts["inputs"]), "output": sum(e["bytes"] for e in facts["outputs"])},
        "inputs": facts["inputs"],
        "outputs": facts["outputs"],
        "kernels": facts["kernels"],
        "layers": layers,
        "memory": memory_report(graph, plan),
    }


def layer_precision(op, graph: Graph) -> str:
    """w8a8 | w4a8 | w8a16 | f32: the weights' bits (int4 weights make w4a8) and the output's type."""
    if op.kind in ("conv2d", "depthwise_conv2d", "fully_connected") and graph[op.inputs[1]].dtype == "int4":
        return "w4a8"
    out = graph[op.outputs[0]]
    return PRECISION.get(out.dtype, out.dtype)


def memory_report(graph: Graph, plan: ArenaPlan) -> dict:
    """The arena layout (every buffer's offset, size and lifetime in op indices) and the in-place overlaps."""
    offset_of = plan.offsets | {f"scratch:{k}": v for k, v in plan.scratch_offsets.items()}
    size_of = {b.name: b.size for b in plan.buffers}
    overlap = lambda a, b: offset_of[a] < offset_of[b] + size_of[b] and offset_of[b] < offset_of[a] + size_of[a]  # noqa: E731
    return {
        "timeline": plan.live_bytes(),
        "layout": [{"buffer": b.name, "offset": offset_of[b.name], "bytes": b.size, "first_op": b.first, "last_op": b.last} for b in sorted(plan.buffers, key=lambda b: (b.first, offset_of[b.name]))],
        "aliases": sorted(name for name in plan.offsets if name not in {b.name for b in plan.buffers}),
        "scratch_aliases": sorted(name for name in plan.scratch_offsets if f"scratch:{name}" not in {b.name for b in plan.buffers}),  # a stage's ops share one scratch
        "in_place": [{"layer": graph.ops[p.op_index].name, "input": p.input, "output": p.output, "slack": p.slack} for p in plan.in_place if overlap(p.input, p.output)],
    }


def stage_report(graph: Graph, stage) -> dict | None:
    """The streamed stage in report.json's `patch` entry: rows are tiles, halos cached."""
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


def check_budget(report: dict, board: Board, sram_budget: int | None = None, flash_budget: int | None = None, streamed: bool = True) -> None:
    """The arena must fit the SRAM budget (default: the board's SRAM) and the constants the flash budget.

    A miss says by how much, and what would fit: streaming when it was off, the boards with room."""
    misses = []
    ram = ("arena + state", report["arena_bytes"] + report["state_bytes"]) if report.get("state_bytes") else ("arena", report["arena_bytes"])
    for what, needed, budget, memory in ((*ram, sram_budget, "SRAM"), ("weights", report["weights_bytes"], flash_budget, "flash")):
        limit = budget if budget is not None else getattr(board, f"{memory.lower()}_bytes")
        source = f"the {memory} budget is" if budget is not None else f"{board.name} has"
        if needed > limit:
            misses.append(f"{what} needs {needed:,} B of {memory}, {source} {limit:,} B (over by {needed - limit:,} B)")
            if memory == "SRAM" and not streamed:
                misses.append("--patch auto streams the first layers in row bands and may need less")
    if misses:
        raise BudgetError("model does not fit: " + "; ".join(misses) + fitting_boards(report))


def target_figures(files: dict[str, str | bytes], board: Board) -> dict:
    """What the library takes on a Cortex-M board, from linking it there: its flash
    (weights, graph code, kernels) and the static stack estimate of NAME_invoke with
    every function's frame (gcc's -fstack-usage figures, via -fcallgraph-info=su).

    The link is cached by content, so a later `bench`/`run` of the folder reuses it;
    it raises BudgetError when the library does not fit the board. The host board and
    a machine without arm-none-eabi-gcc get no figures (the report says why)."""
    if board.qemu_machine is None:
        return {"target_build": "none: the host board is built by the host compiler when run", "flash_bytes": None, "stack": None}
    if shutil.which(arm.GCC) is None:
        return {"target_build": f"none: {arm.GCC} not found (Debian package gcc-arm-none-eabi)", "flash_bytes": None, "stack": None}
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


def fitting_boards(report: dict, limit: int = 4) -> str:
    """What would fit: the smallest boards of the database with room for the arena and the weights."""
    fits = sorted((b for b in all_boards() if b.qemu_machine and b.sram_bytes >= report["arena_bytes"] and b.flash_bytes >= report["weights_bytes"]), key=lambda b: (b.sram_bytes, b.flash_bytes, b.name))
    if not fits:
        return "; no board of `aiotc boards` has room for it"
    return "; it fits " + ", ".join(f"{b.name} ({b.sram_bytes // 1024:,} KiB SRAM, {b.flash_bytes // 1024:,} KiB flash)" for b in fits[:limit])


def write_folder(out_dir: Path, files: dict[str, str | bytes]) -> None:
    """Write all files to a sibling temp folder, then swap it in: never a half-written OUT."""
    out_dir = out_dir.resolve()
    if out_dir.exists() and not (out_dir.is_dir() and (not any(out_dir.iterdir()) or (out_dir / "report.json").is_file())):
        raise UsageError(f"{out_dir} exists and is not an aiotc output folder; choose another -o")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_files(staging, files)
        os.chmod(staging, 0o755)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_files(folder: Path, files: dict[str, str | bytes]) -> None:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
