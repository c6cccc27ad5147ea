"""The int8 kernel paths on Cortex-M, bit-exact with tflite-micro: DSP on the M4, MVE on the M55.

The host build (tests/test_ops.py) runs the portable C of every kernel; here one graph
with a branch per kernel specialization and edge shape (odd channel counts, channels
not a multiple of 4, 1x1 with stride 2, depthwise 3x3 padded on every side, 5x1, 2x4
and dilated, first layers with 1 and 3 input channels, fully connected of depth 1, 3
and 37, add with a predicated tail and a broadcast sub, max pooling of 5 and 21
channels, ...) is compiled once per board and run in QEMU on a few random samples,
and every output must equal the oracle's.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from aiotc import ir
from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .oplib import OpGraph, assert_matches_oracle, assert_matches_oracle_in_qemu, extreme_samples
from .test_ops import mul_rows_graph
from .test_ops_activation import PRELU_CASES, gelu_graph, leaky_relu_graph, leaky_relu_samples
from .test_s16 import (
    extreme_accumulators,
    gather_edges_graph,
    in_place_windows_graph,
    int16_add_rows_graph,
    int16_elementwise_graph,
    int32_quantize_graph,
    minus_128_graph,
)
from .test_transpose_conv import transpose_conv_graph, unpackable_graph

pytestmark = pytest.mark.qemu

FAST_KERNELS = {
    "aiotc_convolve_1x1_s8",
    "aiotc_convolve_im2col_s8",
    "aiotc_convolve_grouped_s8",
    "aiotc_depthwise_conv_opt_s8",
    "aiotc_depthwise_conv_3x3_s8",
    "aiotc_fully_connected_packed_s8",
    "aiotc_add_table_s8",
    "aiotc_avgpool_s8",
    "aiotc_maxpool_s8",
}


def kernel_graph():
    """Inputs of a few shapes, each feeding the kernel variants that read that shape."""
    g = OpGraph(seed=11)
    odd = g.input((1, 9, 7, 5), zero_point=-3)  # 5 channels: not a multiple of 4
    wide = g.input((1, 6, 6, 16), zero_point=-128)
    rgb = g.input((1, 12, 11, 3), zero_point=17)
    mono = g.input((1, 21, 8, 1), zero_point=83)
    long = g.input((1, 7, 17, 5), zero_point=-100)
    flat = g.input((1, 37), zero_point=5)
    one = g.input((1, 1), zero_point=-128)
    pairs = g.input((2, 3), zero_point=9)  # 2 batches of depth 3
    deep40 = g.input((1, 5, 7, 40), zero_point=-128)  # 35 pixels of 40 channels
    outs = [
        g.conv2d(odd, 7, kernel=(1, 1)),  # 1x1, odd in and out channels
        g.conv2d(odd, 6, kernel=(1, 1), stride=(2, 2)),  # 1x1 stride 2
        g.conv2d(wide, 16, kernel=(1, 1), activation="relu6"),
        g.conv2d(odd, 9, kernel=(3, 2)),  # im2col, channels not a multiple of 4 (M4: 30 taps, quads)
        g.conv2d(odd, 9, kernel=(2, 2)),  # M4: 20 taps, under kernels.QUAD_ROW: the pairs
        g.conv2d(wide, 8, stride=(2, 2), out_zp=-128),  # stride 2, padding bottom/right only
        g.conv2d(odd, 4, dilation=(2, 2)),
        g.conv2d(rgb, 8, stride=(2, 2)),  # first layer, 3 channels
        g.conv2d(mono, 6, kernel=(10, 4), stride=(2, 2)),  # first layer, 1 channel (kws)
        g.conv2d(wide, 3, kernel=(5, 5), padding="valid", per_channel=False),
        g.conv2d(wide, 5, dilation=(2, 2)),  # channels in words widened from the image, padded on every side
        g.conv2d(odd, 3, kernel=(1, 1), out_scale=0.004),  # multipliers above 1/4: the general requantization
        g.conv2d(g.input((1, 5, 6, 33), zero_point=-128), 4, kernel=(5, 5)),  # clipped rows: runs over 16 bytes
        g.conv2d(deep40, 11, kernel=(1, 1)),  # M55: by weight rows (up to 24 channels), 35 pixels: a lone 3
        g.conv2d(deep40, 27, kernel=(1, 1)),  # MVE 4x2: a predicated first step, a lone last pixel, 24 + 3 channels
        g.conv2d(deep40, 28, kernel=(1, 1), out_scale=0.0006),  # MVE 4x2 stores with left shifts
        g.conv2d(wide, 32, kernel=(1, 1), activation="relu6"),  # MVE: 16 inputs, the columns loaded once
        g.conv2d(g.input((1, 6, 5, 64), zero_point=7), 12, kernel=(1, 1), stride=(2, 2), out_scale=0.004),
        g.conv2d(g.input((1, 4, 4, 33), zero_point=127), 8, kernel=(1, 1), activation="relu6"),  # 1 + 2 x 16 inputs
        g.conv2d(deep40, 5, kernel=(3, 3), stride=(2, 2)),  # im2col 360 taps, padded, 4 + 1 channels
        # M55 pixel pairs of kernel rows in whole vectors, gathered straight into the interleaved pair, the
        # channel blocks in one assembly loop (issue 22): 35 pixels (a lone last one) padded on every side,
        # 3 blocks, relu; 288 taps, stride 2 across, left shifts; 2 images of 9 pixels (a pair across them),
        # 2x2 kernel, right shifts only, saturating both ways; 1x1, 2 images of 15 pixels, right shifts
        g.conv2d(g.input((1, 5, 7, 16), zero_point=127), 12, activation="relu"),
        g.conv2d(g.input((1, 6, 5, 32), zero_point=-128), 8, stride=(1, 2), out_scale=0.0006),
        g.conv2d(g.input((2, 3, 3, 16), zero_point=-7), 4, kernel=(2, 2), out_scale=0.01, out_zp=-50),
        g.conv2d(g.input((2, 3, 5, 48), zero_point=-128), 8, kernel=(1, 1), out_scale=0.02, out_zp=5),
        # Conv1Ds on their side (audio_raw_m5's first layer): kernel rows of 1 and 2 taps back to back, one run
        # of whole vectors; 11 pixels (a lone last one); padded top and bottom, 2 images, 28 channels
        g.conv2d(g.input((1, 90, 1, 1), zero_point=-3), 28, kernel=(48, 1), stride=(4, 1), padding="valid"),
        g.conv2d(g.input((2, 20, 1, 2), zero_point=50), 28, kernel=(24, 1), stride=(2, 1), activation="relu"),
        g.depthwise(odd),  # 3x3 padded on every side, 5 channels: 4 fast + 1 tail
        g.depthwise(wide, activation="relu"),
        g.depthwise(wide, stride=(2, 2)),
        g.depthwise(odd, padding="valid", out_zp=127),
        g.conv2d(wide, 6, groups=2, stride=(2, 2)),  # grouped: 3 rows a group (a pair and a lone row), padded
        g.conv2d(wide, 16, groups=4, dilation=(2, 2), activation="relu"),  # 4 groups of 4 channels, a ReLU's clamp
        # groups of 6 channels (not whole words: gathered as bytes on the M4, where whole words are widened)
        g.conv2d(g.input((1, 5, 6, 12), zero_point=-7), 4, groups=2, activation="relu"),
        # M55 grouped pixel pairs gathered straight into the interleaved pair: 2 groups of 8 channels (72 taps,
        # the first 8 alone) and 8 rows, 35 pixels (a lone last one), padded; 16 channels (whole vectors), 4 rows,
        # 2 images, stride 2 down, dilated across, left shifts; 3 groups of 24 (8 bytes at a time), saturating
        g.conv2d(g.input((1, 5, 7, 16), zero_point=-128), 16, groups=2, activation="relu"),
        g.conv2d(g.input((2, 5, 4, 32), zero_point=9), 8, groups=2, stride=(2, 1), dilation=(1, 2), out_scale=0.0006),
        g.conv2d(g.input((1, 4, 5, 72), zero_point=127), 12, groups=3, out_scale=0.01, out_zp=-50),
        # groups 1 there too: kernel rows of 72 bytes (24 channels), 35 pixels (a lone last one) padded, 3
        # blocks, relu; 8 channels dilated, stride 2, left shifts
        g.conv2d(g.input((1, 5, 7, 24), zero_point=-128), 12, activation="relu"),
        g.conv2d(g.input((1, 9, 8, 8), zero_point=33), 8, stride=(2, 2), dilation=(2, 2), out_scale=0.0006),
        g.depthwise(rgb, multiplier=2),  # depth multiplier 2: the reference kernel, channel pairs
        g.depthwise(odd, multiplier=3, stride=(2, 1)),  # 3: a pair and a last output per channel
        g.depthwise(mono, kernel=(5, 1), padding="valid"),  # 1-D kernels (str_ww)
        g.depthwise(odd, kernel=(2, 4), stride=(1, 2)),  # even kernel, padded, 5 channels
        g.depthwise(wide, kernel=(3, 3), dilation=(2, 2)),
        g.depthwise(long),  # 3x3 channel planes: 17 columns (an odd last pair), 5 channels (a lone last plane)
        g.depthwise(long, stride=(1, 2), activation="relu6"),  # stride 2 across only
        g.depthwise(long, stride=(2, 1), out_zp=-128),  # stride 2 down only
        g.depthwise(long, stride=(2, 2), padding="valid"),
        g.depthwise(rgb),  # 3 channels, 11 columns
        g.depthwise(mono),  # 1 channel, 8 columns
        g.depthwise(g.input((1, 5, 6, 13), zero_point=21), stride=(1, 2)),  # channel-SIMD: 8 + 4 + 1 channels
        g.depthwise(g.input((1, 3, 5, 20), zero_point=-9), out_scale=0.0005),  # left shifts: the general requantization
        g.depthwise(g.input((1, 7, 17, 6), zero_point=-128), stride=(2, 2), out_zp=-100),  # bands: padded all round
        g.depthwise(g.input((1, 4, 9, 3), zero_point=127), out_scale=0.0005),  # bands: left shifts, odd channel
        g.depthwise(g.input((1, 24, 24, 32), zero_point=-5), stride=(2, 2)),  # M55: the opt kernel (issue 22)
        g.depthwise(g.input((1, 10, 10, 160), zero_point=30), activation="relu6"),  # M55: the opt kernel
        g.depthwise(g.input((1, 6, 7, 7), zero_point=127), kernel=(5, 5)),  # M4 pixel pairs across rows, 4 + 3 channels
        # 49 taps (one, then 12 loop steps of 4), stride 2, a lone last pixel, 8 + 4 channels
        g.depthwise(g.input((1, 9, 9, 12), zero_point=-128), kernel=(7, 7), stride=(2, 2)),
        g.depthwise(g.input((1, 5, 5, 10), zero_point=-128), out_scale=0.0005),  # narrow: pairs with left shifts
        g.depthwise(g.input((1, 4, 3, 4), zero_point=5), kernel=(3, 1), padding="valid"),  # 3 taps: a step entered at 2
        g.depthwise(g.input((1, 5, 6, 8), zero_point=-40), kernel=(2, 3), activation="relu"),  # 6 taps: 2, then a step
        # M55 opt kernel's two-pixel asm: 3 whole groups of 8, 35 pixels (a lone last one), padded on every side,
        # the general requantization (relu6) and the right-shift one (no activation)
        g.depthwise(g.input((1, 7, 5, 24), zero_point=-128), activation="relu6"),
        g.depthwise(g.input((1, 7, 5, 24), zero_point=77), stride=(2, 1)),
        g.depthwise(g.input((1, 6, 5, 16), zero_point=3), kernel=(5, 1), padding="valid"),  # its tap loop (5 taps)
        g.depthwise(g.input((1, 5, 7, 12), zero_point=-20), kernel=(2, 4), activation="relu6"),  # 8 taps, 12 ch
        g.fully_connected(flat, 7),  # odd depth
        g.fully_connected(flat, 6, per_channel=True, activation="relu"),
        g.fully_connected(one, 3),  # depth 1, one partial block of rows
        g.fully_connected(pairs, 9, per_channel=True),
        g.fully_connected(g.input((1, 48), zero_point=-1), 8),  # whole blocks and chunks
        g.fully_connected(g.input((1, 8), zero_point=-7), 128, activation="relu"),  # MVE: blocks as vectors (ad01)
        g.fully_connected(g.input((3, 20), zero_point=60), 14, out_scale=0.004),  # general requantization, 12 + 2
        g.fully_connected(g.input((1, 256), zero_point=127), 2, activation="relu"),  # vww's classes: one row pair (M4)
        # two chunks of the byte-pair sums (M4: 31 + 10 steps), 4 + 1 rows: the walked pointer into one row pair
        g.fully_connected(g.input((1, 650), zero_point=-128), 5, per_channel=True),
        # the DSP's runs of 8 inputs: 37 deep (3 steps) 8 + 2 rows (the lone row pair's loop), 100 deep 2 images
        # 12 + 1 rows, 24 deep 8 + 3 rows (a last block of both pairs)
        g.fully_connected(g.input((1, 37), zero_point=11), 10),
        g.fully_connected(g.input((2, 100), zero_point=-3), 13, per_channel=True, activation="relu"),
        g.fully_connected(g.input((1, 24), zero_point=-128), 11, out_scale=0.004),
        g.pool(
            "avg_pool2d", odd, kernel=(3, 3), stride=(1, 1), padding="same"
        ),  # SXTAB16 sums, 4 + 1 channels, borders (MVE: 5 predicated)
        g.pool("avg_pool2d", wide, kernel=(6, 6)),  # a whole 6x6 image, 16 channels
        g.pool(
            "avg_pool2d", g.input((1, 5, 6, 33), zero_point=-128), kernel=(3, 3), stride=(1, 1), padding="same"
        ),  # MVE: 16 + 16 channels, then 1 predicated; counts 4, 6 and 9, negative sums
        g.pool("avg_pool2d", g.input((1, 4, 4, 17), zero_point=60), kernel=(1, 1), stride=(2, 2), activation="relu6"),
        g.pool(
            "avg_pool2d", g.input((1, 5, 5, 29), zero_point=-60), kernel=(3, 3), stride=(1, 1), padding="same"
        ),  # MVE: 16 channels, then 13 predicated (8 + 5); DSP 7 x 4 + 1
        g.pool("max_pool2d", odd, kernel=(3, 3), stride=(2, 2), padding="same"),  # 4 + 1 channels, borders
        g.pool("max_pool2d", g.input((1, 6, 4, 21), zero_point=-128), activation="relu6"),  # 16 + 5: predicated
        g.pool("max_pool2d", odd, padding="same"),  # M4: 2x2 windows unrolled, 4 + 1 channels; clipped at the borders
        g.pool("max_pool2d", wide, stride=(1, 1), activation="relu6"),  # 2x2 overlapping, clamped: the window loop
        g.pool("max_pool2d", g.input((1, 24, 1, 16), zero_point=5), kernel=(2, 1), stride=(2, 1)),  # Conv1D on its side
        g.pool(  # one column, padded at both ends: the edge windows, then a run of 3 taps; 16 + 5 channels, clamped
            "max_pool2d", g.input((1, 25, 1, 21), zero_point=-7), (3, 1), (2, 1), padding="same", activation="relu6"
        ),
        g.pool("max_pool2d", g.input((1, 7, 9, 40), zero_point=9), kernel=(2, 2)),  # 2x2 runs of 32 + 8 channels
        g.pool("max_pool2d", g.input((1, 2, 30, 8), zero_point=-1), kernel=(1, 4), stride=(1, 4)),  # 1x4, 8 channels
        g.binary(
            "add", odd, g.input((1, 9, 7, 5), scale=0.07, zero_point=40), out_zp=-9
        ),  # 315 elements: a predicated tail
        g.binary("sub", wide, g.input((1, 1, 1, 16), scale=0.02, zero_point=-60), activation="relu"),  # broadcast
        g.unary("softmax", flat, 1 / 256, -128, ir.Softmax(1.0)),  # 37 deep: the exps computed twice
        g.unary("softmax", g.input((3, 16), scale=0.4, zero_point=-2), 1 / 256, -128, ir.Softmax(1.0)),  # kept
    ]
    return g.build(*outs)


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_kernel_paths_match_the_oracle_in_qemu(board, tmp_path):
    channels = "aiotc_depthwise_conv_pairs_s8" if board == "cortex-m4" else "aiotc_depthwise_conv_opt_s8"
    kernels = FAST_KERNELS - {"aiotc_depthwise_conv_opt_s8"} | {channels}
    assert_matches_oracle_in_qemu(kernel_graph(), board, tmp_path, kernels, samples=4, seed=2)


def test_an_m55_output_runs_right_on_the_host_and_the_m4(tmp_path):
    """Weights packed for the M55 (plain byte pairs, aiotc_nn_layout.h) built for other
    cores: the host's portable C and the M4, whose DSP gemm, made for the corrected pairs,
    gives way to the portable C, read them right."""
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    model = tmp_path / "model.tflite"
    model.write_bytes(write_tflite(kernel_graph()))
    out = compile_model(model, board="cortex-m55", out_dir=tmp_path / "out").out_dir
    assert "#define AIOTC_PAIRS_PLAIN 1" in (out / "aiotc_runtime" / "aiotc_nn_layout.h").read_text()
    for board, runner in (("host", HostModel.build(out)), ("cortex-m4", QemuModel.build(out, load_board("cortex-m4")))):
        result = verify(out, board, random_samples(runner.inputs, 2, 3), runner=runner)
        assert result.mismatches == 0, (board, result.max_abs_diff)


def tap_pairs_graph():
    """The DSP cores' depthwise kernel of tap pairs (aiotc_depthwise_conv_pairs_s8) at its
    layout's edges: kws's 25x5x64 (9 taps: 4 pairs and a last one, right shifts), stride 2
    of 32 channels (its choice over the bands), 4 + 4 + 1 channels padded all round, 2x4
    (pairs only) and 5x1 (a loop of pairs and a last tap) kernels, dilation, a ReLU's clamp
    (right_shifts 2) and left shifts (the general requantization), 2 images."""
    g = OpGraph(seed=23)
    return g.build(
        g.depthwise(g.input((1, 25, 5, 64), zero_point=-128), activation="relu", out_zp=-128),
        g.depthwise(g.input((1, 12, 12, 32), zero_point=-5), stride=(2, 2)),
        g.depthwise(g.input((1, 5, 6, 9), zero_point=127), out_zp=-100),
        g.depthwise(g.input((1, 5, 7, 12), zero_point=-20), kernel=(2, 4), activation="relu6"),
        g.depthwise(g.input((1, 6, 5, 16), zero_point=3), kernel=(5, 1), padding="valid"),
        g.depthwise(g.input((1, 7, 7, 8), zero_point=40), dilation=(2, 2), activation="relu", out_zp=-7),
        g.depthwise(g.input((2, 4, 3, 20), zero_point=-9), out_scale=0.0005),
    )


def test_depthwise_tap_pairs_match_the_oracle_in_qemu(tmp_path):
    kernels = {"aiotc_depthwise_conv_pairs_s8"}
    compiled = assert_matches_oracle_in_qemu(tap_pairs_graph(), "cortex-m4", tmp_path, kernels, samples=3, seed=7)
    assert set(compiled.report["kernels"]) == kernels


def test_depthwise_tap_pairs_portable_c_matches_the_oracle(tmp_path):
    """The M4's build on the host: the kernel's portable C reads the same layout."""
    model = tmp_path / "model.tflite"
    model.write_bytes(write_tflite(tap_pairs_graph()))
    compiled = compile_model(model, board="cortex-m4", out_dir=tmp_path / "out")
    runner = HostModel.build(compiled.out_dir)
    result = verify(compiled.out_dir, "host", random_samples(runner.inputs, 3, 7), runner=runner)
    assert result.mismatches == 0 and "aiotc_depthwise_conv_pairs_s8" in compiled.report["kernels"]


def depth_multiplier_graph():
    """Depthwise layers of depth multiplier 2 and 3 over several channels, which the channel
    kernels run over input rows with each channel repeated (aiotc_nn_dw_channels.h): strides
    1 and 2, padding same and valid, rows of odd width (a lone last pixel per row), channels
    off whole words and vectors (5 x 3, 7 x 2), a ReLU's clamp, a 5x3 kernel, 2 images, dilation
    across (down the rows the copy takes dilation 1)."""
    g = OpGraph(seed=29)
    return g.build(
        g.depthwise(g.input((1, 25, 5, 24), zero_point=-128), multiplier=2, activation="relu", out_zp=-128),
        g.depthwise(g.input((1, 9, 11, 5), zero_point=7), multiplier=3, stride=(2, 2)),
        g.depthwise(g.input((1, 8, 7, 7), zero_point=-3), multiplier=2, padding="valid", out_zp=10),
        g.depthwise(g.input((1, 9, 8, 6), zero_point=20), multiplier=3, stride=(2, 2), padding="valid"),
        g.depthwise(g.input((2, 7, 6, 16), zero_point=-9), multiplier=2, kernel=(5, 3), activation="relu6"),
        g.depthwise(g.input((1, 6, 9, 4), zero_point=5), multiplier=2, dilation=(1, 2)),
    )


@pytest.mark.parametrize("board", ["host", "cortex-m4", "cortex-m55"])
def test_depth_multiplier_channel_kernels_match_the_oracle(board, tmp_path):
    kernels = {"aiotc_depthwise_conv_pairs_s8" if board == "cortex-m4" else "aiotc_depthwise_conv_opt_s8"}
    if board == "host":
        compiled = assert_matches_oracle(depth_multiplier_graph(), tmp_path, samples=3, seed=4)
    else:
        compiled = assert_matches_oracle_in_qemu(depth_multiplier_graph(), board, tmp_path, kernels, samples=3, seed=4)
    assert set(compiled.report["kernels"]) == kernels


def one_row_depthwise_graph():
    """1-D depthwise layers of few channels at stride 2 (imu_gesture's separable Conv1Ds):
    along one row, and on their side, one column, as the lowering puts them (the channel
    kernels get it as a row: codegen's _along_a_row). 5 taps of 16 channels (on the M55
    two 8-channel steps a pair of pixels), 32 outputs, padded; a column of 31 (a lone last
    pixel); 2 columns of 24 channels, valid, stride 1, a ReLU's clamp; 2 rows of 12
    channels (a predicated tail), 3 taps, left shifts; a dilated column of int4 weights."""
    g = OpGraph(seed=37)
    return g.build(
        g.depthwise(g.input((1, 1, 64, 16), zero_point=-128), kernel=(1, 5), stride=(2, 2)),
        g.depthwise(g.input((1, 61, 1, 16), zero_point=7), kernel=(5, 1), stride=(2, 2), out_zp=-4),
        g.depthwise(
            g.input((2, 40, 1, 24), zero_point=-9), kernel=(5, 1), stride=(1, 1), padding="valid", activation="relu"
        ),
        g.depthwise(g.input((2, 1, 23, 12), zero_point=50), kernel=(1, 3), stride=(1, 2), out_scale=0.0006),
        g.int4(g.depthwise(g.input((1, 33, 1, 16), zero_point=-5), kernel=(5, 1), stride=(2, 1), dilation=(2, 1))),
    )


@pytest.mark.parametrize("board", ["host", "cortex-m4", "cortex-m55"])
def test_one_row_depthwise_of_few_channels_matches_the_oracle(board, tmp_path):
    kernels = {"aiotc_depthwise_conv_opt_s8", "aiotc_depthwise_conv_opt_s4"}  # the int4 one runs the int8 one
    if board == "cortex-m4":
        kernels.add("aiotc_depthwise_conv_pairs_s8")
    if board == "host":
        compiled = assert_matches_oracle(one_row_depthwise_graph(), tmp_path, samples=3, seed=5)
    else:
        compiled = assert_matches_oracle_in_qemu(one_row_depthwise_graph(), board, tmp_path, kernels, samples=3, seed=5)
    assert set(compiled.report["kernels"]) == kernels


def dilated_depth_multiplier_graph():
    """Depth multipliers over 1 dilated down the rows (the copy holds the dilated kernel's
    rows), int8 and int4 weights (unpacked, then the int8 kernels): strides 1 and 2, padding
    same and valid, rows of odd width, channels off whole words and vectors, 2 images."""
    g = OpGraph(seed=31)
    return g.build(
        g.depthwise(g.input((1, 25, 5, 24), zero_point=-128), multiplier=2, dilation=(2, 1), activation="relu"),
        g.depthwise(g.input((1, 11, 9, 5), zero_point=7), multiplier=3, stride=(2, 1), dilation=(2, 2)),
        g.depthwise(
            g.input((2, 9, 6, 7), zero_point=-3), multiplier=2, kernel=(3, 2), dilation=(3, 1), padding="valid"
        ),
        g.depthwise(g.input((1, 10, 7, 6), zero_point=20), multiplier=2, stride=(2, 2), dilation=(2, 1), out_zp=9),
        g.int4(g.depthwise(g.input((1, 9, 8, 12), zero_point=3), multiplier=2, activation="relu6")),
        g.int4(g.depthwise(g.input((1, 8, 7, 5), zero_point=-9), multiplier=3, dilation=(2, 1), stride=(1, 2))),
    )


@pytest.mark.parametrize("board", ["host", "cortex-m4", "cortex-m55"])
def test_dilated_and_int4_depth_multipliers_match_the_oracle(board, tmp_path):
    kernels = {"aiotc_depthwise_conv_opt_s8", "aiotc_depthwise_conv_opt_s4"}  # the int4 one runs the int8 one
    if board == "cortex-m4":
        kernels.add("aiotc_depthwise_conv_pairs_s8")
    graph = dilated_depth_multiplier_graph()
    if board == "host":
        compiled = assert_matches_oracle(graph, tmp_path, samples=3, seed=6)
    else:
        compiled = assert_matches_oracle_in_qemu(graph, board, tmp_path, kernels, samples=3, seed=6)
    assert set(compiled.report["kernels"]) == kernels


def relu_depthwise_graph():
    """Depthwise layers under a ReLU's clamp (bottom the zero point above -128, top 127),
    which take the right-shift requantization with the bottom clamped after it
    (right_shifts 2): the banded 3x3 kernel (4 x 5 + 1 channels), the channel kernel's
    9 taps (two-pixel steps, a lone last pixel, 12 + 1 channels) and its tap loop."""
    g = OpGraph(seed=17)
    return g.build(
        g.depthwise(g.input((1, 9, 9, 21), zero_point=-3), activation="relu", out_zp=-7),
        g.depthwise(g.input((1, 7, 5, 13), zero_point=12), activation="relu", out_zp=-20),
        g.depthwise(g.input((1, 5, 6, 8), zero_point=-40), kernel=(2, 3), activation="relu", out_zp=30),
    )


@pytest.mark.parametrize("board", ["host", "cortex-m4", "cortex-m55"])
def test_depthwise_right_shifts_under_a_relu_clamp(board, tmp_path):
    graph = relu_depthwise_graph()
    if board == "host":
        compiled = assert_matches_oracle(graph, tmp_path, samples=4, seed=3)
    else:
        compiled = assert_matches_oracle_in_qemu(graph, board, tmp_path, samples=4, seed=3)
    code = next(compiled.out_dir.glob("model.c")).read_text()
    assert re.findall(r"_shift(?: \+ 1)?, (\d)\};", code) == ["2"] * 3  # the M4's pairs: (multiplier, shift)


def relu_gemm_graph():
    """Gemm layers under a ReLU's clamp (bottom the zero point above -128, top 127), with
    right shifts and the bottom clamped after them (right_shifts 2, issue 22): 1x1 with odd
    channels, more than the M55's rows kernel takes, and a lone last pixel (M55: one 16-input
    step), 48 -> 28 (M55: the pixel
    pairs), 40 -> 26 (M55: blocks, a predicated first step, 2 channels left), 136 inputs
    (M4: the quad kernel), im2col of 144 taps (M4: quads; M55: pixel pairs) and of 30."""
    g = OpGraph(seed=23)
    relu = {"activation": "relu", "out_scale": 0.1}
    return g.build(
        g.conv2d(g.input((1, 3, 5, 13), zero_point=-3), 25, kernel=(1, 1), out_zp=-7, **relu),
        g.conv2d(g.input((1, 4, 5, 48), zero_point=12), 28, kernel=(1, 1), out_zp=-20, **relu),
        g.conv2d(g.input((1, 3, 7, 40), zero_point=-128), 26, kernel=(1, 1), out_zp=30, **relu),
        g.conv2d(g.input((1, 3, 5, 136), zero_point=60), 6, kernel=(1, 1), out_zp=-1, **relu),
        g.conv2d(g.input((1, 6, 6, 16), zero_point=5), 6, out_zp=3, **relu),
        g.conv2d(g.input((1, 7, 6, 5), zero_point=-40), 5, kernel=(3, 2), out_zp=-100, **relu),
    )


@pytest.mark.parametrize("board", ["host", "cortex-m4", "cortex-m55"])
def test_gemm_right_shifts_under_a_relu_clamp(board, tmp_path):
    graph = relu_gemm_graph()
    inputs = extreme_samples(graph, random=3, seed=7)
    pairs = {"aiotc_convolve_1x1_s8", "aiotc_convolve_im2col_s8"}
    if board == "host":
        compiled = assert_matches_oracle(graph, tmp_path, inputs=inputs)
    else:
        kernels = QUAD_KERNELS if board == "cortex-m4" else pairs
        compiled = assert_matches_oracle_in_qemu(graph, board, tmp_path, kernels, inputs=inputs, sram_budget=1 << 20)
    assert {layer["kernel"] for layer in compiled.report["layers"]} <= pairs | QUAD_KERNELS
    code = next(compiled.out_dir.glob("model.c")).read_text()
    assert re.findall(r"_shift, (\d)\};", code) == ["2"] * 6


INT4_KERNELS = {
    "aiotc_convolve_1x1_s4",
    "aiotc_convolve_im2col_s4",
    "aiotc_depthwise_conv_3x3_s4",
    "aiotc_depthwise_conv_opt_s4",
}


def int4_kernel_graph():
    """The w4a8 kernels (aiotc_nn_gemm_s4.h) at their layout's edges: input depths that
    are not a multiple of 8 (a last half word) or 4, odd output channels, a lone last
    pixel, channels in words (the widened im2col gather), the general requantization,
    extreme weights against long rows; depthwise int4 (unpacked, then the int8 kernels)."""
    g = OpGraph(seed=13)
    odd = g.input((1, 9, 7, 5), zero_point=-3)
    wide = g.input((1, 6, 6, 16), zero_point=-128)
    rgb = g.input((1, 12, 11, 3), zero_point=17)
    deep = g.input((1, 3, 3, 300), zero_point=-128)
    outs = [
        g.int4(g.conv2d(odd, 7, kernel=(1, 1))),
        g.int4(g.conv2d(odd, 6, kernel=(1, 1), stride=(2, 2))),
        g.int4(g.conv2d(wide, 16, kernel=(1, 1), activation="relu6")),
        g.int4(g.conv2d(g.input((1, 5, 3, 12), zero_point=4), 5, kernel=(1, 1))),  # depth 12: a half word
        g.int4(g.conv2d(deep, 9, kernel=(1, 1), out_scale=8.0)),
        g.int4(g.conv2d(odd, 9, kernel=(3, 2))),
        g.int4(g.conv2d(wide, 8, stride=(2, 2), out_zp=-128)),
        g.int4(g.conv2d(rgb, 8, stride=(2, 2))),
        g.int4(g.conv2d(wide, 5, dilation=(2, 2))),
        g.int4(g.conv2d(odd, 3, kernel=(1, 1), out_scale=0.004)),
        g.int4(g.depthwise(odd)),  # 3x3 on narrow rows: the opt kernel
        g.int4(g.depthwise(g.input((1, 9, 17, 5), zero_point=-60))),  # 3x3 bands
        g.int4(g.depthwise(g.input((1, 10, 10, 40), zero_point=7))),  # bands on the M4, opt on the M55 (issue 22)
        g.int4(g.depthwise(wide, stride=(2, 2), dilation=(1, 1), activation="relu")),
        g.int4(g.fully_connected(g.input((1, 37), zero_point=5), 7)),
        g.int4(g.fully_connected(g.input((2, 3), zero_point=9), 9)),
        g.int4(g.fully_connected(g.input((1, 300), zero_point=-2), 2, out_scale=2.0)),
    ]
    return g.build(*outs)


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_int4_kernel_paths_match_the_oracle_in_qemu(board, tmp_path):
    graph = int4_kernel_graph()
    inputs = extreme_samples(graph, random=3, seed=4)
    assert_matches_oracle_in_qemu(graph, board, tmp_path, INT4_KERNELS, inputs=inputs)


QUAD_KERNELS = {"aiotc_convolve_1x1_quad_s8", "aiotc_convolve_im2col_quad_s8"}


def quad_graph():
    """The M4's quad kernels (aiotc_nn_gemm_quad.h: 4 pixels per pass over the weights, rows
    of 64 inputs and more) at their edges: last quads of 3 pixels (15, 35) and the last 1
    or 2 pixels on the pair gemm (49, 50, 30 pixels: AIOTC_QUAD_TAIL), odd output channels
    (a last channel alone), rows not a multiple of 4 (130), 1x1 stride 2 over two images,
    im2col padded on every side, dilated and strided, of 3 and 1 channels (gathered as bytes,
    then widened), the general requantization."""
    g = OpGraph(seed=17)
    outs = [
        g.conv2d(g.input((1, 7, 7, 128), zero_point=-3), 3, kernel=(1, 1), activation="relu"),
        g.conv2d(g.input((1, 3, 5, 130), zero_point=127), 9, kernel=(1, 1), out_scale=0.004),
        g.conv2d(g.input((2, 9, 9, 144), zero_point=-128), 6, kernel=(1, 1), stride=(2, 2)),  # 2 x 25 pixels
        g.conv2d(g.input((1, 7, 5, 16), zero_point=5), 5, activation="relu6"),  # 144 taps, 35 pixels
        g.conv2d(g.input((1, 7, 7, 16), zero_point=-128), 4, dilation=(2, 2)),  # 49 pixels
        g.conv2d(g.input((1, 6, 5, 20), zero_point=60), 3, stride=(2, 1), out_scale=0.004),  # 180 taps, 15 pixels
        g.conv2d(g.input((1, 7, 7, 96), zero_point=-9), 6, kernel=(1, 1), activation="relu"),  # 96 inputs
        g.conv2d(g.input((1, 7, 5, 8), zero_point=33), 5),  # 72 taps
        g.conv2d(g.input((1, 6, 5, 16), zero_point=-7), 7, activation="relu"),  # 144 taps, 30 pixels
        g.conv2d(g.input((1, 9, 7, 3), zero_point=-4), 7, kernel=(5, 5), stride=(2, 2), padding="same"),  # 75 taps
        g.conv2d(g.input((1, 11, 6, 1), zero_point=9), 6, kernel=(10, 8), padding="same"),  # 80 taps, 66 pixels
    ]
    return g.build(*outs)


def test_quad_kernels_match_the_oracle_in_qemu(tmp_path):
    """The quad kernels, which a budget that the arena fits keeps (without one the planner
    weighs their scratch: memory/kernel_choice.py), equal tflite-micro's outputs on the M4,
    extreme and random inputs; the same folder built for the host runs their portable C
    (the pair drivers in the quads' scratch)."""
    graph = quad_graph()
    inputs = extreme_samples(graph, random=3)
    compiled = assert_matches_oracle_in_qemu(
        graph, "cortex-m4", tmp_path, QUAD_KERNELS, inputs=inputs, sram_budget=1 << 20
    )
    kernels = [layer["kernel"] for layer in compiled.report["layers"]]
    assert kernels.count("aiotc_convolve_1x1_quad_s8") == 4 and kernels.count("aiotc_convolve_im2col_quad_s8") == 7
    result = verify(compiled.out_dir, "host", inputs, runner=HostModel.build(compiled.out_dir))
    assert result.samples == len(inputs) and result.mismatches == 0


def dilated_graph():
    """Convolutions whose taps the DSP path widens straight from the image (channels in
    whole words), dilated 2 and 4: Conv1Ds upright (one column; windows inside it a
    kernel row per tap, undilated ones a single run) and on their side (taps dil_w
    apart), 2-D ones dilated down only (inside: kernel rows of 3 taps) and both ways,
    each padded at the ends; 168 and 224 taps for the quad kernel, 56 and 72 for pairs."""
    g = OpGraph(seed=23)
    column = g.input((1, 40, 1, 24), zero_point=-5)
    outs = [
        g.conv2d(column, 6, kernel=(7, 1), dilation=(2, 1), activation="relu"),  # 168 taps: quads
        g.conv2d(column, 5, kernel=(7, 1), dilation=(4, 1), out_scale=0.004),
        g.conv2d(column, 4, kernel=(7, 1)),  # undilated: a window inside is one run
        g.conv2d(g.input((1, 30, 1, 4), zero_point=127), 7, kernel=(7, 1), dilation=(4, 1)),  # 28 taps: pairs
        g.conv2d(g.input((1, 30, 1, 8), zero_point=-128), 3, kernel=(7, 1)),
        g.conv2d(g.input((1, 1, 33, 32), zero_point=9), 5, kernel=(1, 7), dilation=(1, 2)),  # on its side
        g.conv2d(g.input((1, 1, 33, 8), zero_point=-9), 4, kernel=(1, 7), dilation=(1, 4)),
        g.conv2d(g.input((1, 11, 7, 8), zero_point=60), 5, dilation=(2, 1)),  # 2-D, 72 taps
        g.conv2d(g.input((1, 11, 7, 8), zero_point=-60), 6, dilation=(4, 2), activation="relu6"),
        g.conv2d(g.input((1, 13, 6, 32), zero_point=3), 3, kernel=(7, 1), dilation=(2, 1)),  # 224 taps: quads
    ]
    return g.build(*outs)


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_dilated_convolutions_match_the_oracle_in_qemu(board, tmp_path):
    """Dilated and Conv1D convolutions (aiotc_gather_widened on the M4; the byte gather
    on the M55) equal tflite-micro's outputs, extreme and random inputs; on the host too."""
    graph = dilated_graph()
    inputs = extreme_samples(graph, random=3)
    kernels = {"aiotc_convolve_im2col_s8"} | ({"aiotc_convolve_im2col_quad_s8"} if board == "cortex-m4" else set())
    compiled = assert_matches_oracle_in_qemu(graph, board, tmp_path, kernels, inputs=inputs, sram_budget=1 << 20)
    result = verify(compiled.out_dir, "host", inputs, runner=HostModel.build(compiled.out_dir))
    assert result.samples == len(inputs) and result.mismatches == 0


def test_gemm_byte_pair_sums_stay_exact_at_the_extremes(tmp_path):
    """600 inputs of 127 or -128 against weights of 127 (channels a) and -128 (channels b,
    which byte pairs hold beside a >= 0), in a 1x1 conv (7 pixels on the M4's quad kernel:
    a quad and a last one of 3) and a fully connected layer: channel b's sum times 256
    leaves an int32 (at 512 inputs of -128 it is 2^31), so the DSP path must take the
    byte-pair difference every 508 inputs (aiotc_nn_gemm.h); the M4's outputs equal
    tflite-micro's."""
    g = OpGraph(seed=5)
    x = g.input((1, 1, 7, 600), scale=0.02, zero_point=-128)
    conv = g.conv2d(x, 4, kernel=(1, 1), out_scale=400.0)
    g.tensors[g.ops[-1].inputs[1]].data[:] = np.array([127, -128, 127, -128]).reshape(4, 1, 1, 1)
    fc = g.fully_connected(g.input((1, 600), scale=0.02, zero_point=-128), 5, out_scale=400.0)
    g.tensors[g.ops[-1].inputs[1]].data[:] = np.array([127, -128, 127, -128, 127]).reshape(5, 1)
    graph = g.build(conv, fc)
    kernels = {"aiotc_convolve_1x1_quad_s8"}
    assert_matches_oracle_in_qemu(
        graph, "cortex-m4", tmp_path, kernels, inputs=extreme_samples(graph), sram_budget=1 << 20
    )


def graph_16x8():
    """16x8 layers (int16 activations, int8 weights, int64 bias) behind QUANTIZE int8 ->
    int16, their int16 outputs compared whole: the byte-pair SMLALD (M4) and VMLALDAVA
    (M55) loops over two gathered columns (depths 5, 45, 72 and groups of 3: padding to
    8 inputs), the fully connected loop with its scalar tail (depths 37, 3), depthwise
    (4 channels at once and the int64 rest), and QUANTIZE back to int8."""
    g = OpGraph(seed=16, dtype="int16")

    def int16_input(shape, zero_point=-7):
        return g.quantize(g.input(shape, scale=0.05, zero_point=zero_point, dtype="int8"), "int16", 0.05 / 200)

    odd, wide, flat = int16_input((1, 9, 7, 5)), int16_input((1, 8, 8, 16), -128), int16_input((1, 37), 5)
    outs = [
        g.conv2d(odd, 7, kernel=(1, 1)),
        g.conv2d(wide, 16, kernel=(1, 1), stride=(2, 2), activation="relu6"),
        g.conv2d(odd, 9, kernel=(3, 3)),
        g.conv2d(wide, 8, kernel=(3, 3), stride=(2, 2), dilation=(1, 1), activation="relu"),
        g.conv2d(wide, 6, kernel=(3, 3), groups=2, padding="valid"),
        g.depthwise(odd, multiplier=2),
        g.depthwise(wide, stride=(2, 2)),
        g.fully_connected(flat, 7),
        g.fully_connected(flat, 6, per_channel=True),
        g.fully_connected(int16_input((2, 3), 9), 9, per_channel=True),
    ]
    outs.append(g.quantize(outs[2], "int8", float(g.tensors[outs[2]].quant.scale[0]) * 150, zero_point=3))
    return g.build(*outs)


@pytest.mark.parametrize(
    "board", ["cortex-m3", "cortex-m4", "cortex-m55"]
)  # portable C on a 32-bit core, DSP, DSP on the M55
def test_16x8_kernels_match_the_oracle_in_qemu(board, tmp_path):
    kernels = {"aiotc_convolve_s16", "aiotc_depthwise_conv_s16", "aiotc_fully_connected_s16", "aiotc_requantize_s16_s8"}
    assert_matches_oracle_in_qemu(graph_16x8(), board, tmp_path, kernels, samples=4, seed=3)


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_16x8_accumulators_beyond_int32_in_qemu(board, tmp_path):
    """The SMLALD (M4) and VMLALDAVA (M55) paths with sums of 8.6e9 and int64 biases
    beyond int32, and the depthwise int32 window sums at their limit."""
    graph, samples = extreme_accumulators()
    assert_matches_oracle_in_qemu(graph, board, tmp_path, inputs=samples)


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_16x8_conv_gather_edges_in_qemu(board, tmp_path):
    """aiotc_convolve_s16's gather (a copy per kernel row, per tap where channels are
    grouped or taps dilated, zeros outside the image) and its MVE/DSP copies with short
    predicated tails, on random int16 inputs and at -32768/32767."""
    graph = gather_edges_graph()
    compiled = assert_matches_oracle_in_qemu(
        graph, board, tmp_path, inputs=extreme_samples(graph, random=2, mixed=True, seed=7)
    )
    assert set(compiled.report["kernels"]) == {"aiotc_convolve_s16"}


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_16x8_conv_in_place_windows_in_qemu(board, tmp_path):
    """aiotc_convolve_s16's int32 sums: the M4's windows read in place by its assembly loop,
    the M55's vector requantization (see in_place_windows_graph)."""
    graph = in_place_windows_graph()
    compiled = assert_matches_oracle_in_qemu(
        graph, board, tmp_path, inputs=extreme_samples(graph, random=2, mixed=True, seed=9), sram_budget=1 << 20
    )
    assert set(compiled.report["kernels"]) == {"aiotc_convolve_s16"}


# issue 20: each new kernel in QEMU on the M4 (DSP build; the kernels are portable C)
NEW_KERNEL_GRAPHS = {
    "int16 add, sub, leaky relu, quantize to int32": (
        int16_elementwise_graph,
        {"aiotc_add_s16", "aiotc_leaky_relu_s16", "aiotc_requantize_s16_s32", "aiotc_requantize_s32_s16"},
    ),
    "quantize from and to int32": (
        int32_quantize_graph,
        {"aiotc_requantize_s32_s16", "aiotc_requantize_s32_s8", "aiotc_requantize_s8_s32"},
    ),
    "16x8 weights of -128": (minus_128_graph, {"aiotc_convolve_ref_s16"}),
    "transpose conv int8": (lambda: transpose_conv_graph("int8"), {"aiotc_transpose_conv_gemm_s8"}),
    "transpose conv int8, weights of -128": (unpackable_graph, {"aiotc_transpose_conv_s8"}),
    "transpose conv 16x8": (lambda: transpose_conv_graph("int16"), {"aiotc_transpose_conv_gemm_s16"}),
    "transpose conv 16x8, weights of -128": (lambda: unpackable_graph("int16"), {"aiotc_transpose_conv_s16"}),
    "transpose conv float32": (lambda: transpose_conv_graph("float32"), {"aiotc_transpose_conv_f32"}),
    "gelu float32": (gelu_graph, {"aiotc_gelu_f32"}),
}


@pytest.mark.parametrize("case", NEW_KERNEL_GRAPHS)
def test_issue20_kernels_match_the_oracle_in_qemu(case, tmp_path):
    build, kernels = NEW_KERNEL_GRAPHS[case]
    assert_matches_oracle_in_qemu(build(), "cortex-m4", tmp_path, kernels)


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_fully_connected_rows_the_packed_layout_cannot_hold_in_qemu(board, tmp_path):
    """Weights with a -128 beside a negative weight of the row before run the rows kernel
    (aiotc_nn_fc_rows.h) even where there are more rows than it takes for its speed: depths
    with a tail after whole words (37) and whole vectors (21), per-tensor and per-channel, a
    clamp."""
    g = OpGraph(seed=21)
    outs = []
    for depth, units, kwargs in ((37, 13, {}), (21, 14, dict(per_channel=True, activation="relu")), (64, 16, {})):
        outs.append(
            g.unpackable(g.fully_connected(g.input((2, depth), zero_point=-9), units, **kwargs), at=3, value=-7)
        )
    compiled = assert_matches_oracle_in_qemu(g.build(*outs), board, tmp_path, samples=4, seed=3)
    assert compiled.report["kernels"] == ["aiotc_fully_connected_rows_s8"]


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_float_fully_connected_in_qemu(board, tmp_path):
    """aiotc_fully_connected_f32's blocks of 4 rows and the rows after them (10 and 7
    outputs), two batches, a clamp, no bias: within the float tolerance of LiteRT."""
    g = OpGraph(seed=4, dtype="float32")
    x = g.input((2, 37))
    outs = [g.fully_connected(x, 10), g.fully_connected(x, 7, activation="relu6", bias=False)]
    compiled = assert_matches_oracle_in_qemu(g.build(*outs), board, tmp_path)
    assert compiled.report["kernels"] == ["aiotc_fully_connected_f32"]


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize("build", [int32_quantize_graph, int16_elementwise_graph], ids=["int32", "int16"])
def test_requantize_loops_in_qemu(build, board, tmp_path):
    """The requantize kernels' loop (aiotc_nn_requantize.h; MVE: 4 lanes, a predicated tail
    of 3; DSP: one rounding step, left and right shifts): int32 to int16 and int8 (finer,
    coarser: saturating), int8 and int16 to int32, zero points away from 0, at the ends of
    the input types and at random."""
    graph = build()
    compiled = assert_matches_oracle_in_qemu(
        graph, board, tmp_path, inputs=extreme_samples(graph, random=3, mixed=True, seed=11)
    )
    assert {"aiotc_requantize_s32_s16", "aiotc_requantize_s16_s32"} & set(compiled.report["kernels"])


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_int8_tables_in_qemu(board, tmp_path):
    """int8 LOGISTIC, TANH (aiotc.fixedpoint.sigmoid_table) and HARD_SWISH (hard_swish_table)
    as the lowering's tables over every int8 value and a tail of 3 (DSP: words of four; MVE:
    16-byte gathers, the last predicated), two input scales and zero points (one saturating
    most values)."""
    g = OpGraph(seed=12)
    outs = []
    for in_scale, in_zp in ((0.05, 0), (0.11, -100)):
        x = g.input((1, 259), scale=in_scale, zero_point=in_zp)
        outs += [g.unary("logistic", x, 1 / 256, -128), g.unary("tanh", x, 1 / 128, 0)]
        outs.append(g.unary("hard_swish", x, 0.04, -40))
    values = np.concatenate([np.arange(-128, 128), [5, -128, 127]]).astype(np.int8).reshape(1, 259)
    compiled = assert_matches_oracle_in_qemu(g.build(*outs), board, tmp_path, inputs=[[values, values]])
    assert compiled.report["kernels"] == ["aiotc_lookup_s8"]


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_dequantize_bit_exact_in_qemu(board, tmp_path):
    """int8 DEQUANTIZE (FPU multiply; MVE: four lanes, then a tail of 3) equal to the
    bit to TFLite's double product rounded to float, over every int8 value."""
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    g = OpGraph(seed=12)
    x = g.input((1, 259), scale=0.0137, zero_point=-7)
    d = g.unary("dequantize", x, out_dtype="float32")
    compiled = assert_matches_oracle_in_qemu(g.build(d), board, tmp_path, inputs=[])
    values = np.concatenate([np.arange(-128, 128), [5, -128, 127]]).astype(np.int8).reshape(1, 259)
    (got,) = QemuModel.build(compiled.out_dir, load_board(board)).invoke([values])
    want = (np.float64(np.float32(0.0137)) * (values.astype(np.float64) + 7)).astype(np.float32)
    assert got.dtype == np.float32 and np.array_equal(got.view(np.int32), want.view(np.int32))


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_prelu_rows_in_qemu(board, tmp_path):
    """int8 PRELU by rows (MVE: 4 lanes, alpha per lane or broadcast, predicated tails):
    per-channel, shared, full and scalar alphas, and zero points at the ends of int8."""
    g = OpGraph(seed=11)
    outs = []
    for case in PRELU_CASES.values():
        x = g.input(case["shape"], scale=0.05, zero_point=-10)
        outs.append(g.prelu(x, case["alpha_shape"], out_scale=0.04, out_zp=7))
    for in_zp, alpha_zp, out_scale, out_zp in ((-128, 0, 0.05, -128), (127, -128, 0.01, 127)):
        x = g.input((1, 5, 5, 7), scale=0.05, zero_point=in_zp)
        outs.append(g.prelu(x, (1, 1, 7), alpha_zp, out_scale, out_zp))
    assert_matches_oracle_in_qemu(g.build(*outs), board, tmp_path, {"aiotc_prelu_s8"})


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_resize_bilinear_in_qemu(board, tmp_path):
    """int8 RESIZE_BILINEAR in int32 sums (MVE: 4 channels a step, then a tail of 3),
    corners and half pixels, up and down, inputs at the ends of int8 (sums near 2^27)."""
    g = OpGraph(seed=4)
    outs = []
    for shape, size, attrs in (
        ((1, 5, 6, 7), (9, 11), ir.Resize(half_pixel_centers=True)),
        ((1, 4, 4, 8), (7, 3), ir.Resize(align_corners=True)),
        ((2, 3, 5, 3), (6, 10), ir.Resize()),
    ):
        x = g.input(shape, zero_point=-5)
        outs.append(g.movement("resize_bilinear", [x], (shape[0], *size, shape[3]), attrs))
    graph = g.build(*outs)
    inputs = extreme_samples(graph, random=2, mixed=True, seed=4)
    assert_matches_oracle_in_qemu(graph, board, tmp_path, {"aiotc_resize_bilinear_s8"}, inputs=inputs)


# the elementwise kernels' row loops (DSP on the M4, MVE on the M55): tails, broadcast
# operands on either side, saturating outputs, the extremes of the input types
ELEMENTWISE_ROW_GRAPHS = {
    "int8 mul": (mul_rows_graph, "aiotc_mul_s8", lambda graph: extreme_samples(graph, random=3, seed=3)),
    "int16 add and sub": (
        int16_add_rows_graph,
        "aiotc_add_s16",
        lambda graph: extreme_samples(graph, random=3, seed=7),
    ),
    "int16 leaky relu": (lambda: leaky_relu_graph("int16"), "aiotc_leaky_relu_s16", leaky_relu_samples),
    "int8 leaky relu": (lambda: leaky_relu_graph("int8"), "aiotc_leaky_relu_s8", leaky_relu_samples),
}


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize("case", ELEMENTWISE_ROW_GRAPHS)
def test_elementwise_rows_match_the_oracle_in_qemu(case, board, tmp_path):
    build, kernel, samples = ELEMENTWISE_ROW_GRAPHS[case]
    graph = build()
    assert_matches_oracle_in_qemu(graph, board, tmp_path, {kernel}, inputs=samples(graph))
