"""report.html: the compile report for a person, beside report.json in the output folder.

It shows what the numbers of report.json mean together: bytes live per layer with the
streamed stage shaded, the arena layout as coloured bars (offset against time), the
layers with their MACs, weights, precision and, once benched, instructions, and the
mixed-precision Pareto front when a search made one. It is built from report.json's
data alone, as one self-contained file (inline SVG and CSS, no script, no network),
so it opens anywhere and can be attached to a CI run. Python computes every
coordinate; the template only places them.
"""

from __future__ import annotations

from .boards import Board
from .resources import template_env
from .schema import Buffer, Layer, Region, Report
from .summary import short_name

WIDTH = 960  # of every chart, in SVG units
LEFT, RIGHT, TOP, BOTTOM = 72, 12, 18, 26  # plot margins: axis labels left and below
TIMELINE_HEIGHT, LAYOUT_HEIGHT, PARETO_HEIGHT = 150, 260, 220
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#86bcb6")
SCRATCH_FILL = "#9aa3ad"


def render_html(report: Report, board: Board | None = None, bench: dict | None = None) -> str:
    """report.html for a compile `report` (report.json's dict), with `bench` figures when measured."""
    layers = report["layers"]
    streamed = [(0, report["patch"]["split_index"] + 1)] if report.get("patch") else []
    if report.get("tail"):
        streamed.append((report["tail"]["split_index"], report["tail"]["last_index"] + 1))
    axis = OpAxis(len(layers))
    values = {
        "report": report,
        "title": f"{report['model']} → {report['name']} ({report['board']})",
        "facts": facts(report, board, bench),
        "width": WIDTH,
        "timeline": timeline_chart(report["memory"]["timeline"], report["arena_bytes"], axis, streamed),
        "layout": layout_chart(
            report["memory"]["layout"], report["arena_bytes"], axis, streamed, report.get("regions", [])
        ),
        "rows": layer_rows(layers, bench),
        "benched": bench is not None,
        "precisions": sorted({layer["precision"] for layer in layers}),
        "pareto": pareto_chart(report["pareto"]) if report.get("pareto") else None,
    }
    return template_env("report", autoescape=True).get_template("report.html.j2").render(**values)


def render_pareto_svg(points: list[dict]) -> str:
    """pareto.svg: the same chart as report.html's, as a file of its own."""
    return (
        template_env("report", autoescape=True)
        .get_template("pareto.svg.j2")
        .render(width=WIDTH, pareto=pareto_chart(points))
    )


def nbytes(n: float) -> str:
    """Bytes as a person reads them: `812 B`, `18.4 KiB`, `1.0 MiB`."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} B"


def facts(report: Report, board: Board | None, bench: dict | None) -> list[dict]:
    """The headline figures: each a label, a value, and a share of the board's memory when it has one."""
    real = board is not None and board.qemu_machine is not None

    def share(used: int, total: int) -> dict:
        pct = 100 * used / total
        return {
            "pct": f"{pct:.1f}% of {board.name}'s {nbytes(total)}",
            "bar": round(min(pct, 100.0), 2),
            "over": pct > 100,
        }

    rows = [
        {"label": "MACs", "value": f"{report['macs']:,}"},
        {
            "label": "arena (SRAM)",
            "value": nbytes(report["arena_bytes"]),
            "note": f"lower bound of this schedule {nbytes(report['arena_lower_bound'])}",
        }
        | (share(report["arena_bytes"], board.sram_bytes) if real else {}),
        {"label": "weights (flash)", "value": nbytes(report["weights_bytes"])}
        | (share(report["weights_bytes"], board.flash_bytes) if real else {}),
    ]
    for r in report.get("regions", []):
        rows.insert(
            len(rows) - 1,
            {
                "label": f"region {r['name']}",
                "value": nbytes(r["bytes"]),
                "note": f"{r['speed']} memory, peak live {nbytes(r['peak_bytes'])}"
                + (f", and {nbytes(r['weights_bytes'])} of weights copied there" if r["weights_bytes"] else ""),
            }
            | (share(r["bytes"], r["capacity"]) if real else {}),
        )
    if report.get("state_bytes"):
        rows.insert(
            2,
            {
                "label": "state (SRAM)",
                "value": nbytes(report["state_bytes"]),
                "note": "recurrent state kept across invokes, outside the arena",
            },
        )
    if real and report.get("flash_bytes"):
        rows.append(
            {
                "label": "flash (model)",
                "value": nbytes(report["flash_bytes"]),
                "note": "weights, graph code and kernels as linked",
            }
            | share(report["flash_bytes"], board.flash_bytes)
        )
    if report.get("stack"):
        stack = report["stack"]
        rows.append(
            {
                "label": "stack",
                "value": nbytes(stack["estimate_bytes"]),
                "note": f"at most (gcc's frames); largest frame {stack['largest_frame']} {nbytes(stack['largest_frame_bytes'])}",
            }
        )
    patch = report.get("patch")
    if patch:
        rows.append(
            {
                "label": "streamed stage",
                "value": f"layers 0..{patch['split_index']}",
                "note": f"{patch['band_calls']:,} band calls, MAC overhead {100 * patch['mac_overhead']:.1f}%",
            }
        )
    tail = report.get("tail")
    if tail:
        rows.append(
            {
                "label": "streamed tail",
                "value": f"layers {tail['split_index']}..{tail['last_index']}",
                "note": f"{tail['band_calls']:,} band calls, MAC overhead {100 * tail['mac_overhead']:.1f}%",
            }
        )
    if bench:
        per_mac = f", {bench['instructions_per_mac']:.2f} per MAC" if bench.get("instructions_per_mac") else ""
        rows.append(
            {
                "label": "instructions",
                "value": f"{bench['instructions']:,}",
                "note": f"one inference on {bench['board']} ({bench['qemu_machine']}){per_mac}",
            }
        )
    return rows


class OpAxis:
    """The shared x axis of the memory charts: one slot per layer, in execution order."""

    def __init__(self, count: int):
        self.count = max(count, 1)
        self.step = (WIDTH - LEFT - RIGHT) / self.count

    def x(self, index: float) -> float:
        return round(LEFT + index * self.step, 2)

    def ticks(self) -> list[dict]:
        every = nice_step(self.count / 12)
        return [{"x": self.x(i + 0.5), "label": str(i)} for i in range(0, self.count, max(int(every), 1))]


def nice_step(span: float) -> float:
    """The 1-2-5 step nearest above `span`: tick spacing a reader can add up."""
    step = 1.0
    while step * 10 <= span:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= span:
            return step * factor
    return step * 10


def byte_ticks(origin: float, maximum: int, length: float, count: int = 4) -> list[dict]:
    """Labels of a bytes axis: 0 at y=`origin`, `maximum` at `origin + length` (negative: upwards)."""
    unit = 1 << 20 if maximum >= 4 << 20 else 1 << 10 if maximum >= 4 << 10 else 1
    step = unit * nice_step(max(maximum, 1) / unit / count)  # round KiB (MiB) on the axis
    ticks, value = [], 0.0
    while value <= maximum:
        ticks.append({"y": round(origin + length * value / max(maximum, 1), 2), "label": nbytes(value)})
        value += step
    return ticks


def stage_shades(axis: OpAxis, streamed: list[tuple[int, int]], height: float) -> list[dict]:
    """A shade over each streamed stage's layers [start, end)."""
    return [
        {"x": axis.x(start), "width": round((end - start) * axis.step, 2), "y": TOP, "height": height}
        for start, end in streamed
    ]


def timeline_chart(timeline: list[int], arena: int, axis: OpAxis, streamed: list[tuple[int, int]]) -> dict:
    """Bytes live at each layer as bars, against the arena size (a dashed line)."""
    peak = max([arena, *timeline, 1])
    base = TOP + TIMELINE_HEIGHT
    scale = TIMELINE_HEIGHT / peak
    bars = [
        {
            "x": axis.x(i + 0.08),
            "y": round(base - live * scale, 2),
            "width": round(axis.step * 0.84, 2),
            "height": round(live * scale, 2),
            "title": f"layer {i}: {live:,} B live",
        }
        for i, live in enumerate(timeline)
    ]
    return {
        "height": base + BOTTOM,
        "bars": bars,
        "arena_y": round(base - arena * scale, 2),
        "arena_label": f"arena {arena:,} B",
        "y_ticks": byte_ticks(base, peak, -TIMELINE_HEIGHT),
        "x_ticks": axis.ticks(),
        "base": base,
        "stages": stage_shades(axis, streamed, TIMELINE_HEIGHT),
    }


def layout_chart(
    layout: list[Buffer], arena: int, axis: OpAxis, streamed: list[tuple[int, int]], regions: list[Region]
) -> dict:
    """Every arena buffer as a bar: x its lifetime (layers), y its offset range in the arena
    (over several memory regions, the regions back to back, each from a labelled line)."""
    scale = LAYOUT_HEIGHT / max(arena, 1)
    rects = []
    for index, entry in enumerate(layout):
        scratch = entry["buffer"].startswith("scratch:")
        rects.append(
            {
                "x": axis.x(entry["first_op"]),
                "y": round(TOP + entry["offset"] * scale, 2),
                "width": round((entry["last_op"] - entry["first_op"] + 1) * axis.step, 2),
                "height": round(max(entry["bytes"] * scale, 1.0), 2),
                "fill": SCRATCH_FILL if scratch else PALETTE[index % len(PALETTE)],
                "title": f"{short_name(entry['buffer'], 60)}: {entry['bytes']:,} B at offset "
                f"{entry['offset']:,}, layers {entry['first_op']}..{entry['last_op']}"
                + (f", region {entry['region']} +{entry['region_offset']:,}" if "region" in entry else ""),
            }
        )
    base = TOP + LAYOUT_HEIGHT
    return {
        "height": base + BOTTOM,
        "rects": rects,
        "y_ticks": byte_ticks(TOP, arena, LAYOUT_HEIGHT),
        "x_ticks": axis.ticks(),
        "base": base,
        "stages": stage_shades(axis, streamed, LAYOUT_HEIGHT),
        "regions": [
            {"y": round(TOP + r["start"] * scale, 2), "label": f"{r['name']}: {r['bytes']:,} B"}
            for r in regions
            if r["bytes"]
        ],
    }


def layer_rows(layers: list[Layer], bench: dict | None) -> list[dict]:
    """The layer table: names shortened (the full one as a tooltip), MACs also as a bar."""
    most = max([layer["macs"] for layer in layers] + [1])
    instructions = {layer["name"]: layer["instructions"] for layer in bench["layers"]} if bench else {}
    rows = []
    for index, layer in enumerate(layers):
        spent = instructions.get(layer["name"])
        rows.append(
            {
                "index": index,
                "name": short_name(layer["name"]),
                "full_name": layer["name"],
                "op": layer["op"],
                "shape": "×".join(map(str, layer["output_shape"])),
                "precision": layer["precision"],
                "macs": f"{layer['macs']:,}",
                "mac_bar": round(100 * layer["macs"] / most, 1),
                "weights": f"{layer['weights_bytes']:,}",
                "live": f"{layer['live_bytes']:,}",
                "instructions": f"{spent:,}" if spent is not None else "",
                "per_mac": f"{spent / layer['macs']:.2f}" if spent is not None and layer["macs"] else "",
            }
        )
    return rows


def pareto_chart(points: list[dict]) -> dict:
    """Flash (weights bytes) against fidelity (output SQNR) of the precision assignments searched.

    `points`: report.json's "pareto", [{"weights_bytes", "sqnr_db", "chosen"}]; the
    front is drawn as a line through the points no other point beats on both axes."""
    xs = [p["weights_bytes"] for p in points]
    ys = [p["sqnr_db"] for p in points]
    x_low, x_high = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    y_low, y_high = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1
    base = TOP + PARETO_HEIGHT

    def place(p: dict) -> tuple[float, float]:
        x = LEFT + (WIDTH - LEFT - RIGHT) * (p["weights_bytes"] - x_low) / (x_high - x_low)
        y = base - PARETO_HEIGHT * (p["sqnr_db"] - y_low) / (y_high - y_low)
        return round(x, 2), round(y, 2)

    front = [
        p
        for p in points
        if not any(q["weights_bytes"] <= p["weights_bytes"] and q["sqnr_db"] > p["sqnr_db"] for q in points)
    ]
    dots = [
        {
            "x": place(p)[0],
            "y": place(p)[1],
            "chosen": bool(p.get("chosen")),
            "title": f"{p['weights_bytes']:,} B of weights, SQNR {p['sqnr_db']:.1f} dB",
        }
        for p in points
    ]
    return {
        "height": base + BOTTOM,
        "dots": dots,
        "front": " ".join(f"{x},{y}" for x, y in sorted(place(p) for p in front)),
        "x_labels": [
            {"x": place({"weights_bytes": v, "sqnr_db": y_low})[0], "label": nbytes(v)} for v in (x_low, x_high)
        ],
        "y_labels": [
            {"y": place({"weights_bytes": x_low, "sqnr_db": v})[1], "label": f"{v:.1f} dB"} for v in (y_low, y_high)
        ],
        "base": base,
    }
