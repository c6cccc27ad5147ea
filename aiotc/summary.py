"""Human-readable summaries of a report: what a person reads at a glance after a compile."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from rich.console import Console, JustifyMethod
from rich.table import Table

from .codegen.escape import MAX_NAME_CHARS, plain_text
from .schema import Memory, Report


def out_console(markup: bool = False) -> Console:
    """Standard output for tables and lines: model names are text, not rich markup (only the
    demo's own lines are markup), and a pipe or a CI log gets whole tables (rich would cut
    them to 80 columns) without colour."""
    if sys.stdout.isatty():
        return Console(markup=markup)
    return Console(markup=markup, width=PIPE_WIDTH, no_color=True)


PIPE_WIDTH = 400  # wide enough for any table aiotc prints; tables take only the width they need


def kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB"


def layer_table(report: Report, width: int = 120, name_limit: int = 40) -> Table:
    """One row per layer, `width` columns wide at most: only the layer names are cut short (to
    `name_limit` characters, then to the width), never the figures."""
    rows = [
        (
            str(index),
            short_name(layer["name"], name_limit),
            layer["op"],
            "x".join(map(str, layer["output_shape"])),
            layer["precision"],
            f"{layer['macs']:,}",
            f"{layer['weights_bytes']:,}",
            f"{layer['live_bytes']:,}",
        )
        for index, layer in enumerate(report["layers"])
    ]
    table = Table(title=f"{report['model']} -> {report['name']} ({report['board']})", title_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("#", "right"),
        ("layer", "left"),
        ("op", "left"),
        ("output", "left"),
        ("prec", "left"),
        ("MACs", "right"),
        ("weights", "right"),
        ("live", "right"),
    )
    widths = [max(len(column), *(len(row[i]) for row in rows)) for i, (column, _) in enumerate(columns)]
    borders = 3 * len(columns) + 1  # a space either side of each cell and a rule between
    widths[1] = max(12, min(widths[1], width - borders - sum(widths) + widths[1]))
    for (column, justify), size in zip(columns, widths):
        table.add_column(column, justify=justify, no_wrap=True, overflow="ellipsis", width=size)
    for row in rows:
        table.add_row(*row)
    return table


def totals_lines(report: Report, board=None, name_limit: int = 40) -> list[str]:
    arena, weights = report["arena_bytes"], report["weights_bytes"]
    lines = [
        f"MACs {report['macs']:,}",
        f"arena (SRAM) {arena:,} B = {kib(arena)}; lower bound of this schedule {report['arena_lower_bound']:,} B",
        f"weights (flash) {weights:,} B = {kib(weights)}",
    ]
    for r in report.get("regions", []):
        lines.insert(
            len(lines) - 1,
            f"  region {r['name']} ({r['speed']}): {r['bytes']:,} B of {r['capacity']:,} B, peak live {r['peak_bytes']:,} B"
            + (f"; {r['weights_bytes']:,} B of weights copied there" if r["weights_bytes"] else ""),
        )
    if report.get("state_bytes"):
        lines.insert(
            2, f"state (SRAM) {report['state_bytes']:,} B, kept across invokes ({report['name']}_reset() clears it)"
        )
    if report.get("patch"):
        patch = report["patch"]
        lines.append(
            f"streamed stage: layers 0..{patch['split_index']} ({short_name(patch['split_after'], name_limit)}) in "
            f"{patch['band_calls']:,} band calls, MAC overhead {100 * patch['mac_overhead']:.1f}%"
        )
    if report.get("tail"):
        tail = report["tail"]
        lines.append(
            f"streamed tail: layers {tail['split_index']}..{tail['last_index']} "
            f"({short_name(tail['split_before'], name_limit)} on) in {tail['band_calls']:,} band calls, "
            f"MAC overhead {100 * tail['mac_overhead']:.1f}%"
        )
    if "stream" in report:
        stream = report["stream"]
        lines.append(
            f"--stream: one frame per call over a window of {stream['window']}; layers 0..{stream['layers'] - 1} "
            "compute the rows each frame changes, the rest run on the window's kept maps"
        )
    pairs = report.get("memory", {}).get("in_place", [])
    if pairs:
        above = sum(1 for pair in pairs if pair.get("bottom_first"))
        lines.append(
            f"in place: {len(pairs)} layers write over their dying input"
            + (f" ({above} from above, bottom band first)" if above else "")
        )
    if board is not None and board.qemu_machine is not None:
        flash, what = (
            (report["flash_bytes"], "weights, graph code and kernels")
            if report.get("flash_bytes")
            else (weights, "weights only")
        )
        lines.append(
            f"board {board.name}: SRAM {100 * arena / board.sram_bytes:.1f}% used, flash {100 * flash / board.flash_bytes:.1f}% used ({flash:,} B: {what})"
        )
    if report.get("stack"):
        stack = report["stack"]
        lines.append(
            f"stack at most {stack['estimate_bytes']:,} B (gcc's frames on the deepest call chain); largest "
            f"frame {stack['largest_frame']} {stack['largest_frame_bytes']:,} B"
        )
    return lines


def print_summary(report: Report, board=None, console: Console | None = None) -> None:
    console = console or out_console()
    name_limit = 40 if console.is_terminal else MAX_NAME_CHARS  # a log keeps the names whole
    console.print(layer_table(report, console.width, name_limit))
    for line in totals_lines(report, board, name_limit):
        console.print(line)


def bench_table(bench: dict) -> Table:
    """Where the instructions go: per layer, with its share and instructions per MAC, and the
    estimated ms on a board with a clock (aiotc.latency)."""
    total = bench["instructions"] or 1
    timed = "ms" in bench
    table = Table(title=f"{bench['board']} ({bench['qemu_machine']}, -icount shift=0)", title_justify="left")
    for column in ("#", "layer", "op", "MACs", "instructions", "share", "instr/MAC") + (
        ("ms (est.)",) if timed else ()
    ):
        table.add_column(
            column,
            justify="left" if column in ("layer", "op") else "right",
            overflow="fold" if column == "layer" else "ellipsis",
        )
    for index, layer in enumerate(bench["layers"]):
        per_mac = f"{layer['instructions'] / layer['macs']:.2f}" if layer["macs"] else ""
        table.add_row(
            str(index),
            plain_text(layer["name"]),
            layer["op"],
            f"{layer['macs']:,}",
            f"{layer['instructions']:,}",
            f"{100 * layer['instructions'] / total:.1f}%",
            per_mac,
            *((f"{layer['ms']:.3f}",) if timed else ()),
        )
    return table


def bench_lines(bench: dict) -> list[str]:
    stack = bench["stack_usage"]
    per_mac = f", {bench['instructions_per_mac']:.2f} per MAC" if bench["instructions_per_mac"] else ""
    flash = bench.get("flash")
    misses = f", {flash['cycles']:,} of them {flash['misses']:,} flash cache misses" if flash else ""
    timing = (
        [
            f"estimated {bench['ms']:.2f} ms per inference on {bench['board']} ({bench['cycles']:,} cycles at "
            f"{bench['clock_mhz']:g} MHz{misses}; docs/latency.md)"
        ]
        if "ms" in bench
        else []
    )
    return (
        timing
        + [
            f"instructions {bench['instructions']:,} per inference{per_mac} (resolution {bench['instructions_resolution']:g})",
            f"flash {bench['flash_bytes']:,} B (model {bench['flash_model_bytes']:,} B, startup and libc {bench['flash_rest_bytes']:,} B)",
            f"RAM {bench['ram_bytes']:,} B (model {bench['ram_model_bytes']:,} B, of which arena "
            f"{bench['arena_bytes']:,} B); peak stack {bench['stack_bytes']:,} B",
            f"stack estimate {stack['estimate_bytes']:,} B ({' -> '.join(stack['path'])}); largest frame "
            f"{stack['largest_frame']} {stack['largest_frame_bytes']:,} B",
        ]
        + [
            f"region {r['name']}: {r['bytes']:,} B at 0x{r['address']:08X}"
            + (f", its arena array at 0x{r['arena_address']:08X}" if r["arena_address"] is not None else "")
            for r in bench.get("regions", [])
        ]
    )


def memory_lines(graph, memory: Memory, arena: int, lower_bound: int, stages: list[tuple[int, int]]) -> list[str]:
    """The memory plan as text: a bar of live bytes per layer, then the arena layout; `stages`:
    the first and last layer of each streamed stage."""
    timeline = memory["timeline"]
    peak = max(timeline, default=1) or 1
    in_place = {entry["layer"] for entry in memory["in_place"]}
    lines = ["bytes live per layer (S: streamed stage, I: in place)"]
    for index, op in enumerate(graph.ops):
        streamed = any(first <= index <= last for first, last in stages)
        mark = ("S" if streamed else " ") + ("I" if op.name in in_place else " ")
        bar = "#" * max(1, round(40 * timeline[index] / peak))
        lines.append(f"{index:3d} {mark} {op.kind:18s} {timeline[index]:9,d} B {bar}")
    lines.append("arena layout (offset, bytes, live from op .. to op)")
    for entry in memory["layout"]:
        region = f" [{entry['region']} +{entry['region_offset']:,}]" if "region" in entry else ""
        lines.append(
            f"  {entry['offset']:9,d} {entry['bytes']:9,d} B  ops {entry['first_op']:3d}..{entry['last_op']:<3d} {short_name(entry['buffer'])}{region}"
        )
    lines.append(f"arena {arena:,} B; lower bound of this schedule {lower_bound:,} B")
    for first, last in stages:
        lines.append(f"streamed stage: layers {first}..{last} in row bands with cached halos (no recomputation)")
        names = {op.name for op in graph.ops[first : last + 1]}
        shared = [name for name in memory["scratch_aliases"] if name in names]
        if shared:
            lines.append(f"  {len(shared) + 1} of its layers share one scratch buffer (their band calls take turns)")
    return lines


def short_name(tensor: str, limit: int = 40) -> str:
    """TFLite fuses names with ';' (`a/Relu;a/BiasAdd;...`): the first part, shortened from the left, printable."""
    first = tensor.split(";")[0]
    return plain_text(first if len(first) <= limit else "…" + first[-(limit - 1) :])


def hybrid_note(report: Mapping[str, Any]) -> str | None:
    """The one note a hybrid model's compile prints: what became of its quantized weights."""
    d = report.get("dequantized")
    if d is None:
        return None
    head = f"{report['model']} is a hybrid (dynamic-range) model: its {d['tensors']} quantized weight tensors were dequantized to float32"
    if "quantization" in report:
        return f"{head}, then quantized to int8 with the calibration data"
    return (
        f"{head} at compile time (flash for them {d['stored_bytes']:,} B -> {d['float32_bytes']:,} B); "
        "--calib DATA compiles an int8 model instead"
    )


def quantization_lines(report: Mapping[str, Any]) -> list[str]:
    """How a float model was quantized and how close it stays (report.json's "quantization")."""
    q = report.get("quantization", report)
    fidelity = q.get("fidelity_on_calibration_data")
    if not fidelity:
        return []
    agreement = f"top-1 agreement {fidelity['top1_agreement']:.1%}, " if "top1_agreement" in fidelity else ""
    lines = [
        f"quantized to int8 on {q['calibration_samples']} calibration samples ({q['method']}): "
        f"{agreement}output SQNR {fidelity['sqnr_db']:.1f} dB vs the float model"
    ]
    if fidelity["layers"]:
        worst = min(fidelity["layers"], key=lambda layer: layer["sqnr_db"])
        lines.append(
            f"  lowest layer SQNR {worst['sqnr_db']:.1f} dB at {short_name(worst['tensor'])} (per layer in report.json)"
        )
    if "flash_budget" in q:
        count = lambda p: sum(v == p for v in q["precision"].values())  # noqa: E731
        lines.append(
            f"precision auto: {count('w4a8')} of {len(q['sensitivity'])} layers w4a8 (int4 weights) to fit the "
            f"{q['flash_budget']:,} B flash budget (all int8: {q['int8_flash_bytes']:,} B), "
            f"{count('w8a16')} w8a16 (int16 activations) within the {q['sram_budget']:,} B SRAM budget"
        )
        if "latency_budget_ms" in q:
            lines.append(
                f"  estimated {q['latency_ms']:.2f} ms per inference within the {q['latency_budget_ms']:g} ms "
                f"latency budget (all int8: {q['int8_latency_ms']:.2f} ms)"
            )
        if q.get("int4_kernels", "fast") != "fast":
            lines.append(
                f"  int4 layers on the {q['int4_kernels']}: the fast int4 kernels' code would not fit the flash budget"
            )
    return lines


def pareto_table(report: Report) -> Table:
    """The precision assignments searched: flash (and, under a latency budget, ms) against
    fidelity, the compiled one marked."""
    timed = any("latency_ms" in point for point in report["pareto"])
    table = Table(title="mixed precision: flash against fidelity (calibration data)", title_justify="left")
    columns = ("w4a8 layers", "w8a16 layers", "weights", "flash (est.)") + (("ms (est.)",) if timed else ())
    for column in (*columns, "output SQNR", "top-1", ""):
        table.add_column(column, justify="right" if column else "left")
    for point in report["pareto"]:
        agreement = f"{point['top1_agreement']:.1%}" if point.get("top1_agreement") is not None else ""
        table.add_row(
            str(point["w4a8_layers"]),
            str(point["w8a16_layers"]),
            f"{point['weights_bytes']:,}",
            f"{point['flash_bytes']:,}",
            *((f"{point['latency_ms']:.2f}",) if timed else ()),
            f"{point['sqnr_db']:.1f} dB",
            agreement,
            "compiled" if point["chosen"] else "",
        )
    return table


def layers_table(result) -> Table:
    """verify --layers: each layer's output against the oracle's tensor of the same name."""
    table = Table(title=f"layer by layer against {result.oracle} (one sample)", title_justify="left")
    for column in ("#", "layer", "op", "max |diff|", "SQNR dB", "result"):
        table.add_column(
            column,
            justify="left" if column in ("layer", "op", "result") else "right",
            overflow="fold" if column == "layer" else "ellipsis",
        )
    for layer in result.layers:
        diff = "" if layer.max_abs_diff is None else f"{layer.max_abs_diff:g}"
        sqnr = "" if layer.sqnr_db is None else f"{layer.sqnr_db:.1f}"
        table.add_row(str(layer.index), plain_text(layer.name), layer.op, diff, sqnr, layer.status)
    return table
