"""Mixed precision under flash and SRAM budgets on real photos: `--precision auto` against uniform int4.

    python benchmarks/mixed_precision.py [--calib 200] [--eval 400] [--fraction 0.6]

vww_96_float and pretrainedResnet (trained) are calibrated on crops of scikit-image's
photos (as in ptq_fidelity.py) and compiled for cortex-m4 with a flash budget whose
weights part is `--fraction` of the int8 weights (budget = the int8 build's code and
kernels + fraction x its weights). On held-out crops: top-1 agreement and output SQNR
against the float model for int8, the auto assignment, uniform int4 weights (every
layer w4a8, the same calibration and weight fitting as auto) and auto within the board's
own budgets (where w8a16 layers show what int16 activations buy), each run in tflite-micro
(which the C matches bit for bit); flash and arena from report.json and from `aiotc
bench` in QEMU. Then mbv2_w035_144_float for stm32f411 (128 KB SRAM, 512 KB flash)
with the board's own budgets. Writes benchmarks/mixed_precision.md. Not a test: targets are figures to reach.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from ptq_fidelity import agreement, crops, float_outputs, int8_outputs, photos  # noqa: E402

from aiotc.boards import load_board  # noqa: E402
from aiotc.driver import compile_model  # noqa: E402
from aiotc.export.tflite import write_tflite  # noqa: E402
from aiotc.frontend import load_model  # noqa: E402
from aiotc.passes import run_passes  # noqa: E402
from aiotc.quantize import Calibration, quantize_model  # noqa: E402
from aiotc.quantize.fidelity import sqnr_db  # noqa: E402
from aiotc.quantize.precision import choosable_layers  # noqa: E402
from aiotc.samples import random_samples  # noqa: E402
from aiotc.toolchain.qemu import QemuModel  # noqa: E402
from aiotc.verification import verify  # noqa: E402

# name -> (float model, input size, pixel scale, top-1 target)
NETWORKS = {
    "vww_96": ("mlperf_tiny/vww_96_float.tflite", 96, 255.0, 0.95),
    "pretrainedResnet": ("mlperf_tiny/pretrainedResnet.tflite", 32, 1.0, 0.90),
}
BOARD = "cortex-m4"


def bench(out: Path, board: str) -> dict:
    return QemuModel.build(out, load_board(board)).bench()


def network_data(name: str, args, images, tmp: Path) -> tuple[Path, np.ndarray, np.ndarray, Calibration]:
    """The network's model, held-out crops, the float model's outputs on them, and calibration crops."""
    relative, size, pixel_scale, _ = NETWORKS[name]
    model = MODELS / relative
    calib_file = tmp / f"{name}_calib.npy"
    np.save(calib_file, crops(images, args.calib, size, seed=0) / pixel_scale)
    held_out = crops(images, args.eval, size, seed=1) / pixel_scale
    return model, held_out, float_outputs(model, held_out), Calibration(str(calib_file))


def network_rows(name: str, args, images, tmp: Path) -> list[str]:
    target = NETWORKS[name][3]
    model, held_out, reference, calib = network_data(name, args, images, tmp)
    int8 = compile_model(model, board=BOARD, out_dir=tmp / f"{name}_int8", calib=calib)
    code = int8.report["flash_bytes"] - int8.report["weights_bytes"]
    budget = code + int(args.fraction * int8.report["weights_bytes"])
    auto = compile_model(
        model, board=BOARD, out_dir=tmp / f"{name}_auto", calib=replace(calib, precision="auto"), flash_budget=budget
    )
    roomy = compile_model(
        model, board=BOARD, out_dir=tmp / f"{name}_roomy", calib=replace(calib, precision="auto")
    )  # the board's budgets: w8a16 where it gains
    uniform_model = tmp / f"{name}_int4.tflite"  # the same calibration, every layer w4a8
    base = quantize_model(
        run_passes(load_model(model)), calib
    )  # method search: refitted, GPTQ-rounded, bias-corrected as auto
    uniform_model.write_bytes(
        write_tflite(base.with_precision({n: "w4a8" for n in choosable_layers(base.float_graph)}).graph)
    )
    uniform = compile_model(uniform_model, board=BOARD, out_dir=tmp / f"{name}_int4")
    rows = []
    for label, result in (
        ("int8", int8),
        ("--precision auto", auto),
        ("uniform int4 weights", uniform),
        ("--precision auto, the board's budgets", roomy),
    ):
        tflite = (
            result.out_dir / f"{result.name}.tflite"
            if (result.out_dir / f"{result.name}.tflite").exists()
            else uniform_model
        )
        got = int8_outputs(tflite, held_out)
        figures = bench(result.out_dir, BOARD)
        exact = verify(
            result.out_dir, BOARD, random_samples(QemuModel.build(result.out_dir, load_board(BOARD)).inputs, 2, seed=0)
        )
        layers = [
            layer
            for layer in result.report["layers"]
            if layer["op"] in ("conv2d", "depthwise_conv2d", "fully_connected")
        ]
        count = Counter(layer["precision"] for layer in layers).__getitem__
        limit = budget if result is not roomy else load_board(BOARD).flash_bytes
        within = (
            "yes"
            if figures["flash_model_bytes"] <= limit and result.report["arena_bytes"] <= load_board(BOARD).sram_bytes
            else "no"
        )
        rows.append(
            f"| {name} | {label} | {count('w4a8')} / {count('w8a16')} of {len(layers)} | "
            f"{result.report['weights_bytes']:,} | {figures['flash_model_bytes']:,} | {limit:,} | {within} | "
            f"{result.report['arena_bytes']:,} | {agreement(reference, got):.1%} | {sqnr_db(reference, got):.1f} | {figures['instructions']:,} | "
            f"{'bit-exact' if exact.mismatches == 0 and exact.max_abs_diff == 0 else 'DIFFERS'} ({exact.oracle}) |"
        )
        print(rows[-1], flush=True)
    rows.append(f"| {name} | target | | | | | | | ≥ {target:.0%} and above uniform int4 | | | |")
    return rows


def mbv2_rows(args, images, tmp: Path) -> list[str]:
    model = MODELS / "keras" / "mbv2_w035_144_float.tflite"
    calib_file = tmp / "mbv2_calib.npy"
    np.save(calib_file, crops(images, min(args.calib, 64), 144, seed=0) / 255.0)
    result = compile_model(
        model,
        board="stm32f411",
        out_dir=tmp / "mbv2_auto",
        calib=Calibration(str(calib_file), method="mse", precision="auto"),
    )
    board = load_board("stm32f411")
    figures = bench(result.out_dir, "stm32f411")
    exact = verify(
        result.out_dir, "stm32f411", random_samples(QemuModel.build(result.out_dir, board).inputs, 2, seed=0)
    )
    q = result.report["quantization"]
    fidelity = q["fidelity_on_calibration_data"]
    row = (
        "| mbv2_w035_144_float → stm32f411, `--precision auto` | "
        f"{sum(p == 'w4a8' for p in q['precision'].values())} w4a8, "
        f"{sum(p == 'w8a16' for p in q['precision'].values())} w8a16 of {len(q['sensitivity'])} layers | "
        f"flash {figures['flash_model_bytes']:,} of {board.flash_bytes:,} (int8 needs "
        f"{q['int8_flash_bytes']:,}) | arena {result.report['arena_bytes']:,} of {board.sram_bytes:,} | "
        f"SQNR {fidelity['sqnr_db']:.1f} dB (calibration crops; random weights) | {figures['instructions']:,} instructions | "
        f"{'bit-exact' if exact.mismatches == 0 and exact.max_abs_diff == 0 else 'DIFFERS'} with {exact.oracle} |"
    )
    print(row, flush=True)
    return [row]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calib", type=int, default=200, help="calibration crops")
    parser.add_argument("--eval", type=int, default=400, help="evaluation crops")
    parser.add_argument(
        "--fraction", type=float, default=0.6, help="weights part of the flash budget, of the int8 weights"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "mixed_precision.md")
    args = parser.parse_args()
    images = photos()
    with tempfile.TemporaryDirectory() as folder:
        rows = [row for name in NETWORKS for row in network_rows(name, args, images, Path(folder))]
        mbv2 = mbv2_rows(args, images, Path(folder))
    lines = [
        "# Mixed precision under flash and SRAM budgets",
        "",
        f"Generated by `python benchmarks/mixed_precision.py --calib {args.calib} --eval {args.eval} "
        f"--fraction {args.fraction}`: calibration on {args.calib} crops",
        f"of scikit-image's photos, evaluation on {args.eval} other crops against the float model (tflite-micro runs each quantized model).",
        f"Board {BOARD} (QEMU mps2-an386); flash budget = the int8 build's code and kernels + {args.fraction:.0%} of its weights;",
        "flash measured by `aiotc bench` (the library's share of the linked image), instructions per inference in QEMU.",
        "",
        "| network | build | w4a8 / w8a16 layers | weights B | flash B (bench) | flash budget B | within | "
        "arena B | top-1 | SQNR dB | instructions | vs oracle |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|",
        *rows,
        "",
        "## mbv2_w035_144_float on stm32f411 (128 KB SRAM, 512 KB flash)",
        "",
        "| model | assignment | flash B | SRAM B | fidelity | speed | exactness |",
        "|---|---|---|---|---|---|---|",
        *mbv2,
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
