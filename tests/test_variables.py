"""Resource variables (VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE) and CALL_ONCE, as the
TFLite converter writes a tf.Module that keeps tf.Variables between calls (a streaming
model's frame buffer and running state): bit-exact with tflite-micro over 20 invokes.

The variables become model state (outside the arena) whose initial values are what the
init subgraph assigns; NAME_reset() restores them.
"""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.driver import compile_model

from .conftest import assert_sequence_matches


def streaming_module_model(path, quantized: bool):
    """A tf.Module keeping its last 3 input frames and a running average of a projection
    (tf.Variables, initial values 0.5 and 0), converted float or full-integer int8."""
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)

    class Streaming(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.constant(rng.normal(size=(8, 4)).astype(np.float32))
            self.frames = tf.Variable(tf.ones((1, 3, 8)) * 0.5, trainable=False)
            self.average = tf.Variable(tf.zeros((1, 4)), trainable=False)

        @tf.function(input_signature=[tf.TensorSpec((1, 8), tf.float32)])
        def __call__(self, x):
            frames = tf.concat([self.frames[:, 1:, :], x[:, None, :]], axis=1)
            self.frames.assign(frames)
            y = tf.matmul(tf.reduce_mean(frames, axis=1), self.w)
            average = 0.9 * self.average + 0.1 * tf.tanh(y)
            self.average.assign(average)
            return average + y

    module = Streaming()
    converter = tf.lite.TFLiteConverter.from_concrete_functions([module.__call__.get_concrete_function()], module)
    if quantized:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([rng.normal(size=(1, 8)).astype(np.float32)] for _ in range(50))
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
    return path


@pytest.mark.parametrize("quantized", [False, True], ids=["float", "int8"])
def test_variables_carry_across_invokes(quantized, tmp_path):
    model = streaming_module_model(tmp_path / "streaming.tflite", quantized)
    assert_sequence_matches(model, tmp_path / "out")  # int8: the converter keeps the variables float


def test_variables_are_initialized_state(tmp_path):
    model = streaming_module_model(tmp_path / "streaming.tflite", quantized=False)
    result = compile_model(model, board="host", out_dir=tmp_path / "out")
    assert result.report["state_bytes"] == 16 + 96  # [1, 4] and [1, 3, 8] float32, 16-byte aligned
    code = (result.out_dir / "streaming.c").read_text()
    assert "streaming_state_initial" in code and code.count("memcpy(streaming_state +") == 2


@pytest.mark.qemu
def test_variables_in_qemu(tmp_path):
    model = streaming_module_model(tmp_path / "streaming.tflite", quantized=True)
    assert_sequence_matches(model, tmp_path / "out", board="cortex-m4")
