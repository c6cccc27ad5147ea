"""`aiotc search` over a MobileNetV2 family: 3 widths x 3 resolutions, two boards.

    python benchmarks/search.py [--epochs 6] [--skip-ray]

The candidates are Keras MobileNetV2s (alpha 0.35 / 0.5 / 0.75 at 32 / 48 / 64 pixels,
10 classes) trained briefly from scratch on scikit-learn's handwritten digits (the 8x8
images the package ships, upscaled; 80% train, the rest held out), saved as float
.tflite. Each board's sweep quantizes every candidate on 64 training digits, scores it on
200 held-out digits (accuracy), benches it in QEMU and picks the most accurate one that
fits the board's flash and SRAM. The first board's sweep runs three times on empty caches
(1 worker, 2 workers, a local Ray instance) for the wall times and to show that the three
give the same table. Writes benchmarks/search.md and search_BOARD.svg. Not a test: the
figures are measurements (needs scikit-learn).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/profile.py would shadow the standard library's (TensorFlow imports cProfile)
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks")]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aiotc-bench" / "search"
ALPHAS, SIDES, CLASSES = (0.35, 0.5, 0.75), (32, 48, 64), 10
BOARDS = ("nucleo-f412zg", "stm32f746g-disco")


def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits in [0, 1], shuffled once, split 80/20."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)[..., None]
    order = np.random.default_rng(0).permutation(len(images))
    images, labels = images[order], data.target[order]
    cut = int(0.8 * len(images))
    return images[:cut], labels[:cut], images[cut:], labels[cut:]


def upscaled(images: np.ndarray, side: int) -> np.ndarray:
    import tensorflow as tf

    return tf.image.resize(images, (side, side), method="bilinear").numpy()


def build_family(folder: Path, epochs: int) -> dict[str, float]:
    """The candidates as float .tflite files (kept between runs) and their float accuracy."""
    import tensorflow as tf

    train_x, train_y, test_x, test_y = digits()
    accuracy = {}
    folder.mkdir(parents=True, exist_ok=True)
    for alpha in ALPHAS:
        for side in SIDES:
            name = f"mbv2_a{int(alpha * 100):03d}_r{side}"
            path = folder / f"{name}.tflite"
            marker = folder / f"{name}.accuracy"
            if path.is_file() and marker.is_file():
                accuracy[name] = float(marker.read_text())
                continue
            tf.keras.utils.set_random_seed(0)
            model = tf.keras.applications.MobileNetV2(
                input_shape=(side, side, 1), alpha=alpha, weights=None, classes=CLASSES
            )
            for layer in model.layers:  # Keras' 0.999 leaves the moving statistics untrained after a few epochs
                if isinstance(layer, tf.keras.layers.BatchNormalization):
                    layer.momentum = 0.9
            model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
            model.fit(upscaled(train_x, side), train_y, batch_size=32, epochs=epochs, verbose=0)
            accuracy[name] = float(model.evaluate(upscaled(test_x, side), test_y, verbose=0)[1])
            fixed = tf.keras.Sequential([tf.keras.Input((side, side, 1), batch_size=1), model])
            path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(fixed).convert())
            marker.write_text(f"{accuracy[name]}\n")
            print(f"{name}: float accuracy {accuracy[name]:.3f}", flush=True)
    return accuracy


def data(folder: Path) -> tuple[Path, Path]:
    """64 training digits as 64x64 PNGs (calibration) and the held-out ones as .npz with labels."""
    from PIL import Image

    train_x, _, test_x, test_y = digits()
    calib = folder / "calib"
    calib.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(upscaled(train_x[:64], max(SIDES))):
        Image.fromarray((image[..., 0] * 255).round().astype(np.uint8)).save(calib / f"{i:03d}.png")
    evaluation = folder / "eval.npz"
    np.savez(evaluation, images=upscaled(test_x, max(SIDES)), labels=test_y)
    return calib, evaluation


def sweep(family: Path, board: str, calib: Path, evaluation: Path, out: Path, *how: str) -> tuple[float, str]:
    """One `aiotc search` on an empty cache: (wall seconds, the table it printed)."""
    cache = out.parent / f"{out.name}-cache"
    shutil.rmtree(cache, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    command = [sys.executable, "-m", "aiotc", "search", str(family), "--board", board, "--calib", str(calib)]
    command += ["--std", "255", "--calib-method", "mse", "--eval", str(evaluation), "--samples", "200"]
    command += ["-o", str(out), "--cache", str(cache), *how]
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True, env=os.environ | {"PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise SystemExit(f"aiotc search failed ({' '.join(how)}):\n{run.stderr}")
    return seconds, run.stdout.split("\nbest:")[0].strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--skip-ray", action="store_true")
    args = parser.parse_args()
    family = CACHE / "models"
    accuracy = build_family(family, args.epochs)
    calib, evaluation = data(CACHE)
    lines = [
        "# `aiotc search`: a MobileNetV2 family on two boards",
        "",
        "Generated by `python benchmarks/search.py`. " + __doc__.split("\n\n")[2].replace("\n", " "),
        "",
        "Float accuracy of each candidate on the held-out digits (Keras): "
        + ", ".join(f"{name} {value:.3f}" for name, value in sorted(accuracy.items())),
        "",
    ]
    for index, board in enumerate(BOARDS):
        out = CACHE / board
        runs = {"2 workers": sweep(family, board, calib, evaluation, out, "--jobs", "2")}
        if index == 0:
            runs["1 worker"] = sweep(family, board, calib, evaluation, CACHE / f"{board}-1", "--jobs", "1")
            if not args.skip_ray:
                runs["Ray (local)"] = sweep(family, board, calib, evaluation, CACHE / f"{board}-ray", "--ray", "local")
        table = runs["2 workers"][1]
        same = all(t.replace(str(CACHE), "") == table.replace(str(CACHE), "") for _, t in runs.values())
        shutil.copy(out / "search.svg", ROOT / "benchmarks" / f"search_{board}.svg")
        lines += [f"## {board}", "", table, "", f"![Pareto front](search_{board}.svg)", ""]
        lines.append(
            "Wall time of the whole sweep on an empty search cache (aiotc's C build cache warm): "
            + ", ".join(f"{how} {seconds:.0f} s" for how, (seconds, _) in runs.items())
            + (f"; the {len(runs)} runs print the same table." if len(runs) > 1 and same else ".")
        )
        if not same:
            lines.append("**The runs printed different tables.**")
        lines.append("")
    (ROOT / "benchmarks" / "search.md").write_text("\n".join(lines))
    print("wrote benchmarks/search.md")


if __name__ == "__main__":
    main()
