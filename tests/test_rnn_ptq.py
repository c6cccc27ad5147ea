"""Post-training quantization of recurrent models: a float UNIDIRECTIONAL_SEQUENCE_LSTM to
tflite-micro's integer LSTM (int16 cell state), and unrolled RNNs (a Keras LSTM or GRU
converted as a WHILE loop, PyTorch GRU/LSTM/RNN exported to ONNX) as fully connected and
elementwise layers. Each int8 C is bit-exact with tflite-micro running the exported
model, and stays near the float model on the calibration data.
"""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.frontend.tflite import load_tflite
from aiotc.quantize import Calibration

from .conftest import aiotc, assert_bit_exact, assert_sequence_matches, verify_folder
from .test_control_flow import keras_model
from .test_lstm import lstm_graph
from .test_svdf import svdf_graph


def sequences(count: int, steps: int, features: int, seed: int = 0) -> np.ndarray:
    """Random but structured sequences [count, steps, features]: per feature a sine of random
    frequency, phase and amplitude plus a little noise (accelerometer- or MFCC-like tracks)."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)[None, :, None]
    frequency = rng.uniform(0.02, 0.3, (count, 1, features))
    phase = rng.uniform(0, 2 * np.pi, (count, 1, features))
    amplitude = rng.uniform(0.3, 1.5, (count, 1, features))
    noise = 0.1 * rng.standard_normal((count, steps, features))
    return (amplitude * np.sin(2 * np.pi * frequency * t + phase) + noise).astype(np.float32)


def calibrate(model, shape, tmp_path, method="search"):
    calib = tmp_path / "calib.npy"
    np.save(calib, sequences(24, shape[-2], shape[-1]).reshape(24, *shape))
    return compile_model(model, out_dir=tmp_path / "out", calib=Calibration(str(calib), method=method))


def test_float_lstm_quantizes_to_the_integer_lstm(tmp_path):
    model = tmp_path / "lstm.tflite"
    model.write_bytes(write_tflite(lstm_graph("float32", time_steps=8, features=6, units=12)))
    result = calibrate(model, (1, 8, 6), tmp_path)
    op = next(op for op in result.graph.ops if op.kind == "lstm")
    cell, hidden = result.graph[op.inputs[19]], result.graph[op.inputs[18]]
    assert cell.dtype == "int16" and np.log2(cell.quant.scale[0]).is_integer() and cell.quant.zero_point[0] == 0
    assert hidden.dtype == "int8" and hidden.quant == result.graph[op.outputs[0]].quant
    assert all(result.graph[op.inputs[i]].quant.scale.size == 1 for i in range(1, 9))  # per tensor
    assert result.report["quantization"]["fidelity_on_calibration_data"]["sqnr_db"] > 25
    assert_bit_exact(verify_folder(result.out_dir, samples=4))
    exported = result.out_dir / f"{result.name}.tflite"
    assert load_tflite(exported).state == result.graph.state
    assert_sequence_matches(exported, tmp_path / "again", steps=10)  # the int8 state carried across invokes


KERAS = {
    "lstm": lambda L: [L.LSTM(8), L.Dense(4, activation="softmax")],
    "gru": lambda L: [L.GRU(8), L.Dense(4, activation="softmax")],
}


@pytest.mark.parametrize("name", KERAS)
def test_keras_rnn_quantizes_as_layers(name, tmp_path):
    from keras import layers

    model = keras_model(tmp_path / f"{name}.tflite", *KERAS[name](layers), steps=10, features=3)
    result = calibrate(model, (1, 10, 3), tmp_path, method="mse")
    fidelity = result.report["quantization"]["fidelity_on_calibration_data"]
    assert fidelity["sqnr_db"] > 20 and fidelity["top1_agreement"] >= 0.9, fidelity
    gates = 4 if name == "lstm" else 3
    recurrent = [t for t in result.graph.tensors.values() if t.is_const and t.shape == (gates * 8, 8)]
    assert len(recurrent) == 1 and recurrent[0].dtype == "int8"  # every step reads one int8 copy
    assert_bit_exact(verify_folder(result.out_dir, samples=4))


@pytest.mark.parametrize("kind", ["GRU", "LSTM", "RNN"])
def test_pytorch_rnn_through_onnx_quantizes(kind, tmp_path):
    torch = pytest.importorskip("torch")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = getattr(torch.nn, kind)(3, 10, batch_first=True)
            self.fc = torch.nn.Linear(10, 4)

        def forward(self, x):
            return self.fc(self.rnn(x)[0][:, -1, :])

    torch.manual_seed(0)
    path = tmp_path / f"{kind}.onnx"
    torch.onnx.export(Net().eval(), torch.randn(1, 12, 3), str(path), dynamo=False)
    result = calibrate(path, (1, 12, 3), tmp_path, method="mse")
    fidelity = result.report["quantization"]["fidelity_on_calibration_data"]
    assert fidelity["sqnr_db"] > 20 and fidelity["top1_agreement"] >= 0.9, fidelity
    check = verify_folder(result.out_dir, samples=4)
    assert_bit_exact(check)


def test_quantizing_an_svdf_is_refused(tmp_path):
    model = tmp_path / "svdf.tflite"
    model.write_bytes(write_tflite(svdf_graph("float32", units=4, rank=1, memory=3)))
    result = aiotc("compile", model, "--calib", "random", "-o", tmp_path / "out")
    assert result.returncode == 2 and "cannot quantize it yet" in result.stderr and not (tmp_path / "out").exists()
