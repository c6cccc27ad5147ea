"""WHILE loops with a trip count known at compile time, unrolled in the frontend: the
TFLite converter writes a Keras LSTM or GRU (not unrolled) as a WHILE over the time
steps whose condition reads only counters, and its body's ops then compile as any others.
"""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.driver import compile_model
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel

from .conftest import verify_folder


def keras_model(path, *layers, steps=6, features=5):
    """A Keras sequence model (random weights) converted float32 by the TFLite converter."""
    keras = pytest.importorskip("keras")
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    x = inputs = keras.Input((steps, features), batch_size=1)
    for layer in layers:
        x = layer(x)
    path.write_bytes(tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, x)).convert())
    return path


def recurrent_layers(name):
    from keras import layers as L

    return {
        "gru": [L.GRU(8), L.Dense(3, activation="softmax")],
        "lstm": [L.LSTM(7), L.Dense(4)],
        "gru_reset_after_false": [L.GRU(6, reset_after=False), L.Dense(2)],
    }[name]


@pytest.mark.parametrize("name", ["gru", "lstm", "gru_reset_after_false"])
def test_keras_rnn_while_loops_unroll(name, tmp_path):
    model = keras_model(tmp_path / f"{name}.tflite", *recurrent_layers(name))
    result = compile_model(model, board="host", out_dir=tmp_path / "out")
    assert {layer["op"] for layer in result.report["layers"]} >= {"fully_connected", "logistic", "tanh"}
    check = verify_folder(result.out_dir, samples=3)
    assert check.oracle == "tflite-micro" and check.mismatches == 0, check


def test_stacked_lstm_with_sequences_matches_litert(tmp_path):
    """return_sequences writes each step into a list (SLICE and CONCATENATION around the
    step's index): tflite-micro's outputs for it are wrong (near uniform), so the float
    reference here is LiteRT."""
    from ai_edge_litert.interpreter import Interpreter
    from keras import layers as L

    model = keras_model(tmp_path / "stacked.tflite", L.LSTM(6, return_sequences=True), L.LSTM(5), L.Dense(3))
    runner = HostModel.build(compile_model(model, board="host", out_dir=tmp_path / "out").out_dir)
    litert = Interpreter(model_path=str(model))
    litert.allocate_tensors()
    for sample in random_samples(runner.inputs, 3, seed=2):
        litert.set_tensor(litert.get_input_details()[0]["index"], sample[0])
        litert.invoke()
        want = litert.get_tensor(litert.get_output_details()[0]["index"])
        got = runner.invoke(sample)[0]
        np.testing.assert_allclose(got, want, atol=1e-5 * max(np.ptp(want), 1e-3), rtol=0)
