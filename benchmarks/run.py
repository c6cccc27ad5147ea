"""The benchmark table: every shared model compiled by aiotc and measured in QEMU,
side by side with its peer, TFLite Micro + CMSIS-NN, in the same run.

    python benchmarks/run.py [--boards cortex-m4,cortex-m7,cortex-m55] [--models GLOB] [--peer DIR] [--out benchmarks/results.md]

For each model and board: instructions per inference (QEMU -icount shift=0, after a
warm-up), instructions per MAC, aiotc's arena, flash (model part and whole image), RAM,
painted-stack peak; tflite-micro's total arena from its Python package and aiotc's
ratio to it. Each int8 model also runs on the peer (benchmarks/peer/: TFLM + CMSIS-NN
built for the same QEMU machines, in DIR, default ~/.cache/tflm-peer), counted the
same way, in total and per operator: results.md holds both totals, their ratio and
each model's worst layer; layers.md every layer next to the peer's operators that
compute it. Writes markdown and the raw JSON next to it (with each model's
layer-by-layer bound), then the README's tables (benchmarks/readme.py). Not a test: a
target missed here is a number to improve, not a failure.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peer import tflm  # noqa: E402

MODELS = ROOT.parent / "shared" / "models"
FOLDERS = ("mlperf_tiny", "keras")
WORST_SHARE = 0.01  # a model's worst layer is picked among layers taking at least this share of aiotc's instructions
COMPILE_TIMES = ROOT / "benchmarks" / "compile_time.json"  # compile_time.py's figures, per label


def measure(model: Path, board: str, peer: Path, peer_absent: str | None) -> dict:
    """Compile, link and bench one model for one board, then the peer on it; an error is a row, not a crash."""
    from aiotc.boards import load_board
    from aiotc.driver import compile_model
    from aiotc.errors import AiotcError
    from aiotc.toolchain.qemu import QemuModel

    row: dict = {"model": model.stem, "folder": model.parent.name, "board": board}
    with tempfile.TemporaryDirectory(prefix="aiotc-bench-") as tmp:
        try:
            result = compile_model(model, board=board, out_dir=Path(tmp) / "out")
            row |= {
                "report": {
                    k: result.report[k] for k in ("macs", "arena_bytes", "arena_lower_bound", "weights_bytes", "patch")
                }
            }
            row["bench"] = QemuModel.build(result.out_dir, load_board(board)).bench()
            add_shapes(row["bench"]["layers"], result.report["layers"])
        except AiotcError as exc:
            first = str(exc).splitlines()[0]
            row["error"] = first if len(first) <= 100 else first[:99] + "…"
    if tflm.is_int8(model):
        row["peer"] = {"error": peer_absent} if peer_absent else tflm.measure(model, board, peer)
    return row


def add_shapes(benched: list[dict], planned: list[dict]) -> None:
    """Each benched layer gains its output shape from the compile report's layer (the pairing shows shapes)."""
    for layer, plan in zip(benched, planned):
        layer["output_shape"] = plan["output_shape"]


def paired(row: dict) -> list[dict]:
    """The row's layers paired with the peer's operators; none when either side has no figures."""
    if "bench" not in row or "layers" not in row.get("peer", {}):
        return []
    return pair_layers(row["bench"]["layers"], row["peer"]["layers"])


def pair_layers(mine: list[dict], theirs: list[dict]) -> list[dict]:
    """aiotc's layers in order, each with the peer's operators that compute it.

    A peer operator is paired with the aiotc layer of the same output tensor name;
    the operators before it that aiotc has no layer for (a PAD or QUANTIZE aiotc fused
    into this layer, a RESHAPE it made an alias) count with it. Operators after the
    last pair make a last row of their own."""
    position = {op["name"]: i for i, op in enumerate(theirs)}
    rows, taken = [], 0

    def row(layer: dict | None, ops: list[dict]) -> dict:
        return {
            "name": layer["name"] if layer else "(peer operators after the last paired layer)",
            "op": layer["op"] if layer else "",
            "output_shape": layer["output_shape"] if layer else ops[-1]["output_shape"],
            "input_shape": ops[-1]["input_shape"] if ops else None,
            "weights_shape": ops[-1]["weights_shape"] if ops else None,
            "macs": layer["macs"] if layer else 0,
            "instructions": layer["instructions"] if layer else None,
            "peer_ops": [op["op"] for op in ops],
            "peer_instructions": sum(op["instructions"] for op in ops) if ops else None,
        }

    for layer in mine:
        j = position.get(layer["name"], -1)
        rows.append(row(layer, theirs[taken : j + 1] if j >= taken else []))
        taken = max(taken, j + 1)
    if taken < len(theirs):
        rows.append(row(None, theirs[taken:]))
    return rows


def tflm_arena(model: Path) -> int | None:
    """tflite-micro's arena for `model`, from its `softmax_scale_raised` copy where TFLM refuses the model's."""
    from aiotc.oracle import tflm_arena_bytes

    with tempfile.TemporaryDirectory(prefix="aiotc-arena-") as tmp:
        copy = Path(tmp) / "raised.tflite"
        return tflm_arena_bytes(copy if tflm.softmax_scale_raised(model, copy) else model)


def layer_bound(model: Path) -> int:
    """The arena a layer-by-layer plan cannot go below: the largest layer's activations, in and out."""
    from aiotc.frontend import load_model
    from aiotc.passes import run_passes

    graph = run_passes(load_model(model))
    return max(
        sum(graph[t].nbytes for t in {*op.inputs, *op.outputs} if t and not graph[t].is_const) for op in graph.ops
    )


def ratio(mine: float, theirs: float | None) -> str:
    return f"{mine / theirs:.2f}×" if theirs else "–"


def peer_cell(row: dict) -> tuple[str, str]:
    """The peer's instructions and aiotc's ratio to them, or why there are none."""
    peer = row.get("peer")
    if peer is None:
        return "–", "–"
    if "error" in peer:
        return peer["error"], "–"
    mine = row.get("bench", {}).get("instructions")
    raised = " †" if peer.get("softmax_scale_raised") else ""
    return f"{peer['instructions']:,}{raised}", ratio(mine, peer["instructions"]) if mine else "–"


def worst(pairs: list[dict], total: int) -> dict | None:
    """The paired layer with aiotc's highest ratio to the peer, among layers worth at least WORST_SHARE of the model."""
    big = [
        p for p in pairs if p["instructions"] and p["peer_instructions"] and p["instructions"] >= WORST_SHARE * total
    ]
    return max(big, key=lambda p: p["instructions"] / p["peer_instructions"], default=None)


def slower_and_worst(pairs: list[dict], total: int) -> tuple[int, int, dict | None]:
    """Of the paired layers with figures on both sides: how many are slower than the peer, how many there are, the worst."""
    both = [p for p in pairs if p["instructions"] is not None and p["peer_instructions"]]
    return sum(p["instructions"] > p["peer_instructions"] for p in both), len(both), worst(both, total)


def shape(dims: list[int]) -> str:
    return "×".join(str(d) for d in dims)


def geometry(pair: dict) -> str:
    """Input -> output shape and the weights' shape, as the peer's operator has them."""
    out = shape(pair["output_shape"])
    if pair["input_shape"] is None:
        return out
    weights = f", weights {shape(pair['weights_shape'])}" if pair["weights_shape"] else ""
    return f"{shape(pair['input_shape'])} → {out}{weights}"


def short(name: str, width: int = 60) -> str:
    """A layer name for a table: TFLite's fused names run to hundreds of characters."""
    name = name.split(";")[0]
    return name if len(name) <= width else "…" + name[-width + 1 :]


def markdown(rows: list[dict], arenas: dict[str, int | None], peer: Path) -> str:
    lines = [
        "# aiotc benchmark",
        "",
        "Generated by `python benchmarks/run.py` (QEMU `-icount shift=0`: instructions of one inference on zeros after a",
        "warm-up; resolution 40 instructions on MPS2, 31.25 on MPS3). *TFLM arena* is tflite-micro's total arena from its",
        "Python package. *Peer* is TFLite Micro + CMSIS-NN (benchmarks/peer/) run in the same run on the same QEMU machine,",
        f"int8 models only, from the build in `{str(peer).replace(str(Path.home()), '~')}` (the Cortex-M7 runs the M4 build); *vs peer* is aiotc's",
        "instructions over the peer's. Flash is the whole image (model = weights + graph code + kernels); RAM is the",
        "model's static RAM (arena + its .data/.bss), the whole image's (with the test harness's input/output buffers) in",
        "brackets. † TFLM refuses the model's SOFTMAX input scale (below what its softmax preparation takes), so the",
        "peer and tflite-micro's arena ran a copy with that scale raised (`tflm.softmax_scale_raised`): a value in the",
        "kernels, not work, so the copy's figures stand for the model's.",
        "",
        "| model | board | MACs | instructions | instr/MAC | peer | vs peer | arena B | TFLM arena B | "
        "vs TFLM | flash B (model) | RAM B (image) | stack B |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['model']} | {row['board']} | {row['error']} |" + " |" * 10)
            continue
        b, r = row["bench"], row["report"]
        tflm_b = arenas.get(row["model"])
        peer_b, vs_peer = peer_cell(row)
        lines.append(
            f"| {row['model']} | {row['board']} | {r['macs']:,} | {b['instructions']:,} | {b['instructions_per_mac'] or 0:.2f} "
            f"| {peer_b} | {vs_peer} | {b['arena_bytes']:,} "
            f"| {f'{tflm_b:,}' if tflm_b else 'aborts'} | {ratio(b['arena_bytes'], tflm_b)} "
            f"| {b['flash_bytes']:,} ({b['flash_model_bytes']:,}) | {b['ram_model_bytes']:,} ({b['ram_bytes']:,}) | {b['stack_bytes']:,} |"
        )
    lines += [
        "",
        "## Worst layer against the peer",
        "",
        "Per layer, aiotc's instructions over the peer's operators that compute the same output tensor (and any operator",
        f"aiotc fused into it); the worst among the layers taking at least {WORST_SHARE:.0%} of aiotc's instructions. Every",
        "layer: `layers.md`.",
        "",
        "| model | board | layers slower than the peer | worst layer | op | shape | instructions | peer | ratio |",
        "|---|---|---:|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        slower, count, w = slower_and_worst(paired(row), row.get("bench", {}).get("instructions", 0))
        if w:
            lines.append(
                f"| {row['model']} | {row['board']} | {slower} of {count} | {short(w['name'])} | {w['op']} "
                f"| {geometry(w)} | {w['instructions']:,} | {w['peer_instructions']:,} "
                f"| {ratio(w['instructions'], w['peer_instructions'])} |"
            )
    lines += losses(rows)
    lines += compile_times(rows)
    lines += [
        "",
        "## Instructions per MAC by op kind",
        "",
        "The DSP limit on the Cortex-M4/M7 is 0.5 (one SMLAD does 2 MACs); the M55's MVE does 16 int8 MACs per VMLADAVA.",
        "",
        "| model | board | " + " | ".join(OP_KINDS) + " |",
        "|---|---|" + "---:|" * len(OP_KINDS),
    ]
    for row in rows:
        if "error" not in row:
            lines.append(
                f"| {row['model']} | {row['board']} | "
                + " | ".join(per_op(row["bench"]).get(kind, "") for kind in OP_KINDS)
                + " |"
            )
    return "\n".join(lines) + "\n"


def compile_times(rows: list[dict]) -> list[str]:
    """The table's models' compile times from compile_time.json's latest label: compile_time.py
    measures them in fresh processes on an idle machine, which a benchmark run beside QEMU is not."""
    if not COMPILE_TIMES.exists():
        return []
    labels = json.loads(COMPILE_TIMES.read_text())
    label, times = list(labels.items())[-1]
    lines = [
        "",
        "## Compile time",
        "",
        "`aiotc compile MODEL --board host` in a fresh process, CPU seconds (best of its runs), from",
        f"`benchmarks/compile_time.json` (label `{label}`; `benchmarks/compile_time.py`, every model and the corpus in",
        "`compile_time.md`). Target (issue 22): <= 1.5 s for every MLPerf Tiny model.",
        "",
        "| model | CPU s | wall s |",
        "|---|---:|---:|",
    ]
    for folder, model in dict.fromkeys((row["folder"], row["model"]) for row in rows):
        figures = times.get(f"{folder}/{model}.tflite")
        if figures:
            lines.append(f"| {model} | {figures['cpu']:.2f} | {figures['seconds']:.2f} |")
    return lines


def losses(rows: list[dict], top: int = 20) -> list[str]:
    """Where faster kernels would pay most: the layers slower than the peer, by instructions lost."""
    slower = [
        (row, p)
        for row in rows
        for p in paired(row)
        if p["instructions"] and p["peer_instructions"] and p["instructions"] > p["peer_instructions"]
    ]
    slower.sort(key=lambda rp: rp[1]["peer_instructions"] - rp[1]["instructions"])
    lines = [
        "",
        f"## Layers slower than the peer, most instructions lost first (top {top})",
        "",
        "| model | board | layer | op | shape | MACs | instructions | peer | ratio | lost |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row, p in slower[:top]:
        lines.append(
            f"| {row['model']} | {row['board']} | {short(p['name'])} | {p['op']} | {geometry(p)} "
            f"| {p['macs']:,} | {p['instructions']:,} | {p['peer_instructions']:,} "
            f"| {ratio(p['instructions'], p['peer_instructions'])} | {p['instructions'] - p['peer_instructions']:,} |"
        )
    return lines


def layers_markdown(rows: list[dict]) -> str:
    """Every layer of every int8 model next to the peer's operators for it."""
    lines = [
        "# aiotc against TFLite Micro + CMSIS-NN, layer by layer",
        "",
        "Generated by `python benchmarks/run.py` with results.md. Both sides counted the same way: SysTick around each",
        "layer (aiotc's AIOTC_LAYER_END hook; a MicroProfiler in the peer's main.cc around each operator's Invoke), the",
        "time since the previous layer ended, so glue between layers counts in the next one and the layers add up to the",
        "inference. A peer operator pairs with the aiotc layer of the same output tensor; operators aiotc has no layer for",
        "count with the next pair (*peer ops* lists them). Resolution 40 instructions on MPS2, 31.25 on MPS3.",
    ]
    for row in rows:
        pairs = paired(row)
        if not pairs:
            continue
        lines += [
            "",
            f"## {row['model']} on {row['board']}: {row['bench']['instructions']:,} vs {row['peer']['instructions']:,} "
            f"({ratio(row['bench']['instructions'], row['peer']['instructions'])})",
            "",
            "| # | layer | op | peer ops | shape | MACs | instructions | peer | ratio |",
            "|---:|---|---|---|---|---:|---:|---:|---:|",
        ]
        for i, p in enumerate(pairs):
            mine, theirs = p["instructions"], p["peer_instructions"]
            lines.append(
                f"| {i} | {short(p['name'])} | {p['op']} | {'+'.join(p['peer_ops']) or '–'} | {geometry(p)} "
                f"| {p['macs']:,} | {f'{mine:,}' if mine is not None else '–'} | {f'{theirs:,}' if theirs is not None else '–'} "
                f"| {ratio(mine, theirs) if mine is not None else '–'} |"
            )
    return "\n".join(lines) + "\n"


OP_KINDS = ("conv2d", "depthwise_conv2d", "fully_connected", "add", "avg_pool2d", "max_pool2d", "mean", "softmax")


def per_op(bench: dict) -> dict[str, str]:
    """Instructions per MAC summed over the layers of each op kind that do MACs."""
    sums: dict[str, list[int]] = {}
    for layer in bench["layers"]:
        entry = sums.setdefault(layer["op"], [0, 0])
        entry[0] += layer["instructions"]
        entry[1] += layer["macs"]
    return {kind: f"{i / m:.2f}" for kind, (i, m) in sums.items() if m}


def main() -> int:
    from benchmarks import readme

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", default="cortex-m4,cortex-m7,cortex-m55")
    parser.add_argument("--models", default="*", help="glob on the model file stem")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument("--peer", type=Path, default=tflm.DEFAULT, help="the peer's build (benchmarks/peer/build.sh)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    if not MODELS.is_dir():
        print(f"benchmarks need the shared models at {MODELS}", file=sys.stderr)
        return 2
    models = [
        m
        for folder in FOLDERS
        for m in sorted((MODELS / folder).glob("*.tflite"))
        if fnmatch.fnmatch(m.stem, args.models)
    ]
    boards = args.boards.split(",")
    absent = tflm.prepare(args.peer, boards)
    jobs = [(m, b, args.peer, absent[b]) for m in models for b in boards]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(measure, *zip(*jobs)))
        arenas = dict(zip((m.stem for m in models), pool.map(tflm_arena, models)))
        bounds = dict(zip((m.stem for m in models), pool.map(layer_bound, models)))
    args.out.write_text(markdown(rows, arenas, args.peer))
    figures = {"rows": rows, "tflm_arena": arenas, "layer_bound": bounds}
    args.out.with_suffix(".json").write_text(json.dumps(figures, indent=1) + "\n")
    (args.out.parent / "layers.md").write_text(layers_markdown(rows))
    readme.write()
    print(f"wrote {args.out}, layers.md ({len(rows)} rows) and README.md's tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
