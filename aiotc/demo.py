"""`make demo`: a model aiotc makes itself, compiled, run and checked — no download.

The model tells flat images from vertical and horizontal stripes: a 3x3 conv with
Sobel filters (int8, per-channel), ReLU, a global average pool, a fully connected
layer and softmax. Its weights are designed, not trained, so what it predicts can
be checked by eye. It is written as a .tflite with aiotc's own writer, so
tflite-micro can be the oracle.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .export.tflite import write_tflite
from .ir import Conv2D, FullyConnected, Graph, NoAttrs, Op, Padding, Pool2D, Quant, Softmax, Tensor

SIDE = 32
CLASSES = ("flat", "vertical stripes", "horizontal stripes")


def _quant(scale: float | list[float], zero_point: int = 0, axis: int | None = None) -> Quant:
    scales = np.atleast_1d(np.asarray(scale, dtype=np.float32))
    return Quant(scales, np.full(scales.shape, zero_point, dtype=np.int64), axis)


def stripes_model() -> Graph:
    """The demo classifier as an int8 IR graph (TFLite quantization spec)."""
    sobel_x = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float32)
    filters = np.stack([sobel_x, -sobel_x, sobel_x.T, -sobel_x.T])[..., None]  # OHWI, 4x3x3x1
    w_scale = 2.0 / 127
    in_scale, feat_scale, logit_scale = 1.0 / 255, 4.0 / 255, 8.0 / 255
    # logits: flat = 1 - (v + h), vertical = v - h, horizontal = h - v, with v, h the edge energies
    fc = np.array([[-1, -1, -1, -1], [1, 1, -1, -1], [-1, -1, 1, 1]], dtype=np.float32)
    fc_bias = np.array([1.0, 0.0, 0.0]) / (feat_scale * (1.0 / 127))
    t = [
        Tensor("image", (1, SIDE, SIDE, 1), "int8", _quant(in_scale, -128)),
        Tensor(
            "sobel/weights",
            filters.shape,
            "int8",
            _quant([w_scale] * 4, 0, axis=0),
            np.round(filters / w_scale).astype(np.int8),
        ),
        Tensor("sobel/bias", (4,), "int32", _quant([in_scale * w_scale] * 4, 0, axis=0), np.zeros(4, np.int32)),
        Tensor("edges", (1, SIDE, SIDE, 4), "int8", _quant(feat_scale, -128)),
        Tensor("energy", (1, 1, 1, 4), "int8", _quant(feat_scale, -128)),
        Tensor("energy/flat", (1, 4), "int8", _quant(feat_scale, -128)),
        Tensor("classify/weights", fc.shape, "int8", _quant(1.0 / 127), np.round(fc * 127).astype(np.int8)),
        Tensor("classify/bias", (3,), "int32", _quant(feat_scale / 127), np.round(fc_bias).astype(np.int32)),
        Tensor("logits", (1, 3), "int8", _quant(logit_scale, 0)),
        Tensor("probabilities", (1, 3), "int8", _quant(1.0 / 256, -128)),
    ]
    ops = [
        Op(
            "edges",
            "conv2d",
            ("image", "sobel/weights", "sobel/bias"),
            ("edges",),
            Conv2D(padding=Padding(1, 1, 1, 1), activation="relu"),
        ),
        Op("energy", "avg_pool2d", ("edges",), ("energy",), Pool2D(kernel=(SIDE, SIDE), stride=(SIDE, SIDE))),
        Op("energy/flat", "reshape", ("energy",), ("energy/flat",), NoAttrs()),
        Op(
            "logits",
            "fully_connected",
            ("energy/flat", "classify/weights", "classify/bias"),
            ("logits",),
            FullyConnected(),
        ),
        Op("probabilities", "softmax", ("logits",), ("probabilities",), Softmax()),
    ]
    graph = Graph("stripes", {x.name: x for x in t}, tuple(ops), ("image",), ("probabilities",))
    graph.validate()
    return graph


def test_images() -> dict[str, np.ndarray]:
    """Real-valued images in [0, 1], one per class, with a little noise."""
    rng = np.random.default_rng(7)
    cols = np.arange(SIDE)
    stripes = ((cols // 2) % 2).astype(np.float32)
    images = {
        "flat": np.full((SIDE, SIDE), 0.5, np.float32),
        "vertical stripes": np.tile(stripes, (SIDE, 1)),
        "horizontal stripes": np.tile(stripes[:, None], (1, SIDE)),
    }
    return {
        k: np.clip(v + rng.normal(0, 0.03, v.shape), 0, 1).astype(np.float32).reshape(1, SIDE, SIDE, 1)
        for k, v in images.items()
    }


def main(workdir: Path = Path("demo_out")) -> int:
    from .boards import load_board
    from .driver import compile_model
    from .samples import quantize_input, random_samples
    from .summary import out_console, print_summary
    from .toolchain.host import HostModel
    from .verification import verify

    console = out_console(markup=True)
    workdir.mkdir(exist_ok=True)
    model_path = workdir / "stripes.tflite"
    model_path.write_bytes(write_tflite(stripes_model()))
    console.print(f"[bold]1. made {model_path}[/] (int8 CNN: conv 3x3 Sobel -> avg pool -> fully connected -> softmax)")

    console.print(f"[bold]2. aiotc compile {model_path} --board host -o {workdir / 'stripes'}[/]")
    result = compile_model(model_path, board="host", out_dir=workdir / "stripes")
    print_summary(result.report, load_board("host"), console)

    console.print("[bold]3. run the generated C (gcc, host) on three images[/]")
    model = HostModel.build(result.out_dir)
    correct = 0
    for truth, image in test_images().items():
        (probs,) = model.invoke([quantize_input(image, model.inputs[0])])
        predicted = CLASSES[int(np.argmax(probs))]
        correct += predicted == truth
        shares = ", ".join(f"{c} {(int(p) + 128) / 256:.2f}" for c, p in zip(CLASSES, probs.ravel()))
        console.print(f"   {truth:18s} -> predicted [bold]{predicted}[/]  ({shares})")

    console.print("[bold]4. verify against tflite-micro on 20 random inputs[/]")
    check = verify(result.out_dir, "host", random_samples(model.inputs, 20), runner=model)
    console.print(f"   {check.samples - check.mismatches}/{check.samples} bit-exact with {check.oracle}")
    return 0 if correct == len(CLASSES) and check.ok else 1


if __name__ == "__main__":
    sys.exit(main())
