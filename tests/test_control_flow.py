"""WHILE loops with a trip count known at compile time, unrolled in the frontend: the
TFLite converter writes a Keras LSTM or GRU (not unrolled) as a WHILE over the time
steps whose condition reads only counters, and its body's ops then compile as any others.
"""

from __future__ import annotations

import pytest

from aiotc.driver import compile_model

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
    assert check.oracle == "litert-ref" and check.mismatches == 0, check


def test_stacked_lstm_with_sequences_verifies_against_litert(tmp_path):
    """return_sequences writes each step into a list (SLICE and CONCATENATION around the
    step's index): tflite-micro's outputs for it are wrong (near uniform: its WHILE leaves
    most rows of the list unwritten), LiteRT's reference kernels agree with the C, and
    verify takes LiteRT, the float oracle of the numeric contract."""
    from keras import layers as L

    model = keras_model(tmp_path / "stacked.tflite", L.LSTM(6, return_sequences=True), L.LSTM(5), L.Dense(3))
    check = verify_folder(compile_model(model, board="host", out_dir=tmp_path / "out").out_dir, samples=3, seed=2)
    assert check.oracle == "litert-ref" and check.mismatches == 0, check
