"""Windowed models for --stream, built with Keras and converted int8 by the TFLite converter
(tests/test_stream.py, benchmarks/stream.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def convert_int8(model, window_shape: tuple[int, ...], path: Path, int8: bool = True) -> Path:
    """A Keras model as the TFLite converter makes it int8 (int8 input and output), or float32."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [rng.standard_normal((1, *window_shape)).astype(np.float32)] for _ in range(32)
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.int8
        converter.inference_output_type = tf.int8
    path.write_bytes(converter.convert())
    return path


def conv1d_model(path: Path) -> Path:
    """Anomaly-detection-like Conv1D over 32 frames of 8 features: VALID then SAME along time."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(1)
    frames = tf.keras.Input((32, 8), batch_size=1)
    x = tf.keras.layers.Conv1D(16, 3, activation="relu")(frames)
    x = tf.keras.layers.Conv1D(16, 5, padding="same", activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling1D()(x)
    return convert_int8(tf.keras.Model(frames, tf.keras.layers.Dense(4)(x)), (32, 8), path)


def kws_cnn_model(path: Path) -> Path:
    """A 2-D KWS CNN over a 20 x 10 spectrogram: SAME convs, a depthwise and a pool, stride 1 in time."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(2)
    spectrogram = tf.keras.Input((20, 10, 1), batch_size=1)
    x = tf.keras.layers.Conv2D(8, (3, 3), padding="same", strides=(1, 2), activation="relu")(spectrogram)
    x = tf.keras.layers.DepthwiseConv2D((3, 3), padding="same", activation="relu")(x)
    x = tf.keras.layers.Conv2D(12, 1, activation="relu")(x)
    x = tf.keras.layers.AveragePooling2D((2, 2), strides=(1, 1), padding="same")(x)
    x = tf.keras.layers.Flatten()(x)
    return convert_int8(tf.keras.Model(spectrogram, tf.keras.layers.Dense(6)(x)), (20, 10, 1), path)


def tcn_model(path: Path, int8: bool = True) -> Path:
    """A small TCN over 24 frames of 6 features: causal and dilated Conv1D (TFLite: PAD + conv), a residual add, a max pool."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(3)
    frames = tf.keras.Input((24, 6), batch_size=1)
    x = tf.keras.layers.Conv1D(8, 3, padding="causal", activation="relu")(frames)
    y = tf.keras.layers.Conv1D(8, 3, padding="causal", dilation_rate=2, activation="relu")(x)
    x = tf.keras.layers.MaxPooling1D(3, strides=1, padding="same")(tf.keras.layers.Add()([x, y]))
    x = tf.keras.layers.Flatten()(x)
    return convert_int8(tf.keras.Model(frames, tf.keras.layers.Dense(3)(x)), (24, 6), path, int8)


def strided_model(path: Path) -> Path:
    """A CNN over 16 x 8 x 1 whose second conv has stride 2 along time: it and all after it are the head."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(4)
    spectrogram = tf.keras.Input((16, 8, 1), batch_size=1)
    x = tf.keras.layers.Conv2D(8, (3, 3), padding="same", activation="relu")(spectrogram)
    x = tf.keras.layers.Conv2D(8, (3, 3), strides=(2, 1), padding="same", activation="relu")(x)
    x = tf.keras.layers.GlobalAveragePooling2D()(x)
    return convert_int8(tf.keras.Model(spectrogram, tf.keras.layers.Dense(4)(x)), (16, 8, 1), path)
