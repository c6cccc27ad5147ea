"""`--latency-budget` in the precision search: the benchmark's flash budget, then 1.5x the int8 build's ms too.

    python benchmarks/latency_budget.py [--calib 200] [--eval 400] [--fraction 0.6] [--factors 1.5,1.2]

vww_96_float and pretrainedResnet, calibrated and evaluated on crops of scikit-image's
photos as in mixed_precision.py, compiled for the nucleo-l4r5zi (Cortex-M4 at 120 MHz)
with mixed_precision.py's flash budget (the int8 build's code and kernels + `--fraction`
of its weights): int8, `--precision auto` under the flash budget, and the same with
`--latency-budget` of each of `--factors` x the int8 build's estimated ms (a budget no
assignment meets is a row too: the compile's one line, exit 1). Fidelity on held-out
crops against the float model (tflite-micro runs each quantized model); flash, SRAM and
ms from `aiotc bench`. Writes the section "--latency-budget" of benchmarks/latency.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from mixed_precision import NETWORKS, network_data  # noqa: E402
from ptq_fidelity import agreement, int8_outputs, photos  # noqa: E402

from aiotc.boards import load_board  # noqa: E402
from aiotc.driver import compile_model  # noqa: E402
from aiotc.errors import BudgetError  # noqa: E402
from aiotc.quantize.fidelity import sqnr_db  # noqa: E402
from aiotc.toolchain.qemu import QemuModel  # noqa: E402

BOARD = "nucleo-l4r5zi"
SECTION = "\n## --latency-budget"


def network_rows(name: str, args, images, tmp: Path) -> list[str]:
    model, held_out, reference, calib = network_data(name, args, images, tmp)
    board = load_board(BOARD)
    int8 = compile_model(model, board=BOARD, out_dir=tmp / f"{name}_int8", calib=calib)
    int8_ms = QemuModel.build(int8.out_dir, board).bench()["ms"]
    flash = (
        int8.report["flash_bytes"] - int8.report["weights_bytes"] + int(args.fraction * int8.report["weights_bytes"])
    )
    auto = replace(calib, precision="auto")
    builds = [("int8", int8, None)]
    if not args.budget_only:
        builds.append(("--precision auto, flash budget", compile_model(
            model, board=BOARD, out_dir=tmp / f"{name}_auto", calib=auto, flash_budget=flash
        ), None))  # fmt: skip
    refused = []
    for factor in args.factors:
        latency = round(factor * int8_ms, 2)
        label = f"--precision auto, flash budget, --latency-budget {latency:g}ms ({factor}x int8)"
        try:
            builds.append((label, compile_model(
                model, board=BOARD, out_dir=tmp / f"{name}_{factor}", calib=auto, flash_budget=flash,
                latency_budget=latency,
            ), latency))  # fmt: skip
        except BudgetError as exc:  # an impossible budget is a row too
            refused.append(f"| {name} | {label} | exit 1: {exc} |" + " |" * 8)
            print(refused[-1], flush=True)
    return [*_rows(name, builds, flash, reference, held_out, board, args), *refused]


def _rows(name, builds, flash, reference, held_out, board, args) -> list[str]:
    rows = []
    for label, result, budget in builds:
        figures = QemuModel.build(result.out_dir, board).bench()
        got = int8_outputs(result.out_dir / f"{result.name}.tflite", held_out)
        count = Counter(layer["precision"] for layer in result.report["layers"] if "precision" in layer)
        kernels = result.report.get("quantization", {}).get("int4_kernels", "")
        rows.append(
            f"| {name} | {label} | {count['w4a8']} / {count['w8a16']}{f' ({kernels})' if count['w4a8'] else ''} "
            f"| {agreement(reference, got):.1%} | {sqnr_db(reference, got):.1f} | {figures['flash_model_bytes']:,} "
            f"| {flash:,} | {result.report['arena_bytes']:,} | {figures['instructions']:,} | {figures['ms']:.1f} "
            f"| {f'{budget:g}' if budget else '–'} |"
        )
        print(rows[-1], flush=True)
        with open(args.out.with_suffix(".rows"), "a") as done:  # what a long run has finished so far
            done.write(rows[-1] + "\n")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calib", type=int, default=200, help="calibration crops")
    parser.add_argument("--eval", type=int, default=400, help="evaluation crops")
    parser.add_argument("--fraction", type=float, default=0.6, help="weights part of the flash budget, of int8's")
    parser.add_argument(
        "--factors", default="1.5,1.2", type=lambda text: [float(f) for f in text.split(",")],
        help="latency budgets, of the int8 build's ms (comma-separated)",
    )  # fmt: skip
    parser.add_argument("--budget-only", action="store_true", help="leave out the build without a latency budget")
    parser.add_argument(
        "--networks", default="pretrainedResnet,vww_96", help="comma-separated, of " + ", ".join(NETWORKS)
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "latency.md")
    args = parser.parse_args()
    images = photos()
    with tempfile.TemporaryDirectory() as folder:
        rows = [row for name in args.networks.split(",") for row in network_rows(name, args, images, Path(folder))]
    section = [
        SECTION.strip(),
        "",
        f"Generated by `python benchmarks/latency_budget.py --calib {args.calib} --eval {args.eval} --fraction "
        f"{args.fraction} --factors {','.join(map(str, args.factors))}`: board {BOARD} (its flash model",
        f"included), calibration on {args.calib} crops of",
        f"scikit-image's photos, fidelity on {args.eval} other crops against the float model (tflite-micro). Flash",
        f"budget = the int8 build's code and kernels + {args.fraction:.0%} of its weights (as `mixed_precision.py`);",
        "latency budget = the row's factor x the int8 build's estimated ms. Flash, SRAM (arena) and ms from",
        "`aiotc bench`. Without a latency budget the flash budget may push layers onto the int4 reference",
        "loops (less code, many more instructions); with one, the search keeps to assignments within it, and a",
        "budget no assignment within the flash budget meets is refused in one line (exit 1).",
        "",
        "| network | build | w4a8 / w8a16 layers | top-1 | SQNR dB | flash B | flash budget B | arena B "
        "| instructions | ms (est.) | latency budget ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
    ]
    text = args.out.read_text() if args.out.exists() else ""
    kept = text.split(SECTION)[0].rstrip("\n")
    args.out.write_text(kept + "\n\n" + "\n".join(section))
    print("\n".join(section))


if __name__ == "__main__":
    main()
