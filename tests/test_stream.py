"""--stream: one frame per call, bit-exact with the windowed model on every window.

Each model is compiled twice, windowed and with --stream, and fed frame after frame
for more than two windows (warm-up included: the window starts with zero frames).
Every call's output must equal, byte for byte, the windowed C library's output on the
same window, itself bit-exact with tflite-micro (float: within the numeric contract).
Models: a Keras Conv1D (VALID and SAME along time, converted by TFLite, so time runs
along a one-row image's columns), a 2-D keyword-spotting CNN built here (SAME padding
along time: border rows recomputed), a TCN (causal and dilated Conv1D: TFLite's PAD
folded into the conv, a residual add; int8 and float32), a CNN whose second conv has
stride 2 along time (the head from there on) and MLPerf Tiny's streaming wake-word DS-CNN.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiotc.boards import load_board
from aiotc.driver import compile_model
from aiotc.schema import Stream, Tensor
from aiotc.toolchain.host import HostModel
from aiotc.toolchain.qemu import QemuModel
from aiotc.verification import outputs_match

from .conftest import aiotc, shared_model
from .stream_models import conv1d_model, kws_cnn_model, strided_model, tcn_model
from .test_schema import keys_fit

FRAMES_PER_WINDOW = 2.5  # the test feeds this many windows' frames (str_ww: 3 real ones)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stream_models")
    return {
        "conv1d": conv1d_model(folder / "conv1d.tflite"),
        "kws_cnn": kws_cnn_model(folder / "kws_cnn.tflite"),
        "tcn": tcn_model(folder / "tcn.tflite"),
        "tcn_float": tcn_model(folder / "tcn_float.tflite", int8=False),
        "strided": strided_model(folder / "strided.tflite"),
        "str_ww": shared_model("mlperf_tiny/str_ww_ref_model.tflite"),
    }


def windows(frames: np.ndarray, window: int, zero_point: int) -> list[np.ndarray]:
    """The window after each frame: the last `window` frames, zero frames before the first."""
    padded = np.concatenate([np.full((window - 1, *frames.shape[1:]), zero_point, frames.dtype), frames])
    return [padded[n : n + window] for n in range(len(frames))]


def tflm_outputs(model: Path, inputs: list[np.ndarray]) -> list[np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime

    oracle = runtime.Interpreter.from_file(str(model))
    results = []
    for x in inputs:
        oracle.set_input(x, 0)
        oracle.invoke()
        results.append(np.array(oracle.get_output(0)))
    return results


def real_frames(model: Path) -> np.ndarray | None:
    """str_ww's real spectrograms, one of each label back to back (random frames saturate its softmax)."""
    if model.name != "str_ww_ref_model.tflite":
        return None
    with np.load(model.parent / "calibration_samples.npz") as data:
        specs, labels = data["specs"], data["labels"]
    return np.concatenate([specs[np.flatnonzero(labels == label)[0]] for label in (0, 1, 2)])


def frames_and_expected(model: Path, out: Path) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Frames for 2.5 windows or more, and the windowed model's outputs (aiotc C == tflite-micro) on each window."""
    windowed = HostModel.build(compile_model(model, board="host", out_dir=out / "windowed").out_dir)
    spec = windowed.inputs[0]
    window = spec.shape[1]
    real = real_frames(model)
    if real is not None:
        frames = np.clip(np.round(real / spec.scale) + spec.zero_point, -128, 127).astype(np.int8)
    else:
        rng = np.random.default_rng(7)
        shape = (int(window * FRAMES_PER_WINDOW), *spec.shape[2:])
        frames = (
            rng.standard_normal(shape).astype(np.float32)
            if spec.dtype == "float32"
            else rng.integers(-128, 128, shape, dtype=np.int8)
        )
    inputs = [w.reshape(spec.shape) for w in windows(frames, window, spec.zero_point or 0)]
    expected = [windowed.invoke([x])[0] for x in inputs]
    for step, (got, want) in enumerate(zip(expected, tflm_outputs(model, inputs))):
        ok, diff = outputs_match(got, want)
        assert ok, f"windowed C vs tflite-micro, window {step}: {diff}"
    assert len({e.tobytes() for e in expected}) > 10, "outputs should change with the window"
    return [f.reshape(1, 1, *f.shape) for f in frames], expected


@pytest.mark.parametrize("name", ["conv1d", "kws_cnn", "tcn", "tcn_float", "strided", "str_ww"])
def test_stream_equals_windowed_model_on_every_window(name, models, tmp_path):
    frames, expected = frames_and_expected(models[name], tmp_path)
    stream = HostModel.build(
        compile_model(models[name], board="host", out_dir=tmp_path / "stream", stream=True).out_dir
    )
    assert stream.stateful and stream.inputs[0].shape[1] == 1
    for step, frame in enumerate(frames):
        np.testing.assert_array_equal(stream.invoke([frame])[0], expected[step], err_msg=f"frame {step}")
    stream.reset()  # forgets the frames: the window is zero frames again
    for step, frame in enumerate(frames[:3]):
        np.testing.assert_array_equal(stream.invoke([frame])[0], expected[step], err_msg=f"after reset, frame {step}")


@pytest.mark.qemu
def test_stream_on_cortex_m4(models, tmp_path):
    frames, expected = frames_and_expected(models["kws_cnn"], tmp_path)
    out = compile_model(models["kws_cnn"], board="cortex-m4", out_dir=tmp_path / "stream", stream=True).out_dir
    got = QemuModel.build(out, load_board("cortex-m4")).invoke_sequence([[f] for f in frames])
    for step, outputs in enumerate(got):
        np.testing.assert_array_equal(outputs[0], expected[step], err_msg=f"frame {step}")


def test_models_that_cannot_stream_are_refused_by_layer(tmp_path):
    kws = shared_model("mlperf_tiny/kws_ref_model.tflite")
    result = aiotc("compile", str(kws), "--stream", "-o", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and "has stride 2 along time" in result.stderr
    assert "conv2d" in result.stderr and "Traceback" not in result.stderr
    ad = shared_model("mlperf_tiny/ad01_int8.tflite")
    result = aiotc("compile", str(ad), "--stream", "-o", str(tmp_path / "ad"))
    assert result.returncode == 2 and "1 x T x F" in result.stderr, result.stderr


def test_verify_and_report_take_whole_windows(models, tmp_path):
    """verify feeds each window's frames to the --stream library (sanitized) and compares the last output."""
    result = aiotc("verify", str(models["conv1d"]), "--stream", "--samples", "4", "--sanitize")
    assert result.returncode == 0 and "bit-exact: 4/4" in result.stdout, result.stdout + result.stderr
    report = compile_model(models["conv1d"], board="host", out_dir=tmp_path / "out", stream=True).report
    assert keys_fit(report["stream"], Stream) and keys_fit(report["stream"]["window_input"], Tensor)
    assert report["stream"]["window"] == 32 and report["inputs"][0]["shape"] == [1, 1, 8]
    assert report["state_bytes"] >= sum(report["stream"]["kept_rows"].values())
