"""The op-coverage corpus (issue 20): real models aiotc did not choose, and what it makes of them.

    python benchmarks/zoo.py --build [--cache ~/.cache/aiotc-zoo] [--tflm-repo GIT_DIR]
    python benchmarks/zoo.py --run [--bench] [--models GLOB] [--timeout 300]

--build makes the models into the cache folder (never into the repository): Keras
applications and small Keras models (Conv1D, audio, U-Net/autoencoders, LSTM/GRU,
attention) with random weights, each as float32 and as full-integer int8 (the TFLite
converter's PTQ on a random representative dataset); torch models written here
(torchvision-like blocks) exported to ONNX, float and QDQ int8 (onnxruntime's static
quantization); and the example and test models of the tflite-micro repository, read
from a git dir of it (`--tflm-repo`). None of them is one of ../shared/models.

--run measures each model, every step a subprocess with a timeout so that one model
cannot block the corpus: compiles for the host (or aiotc's one-line exit-2 reason),
bit-exact with the oracle (`aiotc verify OUT --board host --samples 3`), aiotc's arena
against tflite-micro's, whether tflite-micro itself loads and invokes the model, every
float model also through `--calib random` (fidelity from report.json, and verified), and
with --bench the instructions in QEMU (slow; issue 22's targets): every int8 model on the
Cortex-M4 and the Cortex-M55 (`aiotc bench --json` on a folder compiled for the board),
each int8 .tflite also on the peer (TFLite Micro + CMSIS-NN, benchmarks/peer/) on the
same core with benchmarks/run.py's per-layer pairing (the worst layer); every float
model on the Cortex-M4 only. Results go to benchmarks/zoo.json after each model (a rerun
skips the models already there unless --force, only adding the cores' figures a row
lacks with --bench), benchmarks/zoo.md and the README's count of the corpus (benchmarks/readme.py).
Not a test: a refusal is work to do.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/profile.py would shadow the standard library's profile module (keras imports it)
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

from benchmarks.peer import tflm  # noqa: E402
from benchmarks.run import add_shapes, geometry, pair_layers, slower_and_worst  # noqa: E402

CACHE = Path.home() / ".cache" / "aiotc-zoo"
RESULTS = ROOT / "benchmarks" / "zoo.json"
TFLM_REPO = Path("/work/.mirror/tensorflow+tflite-micro/repo")  # where the `fetch` tool puts it
CORES = {"m4": "cortex-m4", "m55": "cortex-m55"}  # zoo.json's key -> aiotc board (and the peer's core)

# ---------------------------------------------------------------- build: Keras


def keras_models() -> dict:
    """name -> a function building the Keras model (random weights: no hub is reachable)."""
    import keras
    from keras import layers as L

    apps = keras.applications

    def seq(shape, *body):
        x = inp = keras.Input(shape, batch_size=1)
        for layer in body:
            x = layer(x)
        return keras.Model(inp, x)

    def conv1d_ts():
        return seq(
            (128, 3),
            L.Conv1D(16, 5, activation="relu"),
            L.MaxPooling1D(2),
            L.Conv1D(32, 3, strides=2, activation="relu"),
            L.Conv1D(32, 3, padding="same", activation="relu"),
            L.GlobalAveragePooling1D(),
            L.Dense(6, activation="softmax"),
        )

    def tcn_causal():
        x = inp = keras.Input((128, 4), batch_size=1)
        for d in (1, 2, 4, 8):
            y = L.Conv1D(16, 3, padding="causal", dilation_rate=d, activation="relu")(x)
            x = L.Add()([y, L.Conv1D(16, 1)(x) if x.shape[-1] != 16 else x])
        x = L.Lambda(lambda t: t[:, -1, :])(x)
        return keras.Model(inp, L.Dense(3)(x))

    def audio_raw_m5():
        return seq(
            (8000, 1),
            L.Conv1D(32, 80, strides=4),
            L.BatchNormalization(),
            L.ReLU(),
            L.MaxPooling1D(4),
            L.Conv1D(32, 3),
            L.BatchNormalization(),
            L.ReLU(),
            L.MaxPooling1D(4),
            L.Conv1D(64, 3),
            L.BatchNormalization(),
            L.ReLU(),
            L.MaxPooling1D(4),
            L.Conv1D(64, 3),
            L.BatchNormalization(),
            L.ReLU(),
            L.GlobalAveragePooling1D(),
            L.Dense(12, activation="softmax"),
        )

    def audio_dscnn_mfcc():
        body = [L.Conv2D(32, (10, 4), strides=2, padding="same"), L.BatchNormalization(), L.ReLU()]
        for _ in range(3):
            body += [
                L.DepthwiseConv2D(3, padding="same"),
                L.BatchNormalization(),
                L.ReLU(),
                L.Conv2D(32, 1),
                L.BatchNormalization(),
                L.ReLU(),
            ]
        return seq((49, 10, 1), *body, L.GlobalAveragePooling2D(), L.Dropout(0.2), L.Dense(12, activation="softmax"))

    def audio_spectro_cnn():
        return seq(
            (64, 40, 1),
            L.Conv2D(16, 3, padding="same", activation="relu"),
            L.MaxPooling2D(2),
            L.Conv2D(32, 3, padding="same", activation="elu"),
            L.MaxPooling2D(2),
            L.Conv2D(32, 3, padding="same"),
            L.LeakyReLU(0.1),
            L.GlobalMaxPooling2D(),
            L.Dense(8, activation="softmax"),
        )

    def unet(interp="nearest"):
        inp = keras.Input((64, 64, 1), batch_size=1)
        c1 = L.Conv2D(8, 3, padding="same", activation="relu")(inp)
        p1 = L.MaxPooling2D()(c1)
        c2 = L.Conv2D(16, 3, padding="same", activation="relu")(p1)
        p2 = L.MaxPooling2D()(c2)
        b = L.Conv2D(32, 3, padding="same", activation="relu")(p2)
        u2 = L.Conv2DTranspose(16, 2, strides=2, padding="same")(b)
        c3 = L.Conv2D(16, 3, padding="same", activation="relu")(L.Concatenate()([u2, c2]))
        u1 = L.UpSampling2D(interpolation=interp)(c3)
        c4 = L.Conv2D(8, 3, padding="same", activation="relu")(L.Concatenate()([u1, c1]))
        return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid")(c4))

    def conv_autoencoder():
        return seq(
            (32, 32, 3),
            L.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            L.Conv2D(8, 3, strides=2, padding="same", activation="relu"),
            L.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu"),
            L.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
            L.Conv2D(3, 3, padding="same", activation="sigmoid"),
        )

    def dense_autoencoder():
        return seq(
            (256,),
            L.Dense(64, activation="relu"),
            L.Dense(16, activation="relu"),
            L.Dense(64, activation="relu"),
            L.Dense(256),
        )

    def lstm():
        return seq((28, 28), L.LSTM(32), L.Dense(10, activation="softmax"))

    def lstm_stacked():
        return seq((49, 10), L.LSTM(24, return_sequences=True), L.LSTM(24), L.Dense(12, activation="softmax"))

    def gru():
        return seq((49, 10), L.GRU(32), L.Dense(12, activation="softmax"))

    def gru_unrolled():
        return seq((16, 8), L.GRU(16, unroll=True), L.Dense(4))

    def tiny_transformer():
        inp = keras.Input((16, 32), batch_size=1)
        a = L.MultiHeadAttention(num_heads=2, key_dim=16)(inp, inp)
        x = L.LayerNormalization()(L.Add()([inp, a]))
        f = L.Dense(32)(L.Dense(64, activation="gelu")(x))
        x = L.LayerNormalization()(L.Add()([x, f]))
        return keras.Model(inp, L.Dense(5, activation="softmax")(L.GlobalAveragePooling1D()(x)))

    def ops_mix():
        """Ops the applications reach rarely: resize, mul, sub, prelu, hard-sigmoid, reshape/permute, pad."""
        inp = keras.Input((32, 32, 3), batch_size=1)
        x = L.ZeroPadding2D(2)(inp)
        x = L.Conv2D(8, 3, strides=2)(x)
        x = L.PReLU(shared_axes=[1, 2])(x)
        g = L.Activation("hard_sigmoid")(L.GlobalAveragePooling2D(keepdims=True)(x))
        x = L.Multiply()([x, g])
        x = L.Subtract()([x, L.AveragePooling2D(3, strides=1, padding="same")(x)])
        x = L.Resizing(8, 8, interpolation="bilinear")(x)
        x = L.Permute((2, 1, 3))(x)
        x = L.Reshape((64, 8))(x)
        x = L.Activation("tanh")(L.Dense(8)(x))
        return keras.Model(inp, L.Dense(4, activation="sigmoid")(L.Flatten()(x)))

    def resnet8_5x5():
        """ResNet-8 on CIFAR-like input with 5x5 kernels and stride-2 convs opening stages 2 and 3."""
        x = inp = keras.Input((32, 32, 3), batch_size=1)
        x = L.Conv2D(16, 5, padding="same", activation="relu")(x)
        for c, s in ((16, 1), (32, 2), (64, 2)):
            y = L.ReLU()(L.BatchNormalization()(L.Conv2D(c, 5, strides=s, padding="same")(x)))
            y = L.BatchNormalization()(L.Conv2D(c, 5, padding="same")(y))
            x = L.ReLU()(L.Add()([y, x if s == 1 else L.Conv2D(c, 1, strides=s)(x)]))
        return keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)))

    def dscnn_dm2():
        """DS-CNN over MFCCs whose depthwise layers have depth multiplier 2."""
        body = [L.Conv2D(24, (10, 4), strides=2, padding="same"), L.BatchNormalization(), L.ReLU()]
        for c in (48, 48, 64):
            body += [
                L.DepthwiseConv2D(3, depth_multiplier=2, padding="same"),
                L.BatchNormalization(),
                L.ReLU(),
                L.Conv2D(c, 1),
                L.BatchNormalization(),
                L.ReLU(),
            ]
        return seq((49, 10, 1), *body, L.GlobalAveragePooling2D(), L.Dense(12, activation="softmax"))

    def conv1d_dilated():
        return seq(
            (256, 8),
            L.Conv1D(16, 7, padding="same", activation="relu"),
            L.Conv1D(24, 7, padding="same", dilation_rate=2, activation="relu"),
            L.Conv1D(32, 7, padding="same", dilation_rate=4, activation="relu"),
            L.MaxPooling1D(2),
            L.Conv1D(48, 7, strides=2, activation="relu"),
            L.GlobalAveragePooling1D(),
            L.Dense(5),
        )

    def vgg_small():
        body = []
        for c in (24, 48, 96):
            body += [L.Conv2D(c, 3, padding="same", activation="relu") for _ in range(2)] + [L.MaxPooling2D(2)]
        return seq((64, 64, 3), *body, L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax"))

    def grouped_conv():
        return seq(
            (32, 32, 3),
            L.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            L.Conv2D(32, 3, padding="same", groups=2, activation="relu"),
            L.Conv2D(64, 3, strides=2, padding="same", groups=2, activation="relu"),
            L.Conv2D(64, 3, padding="same", groups=4, activation="relu"),
            L.GlobalAveragePooling2D(),
            L.Dense(10),
        )

    def dw5x5_strided():
        """MnasNet-like: strided 5x5 depthwise layers between 1x1 convs."""
        body = [L.Conv2D(16, 3, strides=2, padding="same", activation="relu")]
        for c, s in ((24, 2), (40, 2), (40, 1), (80, 2)):
            body += [L.DepthwiseConv2D(5, strides=s, padding="same", activation="relu"), L.Conv2D(c, 1)]
        return seq((64, 64, 3), *body, L.GlobalAveragePooling2D(), L.Dense(10))

    def convnext_dw7():
        """ConvNeXt-like: a 4x4 stride-4 patch stem, 7x7 depthwise, 4x 1x1 expansion with hard-swish, residuals."""
        x = inp = keras.Input((64, 64, 3), batch_size=1)
        x = L.Conv2D(24, 4, strides=4)(x)
        for c in (24, 48):
            if c != x.shape[-1]:
                x = L.Conv2D(c, 2, strides=2)(x)
            y = L.DepthwiseConv2D(7, padding="same")(x)
            y = L.Conv2D(4 * c, 1, activation="hard_swish")(y)
            x = L.Add()([x, L.Conv2D(c, 1)(y)])
        return keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)))

    def factorized_7x1():
        """Inception-C-like 1x7 / 7x1 kernels (plain and separable) on an odd 33x33 input, a 1x1 conv classifier."""
        return seq(
            (33, 33, 3),
            L.Conv2D(16, 3, strides=2, activation="relu"),
            L.Conv2D(24, (1, 7), padding="same", activation="relu"),
            L.Conv2D(24, (7, 1), padding="same", activation="relu"),
            L.MaxPooling2D(3, strides=2),
            L.SeparableConv2D(40, (1, 7), padding="same", activation="relu"),
            L.SeparableConv2D(40, (7, 1), padding="same", activation="relu"),
            L.Conv2D(10, 1),
            L.GlobalAveragePooling2D(),
        )

    def audio_conv1d_odd():
        """Raw-audio 1-D convs with large strided kernels and 10/20/40 channels, tanh in the middle."""
        return seq(
            (4000, 1),
            L.Conv1D(10, 80, strides=4, activation="relu"),
            L.MaxPooling1D(2),
            L.Conv1D(20, 31, strides=4, activation="tanh"),
            L.Conv1D(40, 15, strides=2, activation="relu"),
            L.Conv1D(40, 9, strides=2, activation="relu"),
            L.GlobalAveragePooling1D(),
            L.Dense(7),
        )

    def inception_mini():
        """Inception blocks: 1x1, 1x1 -> 3x3, 1x1 -> 5x5 and 3x3 average-pool -> 1x1 branches concatenated."""
        x = inp = keras.Input((32, 32, 3), batch_size=1)
        x = L.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
        for a, b, c, d in ((16, 16, 8, 8), (24, 32, 12, 12)):
            x = L.Concatenate()(
                [
                    L.Conv2D(a, 1, activation="relu")(x),
                    L.Conv2D(b, 3, padding="same", activation="relu")(L.Conv2D(b // 2, 1, activation="relu")(x)),
                    L.Conv2D(c, 5, padding="same", activation="relu")(L.Conv2D(c // 2, 1, activation="relu")(x)),
                    L.Conv2D(d, 1, activation="relu")(L.AveragePooling2D(3, strides=1, padding="same")(x)),
                ]
            )
            x = L.MaxPooling2D(2)(x)
        return keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)))

    def seg_tconv_k4():
        """A small segmentation net: stride-2 encoder, 4x4 stride-2 transposed convs, leaky ReLU, 1x1 conv classes."""
        return seq(
            (48, 48, 3),
            L.Conv2D(16, 3, strides=2, padding="same"),
            L.LeakyReLU(0.2),
            L.Conv2D(32, 3, strides=2, padding="same"),
            L.LeakyReLU(0.2),
            L.Conv2D(32, 3, padding="same"),
            L.LeakyReLU(0.2),
            L.Conv2DTranspose(16, 4, strides=2, padding="same"),
            L.LeakyReLU(0.2),
            L.Conv2DTranspose(8, 4, strides=2, padding="same"),
            L.LeakyReLU(0.2),
            L.Conv2D(5, 1),
        )

    def mlp_wide():
        return seq((784,), L.Dense(512, activation="relu"), L.Dense(10))

    def se_cnn():
        """A CNN with hard-swish and squeeze-excite gates made of Dense layers (pool -> dense -> hard-sigmoid -> mul)."""
        x = inp = keras.Input((40, 40, 3), batch_size=1)
        for c, s in ((16, 2), (32, 2), (48, 1), (64, 2)):
            x = L.Conv2D(c, 3, strides=s, padding="same", activation="hard_swish")(x)
            g = L.Dense(c // 4, activation="relu")(L.GlobalAveragePooling2D()(x))
            g = L.Reshape((1, 1, c))(L.Dense(c, activation="hard_sigmoid")(g))
            x = L.Multiply()([x, g])
        return keras.Model(inp, L.Dense(6)(L.GlobalAveragePooling2D()(x)))

    def spectro_asym():
        """A 49x40 spectrogram CNN: asymmetric strides, non-square kernels, 3x3 average pools, tanh and leaky ReLU."""
        return seq(
            (49, 40, 1),
            L.Conv2D(16, (5, 3), strides=(2, 1), activation="tanh"),
            L.AveragePooling2D(3, strides=2),
            L.Conv2D(32, (3, 5), strides=(1, 2), padding="same"),
            L.LeakyReLU(0.3),
            L.AveragePooling2D(3, strides=1, padding="same"),
            L.Conv2D(48, 3, strides=(2, 1)),
            L.LeakyReLU(0.3),
            L.GlobalMaxPooling2D(),
            L.Dense(12, activation="softmax"),
        )

    def efficientnet_lite():
        """EfficientNet-lite-like: ReLU6 everywhere, no squeeze-excite, 3x3 and 5x5 depthwise, residual MBConvs."""
        x = inp = keras.Input((64, 64, 3), batch_size=1)
        x = L.Conv2D(24, 3, strides=2, padding="same", activation="relu6")(x)
        x = L.Conv2D(16, 1)(L.DepthwiseConv2D(3, padding="same", activation="relu6")(x))
        for c, k, s, n in ((24, 3, 2, 2), (40, 5, 2, 2), (80, 3, 2, 2), (112, 5, 1, 1)):
            for i in range(n):
                y = L.Conv2D(6 * x.shape[-1], 1, activation="relu6")(x)
                y = L.DepthwiseConv2D(k, strides=s if i == 0 else 1, padding="same", activation="relu6")(y)
                y = L.Conv2D(c, 1)(y)
                x = L.Add()([x, y]) if i else y
        x = L.Conv2D(320, 1, activation="relu6")(x)
        return keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)))

    def detector_heads():
        """A tiny two-scale detector: a separable backbone, 1x1 box/class heads of odd widths, reshaped, concatenated."""
        x = inp = keras.Input((96, 96, 3), batch_size=1)
        x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
        feats = []
        for c, s in ((24, 2), (32, 2), (48, 1), (64, 2), (96, 2)):
            x = L.SeparableConv2D(c, 3, strides=s, padding="same", activation="relu")(x)
            if c in (64, 96):
                feats.append(x)
        boxes, scores = [], []
        for f in feats:
            boxes.append(L.Reshape((-1, 4))(L.Conv2D(3 * 4, 1)(f)))
            scores.append(L.Reshape((-1, 3))(L.Conv2D(3 * 3, 1, activation="sigmoid")(f)))
        return keras.Model(inp, L.Concatenate()([L.Concatenate(axis=1)(boxes), L.Concatenate(axis=1)(scores)]))

    def crnn(cell, unroll):
        """Keyword CRNN: strided convs over a 49x40 spectrogram, time-major reshape, one recurrent layer, dense.
        Unrolled: with unroll=False the TFLite converter's int8 PTQ crashes (signal 11) on a GRU or LSTM here."""

        def make():
            x = inp = keras.Input((49, 40, 1), batch_size=1)
            x = L.Conv2D(16, 3, strides=(1, 2), padding="same", activation="relu")(x)
            x = L.Conv2D(32, 3, strides=(2, 2), padding="same", activation="relu")(x)
            x = L.Conv2D(16, 3, strides=(2, 2), padding="same", activation="relu")(x)
            x = L.Reshape((x.shape[1], x.shape[2] * x.shape[3]))(x)
            x = cell(32, unroll=unroll)(x)
            return keras.Model(inp, L.Dense(12, activation="softmax")(L.Dense(32, activation="relu")(x)))

        return make

    def imu_gesture():
        """IMU gesture net on (128, 6): strided 1-D convs and separable 1-D convs, global max pool."""
        return seq(
            (128, 6),
            L.Conv1D(16, 5, strides=2, padding="same", activation="relu"),
            L.SeparableConv1D(32, 5, strides=2, padding="same", activation="relu"),
            L.SeparableConv1D(48, 5, padding="same", activation="relu"),
            L.Conv1D(64, 3, strides=2, activation="relu"),
            L.SeparableConv1D(64, 3, padding="same", activation="relu"),
            L.GlobalMaxPooling1D(),
            L.Dense(8, activation="softmax"),
        )

    def autoencoder_upsample():
        """Anomaly-detection conv autoencoder on a 64x64 mono image: UpSampling2D and Conv2DTranspose decoder.
        Bilinear: Keras 3's nearest UpSampling2D converts to TILE, which tflite-micro lacks."""
        return seq(
            (64, 64, 1),
            L.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            L.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            L.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            L.Conv2D(8, 1, activation="relu"),
            L.UpSampling2D(interpolation="bilinear"),
            L.Conv2D(32, 3, padding="same", activation="relu"),
            L.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
            L.UpSampling2D(interpolation="bilinear"),
            L.Conv2D(1, 3, padding="same", activation="sigmoid"),
        )

    def micronet_kws():
        """MicroNet-KWS-M-like: a (10, 4) stem on 49x10 MFCCs, 3x3 depthwise over 140-276 channels, 1x1 convs."""
        body = [L.Conv2D(140, (10, 4), strides=2, padding="same"), L.BatchNormalization(), L.ReLU()]
        for c in (140, 140, 196, 196, 276):
            body += [L.DepthwiseConv2D(3, padding="same"), L.BatchNormalization(), L.ReLU()]
            body += [L.Conv2D(c, 1), L.BatchNormalization(), L.ReLU()]
        return seq((49, 10, 1), *body, L.AveragePooling2D((25, 5)), L.Flatten(), L.Dense(12))

    def resnet_proj_prelu():
        """ResNet with strided 1x1 projection shortcuts, explicit ZeroPadding2D before valid convs, PReLU."""
        x = inp = keras.Input((32, 32, 3), batch_size=1)
        x = L.PReLU(shared_axes=[1, 2])(L.Conv2D(24, 3, padding="same")(x))
        for c, s in ((24, 1), (40, 2), (72, 2)):
            y = L.Conv2D(c, 3, strides=s)(L.ZeroPadding2D(1)(x))
            y = L.PReLU(shared_axes=[1, 2])(L.BatchNormalization()(y))
            y = L.BatchNormalization()(L.Conv2D(c, 3, padding="same")(y))
            short = x if s == 1 and c == x.shape[-1] else L.BatchNormalization()(L.Conv2D(c, 1, strides=s)(x))
            x = L.PReLU(shared_axes=[1, 2])(L.Add()([y, short]))
        return keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)))

    def gated_sep_dm2():
        """Separable convs with depth multiplier 2, ELU, and x * sigmoid(y) gates (GLU-style) from 1x1 convs."""
        x = inp = keras.Input((48, 48, 3), batch_size=1)
        x = L.Conv2D(16, 3, strides=2, padding="same", activation="elu")(x)
        for c in (24, 48, 64):
            x = L.SeparableConv2D(c, 3, strides=2, padding="same", depth_multiplier=2, activation="elu")(x)
            x = L.Multiply()([L.Conv2D(c, 1)(x), L.Conv2D(c, 1, activation="sigmoid")(x)])
        return keras.Model(inp, L.Dense(6)(L.GlobalAveragePooling2D()(x)))

    # heldout4: models no rule was tuned on; each found a gap (rank-5 transposes, a REVERSE_V2
    # output of its own scale, a strided 1x1 down a column, an M55 pool's odd channels)
    def shufflenet_v2():
        """ShuffleNetV2 units: channel split, concat, the channel shuffle as a rank-5 transpose."""

        def shuffle(x, groups=2):
            h, w, c = x.shape[1:]
            x = L.Permute((1, 2, 4, 3))(L.Reshape((h, w, groups, c // groups))(x))
            return L.Reshape((h, w, c))(x)

        def unit(x, c, stride):
            if stride == 1:
                a, b = L.Lambda(lambda t: keras.ops.split(t, 2, axis=-1))(x)
            else:
                a = L.BatchNormalization()(L.DepthwiseConv2D(3, strides=2, padding="same")(x))
                a = L.ReLU()(L.BatchNormalization()(L.Conv2D(c // 2, 1)(a)))
                b = x
            b = L.ReLU()(L.BatchNormalization()(L.Conv2D(c // 2, 1)(b)))
            b = L.BatchNormalization()(L.DepthwiseConv2D(3, strides=stride, padding="same")(b))
            b = L.ReLU()(L.BatchNormalization()(L.Conv2D(c // 2, 1)(b)))
            return shuffle(L.Concatenate()([a, b]))

        x = inp = keras.Input((64, 64, 3), batch_size=1)
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(24, 3, strides=2, padding="same")(x)))
        x = L.MaxPooling2D(3, strides=2, padding="same")(x)
        for c, n in ((48, 2), (96, 3)):
            x = unit(x, c, 2)
            for _ in range(n - 1):
                x = unit(x, c, 1)
        x = L.ReLU()(L.Conv2D(256, 1)(x))
        return keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)))

    def ghostnet():
        """Ghost modules (a 1x1 conv and a cheap depthwise, concatenated), SE with hard sigmoid."""

        def ghost(x, c, relu=True):
            p = L.BatchNormalization()(L.Conv2D(c // 2, 1, use_bias=False)(x))
            p = L.ReLU()(p) if relu else p
            q = L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same", use_bias=False)(p))
            return L.Concatenate()([p, L.ReLU()(q) if relu else q])

        def se(x):
            s = L.Conv2D(max(4, x.shape[-1] // 4), 1, activation="relu")(L.GlobalAveragePooling2D(keepdims=True)(x))
            return L.Multiply()([x, L.Conv2D(x.shape[-1], 1, activation="hard_sigmoid")(s)])

        x = inp = keras.Input((64, 64, 3), batch_size=1)
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 3, strides=2, padding="same")(x)))
        for c, expand, s, squeeze in ((16, 16, 1, False), (24, 48, 2, False), (40, 72, 2, True), (80, 120, 2, True)):
            y = ghost(x, expand)
            y = L.BatchNormalization()(L.DepthwiseConv2D(3, strides=2, padding="same")(y)) if s == 2 else y
            y = ghost(se(y) if squeeze else y, c, relu=False)
            short = (
                x
                if s == 1 and x.shape[-1] == c
                else L.BatchNormalization()(L.Conv2D(c, 1)(L.DepthwiseConv2D(3, strides=s, padding="same")(x)))
            )
            x = L.Add()([y, short])
        return keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)))

    def ecg_resnet1d():
        """1-D ResNet on a 1000-sample ECG: kernel 15, strided convs, strided 1x1 shortcuts (each after a
        1-wide max pool, an identity MAX_POOL_2D)."""
        x = inp = keras.Input((1000, 1), batch_size=1)
        x = L.ReLU()(L.BatchNormalization()(L.Conv1D(16, 15, padding="same")(x)))
        for c in (16, 32, 32, 64):
            y = L.ReLU()(L.BatchNormalization()(L.Conv1D(c, 15, padding="same")(x)))
            y = L.BatchNormalization()(L.Conv1D(c, 15, strides=2, padding="same")(y))
            x = L.ReLU()(L.Add()([y, L.Conv1D(c, 1, strides=2)(L.MaxPooling1D(1)(x))]))
        return keras.Model(inp, L.Dense(4, activation="softmax")(L.GlobalMaxPooling1D()(x)))

    def aspp_seg():
        """DeepLab-style ASPP: dilated 3x3 branches (rates 2, 4, 6), an image pool, bilinear upsampling."""
        x = inp = keras.Input((64, 64, 3), batch_size=1)
        x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu")(x)
        x = L.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
        branches = [L.Conv2D(16, 1, activation="relu")(x)]
        branches += [L.Conv2D(16, 3, dilation_rate=r, padding="same", activation="relu")(x) for r in (2, 4, 6)]
        pool = L.Conv2D(16, 1, activation="relu")(L.GlobalAveragePooling2D(keepdims=True)(x))
        x = L.Conv2D(32, 1, activation="relu")(L.Concatenate()([*branches, L.UpSampling2D(16)(pool)]))
        return keras.Model(inp, L.Conv2D(5, 1)(L.UpSampling2D(4, interpolation="bilinear")(x)))

    def xception_mini():
        """Xception entry flow: separable convs, 3x3 stride-2 max pools, strided 1x1 shortcuts; a sigmoid head."""
        x = inp = keras.Input((48, 48, 3), batch_size=1)
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(16, 3, strides=2)(x)))
        for c in (32, 64, 96):
            short = L.BatchNormalization()(L.Conv2D(c, 1, strides=2, padding="same")(x))
            y = L.BatchNormalization()(L.SeparableConv2D(c, 3, padding="same")(L.ReLU()(x)))
            y = L.BatchNormalization()(L.SeparableConv2D(c, 3, padding="same")(L.ReLU()(y)))
            x = L.Add()([L.MaxPooling2D(3, strides=2, padding="same")(y), short])
        return keras.Model(inp, L.Dense(2, activation="sigmoid")(L.GlobalAveragePooling2D()(L.ReLU()(x))))

    def odd_sizes():
        """Odd, non-square everything: a 37x53x2 input, (3, 5) kernels at strides (2, 3), tanh, 12 channels."""
        return seq(
            (37, 53, 2),
            L.Conv2D(12, (3, 5), strides=(2, 3), activation="relu"),
            L.DepthwiseConv2D((5, 3), activation="relu"),
            L.AveragePooling2D(2),
            L.Conv2D(20, 3, padding="same", activation="tanh"),
            L.MaxPooling2D((2, 1)),
            L.Flatten(),
            L.Dense(7),
        )

    def kws_98x40():
        """A 98x40 spectrogram CNN with (20, 8) and (10, 4) kernels at strides (2, 1)."""
        return seq(
            (98, 40, 1),
            L.Conv2D(32, (20, 8), strides=(2, 1), padding="same"),
            L.BatchNormalization(),
            L.ReLU(),
            L.MaxPooling2D((2, 2)),
            L.Conv2D(48, (10, 4), strides=(2, 1), padding="same"),
            L.BatchNormalization(),
            L.ReLU(),
            L.MaxPooling2D((1, 2)),
            L.Conv2D(64, 3, padding="same", activation="relu"),
            L.AveragePooling2D((3, 3)),
            L.Flatten(),
            L.Dense(35),
        )

    def tabular_resmlp():
        """A residual MLP on 64 features: Dense + BatchNorm, swish, a sigmoid output."""
        x = inp = keras.Input((64,), batch_size=1)
        x = L.Dense(128, activation="relu")(x)
        for _ in range(3):
            x = L.Add()([x, L.Dense(128, activation="swish")(L.BatchNormalization()(L.Dense(128)(x)))])
        return keras.Model(inp, L.Dense(1, activation="sigmoid")(x))

    def dcgan_generator():
        """A DCGAN generator: Dense to 4x4x16, three 4x4 stride-2 Conv2DTransposes with BatchNorm and LeakyReLU, tanh."""
        x = inp = keras.Input((32,), batch_size=1)
        x = L.Reshape((4, 4, 16))(L.Dense(4 * 4 * 16)(x))
        for c in (32, 16, 8):
            x = L.LeakyReLU(0.2)(L.BatchNormalization()(L.Conv2DTranspose(c, 4, strides=2, padding="same")(x)))
        return keras.Model(inp, L.Conv2D(3, 3, padding="same", activation="tanh")(x))

    def bilstm():
        """A Bidirectional LSTM (unrolled) over 40 frames of 13 MFCCs: its backward half REVERSE_V2s the sequence."""
        x = inp = keras.Input((40, 13), batch_size=1)
        x = L.Bidirectional(L.LSTM(24, return_sequences=True, unroll=True))(x)
        return keras.Model(inp, L.Dense(5)(L.GlobalAveragePooling1D()(x)))

    def convmixer():
        """ConvMixer: a 4x4 stride-4 patch embedding, GELU, 5x5 depthwise residuals, 1x1 mixing."""
        x = inp = keras.Input((32, 32, 3), batch_size=1)
        x = L.BatchNormalization()(L.Activation("gelu")(L.Conv2D(64, 4, strides=4)(x)))
        for _ in range(3):
            x = L.Add()([x, L.BatchNormalization()(L.Activation("gelu")(L.DepthwiseConv2D(5, padding="same")(x)))])
            x = L.BatchNormalization()(L.Activation("gelu")(L.Conv2D(64, 1)(x)))
        return keras.Model(inp, L.Dense(10)(L.GlobalAveragePooling2D()(x)))

    def mobilenet_v2_trunk(size, alpha, last):
        """An application's layers up to `last` under a small head (the full top's 1x1 conv alone is > 300 k weights)."""

        def make():
            trunk = apps.MobileNetV2(
                input_tensor=keras.Input((size, size, 3), batch_size=1), alpha=alpha, include_top=False, weights=None
            )
            x = L.GlobalAveragePooling2D()(trunk.get_layer(last).output)
            return keras.Model(trunk.input, L.Dense(10)(x))

        return make

    def app(fn, size, **kw):
        return lambda: fn(input_shape=(size, size, 3), weights=None, classes=10, **kw)

    def app_b1(fn, size, **kw):
        """Batch fixed to 1: the converter then folds the Reshape/Flatten shapes (SHAPE/PACK ops otherwise)."""
        return lambda: fn(input_tensor=keras.Input((size, size, 3), batch_size=1), weights=None, classes=10, **kw)

    return {  # the small ones first, so that a short build has the most models
        "conv1d_ts": conv1d_ts,
        "tcn_causal": tcn_causal,
        "audio_raw_m5": audio_raw_m5,
        "audio_dscnn_mfcc": audio_dscnn_mfcc,
        "audio_spectro_cnn": audio_spectro_cnn,
        "unet_nearest_64": unet,
        "unet_bilinear_64": lambda: unet("bilinear"),
        "conv_autoencoder_32": conv_autoencoder,
        "dense_autoencoder": dense_autoencoder,
        "lstm_28": lstm,
        "lstm_stacked": lstm_stacked,
        "gru_49": gru,
        "gru_unrolled": gru_unrolled,
        "tiny_transformer": tiny_transformer,
        "ops_mix": ops_mix,
        "resnet8_5x5": resnet8_5x5,
        "dscnn_dm2": dscnn_dm2,
        "conv1d_dilated_256": conv1d_dilated,
        "vgg_small_64": vgg_small,
        "grouped_conv_32": grouped_conv,
        "dw5x5_strided_64": dw5x5_strided,
        "convnext_dw7_64": convnext_dw7,
        "factorized_7x1_33": factorized_7x1,
        "audio_conv1d_odd": audio_conv1d_odd,
        "inception_mini_32": inception_mini,
        "seg_tconv_k4_48": seg_tconv_k4,
        "mlp_784_512": mlp_wide,
        "se_cnn_hswish_40": se_cnn,
        "spectro_asym_49x40": spectro_asym,
        "mobilenet_v1_a025_96": app(apps.MobileNet, 96, alpha=0.25),
        "mobilenet_v1_a050_128": app(apps.MobileNet, 128, alpha=0.5),
        "mobilenet_v2_a035_96": app(apps.MobileNetV2, 96, alpha=0.35),
        "mobilenet_v2_a050_128": app(apps.MobileNetV2, 128, alpha=0.5),
        "mobilenet_v3s_a075_96": app(apps.MobileNetV3Small, 96, alpha=0.75),
        "mobilenet_v3s_min_96": app(apps.MobileNetV3Small, 96, minimalistic=True),
        "mobilenet_v3l_min_a075_128": app(apps.MobileNetV3Large, 128, alpha=0.75, minimalistic=True),
        "efficientnet_b0_96": app(apps.EfficientNetB0, 96),
        "densenet121_96": app(apps.DenseNet121, 96),
        "nasnet_mobile_96": app(apps.NASNetMobile, 96),
        "resnet50_64": app(apps.ResNet50, 64),
        "mobilenet_v1_a025_96_b1": app_b1(apps.MobileNet, 96, alpha=0.25),
        "mobilenet_v1_a050_128_b1": app_b1(apps.MobileNet, 128, alpha=0.5),
        "mobilenet_v3s_a075_96_b1": app_b1(apps.MobileNetV3Small, 96, alpha=0.75),
        "mobilenet_v3s_min_96_b1": app_b1(apps.MobileNetV3Small, 96, minimalistic=True),
        "mobilenet_v3l_min_a075_128_b1": app_b1(apps.MobileNetV3Large, 128, alpha=0.75, minimalistic=True),
        "efficientnet_b0_96_b1": app_b1(apps.EfficientNetB0, 96),
        "mobilenet_v1_a025_160_b1": app_b1(apps.MobileNet, 160, alpha=0.25),
        "mobilenet_v2_a075_96_b15": mobilenet_v2_trunk(96, 0.75, "block_15_add"),
        "efficientnet_lite_64": efficientnet_lite,
        "detector_heads_96": detector_heads,
        "crnn_lstm_unrolled_49x40": crnn(L.LSTM, True),
        "crnn_gru_unrolled_49x40": crnn(L.GRU, True),
        "imu_gesture_128x6": imu_gesture,
        "autoencoder_upsample_64": autoencoder_upsample,
        "micronet_kws_49x10": micronet_kws,
        "resnet_proj_prelu_32": resnet_proj_prelu,
        "gated_sep_dm2_48": gated_sep_dm2,
        "mobilenet_v2_a035_80_top": app_b1(apps.MobileNetV2, 80, alpha=0.35),
        "mobilenet_v2_a035_96_gray": lambda: apps.MobileNetV2(
            input_tensor=keras.Input((96, 96, 1), batch_size=1), alpha=0.35, weights=None, classes=2
        ),
        "shufflenet_v2_64": shufflenet_v2,
        "ghostnet_64": ghostnet,
        "ecg_resnet1d_1000": ecg_resnet1d,
        "aspp_seg_64": aspp_seg,
        "xception_mini_48": xception_mini,
        "odd_37x53": odd_sizes,
        "kws_98x40_stride21": kws_98x40,
        "tabular_resmlp": tabular_resmlp,
        "dcgan_gen_32": dcgan_generator,
        "bilstm_40": bilstm,
        "convmixer_32": convmixer,
    }


KERAS_NAMES = [
    "conv1d_ts",
    "tcn_causal",
    "audio_raw_m5",
    "audio_dscnn_mfcc",
    "audio_spectro_cnn",
    "unet_nearest_64",
    "unet_bilinear_64",
    "conv_autoencoder_32",
    "dense_autoencoder",
    "lstm_28",
    "lstm_stacked",
    "gru_49",
    "gru_unrolled",
    "tiny_transformer",
    "ops_mix",
    "resnet8_5x5",
    "dscnn_dm2",
    "conv1d_dilated_256",
    "vgg_small_64",
    "grouped_conv_32",
    "dw5x5_strided_64",
    "convnext_dw7_64",
    "factorized_7x1_33",
    "audio_conv1d_odd",
    "inception_mini_32",
    "seg_tconv_k4_48",
    "mlp_784_512",
    "se_cnn_hswish_40",
    "spectro_asym_49x40",
    "mobilenet_v1_a025_96",
    "mobilenet_v1_a050_128",
    "mobilenet_v2_a035_96",
    "mobilenet_v2_a050_128",
    "mobilenet_v3s_a075_96",
    "mobilenet_v3s_min_96",
    "mobilenet_v3l_min_a075_128",
    "efficientnet_b0_96",
    "densenet121_96",
    "nasnet_mobile_96",
    "resnet50_64",
    "mobilenet_v1_a025_96_b1",
    "mobilenet_v1_a050_128_b1",
    "mobilenet_v3s_a075_96_b1",
    "mobilenet_v3s_min_96_b1",
    "mobilenet_v3l_min_a075_128_b1",
    "efficientnet_b0_96_b1",
    "mobilenet_v1_a025_160_b1",
    "mobilenet_v2_a075_96_b15",
    "efficientnet_lite_64",
    "detector_heads_96",
    "crnn_lstm_unrolled_49x40",
    "crnn_gru_unrolled_49x40",
    "imu_gesture_128x6",
    "autoencoder_upsample_64",
    "micronet_kws_49x10",
    "resnet_proj_prelu_32",
    "gated_sep_dm2_48",
    "mobilenet_v2_a035_80_top",
    "mobilenet_v2_a035_96_gray",
    "shufflenet_v2_64",
    "ghostnet_64",
    "ecg_resnet1d_1000",
    "aspp_seg_64",
    "xception_mini_48",
    "odd_37x53",
    "kws_98x40_stride21",
    "tabular_resmlp",
    "dcgan_gen_32",
    "bilstm_40",
    "convmixer_32",
]  # the keys of keras_models(), small ones first


def convert_keras(name: str, build, folder: Path) -> dict:
    """float32 and int8 (full-integer PTQ on a random representative dataset) .tflite files."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = build()
    rng = np.random.default_rng(0)
    shapes = [tuple(d or 1 for d in t.shape) for t in model.inputs]  # applications leave the batch None

    def representative():
        for _ in range(16):
            yield [rng.standard_normal(s).astype(np.float32) for s in shapes]

    made = {}
    for kind in ("float", "int8"):
        path = folder / f"{name}_{kind}.tflite"
        if path.exists():
            made[kind] = "ok"
            continue
        try:
            conv = tf.lite.TFLiteConverter.from_keras_model(model)
            if kind == "int8":
                conv.optimizations = [tf.lite.Optimize.DEFAULT]
                conv.representative_dataset = representative
                conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                conv.inference_input_type = tf.int8
                conv.inference_output_type = tf.int8
            path.write_bytes(conv.convert())
            made[kind] = "ok"
        except Exception as exc:  # a model the converter refuses is a finding too
            made[kind] = f"converter: {first_line(str(exc))}"
    return made


# ---------------------------------------------------------------- build: torch -> ONNX


def torch_models() -> dict:
    """Small torchvision-like networks (torchvision itself does not import with this torch)."""
    import torch
    from torch import nn

    def cbr(cin, cout, k=3, s=1, groups=1, act=nn.ReLU6):
        return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), act())

    class InvertedResidual(nn.Module):
        def __init__(self, cin, cout, s, t):
            super().__init__()
            hid = cin * t
            self.use_res = s == 1 and cin == cout
            self.body = nn.Sequential(
                cbr(cin, hid, 1), cbr(hid, hid, 3, s, hid), nn.Conv2d(hid, cout, 1, bias=False), nn.BatchNorm2d(cout)
            )

        def forward(self, x):
            return x + self.body(x) if self.use_res else self.body(x)

    class MobileNetV2ish(nn.Module):
        def __init__(self):
            super().__init__()
            cfg = [(16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (64, 2, 6), (96, 1, 6)]
            blocks, cin = [cbr(3, 16, 3, 2)], 16
            for cout, s, t in cfg:
                blocks.append(InvertedResidual(cin, cout, s, t))
                cin = cout
            self.features = nn.Sequential(*blocks, cbr(cin, 256, 1))
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(256, 10))

        def forward(self, x):
            return self.classifier(nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1))

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, s):
            super().__init__()
            self.body = nn.Sequential(
                cbr(cin, cout, 3, s, act=nn.ReLU), nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout)
            )
            self.skip = (
                nn.Sequential()
                if s == 1 and cin == cout
                else nn.Sequential(nn.Conv2d(cin, cout, 1, s, bias=False), nn.BatchNorm2d(cout))
            )

        def forward(self, x):
            return torch.relu(self.body(x) + self.skip(x))

    class ResNetish(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(cbr(3, 16, 7, 2, act=nn.ReLU), nn.MaxPool2d(3, 2, 1))
            self.layers = nn.Sequential(
                BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2), BasicBlock(64, 64, 1)
            )
            self.fc = nn.Linear(64, 10)

        def forward(self, x):
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1))

    class Fire(nn.Module):
        def __init__(self, cin, s, e):
            super().__init__()
            self.squeeze = nn.Sequential(nn.Conv2d(cin, s, 1), nn.ReLU())
            self.e1 = nn.Sequential(nn.Conv2d(s, e, 1), nn.ReLU())
            self.e3 = nn.Sequential(nn.Conv2d(s, e, 3, padding=1), nn.ReLU())

        def forward(self, x):
            x = self.squeeze(x)
            return torch.cat([self.e1(x), self.e3(x)], 1)

    class SqueezeNetish(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 32, 3, 2),
                nn.ReLU(),
                nn.MaxPool2d(3, 2, ceil_mode=True),
                Fire(32, 8, 32),
                Fire(64, 8, 32),
                nn.MaxPool2d(3, 2, ceil_mode=True),
                Fire(64, 16, 64),
                Fire(128, 16, 64),
            )
            self.classifier = nn.Sequential(nn.Dropout(0.5), nn.Conv2d(128, 10, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1))

        def forward(self, x):
            return torch.flatten(self.classifier(self.features(x)), 1)

    class ShuffleBlockish(nn.Module):
        """ShuffleNetV2's channel split, shuffle (reshape/transpose) and hardswish."""

        def __init__(self):
            super().__init__()
            self.stem = cbr(3, 24, 3, 2, act=nn.Hardswish)
            self.branch = nn.Sequential(
                cbr(12, 12, 1, act=nn.Hardswish),
                cbr(12, 12, 3, 1, 12, act=nn.Identity),
                cbr(12, 12, 1, act=nn.Hardswish),
            )
            self.fc = nn.Linear(24, 10)

        def forward(self, x):
            x = self.stem(x)
            a, b = x.chunk(2, 1)
            x = torch.cat([a, self.branch(b)], 1)
            n, c, h, w = x.shape
            x = x.view(n, 2, c // 2, h, w).transpose(1, 2).reshape(n, c, h, w)
            return torch.softmax(self.fc(x.mean((2, 3))), 1)

    class GRUNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = nn.GRU(10, 32, batch_first=True)
            self.fc = nn.Linear(32, 12)

        def forward(self, x):
            return self.fc(self.gru(x)[0][:, -1])

    class Conv1dNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv1d(3, 16, 5),
                nn.BatchNorm1d(16),
                nn.ReLU(),
                nn.MaxPool1d(2),
                nn.Conv1d(16, 32, 3, 2),
                nn.ReLU(),
                nn.AdaptiveAvgPool1d(1),
                nn.Flatten(),
                nn.Linear(32, 6),
            )

        def forward(self, x):
            return self.body(x)

    class SqueezeExcite(nn.Module):
        def __init__(self, c):
            super().__init__()
            self.gate = nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Conv2d(c, c // 4, 1), nn.ReLU(), nn.Conv2d(c // 4, c, 1), nn.Hardsigmoid()
            )

        def forward(self, x):
            return x * self.gate(x)

    class MobileNetV3ish(nn.Module):
        """MobileNetV3-Small's blocks: hardswish, squeeze-excite gates (Hardsigmoid), 5x5 depthwise."""

        def __init__(self):
            super().__init__()
            hs = nn.Hardswish
            self.features = nn.Sequential(
                cbr(3, 16, 3, 2, act=hs),
                cbr(16, 16, 3, 2, 16, act=nn.ReLU),
                SqueezeExcite(16),
                nn.Conv2d(16, 16, 1, bias=False),
                nn.BatchNorm2d(16),
                cbr(16, 72, 1, act=nn.ReLU),
                cbr(72, 72, 3, 2, 72, act=nn.ReLU),
                nn.Conv2d(72, 24, 1, bias=False),
                nn.BatchNorm2d(24),
                cbr(24, 96, 1, act=hs),
                cbr(96, 96, 5, 2, 96, act=hs),
                SqueezeExcite(96),
                nn.Conv2d(96, 40, 1, bias=False),
                nn.BatchNorm2d(40),
                cbr(40, 128, 1, act=hs),
            )
            self.classifier = nn.Sequential(nn.Linear(128, 64), nn.Hardswish(), nn.Dropout(0.2), nn.Linear(64, 10))

        def forward(self, x):
            return self.classifier(nn.functional.adaptive_avg_pool2d(self.features(x), 1).flatten(1))

    class Segmentish(nn.Module):
        """A small encoder-decoder: bilinear and nearest upsampling, skip concats, PixelShuffle, a clamp."""

        def __init__(self):
            super().__init__()
            self.e1, self.e2, self.e3 = cbr(3, 16, 3, 2), cbr(16, 32, 3, 2), cbr(32, 64, 3, 2)
            self.up2 = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.d2 = cbr(64 + 32, 32)
            self.up1 = nn.Upsample(scale_factor=2, mode="nearest")
            self.d1 = cbr(32 + 16, 16)
            self.head = nn.Sequential(nn.Conv2d(16, 4 * 4, 1), nn.PixelShuffle(2))  # 4 classes, full resolution

        def forward(self, x):
            a = self.e1(x)
            b = self.e2(a)
            d = self.d2(torch.cat([self.up2(self.e3(b)), b], 1))
            d = self.d1(torch.cat([self.up1(d), a], 1))
            return torch.clamp(self.head(d), -4, 4)

    return {
        "torch_mobilenetv2ish_96": (MobileNetV2ish, (1, 3, 96, 96)),
        "torch_mobilenetv3ish_96": (MobileNetV3ish, (1, 3, 96, 96)),
        "torch_segmentish_64": (Segmentish, (1, 3, 64, 64)),
        "torch_resnetish_64": (ResNetish, (1, 3, 64, 64)),
        "torch_squeezenetish_96": (SqueezeNetish, (1, 3, 96, 96)),
        "torch_shufflenetish_64": (ShuffleBlockish, (1, 3, 64, 64)),
        "torch_conv1d_128": (Conv1dNet, (1, 3, 128)),
        "torch_gru_49": (GRUNet, (1, 49, 10)),
    }


def export_torch(name: str, spec, folder: Path) -> dict:
    """float ONNX (TorchScript exporter, opset 13) and its QDQ int8 (onnxruntime static quantization, random data)."""
    import torch

    cls, shape = spec
    torch.manual_seed(0)
    model = cls().eval()
    path, qpath = folder / f"{name}_float.onnx", folder / f"{name}_int8.onnx"
    made = {}
    try:
        if not path.exists():
            torch.onnx.export(
                model,
                torch.randn(shape),
                str(path),
                opset_version=13,
                dynamo=False,
                input_names=["input"],
                output_names=["output"],
            )
        made["float"] = "ok"
    except Exception as exc:
        return {"float": f"export: {first_line(str(exc))}"}
    try:
        if not qpath.exists():
            from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

            class Random(CalibrationDataReader):
                def __init__(self):
                    rng = np.random.default_rng(0)
                    self.data = iter([{"input": rng.standard_normal(shape).astype(np.float32)} for _ in range(16)])

                def get_next(self):
                    return next(self.data, None)

            quantize_static(
                str(path),
                str(qpath),
                Random(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
            )
        made["int8"] = "ok"
    except Exception as exc:
        made["int8"] = f"quantize_static: {first_line(str(exc))}"
    return made


# ---------------------------------------------------------------- build: tflite-micro's own models

TFLM_MODELS = [
    "python/tflite_micro/sine_float.tflite",
    "tensorflow/lite/micro/examples/hello_world/models/hello_world_float.tflite",
    "tensorflow/lite/micro/examples/hello_world/models/hello_world_int8.tflite",
    "tensorflow/lite/micro/examples/memory_footprint/models/simple_add_model.tflite",
    "tensorflow/lite/micro/examples/micro_speech/models/audio_preprocessor_float.tflite",
    "tensorflow/lite/micro/examples/micro_speech/models/audio_preprocessor_int8.tflite",
    "tensorflow/lite/micro/examples/micro_speech/models/micro_speech_quantized.tflite",
    "tensorflow/lite/micro/examples/mnist_lstm/trained_lstm.tflite",
    "tensorflow/lite/micro/examples/mnist_lstm/trained_lstm_int8.tflite",
    "tensorflow/lite/micro/examples/dtln/dtln_noise_suppression.tflite",
    "tensorflow/lite/micro/models/keyword_scrambled.tflite",
    "tensorflow/lite/micro/models/keyword_scrambled_8bit.tflite",
    "tensorflow/lite/micro/models/person_detect.tflite",
    "tensorflow/lite/micro/models/person_detect_vela.tflite",
    "third_party/xtensa/examples/micro_speech_lstm/micro_speech_lstm.tflite",
    "third_party/xtensa/examples/pytorch_to_tflite/mobilenet_v2_quantized_1x3x224x224.tflite",
]
SEANET = (
    "add",
    "conv",
    "leaky_relu",
    "pad",
    "quantize",
    "strided_slice",
    "sub",
    "transpose_conv",
)  # one of each, index 0 and 1


def copy_tflm(repo: Path, folder: Path) -> dict:
    """The tflite-micro repository's example and integration-test models, read from its git dir."""
    paths = list(TFLM_MODELS)
    paths += [f"tensorflow/lite/micro/integration_tests/seanet/{op}/{op}{i}.tflite" for op in SEANET for i in (0, 1)]
    made = {}
    for path in paths:
        name = "tflm_" + Path(path).stem
        target = folder / f"{name}.tflite"
        if not target.exists():
            blob = subprocess.run(["git", "--git-dir", str(repo), "show", f"HEAD:{path}"], capture_output=True)
            if blob.returncode:
                made[name] = f"git: {first_line(blob.stderr.decode())}"
                continue
            target.write_bytes(blob.stdout)
        made[name] = "ok"
    return made


def convert_isolated(name: str, folder: Path) -> dict:
    """convert_keras in a child process: the converter can crash the interpreter (int8 LSTM does)."""
    if all((folder / f"{name}_{kind}.tflite").exists() for kind in ("float", "int8")):
        return {"float": "ok", "int8": "ok"}
    done = subprocess.run(
        [sys.executable, __file__, "--convert-keras", name, "--cache", str(folder.parent)],
        capture_output=True,
        text=True,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode == 0 and lines:
        return json.loads(lines[-1])
    why = (
        f"converter crashed (signal {-done.returncode})"
        if done.returncode < 0
        else f"converter: {first_line(done.stderr)}"
    )
    return {kind: "ok" if (folder / f"{name}_{kind}.tflite").exists() else why for kind in ("float", "int8")}


def build(cache: Path, tflm_repo: Path, only: str) -> None:
    """Every model not in the cache yet; build.json keeps what each step made or why it could not."""
    log_path = cache / "build.json"
    log = json.loads(log_path.read_text()) if log_path.exists() else {}
    (cache / "tflm").mkdir(parents=True, exist_ok=True)
    if tflm_repo.exists():
        log["tflm"] = copy_tflm(tflm_repo, cache / "tflm")
    else:
        print(f"no tflite-micro git dir at {tflm_repo}: skipping its models", file=sys.stderr)
    (cache / "onnx").mkdir(exist_ok=True)
    try:
        specs = torch_models()
    except ImportError:
        print("no torch: skipping the ONNX models", file=sys.stderr)
        specs = {}
    for name, spec in specs.items():
        if fnmatch.fnmatch(name, only):
            log[name] = export_torch(name, spec, cache / "onnx")
            print(f"{name}: {log[name]}", flush=True)
            log_path.write_text(json.dumps(log, indent=1) + "\n")
    (cache / "keras").mkdir(exist_ok=True)
    for name in KERAS_NAMES:
        if fnmatch.fnmatch(name, only):
            started = time.time()
            log[name] = convert_isolated(name, cache / "keras")
            print(f"{name}: {log[name]} ({time.time() - started:.0f} s)", flush=True)
            log_path.write_text(json.dumps(log, indent=1) + "\n")


# ---------------------------------------------------------------- run

PROBE_TFLM = """
import sys, numpy as np, tflite
from tflite_micro.python.tflite_micro import runtime
path = sys.argv[1]
interpreter = runtime.Interpreter.from_file(path)
interpreter.print_allocations()
sys.stdout.flush()
inputs = tflite.Model.GetRootAsModel(open(path, 'rb').read(), 0).Subgraphs(0).InputsLength()
rng = np.random.default_rng(0)
for i in range(inputs):
    d = interpreter.get_input_details(i)
    x = rng.standard_normal(d['shape']) * 3
    x = x.astype(d['dtype']) if np.issubdtype(d['dtype'], np.floating) else np.clip(x * 20, -128, 127).astype(d['dtype'])
    interpreter.set_input(x, i)
interpreter.invoke()
print('INVOKED')
"""


def first_line(text: str, limit: int = 20000) -> str:
    """aiotc's one-line message (its last 'aiotc:' line), else the last line of the output."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = next((text for text in reversed(lines) if text.startswith("aiotc:")), lines[-1] if lines else "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def aiotc(args: list[str], timeout: int) -> tuple[int | None, str, str]:
    """rc (None on timeout), stdout, stderr of one aiotc command from this worktree."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run(
            ["nice", "-n", "10", sys.executable, "-m", "aiotc", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return None, "", f"timeout after {timeout} s"
    return done.returncode, done.stdout, done.stderr


def tflm_probe(model: Path, timeout: int) -> dict:
    """Does tflite-micro's Python interpreter load and invoke the model, and with what arena."""
    try:
        done = subprocess.run(
            ["nice", "-n", "10", sys.executable, "-c", PROBE_TFLM, str(model)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"runs": False, "arena": None, "error": f"timeout after {timeout} s"}
    out = done.stdout + done.stderr
    arena = re.search(r"Arena allocation total (\d+)", out)
    runs = done.returncode == 0 and "INVOKED" in done.stdout
    row = {"runs": runs, "arena": int(arena.group(1)) if arena else None}
    if not runs:
        row["error"] = first_line(out) if done.returncode > 0 else f"crashed (signal {-done.returncode})"
    return row


def compile_and_verify(model: Path, out: Path, extra: list[str], timeout: int) -> dict:
    """aiotc compile for the host, then verify the folder on 3 samples."""
    shutil.rmtree(out, ignore_errors=True)
    rc, _, err = aiotc(["compile", str(model), "--board", "host", "-o", str(out), "-q", *extra], timeout)
    row: dict = {"compiles": rc == 0}
    if rc != 0:
        row["reason"] = first_line(err) if rc is not None else err
        row["exit"] = rc
        return row
    report = json.loads((out / "report.json").read_text())
    row |= {"arena": report["arena_bytes"], "weights": report["weights_bytes"], "macs": report["macs"]}
    fidelity = (report.get("quantization") or {}).get("fidelity_on_calibration_data")
    if fidelity:
        row["fidelity"] = {"sqnr_db": fidelity.get("sqnr_db"), "top1_agreement": fidelity.get("top1_agreement")}
    rc, stdout, err = aiotc(["verify", str(out), "--board", "host", "--samples", "3", "--json"], timeout)
    try:
        verdict = json.loads(stdout)
        row["bit_exact"] = rc == 0 and verdict["mismatches"] == 0 and verdict["max_abs_diff"] == 0
        row["verify"] = verdict
    except ValueError:
        row["bit_exact"] = False
        row["verify_error"] = first_line(err) if rc is not None else err
    return row


def measure(model: Path, kind: str, work: Path, args) -> dict:
    row: dict = {
        "model": model.stem.removesuffix(f"_{kind}"),
        "type": kind,
        "source": model.parent.name,
        "format": model.suffix[1:],
        "bytes": model.stat().st_size,
    }
    row["aiotc"] = compile_and_verify(model, work / "out", [], args.timeout)
    if model.suffix == ".tflite":
        row["tflm"] = tflm_probe(model, args.timeout)
    if kind == "float":
        calib = compile_and_verify(
            model, work / "calib", ["--calib", "random", "--calib-method", args.calib_method], args.timeout
        )
        exported = next((work / "calib").glob("*.tflite"), None)
        if calib["compiles"] and exported:
            calib["tflm"] = tflm_probe(exported, args.timeout)
        row["calib"] = calib
    return row


def cores(row: dict) -> list[str]:
    """The cores --bench measures a compiled model on: both for int8, the Cortex-M4 for float (no peer to face)."""
    return [] if not row["aiotc"]["compiles"] else list(CORES) if row["type"] == "int8" else ["m4"]


def bench(model: Path, kind: str, core: str, work: Path, args) -> dict:
    """Instructions of one inference on `core` in QEMU, flash and arena as linked; for an int8 .tflite also the
    peer's on the same core, how many of aiotc's layers are slower than the peer's operators and the worst one."""
    board, out = CORES[core], work / "bench"
    shutil.rmtree(out, ignore_errors=True)
    rc, _, err = aiotc(["compile", str(model), "--board", board, "-o", str(out), "-q"], args.timeout)
    if rc != 0:
        return {"error": first_line(err) if rc is not None else err}
    rc, stdout, err = aiotc(["bench", str(out), "--board", board, "--json"], args.bench_timeout)
    try:
        b = json.loads(stdout)
    except ValueError:
        return {"error": first_line(err) if rc is not None else err}
    figures = {"instructions": b["instructions"], "flash": b["flash_bytes"], "arena": b["arena_bytes"]}
    if kind != "int8" or model.suffix != ".tflite":
        return figures
    absent = args.peer_absent[board]
    peer = {"error": absent} if absent else tflm.measure(model, board, args.peer)
    if "error" in peer:
        return figures | {"peer": peer}
    add_shapes(b["layers"], json.loads((out / "report.json").read_text())["layers"])
    slower, count, w = slower_and_worst(pair_layers(b["layers"], peer["layers"]), b["instructions"])
    figures["peer"] = {"instructions": peer["instructions"], "slower_layers": slower, "paired_layers": count}
    if peer.get("softmax_scale_raised"):
        figures["peer"]["softmax_scale_raised"] = True
    if w:
        figures["worst"] = {k: w[k] for k in ("name", "op", "instructions", "peer_instructions")} | {
            "shape": geometry(w)
        }
    return figures


def models_in(cache: Path) -> list[tuple[Path, str]]:
    """(path, float|int8) of every model built, small files first so a short run covers the most."""
    found = []
    for path in list(cache.glob("*/*.tflite")) + list(cache.glob("*/*.onnx")):
        kind = "float" if path.stem.endswith("_float") else "int8" if path.stem.endswith("_int8") else None
        if kind is None:  # tflite-micro's models: read the input tensor's type
            kind = tensor_kind(path)
        found.append((path, kind))
    return sorted(found, key=lambda pk: pk[0].stat().st_size)


def tensor_kind(path: Path) -> str:
    """int8 when any weight or activation is integer, float when everything is float32."""
    import tflite

    graph = tflite.Model.GetRootAsModel(path.read_bytes(), 0).Subgraphs(0)
    types = {graph.Tensors(i).Type() for i in range(graph.TensorsLength())}
    return "float" if types <= {tflite.TensorType.FLOAT32, tflite.TensorType.INT32, tflite.TensorType.BOOL} else "int8"


def run(args) -> None:
    if args.bench:
        args.peer_absent = tflm.prepare(args.peer, list(CORES.values()))
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"rows": []}
    done = {(r["model"], r["type"], r["format"]) for r in results["rows"]}
    work = args.cache / "work"
    for path, kind in models_in(args.cache):
        key = (path.stem.removesuffix(f"_{kind}"), kind, path.suffix[1:])
        if not fnmatch.fnmatch(path.stem, args.models):
            continue
        if key in done and not args.force:
            row = next(r for r in results["rows"] if (r["model"], r["type"], r["format"]) == key)
        else:
            started = time.time()
            row = measure(path, kind, work, args)
            row["seconds"] = round(time.time() - started)
            results["rows"] = [r for r in results["rows"] if (r["model"], r["type"], r["format"]) != key] + [row]
            save(results, args.cache)
            a = row["aiotc"]
            print(
                f"{path.name}: {'bit-exact' if a.get('bit_exact') else a.get('reason') or a.get('verify_error') or a.get('verify')} ({row['seconds']} s)",
                flush=True,
            )
        for core in cores(row) if args.bench else []:
            if core not in row:  # a row measured before, or without --bench, gains the core's figures
                started = time.time()
                row[core] = bench(path, kind, core, work, args)
                save(results, args.cache)
                print(f"{path.name}: {core} {bench_cell(row[core])} ({time.time() - started:.0f} s)", flush=True)
    save(results, args.cache)


def save(results: dict, cache: Path) -> None:
    """zoo.json and zoo.md as measured so far, with the models the converters refused to make."""
    log = cache / "build.json"
    made = json.loads(log.read_text()) if log.exists() else {}
    results["not_built"] = {
        f"{name}_{kind}": why
        for name, kinds in made.items()
        if name != "tflm"
        for kind, why in kinds.items()
        if why != "ok"
    }
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    report(results)


# ---------------------------------------------------------------- report


def short(reason: str) -> str:
    """The message without its prefix and without the list of what aiotc supports."""
    reason = reason.removeprefix("aiotc: ").removeprefix("error: ")
    return re.split(r"; aiotc supports ", reason)[0]


def reason_group(reason: str) -> str:
    """The refusal's cause with the model's own names and numbers dropped, so that equal causes count together:
    layer names in brackets, quoted tensor names, file names, numbers; an op listed twice counts once."""
    original = reason
    reason = short(reason)
    reason = re.sub(r"\S+\.(tflite|onnx): ", "", reason)
    reason = re.sub(r"^(?!internal error)\w*_\w*: ", "", reason)  # the model's name
    reason = re.sub(r"\((?:layer )?'[^']*'\)|\([^()]*(?:\([^()]*\)[^()]*)*\)", "", reason)
    reason = re.sub(r"'[^']*'", "'…'", reason)
    reason = re.sub(r" at (op|node) \d+", "", reason)
    reason = re.sub(r"\b\d+\b", "N", reason)
    if reason.startswith("unsupported: ") and " at " in original:
        reason = "unsupported: " + ", ".join(blocking_ops(original))
    return re.sub(r"\s+", " ", reason).replace(" ;", ";").strip()


def blocking_ops(reason: str) -> list[str]:
    """The ops (or op-on-type) an unsupported-op refusal names, each once, in its order."""
    reason = short(reason)
    ops = re.findall(r"(?:^unsupported: |; )([A-Za-z][A-Za-z0-9_:-]*) at (?:op|node) \d+", reason)
    ops += [f"{op} on {dtype}" for op, dtype in re.findall(r"op (\w+) on (\w+)", reason)]
    for op, rank in re.findall(r"(\w+) at (?:op|node) \d+ \([^)]*\): input '[^']*' has rank (\d+)", reason):
        ops = [f"{op} on rank {rank}" if o == op else o for o in ops]
    return list(dict.fromkeys(ops))


def fmt(value, spec=","):
    return "–" if value is None else format(value, spec)


def report(results: dict) -> None:
    """zoo.md, and the README's count of the corpus."""
    from benchmarks import readme

    (ROOT / "benchmarks" / "zoo.md").write_text(markdown(results))
    readme.write()


def markdown(results: dict) -> str:
    rows = sorted(results["rows"], key=lambda r: (r["source"], r["model"], r["type"]))
    compiled = [r for r in rows if r["aiotc"]["compiles"]]
    exact = [r for r in compiled if r["aiotc"].get("bit_exact")]
    close = [
        r for r in compiled if not r["aiotc"].get("bit_exact") and r["aiotc"].get("verify", {}).get("mismatches") == 0
    ]
    floats = [r for r in rows if "calib" in r]
    calib_ok = [r for r in floats if r["calib"]["compiles"]]
    calib_exact = [r for r in calib_ok if r["calib"].get("bit_exact")]
    tflm_runs = [r for r in rows if r.get("tflm", {}).get("runs")]
    reasons = Counter(reason_group(r["aiotc"]["reason"]) for r in rows if not r["aiotc"]["compiles"])
    reasons_calib = Counter(reason_group(r["calib"]["reason"]) for r in floats if not r["calib"]["compiles"])
    ops = Counter(op for r in rows if not r["aiotc"]["compiles"] for op in blocking_ops(r["aiotc"]["reason"]))
    models = {r["model"] for r in rows}
    by_type = Counter(r["type"] for r in rows)
    lines = [
        "# The op-coverage corpus",
        "",
        "Generated by `python benchmarks/zoo.py --build` then `--run` (issue 20). Models the project assembled itself, none of",
        "them in ../shared/models: Keras applications and small Keras models with random weights (float32, and int8 by the",
        "TFLite converter's full-integer PTQ on random data), torch networks exported to ONNX (float, and QDQ int8 by",
        "onnxruntime's static quantization), and the tflite-micro repository's example and integration-test models.",
        "Per row: `aiotc compile --board host` (or its one-line exit-2 reason), bit-exact = `aiotc verify OUT --board host",
        "--samples 3` with no difference, aiotc's arena against tflite-micro's (its Python interpreter's `print_allocations`),",
        "whether tflite-micro itself loads and invokes the model on random input; every float model also compiled with",
        "`--calib random` (int8 PTQ by aiotc: fidelity on the calibration data, bit-exact against its exported .tflite).",
        "The Keras applications are built twice: with a free batch (as `keras.applications` gives them; the converter then",
        "keeps Reshape/Flatten as SHAPE/PACK ops) and with the batch fixed to 1 (`*_b1`). The oracle is tflite-micro for",
        "integer models and LiteRT's reference kernels for float ones (`litert-ref`, the numeric contract's float oracle);",
        "`tflite-micro op by op`: an integer model with an op tflite-micro lacks (TILE, GELU), run one op at a time, the",
        "missing ops in LiteRT; `litert`: tflite-micro and LiteRT's reference kernels abort on the model (an int8 SOFTMAX",
        "whose input scale gives a multiplier below one), so verify compared with LiteRT's optimized kernels.",
        "",
        "## Summary",
        "",
        f"- {len(models)} models, {len(rows)} model files ({by_type['int8']} int8, {by_type['float']} float32)",
        f"- aiotc compiles {len(compiled)} of {len(rows)}; bit-exact with the oracle {len(exact)} of the {len(compiled)}"
        + (
            f", {len(close)} more float ones pass verify within its float tolerance (not bit for bit: the float oracle's own sums)"
            if close
            else ""
        ),
        f"- pass verify (bit-exact, floats within tolerance): {len(exact) + len(close)} of {len(rows)} model files"
        f" ({(len(exact) + len(close)) / max(len(rows), 1):.1%}); compile: {len(compiled) / max(len(rows), 1):.1%}",
        *(
            f"  - {kind}: {sum(r['type'] == kind for r in compiled)} of {by_type[kind]} compile, {sum(r['type'] == kind for r in exact)} bit-exact"
            for kind in ("int8", "float")
        ),
        f"- float models through `--calib random`: {len(calib_ok)} of {len(floats)} compile, {len(calib_exact)} bit-exact with tflite-micro on the export",
        *target_lines(rows),
        f"- tflite-micro itself loads and invokes {len(tflm_runs)} of the {sum('tflm' in r for r in rows)} .tflite files",
        f"- not built (the converter or exporter refused): {len(results.get('not_built', {}))}"
        + "".join(f"\n  - {name}: {why}" for name, why in sorted(results.get("not_built", {}).items())),
        "",
        "Refusals (aiotc's exit-2 message, names and numbers replaced by '…'/N), model files as given:",
        "",
        "| count | reason |",
        "|---:|---|",
    ]
    lines += [f"| {n} | {reason.replace('|', '/')} |" for reason, n in reasons.most_common()]
    lines += [
        "",
        "Unsupported ops, by the number of model files each appears in the refusal of (aiotc lists them all at once):",
        "",
    ]
    lines += [", ".join(f"{op} {n}" for op, n in ops.most_common())]
    if reasons_calib:
        lines += ["", "With `--calib random` (float models):", "", "| count | reason |", "|---:|---|"]
        lines += [f"| {n} | {reason.replace('|', '/')} |" for reason, n in reasons_calib.most_common()]
    lines += work_list(rows)
    lines += [
        "",
        "## Models",
        "",
        "| model | type | source | compiles | bit-exact | arena B | TFLM arena B | vs TFLM | TFLM runs | M4 instr "
        "| peer M4 | ratio | M55 instr | peer M55 | ratio | worst layer (ratio) "
        "| --calib random: compiles / bit-exact / SQNR dB / top-1 | reason |",
        "|---|---|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---|---|---|",
    ]
    for r in rows:
        a, t, c = r["aiotc"], r.get("tflm", {}), r.get("calib")
        exact_cell = "–" if not a["compiles"] else exact_verdict(a)
        vs = f"{a['arena'] / t['arena']:.2f}×" if a.get("arena") and t.get("arena") else "–"
        runs = "n/a (onnx)" if not t else "yes" if t["runs"] else f"no: {cut(t.get('error', ''), 120)}"
        speed = " | ".join(
            f"{bench_cell(r.get(core))} | {peer_cell(r.get(core))} | {ratio_cell(r.get(core))}" for core in CORES
        )
        worst_cell = "; ".join(
            f"{core.upper()}: {w['op']} {w['shape']} ({w['instructions'] / w['peer_instructions']:.2f}×)"
            for core in CORES
            if (w := r.get(core, {}).get("worst"))
        )
        if c is None:
            calib_cell = ""
        elif not c["compiles"]:
            calib_cell = (
                "no: the same refusal"
                if not a["compiles"] and reason_group(c["reason"]) == reason_group(a["reason"])
                else f"no: {cell(c['reason'])}"
            )
        else:
            f = c.get("fidelity") or {}
            calib_cell = (
                f"yes / {exact_verdict(c)} / {fmt(f.get('sqnr_db'), '.1f')} / {fmt(f.get('top1_agreement'), '.0%')}"
            )
        lines.append(
            f"| {r['model']} | {r['type']} | {r['source']} | {'yes' if a['compiles'] else 'no'} | {exact_cell} | {fmt(a.get('arena'))} "
            f"| {fmt(t.get('arena'))} | {vs} | {runs} | {speed} | {worst_cell or '–'} | {calib_cell} | {cell(a.get('reason', ''))} |".replace(
                "\n", " "
            )
        )
    return "\n".join(lines) + "\n"


def vs_peer(figures: dict | None) -> float | None:
    """aiotc's instructions over the peer's on one core, when both ran."""
    figures = figures or {}
    peer = figures.get("peer", {}).get("instructions")
    return figures["instructions"] / peer if peer and "instructions" in figures else None


def bench_cell(figures: dict | None) -> str:
    if figures is None:
        return "–"
    return fmt(figures["instructions"]) if "instructions" in figures else cut(short(figures["error"]), 120)


def peer_cell(figures: dict | None) -> str:
    peer = (figures or {}).get("peer")
    if peer is None:
        return "–"
    if "error" in peer:
        return cut(peer["error"], 60)
    return fmt(peer["instructions"]) + (" †" if peer.get("softmax_scale_raised") else "")


def ratio_cell(figures: dict | None) -> str:
    r = vs_peer(figures)
    return "–" if r is None else f"{r:.2f}×"


def target_lines(rows: list[dict]) -> list[str]:
    """Issue 22's targets per core: how many models meet them, how many have no layer slower than the peer."""
    lines = []
    for core, board in CORES.items():
        target = tflm.TARGETS[board]
        measured = [r for r in rows if "instructions" in r.get(core, {})]
        faced = [r for r in measured if vs_peer(r[core]) is not None]
        ratios = sorted(vs_peer(r[core]) for r in faced)
        failed = [f"{r['model']} ({r[core]['peer']['error']})" for r in measured if "error" in r[core].get("peer", {})]
        refused = [r[core]["error"] for r in rows if "error" in r.get(core, {})]
        lines += [
            f"- {board} (`aiotc bench`, with --bench): {len(measured)} measured"
            f" ({sum(r['type'] == 'int8' for r in measured)} int8), {len(refused)} refused"
            f" ({sum('does not fit' in e for e in refused)} of them: the weights do not fit the board's flash)",
            f"  - against the peer, on the {len(faced)} int8 .tflite models it runs (it cannot read the ONNX ones):"
            f" {sum(x <= target for x in ratios)} of {len(faced)} at most {target}× (issue 22),"
            f" {sum(r[core]['peer']['slower_layers'] == 0 for r in faced)} with no layer above 1.0×"
            + (f"; median {ratios[len(ratios) // 2]:.2f}×, worst {ratios[-1]:.2f}×" if ratios else ""),
            f"  - the peer fails on {len(failed)}: {', '.join(failed) or 'none'}",
        ]
    return lines


def work_list(rows: list[dict], top: int = 10) -> list[str]:
    """Issue 22's kernel work list: per core, the models furthest from the peer and the worst layers."""
    lines = [
        "",
        "## Against the peer: the kernel work list (issue 22)",
        "",
        "aiotc's instructions over the peer's (TFLite Micro + CMSIS-NN, benchmarks/peer/, same QEMU core, zeros in),",
        "per model and per layer as benchmarks/run.py pairs them (a layer against the peer operators that compute its",
        "output tensor); a model's worst layer is picked among its layers taking at least 1% of aiotc's instructions.",
        "† (peer column): TFLM aborts on the model (its SOFTMAX input scale, near 1e-8 with random weights, is below what",
        f"TFLM's softmax preparation takes), so the peer ran a copy with that scale raised to {tflm.SOFTMAX_SCALE_FLOOR:.2g}",
        "(`tflm.softmax_scale_raised`): a value in the kernels, not work, so the copy's instructions stand for the model's.",
    ]
    for core, board in CORES.items():
        target = tflm.TARGETS[board]
        faced = sorted(
            (r for r in rows if vs_peer(r.get(core)) is not None), key=lambda r: vs_peer(r[core]), reverse=True
        )
        lines += [
            "",
            f"### {board}: the {top} models furthest from the peer (target ≤ {target}×)",
            "",
            "| model | instructions | peer | ratio | layers slower than the peer | worst layer | op | shape | ratio |",
            "|---|---:|---:|---:|---:|---|---|---|---:|",
        ]
        for r in faced[:top]:
            f, w = r[core], r[core].get("worst")
            layer = (
                f"{w['name'].split(';')[0][-60:]} | {w['op']} | {w['shape']} | {w['instructions'] / w['peer_instructions']:.2f}×"
                if w
                else "– | – | – | –"
            )
            lines.append(
                f"| {r['model']} | {fmt(f['instructions'])} | {peer_cell(f)} | {vs_peer(f):.2f}× "
                f"| {f['peer']['slower_layers']} of {f['peer']['paired_layers']} | {layer} |"
            )
        worst = sorted(
            ((r, r[core]["worst"]) for r in faced if "worst" in r[core]),
            key=lambda rw: rw[1]["instructions"] / rw[1]["peer_instructions"],
            reverse=True,
        )
        lines += [
            "",
            f"### {board}: the {top} worst layers (each model's worst)",
            "",
            "| model | op | shape | instructions | peer | ratio |",
            "|---|---|---|---:|---:|---:|",
        ]
        lines += [
            f"| {r['model']} | {w['op']} | {w['shape']} | {fmt(w['instructions'])} | {fmt(w['peer_instructions'])} "
            f"| {w['instructions'] / w['peer_instructions']:.2f}× |"
            for r, w in worst[:top]
        ]
    return lines


def exact_verdict(a: dict) -> str:
    """yes, with the oracle where it is not tflite-micro (LiteRT's kernels where tflite-micro aborts)."""
    if not a.get("bit_exact"):
        return verify_cell(a)
    oracle = a["verify"]["oracle"]
    return "yes" if oracle == "tflite-micro" else f"yes ({oracle})"


def cell(reason: str) -> str:
    """An unsupported-op refusal as its op list (zoo.json keeps the layers); any other refusal as aiotc says it."""
    ops = blocking_ops(reason)
    return cut(
        ("unsupported: " + ", ".join(ops)) if ops and short(reason).startswith("unsupported: ") else short(reason)
    )


def cut(text: str, limit: int = 300) -> str:
    text = text.replace("|", "/")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def verify_cell(a: dict) -> str:
    if "verify" in a:
        v = a["verify"]
        if v["mismatches"] == 0:
            return f"within float tolerance (max {v['max_abs_diff']:.1g}, {v['oracle']})"
        return f"no ({v['mismatches']}/{v['samples']} differ, max {v['max_abs_diff']:g}, {v['oracle']})"
    return f"no: {a.get('verify_error', '')}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", action="store_true", help="make the models into the cache folder")
    parser.add_argument("--run", action="store_true", help="measure the cached models")
    parser.add_argument(
        "--report", action="store_true", help="only rewrite zoo.md (and the README's count) from zoo.json"
    )
    parser.add_argument("--convert-keras", metavar="NAME", help=argparse.SUPPRESS)  # --build's child process
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--tflm-repo", type=Path, default=TFLM_REPO, help="git dir of tensorflow/tflite-micro")
    parser.add_argument("--models", default="*", help="glob on the model file stem (or Keras/torch name with --build)")
    parser.add_argument("--force", action="store_true", help="measure again models already in zoo.json")
    parser.add_argument(
        "--bench",
        action="store_true",
        help="also the Cortex-M4/M55 instructions in QEMU, aiotc's and the peer's (slow)",
    )
    parser.add_argument("--peer", type=Path, default=tflm.DEFAULT, help="the peer's build (benchmarks/peer/build.sh)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per step")
    parser.add_argument("--bench-timeout", type=int, default=600)
    parser.add_argument("--calib-method", default="search", choices=("search", "mse", "minmax"))
    args = parser.parse_args()
    if args.convert_keras:
        print(json.dumps(convert_keras(args.convert_keras, keras_models()[args.convert_keras], args.cache / "keras")))
        return 0
    if args.build:
        build(args.cache, args.tflm_repo, args.models)
    if args.run:
        run(args)
    if args.report:
        report(json.loads(RESULTS.read_text()))
    if not (args.build or args.run or args.report):
        parser.error("say --build, --run or --report")
    return 0


if __name__ == "__main__":
    sys.exit(main())
