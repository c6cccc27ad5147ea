"""Human-readable summaries of a report: what a person reads at a glance after a compile."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table


def kib(n: int) -> str:
    return f"{n / 1024:,.1f} KiB"


def layer_table(report: dict) -> Table:
    table = Table(title=f"{report['model']} -> {report['name']} ({report['board']})", title_justify="left")
    for column, justify in (("#", "right"), ("layer", "left"), ("op", "left"), ("output", "left"), ("prec", "left"), ("MACs", "right"), ("weights", "right"), ("live", "right")):
        table.add_column(column, justify=justify, overflow="fold" if column == "layer" else "ellipsis")
    for index, layer in enumerate(report["layers"]):
        table.add_row(
            str(index),
            layer["name"],
            layer["op"],
            "x".join(map(str, layer["output_shape"])),
            layer["precision"],
            f"{layer['macs']:,}",
            f"{layer['weights_bytes']:,}",
            f"{layer['live_bytes']:,}",
        )
    return table


def totals_lines(report: dict, board=None) -> list[str]:
    arena, weights = report["arena_bytes"], report["weights_bytes"]
    lines = [
        f"MACs {report['macs']:,}",
        f"arena (SRAM) {arena:,} B = {kib(arena)}; lower bound of this schedule {report['arena_lower_bound']:,} B",
        f"weights (flash) {weights:,} B = {kib(weights)}",
    ]
    if board is not None and board.qemu_machine is not None:
        lines.append(f"board {board.name}: SRAM {100 * arena / board.sram_bytes:.1f}% used, flash {100 * weights / board.flash_bytes:.1f}% used (weights only)")
    return lines


def print_summary(report: dict, board=None, console: Console | None = None) -> None:
    console = console or Console()
    console.print(layer_table(report))
    for line in totals_lines(report, board):
        console.print(line)


def bench_table(bench: dict) -> Table:
    """Where the instructions go: per layer, with its share and instructions per MAC."""
    total = bench["instructions"] or 1
    table = Table(title=f"{bench['board']} ({bench['qemu_machine']}, -icount shift=0)", title_justify="left")
    for column in ("#", "layer", "op", "MACs", "instructions", "share", "instr/MAC"):
        table.add_column(column, justify="left" if column in ("layer", "op") else "right", overflow="fold" if column == "layer" else "ellipsis")
    for index, layer in enumerate(bench["layers"]):
        per_mac = f"{layer['instructions'] / layer['macs']:.2f}" if layer["macs"] else ""
        table.add_row(str(index), layer["name"], layer["op"], f"{layer['macs']:,}", f"{layer['instructions']:,}", f"{100 * layer['instructions'] / total:.1f}%", per_mac)
    return table


def bench_lines(bench: dict) -> list[str]:
    per_mac = f", {bench['instructions_per_mac']:.2f} per MAC" if bench["instructions_per_mac"] else ""
    return [
        f"instructions {bench['instructions']:,} per inference{per_mac} (resolution {bench['instructions_resolution']:g})",
        f"flash {bench['flash_bytes']:,} B (model {bench['flash_model_bytes']:,} B, startup and libc {bench['flash_rest_bytes']:,} B)",
        f"RAM {bench['ram_bytes']:,} B (model {bench['ram_model_bytes']:,} B, of which arena {bench['arena_bytes']:,} B); peak stack {bench['stack_bytes']:,} B",
    ]
