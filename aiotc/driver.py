"""The compiler pipeline, read top to bottom:

    frontend -> passes -> quantize -> support check -> kernel selection -> memory plan (order, schedule, arena) -> codegen -> report -> output folder

Each stage takes the previous stage's result and the one CompileOptions (options.py), and
nothing else; the graph is checked after every pass. The budget fit loop of
--precision auto is fit.py, report.json and the budget checks report.py, the output
folder (whole or not at all, never at the cost of a user's file) output.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from .boards import Board, load_board
from .codegen.emit import emit_library
from .codegen.escape import c_word, path_text
from .codegen.lowering import LOWERINGS, support_problem
from .errors import UnsupportedOpsError, UsageError
from .export.tflite import write_tflite
from .fit import check_latency_budget, fit_budgets
from .frontend import load_model
from .ir import Graph
from .kernels import Kernel, select_kernels
from .memory import ArenaPlan, MemoryOptions, StreamStage, plan_memory
from .memory.timestream import TimeStream, plan_time_stream
from .options import CompileOptions
from .output import write_file, write_folder
from .passes import run_passes
from .quantize import Calibration, Quantized, needs_quantization, quantize_model, quantize_qdq
from .report import build_report, check_budget, check_flash, report_files, target_figures
from .schema import Report


@dataclass(frozen=True)
class CompileResult:
    out_dir: Path
    name: str
    graph: Graph
    plan: object
    report: Report
    backup: Path | None = None  # where --force moved the files aiotc did not write


@dataclass(frozen=True)
class Planned:
    """A model through every stage that decides memory: what `inspect --memory` shows."""

    graph: Graph
    kernels: dict[str, Kernel]
    stage: StreamStage | None
    plan: ArenaPlan
    quantized: Quantized | None = None  # set when aiotc quantized a float model
    compact_int4: bool = False  # int4 weights run the reference loops (kernels.py)
    frames: TimeStream | None = None  # --stream: one frame per call (memory/timestream.py)


def plan_model(model_path: str | Path, options: CompileOptions, progress=None) -> Planned:
    """frontend -> passes -> quantize (with calibration data) -> support check -> kernel selection -> memory plan."""
    graph = run_passes(load_model(Path(model_path)))
    calib = options.calib
    quantized = (
        quantize_model(graph, calib, progress)
        if calib is not None
        else quantize_qdq(graph)
        if graph.quant_hints
        else None
    )
    return plan_graph(quantized.graph if quantized else graph, options, quantized)


def plan_graph(
    graph: Graph, options: CompileOptions, quantized: Quantized | None = None, compact_int4: bool = False
) -> Planned:
    """support check -> kernel selection -> memory plan, for a graph ready to lower."""
    check_supported(graph)
    frames = None
    if options.stream:
        graph, frames = plan_time_stream(graph)
    kernels = select_kernels(graph, compact_int4, mve=load_board(options.board).mve)
    memory_plan = plan_memory(
        graph,
        kernels,
        MemoryOptions(
            stream="off" if frames else options.patch,
            max_overhead=options.patch_overhead,
            sram_budget=options.sram_budget,
            fixed_order=frames is not None,
        ),
    )
    return Planned(
        memory_plan.graph, memory_plan.kernels, memory_plan.stage, memory_plan.arena, quantized, compact_int4, frames
    )


def compile_model(
    model_path: str | Path,
    options: CompileOptions | None = None,
    out_dir: str | Path | None = None,
    progress=None,
    force: bool = False,
    **fields,
) -> CompileResult:
    """Compile a model file into a C library folder for the board (budgets default to the board's memories).

    `fields` are CompileOptions fields, for callers without an options object. With
    `calib`, a float model is quantized to int8 first; the folder then also holds
    the quantized model as NAME.tflite, the oracle `verify` compares the C with. With
    `calib.precision == "auto"`, layers take int4 weights until the flash budget holds
    and int16 activations where they gain within the SRAM budget. `force`: see write_folder."""
    options = replace(options or CompileOptions(), **fields)
    model_path = Path(model_path)
    target = load_board(options.board)
    name = library_name(options.name or model_path.stem)
    out_dir = Path(out_dir) if out_dir is not None else Path("out") / name

    check_latency_budget(options, target)
    planned = plan_model(model_path, options, progress)
    if planned.quantized is not None and planned.quantized.search is not None:
        planned = fit_budgets(
            planned,
            target,
            options,
            plan=lambda graph, quantized, compact_int4=False: plan_graph(graph, options, quantized, compact_int4),
            build=lambda candidate: build_library(candidate, name, target, model_path),
            progress=progress,
        )
    files, report = build_library(planned, name, target, model_path)
    check_budget(report, target, options.sram_budget, options.flash_budget, streamed=options.patch != "off")
    report |= target_figures(files, target)
    check_flash(report, target, options.flash_budget)
    backup = write_folder(out_dir, files | report_files(report, target), force)
    return CompileResult(out_dir, name, planned.graph, planned.plan, report, backup)


def build_library(
    planned: Planned, name: str, target: Board, model_path: Path
) -> tuple[dict[str, str | bytes], Report]:
    """The output folder's files (report.json without the target figures) and the report."""
    graph, plan, stage = planned.graph, planned.plan, planned.stage
    texts, facts = emit_library(
        graph,
        plan,
        name,
        planned.kernels,
        target.name,
        source=path_text(model_path.name),
        stage=stage,
        frames=planned.frames,
    )
    files: dict[str, str | bytes] = dict(texts)
    report = build_report(graph, plan, target, name, model_path, facts, stage)
    if planned.quantized is not None:
        files[f"{name}.tflite"] = write_tflite(graph)
        report["oracle_model"] = f"{name}.tflite"
        report["quantization"] = planned.quantized.report
        if "pareto" in planned.quantized.report:
            report["pareto"] = planned.quantized.report["pareto"]
    files["report.json"] = json.dumps(report, indent=2) + "\n"  # the target build reads the name and layers
    return files, report


def export_model(
    model_path: str | Path, tflite_path: str | Path, calib: Calibration | None = None, progress=None
) -> dict:
    """MODEL as a .tflite, quantized to int8 first when it is float and calibration data is given.

    Returns report.json's "quantization" entry ({} when nothing was quantized)."""
    model_path, tflite_path = Path(model_path), Path(tflite_path)
    graph = run_passes(load_model(model_path))
    if calib is None and needs_quantization(graph) and not graph.quant_hints:
        raise UsageError(
            f"{model_path.name} is a float model: exporting quantizes it, so pass --calib DATA (a .npy/.npz, a folder, or 'random')"
        )
    quantized = (
        quantize_model(graph, calib, progress)
        if calib is not None
        else quantize_qdq(graph)
        if graph.quant_hints
        else None
    )
    write_file(tflite_path, write_tflite(quantized.graph if quantized else graph))
    return quantized.report if quantized else {}


def library_name(text: str) -> str:
    """The model's C name: the file stem made an ASCII C identifier (it also names the Make and CMake targets)."""
    ident = c_word(text)
    if not ident:
        raise UsageError(f"cannot make a C name from {text!r}: pass --name")
    return ident if not ident[0].isdigit() else f"m_{ident}"


def check_supported(graph: Graph) -> None:
    """Every op must have a lowering for its types; report all that do not at once."""
    problems = [p for op in graph.ops if (p := support_problem(op, graph))]
    if problems:
        raise UnsupportedOpsError(problems, tuple(sorted(LOWERINGS)))
