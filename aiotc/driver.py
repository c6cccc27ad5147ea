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

from .boards import Board, arena_regions, load_board
from .codegen.emit import GroupLink, emit_library, linker_fragments
from .codegen.escape import c_word, path_text
from .codegen.lowering import LOWERINGS, support_problem
from .errors import UnsupportedOpsError, UsageError
from .export.tflite import write_tflite
from .fit import check_latency_budget, fit_budgets
from .frontend import load_model
from .ir import Graph
from .kernels import Kernel, select_kernels
from .memory import ArenaPlan, MemoryOptions, StreamStage, least_plan, plan_memory
from .memory.regions import Region
from .memory.timestream import TimeStream, on_its_side, plan_time_stream
from .options import CompileOptions
from .output import write_file, write_folder
from .package import check_packages, package_files
from .passes import run_passes
from .quantize import Calibration, Quantized, needs_quantization, quantize_model, quantize_qdq
from .report import build_report, check_budget, check_flash, dequantized_figures, report_files, target_figures
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
    stages: tuple[StreamStage, ...]  # streamed in row bands: the first layers, later ones (a tail), both or none
    plan: ArenaPlan
    quantized: Quantized | None = None  # set when aiotc quantized a float model
    compact_int4: bool = False  # int4 weights run the reference loops (kernels.py)
    frames: TimeStream | None = None  # --stream: one frame per call (memory/timestream.py)
    weight_regions: tuple[str, ...] = ()  # --copy-weights: the fast regions taking copies of hot constants


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
    """support check -> kernel selection -> memory plan, for a graph ready to lower (a Conv1D
    graph also turned on its side, whichever plan is smaller: docs/memory.md section 5)."""
    check_supported(graph)
    frames = None
    if options.stream:
        graph, frames = plan_time_stream(graph)
    board = load_board(options.board)
    memories = arena_regions(board, options.regions)
    regions = tuple(Region(m.name, m.size) for m in memories)
    fast = tuple(m.name for m in memories if m.speed == "fast") if options.copy_weights else ()
    memory_options = MemoryOptions(
        stream="off" if frames else options.patch,
        max_overhead=options.patch_overhead,
        sram_budget=options.sram_budget,
        fixed_order=frames is not None,
        regions=regions,
    )
    # A Conv1D graph's maps are one row high: row bands stream it only on its side (time along the rows).
    sideways = on_its_side(graph) if memory_options.stream != "off" else None
    flash = options.flash_budget if options.flash_budget is not None else board.flash_bytes
    memory_plan = least_plan(
        [
            plan_memory(g, select_kernels(g, compact_int4, mve=board.mve, dsp=board.dsp, flash=flash), memory_options)
            for g in (graph, sideways)
            if g
        ],
        options.sram_budget,
    )
    return Planned(
        memory_plan.graph,
        memory_plan.kernels,
        memory_plan.stages,
        memory_plan.arena,
        quantized,
        compact_int4,
        frames,
        fast,
    )


def compile_model(
    model_path: str | Path,
    options: CompileOptions | None = None,
    out_dir: str | Path | None = None,
    progress=None,
    force: bool = False,
    packages: tuple[str, ...] = (),
    **fields,
) -> CompileResult:
    """Compile a model file into a C library folder for the board (budgets default to the board's memories).

    `fields` are CompileOptions fields, for callers without an options object. With
    `calib`, a float model is quantized to int8 first; the folder then also holds
    the quantized model as NAME.tflite, the oracle `verify` compares the C with. With
    `calib.precision == "auto"`, layers take int4 weights until the flash budget holds
    and int16 activations where they gain within the SRAM budget. `force`: see write_folder.
    `packages`: build-system layouts to add (package.PACKAGES: zephyr, cmsis-pack, platformio, arduino)."""
    options = replace(options or CompileOptions(), **fields)
    model_path = Path(model_path)
    name = library_name(options.name or model_path.stem)
    out_dir = Path(out_dir) if out_dir is not None else Path("out") / name
    check_packages(packages, name)
    library = compile_library(model_path, options, name, progress)
    files = library.files | package_files(packages, library.files, library.report)
    backup = write_folder(out_dir, files, force)
    return CompileResult(out_dir, name, library.planned.graph, library.planned.plan, library.report, backup)


@dataclass(frozen=True)
class Library:
    """A model compiled into the files of its own output folder (not yet written)."""

    model_path: Path
    name: str
    planned: Planned
    files: dict[str, str | bytes]
    report: Report


def compile_library(model_path: Path, options: CompileOptions, name: str, progress=None) -> Library:
    """The whole pipeline but the writing: the folder's files, checked against the budgets."""
    target = load_board(options.board)
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
    return Library(model_path, name, planned, files | report_files(report, target), report)


def build_library(
    planned: Planned, name: str, target: Board, model_path: Path, link: GroupLink | None = None
) -> tuple[dict[str, str | bytes], Report]:
    """The output folder's files (report.json without the target figures) and the report;
    with `link`, the files of the model's folder inside a group (codegen/emit.py's GroupLink)."""
    graph, plan, stages = planned.graph, planned.plan, planned.stages
    texts, facts = emit_library(
        graph,
        plan,
        name,
        planned.kernels,
        target.name,
        source=path_text(model_path.name),
        stages=stages,
        frames=planned.frames,
        weight_regions=planned.weight_regions,
        link=link,
    )
    files: dict[str, str | bytes] = {
        **texts,
        **linker_fragments(
            plan, set(facts["weight_copies"]), name, target.name, {m.name: (m.base, m.size) for m in target.memories}
        ),
    }
    report = build_report(graph, plan, target, name, model_path, facts, stages)
    if planned.quantized is not None or graph.dequantized:  # the int8 model, or a hybrid model's float copy
        files[f"{name}.tflite"] = write_tflite(graph)
        report["oracle_model"] = f"{name}.tflite"
    if graph.dequantized:
        report["dequantized"] = dequantized_figures(graph)
    if planned.quantized is not None:
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
