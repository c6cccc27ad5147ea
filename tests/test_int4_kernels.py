"""Per-op tests of the w4a8 fast kernels (int4 weights in aiotc_gemm_s4's layout) on the
host's portable C, bit-exact with tflite-micro: 1x1 and im2col convolutions and fully
connected layers at the edge shapes of the layout (input depths not a multiple of 8 or 4,
odd output channels, a lone last pixel), and depthwise layers (the int8 kernels run on
weights unpacked into their scratch).
tests/test_kernels_qemu.py runs the same kernels' DSP and MVE paths."""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.codegen.ops_conv import pack_gemm_s4_weights
from aiotc.kernels import select_kernel

from .oplib import OpGraph, assert_matches_oracle

CONV_CASES = {
    "1x1 odd in and out channels": dict(shape=(1, 5, 7, 5), out_channels=7, kernel=(1, 1)),
    "1x1 stride 2": dict(shape=(1, 9, 7, 12), out_channels=6, kernel=(1, 1), stride=(2, 2)),
    "1x1 depth 1": dict(shape=(1, 3, 3, 1), out_channels=4, kernel=(1, 1)),
    "1x1 depth 20, one pixel": dict(shape=(1, 1, 1, 20), out_channels=3, kernel=(1, 1)),
    "1x1 depth 64 relu6": dict(shape=(1, 4, 4, 64), out_channels=8, kernel=(1, 1), activation="relu6"),
    "1x1 general requantization": dict(shape=(1, 4, 3, 9), out_channels=5, kernel=(1, 1), out_scale=0.004),
    "im2col 3 channels stride 2": dict(shape=(1, 9, 7, 3), out_channels=5, stride=(2, 2)),
    "im2col 16 channels": dict(shape=(1, 6, 6, 16), out_channels=9),
    "im2col odd channels dilated": dict(shape=(1, 8, 7, 5), out_channels=4, kernel=(3, 2), dilation=(2, 1)),
    "im2col per-tensor weights": dict(
        shape=(1, 6, 6, 4), out_channels=3, kernel=(5, 5), padding="valid", per_channel=False
    ),
}


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d_int4(case, tmp_path):
    kwargs = dict(CONV_CASES[case])
    g = OpGraph(seed=3)
    x = g.input(kwargs.pop("shape"), scale=0.05, zero_point=-3)
    graph = g.build(g.int4(g.conv2d(x, **kwargs)))
    assert select_kernel(graph.ops[0], graph).name.endswith("_s4")
    assert_matches_oracle(graph, tmp_path)


DEPTHWISE_CASES = {
    "3x3 bands, 5 channels": ((1, 9, 17, 5), {}, "3x3"),
    "3x3 bands stride 2": ((1, 12, 16, 16), dict(stride=(2, 2), activation="relu6"), "3x3"),
    "3x3 narrow rows": ((1, 7, 6, 5), {}, "opt"),
    "5x1 valid": ((1, 6, 6, 3), dict(kernel=(5, 1), padding="valid"), "opt"),
    "dilated 13 channels": ((1, 8, 8, 13), dict(dilation=(2, 2)), "opt"),
    "depth multiplier 2": ((1, 6, 6, 3), dict(multiplier=2), "opt"),
    "depth multiplier 3 dilated": ((1, 9, 7, 5), dict(multiplier=3, stride=(2, 1), dilation=(2, 1)), "opt"),
}


@pytest.mark.parametrize("case", DEPTHWISE_CASES)
def test_depthwise_int4(case, tmp_path):
    shape, kwargs, kernel = DEPTHWISE_CASES[case]
    g = OpGraph(seed=4)
    graph = g.build(g.int4(g.depthwise(g.input(shape, zero_point=7), **kwargs)))
    assert select_kernel(graph.ops[0], graph).name == (kernel and f"aiotc_depthwise_conv_{kernel}_s4")
    assert_matches_oracle(graph, tmp_path)


@pytest.mark.parametrize("shape, units", [((1, 37), 7), ((1, 1), 3), ((2, 3), 9), ((1, 256), 2), ((3, 24), 5)])
def test_fully_connected_int4(shape, units, tmp_path):
    g = OpGraph(seed=6)
    graph = g.build(g.int4(g.fully_connected(g.input(shape, zero_point=-9), units)))
    assert select_kernel(graph.ops[0], graph).name == "aiotc_convolve_1x1_s4"
    assert_matches_oracle(graph, tmp_path)


def test_int4_extremes_stay_exact(tmp_path):
    """Weights -8 and 7 against inputs -128 and 127 over 1000 inputs: the DSP path's
    16x sums reach 2^24 in magnitude and must come back exact (>> 4)."""
    g = OpGraph(seed=5)
    conv = g.int4(g.conv2d(g.input((1, 1, 2, 1000), scale=0.02, zero_point=-128), 4, kernel=(1, 1), out_scale=60.0))
    g.tensors[g.ops[-1].inputs[1]].data[:] = np.array([7, -8, -8, 7]).reshape(4, 1, 1, 1)
    samples = [[np.full((1, 1, 2, 1000), v, np.int8)] for v in (127, -128)]
    assert_matches_oracle(g.build(conv), tmp_path, inputs=samples)


def test_s4_layout_puts_each_weight_where_the_kernel_reads_it():
    """aiotc_nn_gemm_s4.h: input i of a channel is in word i // 8, byte (i & 1) * 2 +
    (i >> 1 & 1), the high nibble if i & 4; rows padded to words, 16 bytes after."""
    rows = np.random.default_rng(0).integers(-8, 8, (3, 13))
    packed = pack_gemm_s4_weights(rows).view(np.uint8)
    assert packed.size == 3 * 8 + 16 and not packed[-16:].any()
    for c in range(3):
        for i in range(16):
            byte = int(packed[c * 8 + (i // 8) * 4 + (i & 1) * 2 + (i >> 1 & 1)])
            nibble = (byte >> 4) if i & 4 else byte & 0xF
            assert nibble - 16 * (nibble >= 8) == (rows[c, i] if i < 13 else 0)
