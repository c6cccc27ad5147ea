"""Post-training quantization of recurrent models the project builds itself: float vs int8.

    python benchmarks/rnn_ptq.py [--calib 100] [--eval 300] [--method search]

Four small sequence classifiers, trained here for 12 epochs on synthetic data whose
class is the frequency of noisy sine tracks (random but structured, like MFCC or
accelerometer frames): a Keras LSTM and GRU (the TFLite converter writes each as a WHILE
loop, which aiotc unrolls), and a PyTorch GRU and LSTM exported to ONNX (aiotc unrolls the
node). Each is compiled with `--calib` on `--calib` training sequences, then on `--eval`
held-out ones the int8 model (its exported .tflite in tflite-micro) is compared with the
float one (tflite-micro / onnxruntime): top-1 agreement, output SQNR, and each model's accuracy.
The compiled C is checked bit-exact with tflite-micro on 20 random inputs, and the time
of the whole compile (PTQ included) is given. Writes benchmarks/rnn_ptq.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # not benchmarks/: its profile.py would shadow the one TensorFlow imports

from aiotc.driver import compile_model  # noqa: E402
from aiotc.quantize import Calibration  # noqa: E402
from aiotc.quantize.fidelity import sqnr_db  # noqa: E402
from aiotc.samples import random_samples  # noqa: E402
from aiotc.verification import build_runner, verify  # noqa: E402
from benchmarks.ptq_fidelity import agreement, float_outputs, int8_outputs  # noqa: E402

EPOCHS = 12
NOTES = [
    "An unrolled LSTM keeps its cell state between steps in an int8 tensor (the fused",
    "UNIDIRECTIONAL_SEQUENCE_LSTM keeps it int16), one candidate for the keyword LSTM's lower SQNR; which tensor",
    "loses most is in each report.json's per-layer SQNR. The compile time is mostly the range search: a trial",
    "per body tensor and clipping (the steps of a tensor are one unit), each writing the unrolled graph and",
    "loading it in LiteRT (about 0.4 s at 49 steps).",
    "",
]
# name -> (framework, cell, steps, features, classes, units)
MODELS = {
    "keyword_lstm_keras": ("keras", "LSTM", 49, 10, 12, 32),
    "gesture_gru_keras": ("keras", "GRU", 128, 3, 4, 24),
    "keyword_gru_torch": ("torch", "GRU", 49, 10, 12, 32),
    "gesture_lstm_torch": ("torch", "LSTM", 128, 3, 4, 24),
}


def dataset(count: int, steps: int, features: int, classes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sequences whose class sets the sines' frequency; phase, amplitude and noise vary."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(classes, size=count)
    frequency = (0.02 + 0.4 * labels / classes)[:, None, None] * rng.uniform(0.97, 1.03, (count, 1, features))
    phase = rng.uniform(0, 2 * np.pi, (count, 1, features))
    amplitude = rng.uniform(0.5, 1.5, (count, 1, features))
    t = np.arange(steps)[None, :, None]
    x = amplitude * np.sin(2 * np.pi * frequency * t + phase) + 0.3 * rng.standard_normal((count, steps, features))
    return x.astype(np.float32), labels


def keras_model(path: Path, cell: str, shape, classes: int, units: int, x, y) -> None:
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape, batch_size=None)
    hidden = getattr(keras.layers, cell)(units)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(classes, activation="softmax")(hidden))
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=EPOCHS, batch_size=32, verbose=0)
    fixed = keras.Model(*(lambda i: (i, model(i)))(keras.Input(shape, batch_size=1)))
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(fixed).convert())


def torch_model(path: Path, cell: str, shape, classes: int, units: int, x, y) -> None:
    import torch

    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(torch.nn, cell)(shape[1], units, batch_first=True)
            self.fc = torch.nn.Linear(units, classes)

        def forward(self, inputs):
            return self.fc(self.rnn(inputs)[0][:, -1, :])

    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), 1e-2)
    xs, ys = torch.from_numpy(x), torch.from_numpy(y)
    for _ in range(EPOCHS):
        for i in range(0, len(xs), 32):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(xs[i : i + 32]), ys[i : i + 32]).backward()
            optimizer.step()
    torch.onnx.export(net.eval(), xs[:1], str(path), dynamo=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calib", type=int, default=100)
    parser.add_argument("--eval", type=int, default=300)
    parser.add_argument("--method", default="search", choices=["search", "mse", "minmax"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "rnn_ptq.md")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models:
            framework, cell, steps, features, classes, units = MODELS[name]
            x, y = dataset(1500, steps, features, classes, seed=0)
            held_out, labels = dataset(args.eval, steps, features, classes, seed=1)
            model = Path(tmp) / f"{name}.{'tflite' if framework == 'keras' else 'onnx'}"
            (keras_model if framework == "keras" else torch_model)(model, cell, (steps, features), classes, units, x, y)
            calib = Path(tmp) / f"{name}_calib.npy"
            np.save(calib, x[: args.calib, None])
            start = time.perf_counter()
            result = compile_model(model, out_dir=Path(tmp) / name, calib=Calibration(str(calib), method=args.method))
            seconds = time.perf_counter() - start
            runner = build_runner(result.out_dir, "host")
            check = verify(result.out_dir, "host", random_samples(runner.inputs, 20, 1), runner=runner)
            reference = float_outputs(model, held_out).reshape(args.eval, -1)
            ours = int8_outputs(result.out_dir / f"{result.name}.tflite", held_out).reshape(args.eval, -1)
            rows.append(
                (
                    name,
                    f"{framework} {cell}({units}), {steps}x{features} -> {classes}",
                    float(np.mean(reference.argmax(-1) == labels)),
                    float(np.mean(ours.argmax(-1) == labels)),
                    agreement(reference, ours),
                    sqnr_db(reference, ours),
                    "yes" if check.mismatches == 0 and check.oracle == "tflite-micro" else f"NO ({check.mismatches})",
                    seconds,
                    result.report["weights_bytes"],
                    result.report["arena_bytes"],
                )
            )
            print(rows[-1], flush=True)
    lines = [
        "# Post-training quantization of recurrent models",
        "",
        f"Generated by `python benchmarks/rnn_ptq.py --calib {args.calib} --eval {args.eval} --method {args.method}`:",
        "models trained here for 12 epochs on synthetic sequences (class = the frequency of noisy sine tracks),",
        f"calibrated on {args.calib} training sequences, compared on {args.eval} held-out ones: the int8 model",
        "(its exported .tflite in tflite-micro, which the C matches bit for bit) against the float model",
        "(tflite-micro / onnxruntime). Compile time is the whole `compile --calib` (PTQ, code generation) on this",
        "machine's shared cores; bit-exact: the host C against tflite-micro on 20 random inputs.",
        "",
        "| model | network | float accuracy | int8 accuracy | top-1 agreement | output SQNR dB | bit-exact | compile s | weights B | arena B |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
        *(
            f"| {n} | {d} | {fa:.1%} | {qa:.1%} | {t:.1%} | {s:.1f} | {b} | {sec:.0f} | {w} | {a} |"
            for n, d, fa, qa, t, s, b, sec, w, a in rows
        ),
        "",
        *NOTES,
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {os.path.relpath(args.out)}")


if __name__ == "__main__":
    main()
