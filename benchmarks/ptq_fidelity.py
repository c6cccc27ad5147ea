"""Post-training quantization fidelity on real photos: aiotc's int8 vs the float model.

    python benchmarks/ptq_fidelity.py [--calib 200] [--eval 500] [--method mse] [--networks pretrainedResnet]

The trained float models (vww_96_float and pretrainedResnet, .onnx and .tflite) are
calibrated on random crops of scikit-image's sample photos and evaluated on other
crops of them: top-1 agreement with the float model and output SQNR, for aiotc's
int8 model (run in tflite-micro, which the generated C matches bit for bit) and for
the TFLite converter's own int8 model of the same network (the shared
vww_96_int8 / pretrainedResnet_quant) on the same inputs. Writes
benchmarks/ptq_fidelity.md. Not a test: the targets are figures to reach.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
sys.path.insert(0, str(ROOT))

from aiotc.driver import export_model  # noqa: E402
from aiotc.oracle import run_oracle  # noqa: E402
from aiotc.quantize import Calibration  # noqa: E402
from aiotc.quantize.fidelity import sqnr_db  # noqa: E402

# name -> (float models, the converter's int8 model, input size, pixel scale: input = pixels / scale, targets)
NETWORKS = {
    "vww_96": (
        ["onnx/vww_96_float.onnx", "mlperf_tiny/vww_96_float.tflite"],
        "mlperf_tiny/vww_96_int8.tflite",
        96,
        255.0,
        (0.98, 25.0),
    ),
    "pretrainedResnet": (
        ["onnx/pretrainedResnet.onnx", "mlperf_tiny/pretrainedResnet.tflite"],
        "mlperf_tiny/pretrainedResnet_quant.tflite",
        32,
        1.0,
        (0.95, 20.0),
    ),
}


def photos() -> list[np.ndarray]:
    """scikit-image's sample photos as RGB uint8 arrays (grayscale ones repeated to 3 channels)."""
    import skimage
    from PIL import Image

    folder = Path(skimage.__file__).parent / "data"
    images = []
    for path in sorted(folder.glob("*.png")):
        with Image.open(path) as image:
            images.append(np.asarray(image.convert("RGB")))
    return images


def crops(images: list[np.ndarray], count: int, size: int, seed: int) -> np.ndarray:
    """Random square crops (30-100% of the shorter side) resized to size x size, as float pixels."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = np.empty((count, size, size, 3), np.float32)
    for i in range(count):
        image = images[rng.integers(len(images))]
        h, w = image.shape[:2]
        side = int(rng.uniform(0.3, 1.0) * min(h, w))
        top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
        patch = Image.fromarray(image[top : top + side, left : left + side]).resize((size, size), Image.BILINEAR)
        out[i] = np.asarray(patch, np.float32)
    return out


def float_outputs(model: Path, inputs: np.ndarray) -> np.ndarray:
    return np.stack([run_oracle(model, [x[None]]).outputs[0][0] for x in inputs])


def int8_outputs(model: Path, inputs: np.ndarray) -> np.ndarray:
    """Real-valued outputs of an int8 .tflite in tflite-micro, inputs quantized with its own parameters."""
    from aiotc.frontend.tflite import load_tflite

    graph = load_tflite(model)
    x, y = graph[graph.inputs[0]], graph[graph.outputs[0]]
    outs = []
    for sample in inputs:
        scaled = sample / x.quant.scale[0]
        q = np.clip(np.sign(scaled) * np.floor(np.abs(scaled) + 0.5) + x.quant.zero_point[0], -128, 127).astype(np.int8)
        raw = run_oracle(model, [q[None]]).outputs[0][0]
        outs.append((raw.astype(np.float32) - y.quant.zero_point[0]) * y.quant.scale[0])
    return np.stack(outs)


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(a.argmax(-1) == b.argmax(-1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calib", type=int, default=200, help="calibration crops")
    parser.add_argument("--eval", type=int, default=500, help="evaluation crops")
    parser.add_argument("--method", default="search", choices=["search", "mse", "minmax"])
    parser.add_argument(
        "--networks",
        nargs="+",
        default=list(NETWORKS),
        choices=list(NETWORKS),
        help="networks to measure (while iterating)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "ptq_fidelity.md")
    args = parser.parse_args()
    images = photos()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.networks:
            float_models, converter_model, size, pixel_scale, (min_top1, min_sqnr) = NETWORKS[name]
            calib = crops(images, args.calib, size, seed=0) / pixel_scale
            held_out = crops(images, args.eval, size, seed=1) / pixel_scale
            calib_file = Path(tmp) / f"{name}_calib.npy"
            np.save(calib_file, calib)
            baseline = None
            for relative in float_models:
                model = MODELS / relative
                reference = float_outputs(model, held_out)
                if baseline is None:
                    converter = int8_outputs(MODELS / converter_model, held_out)
                    baseline = (agreement(reference, converter), sqnr_db(reference, converter))
                    rows.append((name, converter_model.split("/")[-1] + " (TFLite converter)", *baseline, ""))
                quantized = Path(tmp) / f"{model.stem}_{model.suffix[1:]}_int8.tflite"
                export_model(model, quantized, Calibration(str(calib_file), method=args.method))
                ours = int8_outputs(quantized, held_out)
                top1, sqnr = agreement(reference, ours), sqnr_db(reference, ours)
                verdict = (
                    "meets"
                    if top1 >= min_top1 and sqnr >= min_sqnr and top1 >= baseline[0] and sqnr >= baseline[1]
                    else "MISSES"
                )
                rows.append(
                    (
                        name,
                        f"{relative.split('/')[-1]} → aiotc int8",
                        top1,
                        sqnr,
                        f"{verdict} ≥{min_top1:.0%} / ≥{min_sqnr:g} dB and the converter",
                    )
                )
                print(rows[-1], flush=True)
    lines = [
        "# Post-training quantization fidelity on photos",
        "",
        f"Generated by `python benchmarks/ptq_fidelity.py --calib {args.calib} --eval {args.eval} --method {args.method}`: calibration on {args.calib} random",
        f"crops of scikit-image's sample photos, evaluation on {args.eval} other crops; agreement and SQNR of the int8 model's",
        "real-valued outputs against the float model's (onnxruntime / ai-edge-litert). aiotc's int8 models run in tflite-micro,",
        "which the generated C matches bit for bit.",
        "",
        "| network | model | top-1 agreement | output SQNR dB | target |",
        "|---|---|---:|---:|---|",
        *(f"| {n} | {m} | {t:.1%} | {s:.1f} | {v} |" for n, m, t, s, v in rows),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
