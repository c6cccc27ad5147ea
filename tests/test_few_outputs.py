"""Layers with few outputs (issue 22): the 1x1 conv and the Conv1D (1xK windows, no padding or
dilation) by weight rows (aiotc_convolve_rows_s8: one channel on any core, up to 24 on the M55) and
the fully connected layer of few rows (aiotc_fully_connected_rows_s8: blocks of 4, a last 1 or 2
rows alone; 1 to 10 outputs), bit-exact with tflite-micro on the host (portable C) and in
QEMU (DSP on the M4, MVE on the M55): input depths with tails after whole words and whole
vectors, widths not a multiple of 4, strides, weights of -128 and 127, the general
requantization and clamps."""

from __future__ import annotations

import json
import re

import pytest

from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.kernels import FC_ROWS_MAX_DSP

from .conftest import assert_bit_exact, verify_folder
from .oplib import OpGraph, assert_matches_oracle, assert_matches_oracle_in_qemu

KERNELS = {"aiotc_convolve_rows_s8", "aiotc_fully_connected_rows_s8"}


def _extremes(g: OpGraph) -> None:
    """The last layer's weights at the int8 extremes in their first row."""
    row = g.tensors[g.ops[-1].inputs[1]].data.reshape(-1)
    row[: min(3, row.size)] = (-128, 127, -128)[: min(3, row.size)]


def few_outputs_graph():
    g = OpGraph(seed=22)
    outs = []
    for shape, kwargs in (
        ((1, 7, 9, 8), {}),  # 9 columns: 2 groups of 4 and a lone pixel
        ((1, 5, 6, 3), dict(activation="relu6")),  # depth 3: no whole word
        ((1, 4, 5, 17), dict(stride=(2, 2))),  # a word tail after 16 (MVE: a predicated second vector)
        ((1, 3, 4, 33), dict(out_scale=0.0005)),  # left shifts: the general requantization
        ((2, 3, 3, 1), {}),  # one channel in, 2 batches
        ((1, 2, 30, 5), dict(kernel=(1, 9), padding="valid")),  # a Conv1D window of 45 taps, 2 rows
        ((1, 1, 40, 1), dict(kernel=(1, 8), stride=(1, 4), padding="valid")),  # raw audio: 1 channel, stride 4
    ):
        outs.append(g.conv2d(g.input(shape, zero_point=-7), 1, **({"kernel": (1, 1)} | kwargs)))
        _extremes(g)
    for shape, units, kwargs in (
        ((1, 4000), 4, {}),  # keyword spotting's classifier: a whole block
        ((1, 37), 3, dict(per_channel=True)),  # a block of 4 padded by a zero row, a word tail
        ((2, 21), 10, dict(activation="relu")),  # 2 blocks of 4 and one of 2, 2 batches
        ((1, 560), 10, dict(out_scale=0.0005)),  # the general requantization
        ((1, 1), 1, {}),  # depth 1
        ((1, 1280), 2, {}),  # mobilenet's 2 classes: a block of 2, whole 8-input steps (DSP)
        ((1, 45), 5, dict(per_channel=True)),  # 4 + 1 rows; 5 steps of 8, one of 4, a lone input
        ((2, 30), 6, dict(activation="relu6")),  # 4 + 2 rows, 2 batches; 3 steps of 8, one of 4, 2 inputs
        ((1, 19), 7, dict(out_scale=0.0005)),  # 4 + 3 rows; a vector and a predicated one (MVE)
        ((1, 8), 1, dict(activation="relu")),  # one 8-input step, one row
    ):
        outs.append(g.fully_connected(g.input(shape, zero_point=5), units, **kwargs))
        _extremes(g)
        if units > FC_ROWS_MAX_DSP:  # the packed kernel's on the DSP where byte pairs hold the weights
            g.unpackable(outs[-1], at=3)
    return g.build(*outs)


def test_few_output_kernels_match_tflite_micro(tmp_path):
    compiled = assert_matches_oracle(few_outputs_graph(), tmp_path, samples=4, seed=3)
    assert set(compiled.report["kernels"]) == KERNELS


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_few_output_kernels_match_tflite_micro_in_qemu(board, tmp_path):
    compiled = assert_matches_oracle_in_qemu(few_outputs_graph(), board, tmp_path, samples=4, seed=3)
    assert set(compiled.report["kernels"]) == KERNELS


def few_channels_graph():
    """1x1 convs and Conv1Ds of 2 to 24 channels on 16 pixels or more (an odd number on fewer),
    which the M55 runs by weight rows (the gemm elsewhere)."""
    g = OpGraph(seed=23)
    outs = []
    for shape, channels, kwargs in (
        ((1, 7, 9, 48), 8, {}),  # whole vectors; 63 pixels: 15 groups of 4, the last one overlapping
        ((1, 5, 6, 16), 8, dict(activation="relu")),  # one vector, loaded once for every channel
        ((1, 4, 18, 17), 3, dict(stride=(2, 2))),  # a predicated last vector; rows of 9 pixels: 3 groups
        ((1, 4, 4, 33), 24, dict(out_scale=0.0005)),  # left shifts: the general requantization
        ((2, 3, 3, 5), 12, dict(activation="relu6")),  # 2 batches, depth 5
        ((1, 6, 6, 100), 20, {}),  # 6 vectors and a tail of 4
        ((1, 11, 5, 20), 6, dict(stride=(2, 2))),  # rows of 3 pixels: no group of 4
        ((1, 1, 130, 4), 16, dict(kernel=(1, 3))),  # a TCN's first Conv1D: 12 taps, one predicated vector
        ((1, 3, 20, 8), 6, dict(kernel=(1, 5), stride=(1, 2), activation="relu")),  # 40 taps, 3 rows of 8
        ((4, 1, 11, 3), 24, dict(kernel=(1, 7), out_scale=0.0005)),  # 21 taps, 5 pixels, 4 batches
        ((1, 3, 3, 96), 9, {}),  # odd channels under 16 pixels: a detector head
        ((1, 1, 1, 64), 5, dict(activation="relu")),  # one pixel
        ((1, 41, 1, 16), 16, dict(stride=(2, 1))),  # a strided shortcut on its side: 21 pixels down a column
        ((2, 9, 1, 8), 5, dict(stride=(2, 1))),  # 2 columns of 5 pixels: a group of 4, one overlapping
    ):
        kwargs = {"kernel": (1, 1)} | kwargs | ({"padding": "valid"} if "kernel" in kwargs else {})
        outs.append(g.conv2d(g.input(shape, zero_point=-7), channels, **kwargs))
        _extremes(g)
    return g.build(*outs)


@pytest.fixture(scope="module")
def m55_folder(tmp_path_factory):
    """The few-channel graph compiled for the M55: every layer by weight rows."""
    tmp = tmp_path_factory.mktemp("few_channels")
    (tmp / "few_channels.tflite").write_bytes(write_tflite(few_channels_graph()))
    out = compile_model(tmp / "few_channels.tflite", board="cortex-m55", out_dir=tmp / "out").out_dir
    assert json.loads((out / "report.json").read_text())["kernels"] == ["aiotc_convolve_rows_s8"]
    return out


def test_few_channel_rows_kernel_matches_tflite_micro(m55_folder):
    """The M55's C built on the host: the portable path of every shape."""
    assert_bit_exact(verify_folder(m55_folder, samples=4, seed=5))


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_few_channel_rows_kernel_matches_tflite_micro_in_qemu(m55_folder, board):
    """MVE on the M55; the same C's DSP path on the M4."""
    assert_bit_exact(verify_folder(m55_folder, board, samples=4, seed=5))


@pytest.mark.qemu
@pytest.mark.parametrize("patch", ["auto", "off"])
def test_rows_kernel_in_place_and_in_bands_in_qemu(patch, tmp_path):
    """A chain of 1x1 convs and a Conv1D on the M55: whole, each output over its dying input (the last
    group of 63 pixels overlapping the one before rewrites pixels whose inputs the slack
    keeps), and streamed in bands of one 9-pixel row."""
    g = OpGraph(seed=7)
    x = g.conv2d(g.input((1, 7, 11, 40), zero_point=-7), 40, kernel=(1, 1), activation="relu")
    x = g.conv2d(g.conv2d(x, 12, kernel=(1, 3), padding="valid"), 12, kernel=(1, 1), activation="relu6")
    (tmp_path / "chain.tflite").write_bytes(write_tflite(g.build(g.conv2d(x, 5, kernel=(1, 1)))))
    out = compile_model(tmp_path / "chain.tflite", board="cortex-m55", out_dir=tmp_path / "out", patch=patch).out_dir
    assert "aiotc_convolve_rows_s8" in json.loads((out / "report.json").read_text())["kernels"]
    assert_bit_exact(verify_folder(out, "cortex-m55", samples=4, seed=7))


def gathered_rows_graph():
    """Convs of any window to 1-3 channels and padded or dilated Conv1Ds, which the M55 runs by
    weight rows on gathered windows."""
    g = OpGraph(seed=24)
    outs = []
    for shape, channels, kwargs in (
        ((1, 9, 10, 16), 3, {}),  # an image decoder's last layer: 3x3 same, 144 taps, 90 pixels
        ((1, 7, 9, 3), 2, dict(stride=(2, 2), activation="relu6")),  # 27 taps, padding, 20 pixels
        ((2, 6, 7, 5), 1, dict(kernel=(1, 3), padding="same", out_scale=0.0005)),  # 2 batches, left shifts
        ((1, 8, 8, 4), 3, dict(dilation=(2, 2), padding="valid")),  # dilation: 4x4 outputs
        ((1, 3, 67, 2), 3, dict(stride=(4, 4), padding="valid")),  # 17 pixels: a last group of one
        ((1, 21, 1, 4), 16, dict(kernel=(3, 1), dilation=(2, 1))),  # a dilated Conv1D on its side, padded
        ((1, 30, 1, 4), 16, dict(kernel=(3, 1))),  # on its side, padded: 4 windows read in the image
        ((2, 17, 1, 8), 5, dict(kernel=(3, 1), stride=(2, 1), padding="valid")),  # 2 batches, stride 2
    ):
        outs.append(g.conv2d(g.input(shape, zero_point=-7), channels, **kwargs))
        _extremes(g)
    x = g.conv2d(g.input((1, 6, 6, 8), zero_point=3), 3, activation="relu")  # a chain: the second over its input
    outs.append(g.conv2d(x, 2))
    return g.build(*outs)


@pytest.fixture(scope="module")
def gathered_folder(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gathered_rows")
    (tmp / "gathered.tflite").write_bytes(write_tflite(gathered_rows_graph()))
    out = compile_model(tmp / "gathered.tflite", board="cortex-m55", out_dir=tmp / "out").out_dir
    assert json.loads((out / "report.json").read_text())["kernels"] == ["aiotc_convolve_rows_im2col_s8"]
    return out


def test_gathered_rows_kernel_matches_tflite_micro(gathered_folder):
    """The M55's C built on the host: the portable path of every shape."""
    assert_bit_exact(verify_folder(gathered_folder, samples=4, seed=6))


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_gathered_rows_kernel_matches_tflite_micro_in_qemu(gathered_folder, board):
    """MVE on the M55; the same C's DSP path on the M4."""
    assert_bit_exact(verify_folder(gathered_folder, board, samples=4, seed=6))


def few_1x1_graph():
    """1x1 convs of channels in blocks of 8 over input depths in whole words, which DSP cores
    run a pixel and 8 channels at a time (aiotc_convolve_1x1_few_s8, issue 22): depths 16, 4
    (one step) and 48, 2 batches, stride 2, 48 channels over 8 inputs, the three
    requantizations (right shifts; under a ReLU's clamp; left shifts, the general one), a
    chain of 16 channels streamed in bands, and odd channels (a last block zero padded): 5
    (a segmentation head), 3, 9 and 21."""
    g = OpGraph(seed=25)
    outs = []
    for shape, channels, kwargs in (
        ((1, 9, 7, 16), 8, {}),
        ((2, 3, 5, 4), 8, dict(activation="relu", out_scale=0.1, out_zp=-20)),
        ((1, 6, 7, 48), 16, dict(stride=(2, 2))),
        ((1, 5, 5, 12), 16, dict(out_scale=0.0005)),
        ((1, 4, 5, 8), 48, dict(activation="relu6")),
        ((1, 7, 9, 8), 5, {}),
        ((1, 6, 5, 32), 3, dict(stride=(2, 2), activation="relu")),
        ((2, 3, 4, 16), 9, dict(out_scale=0.0005)),
        ((1, 5, 3, 64), 21, dict(activation="relu6")),
    ):
        outs.append(g.conv2d(g.input(shape, zero_point=-7), channels, kernel=(1, 1), **kwargs))
        _extremes(g)
    x = g.conv2d(g.input((1, 6, 6, 16), zero_point=3), 16, kernel=(1, 1), activation="relu6")
    x = g.conv2d(x, 16, kernel=(1, 1))
    outs.append(g.conv2d(x, 8, kernel=(1, 1)))
    return g.build(*outs)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m7"])
def test_few_channel_1x1_kernel_matches_tflite_micro(board, tmp_path):
    """DSP in QEMU, every layer on the kernel; the same folder built for the host runs its portable C."""
    graph = few_1x1_graph()
    compiled = assert_matches_oracle_in_qemu(graph, board, tmp_path, samples=4, seed=3)
    assert compiled.report["kernels"] == ["aiotc_convolve_1x1_few_s8"]
    code = (compiled.out_dir / "model.c").read_text()
    # the (multiplier, shift) pairs, with each requantization
    assert sorted(set(re.findall(r"_multiplier_shift \+ 1, (\d)\};", code))) == ["0", "1", "2"]
    assert_bit_exact(verify_folder(compiled.out_dir, samples=4, seed=3))


def few_window_graph():
    """First layers of 1-3 input channels and channels in blocks of 8, which DSP cores run a
    pixel's gathered window and 8 channels at a time (aiotc_convolve_im2col_few_s8, issue
    22): 3x3 over 1 channel (9 taps: a word tail), stride 2 and same padding (windows at
    every border); over 3 channels with 16 channels; kws's 10x4 over 1 channel to 64, 2
    batches; a dilated 3x3 under a ReLU's clamp; the general requantization."""
    g = OpGraph(seed=26)
    outs = []
    for shape, channels, kwargs in (
        ((1, 9, 10, 1), 8, dict(kernel=(3, 3), stride=(2, 2))),
        ((1, 7, 8, 3), 16, dict(kernel=(3, 3), stride=(2, 2), activation="relu6")),
        ((2, 11, 6, 1), 64, dict(kernel=(10, 4), stride=(2, 2))),
        ((1, 8, 8, 2), 8, dict(kernel=(3, 3), dilation=(2, 2), activation="relu", out_scale=0.1, out_zp=-20)),
        ((1, 5, 5, 3), 8, dict(kernel=(2, 2), padding="valid", out_scale=0.0005)),
    ):
        outs.append(g.conv2d(g.input(shape, zero_point=-7), channels, **kwargs))
        _extremes(g)
    return g.build(*outs)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m7"])
def test_few_channel_window_kernel_matches_tflite_micro(board, tmp_path):
    """DSP in QEMU, every layer on the kernel; the same folder built for the host runs its portable C."""
    compiled = assert_matches_oracle_in_qemu(few_window_graph(), board, tmp_path, samples=4, seed=4)
    assert compiled.report["kernels"] == ["aiotc_convolve_im2col_few_s8"]
    code = (compiled.out_dir / "model.c").read_text()
    assert sorted(set(re.findall(r"_multiplier_shift \+ 1, (\d)\};", code))) == ["0", "1", "2"]
    assert_bit_exact(verify_folder(compiled.out_dir, samples=4, seed=4))


def test_few_channels_take_the_rows_kernel_on_mve_only():
    """Up to 24 channels on an MVE core; more, or another core, the gemm; on a DSP core the
    few-channel 1x1 kernel for channels in blocks of 8 (or an odd number, padded to them at
    most doubled or over rows up to 32) over depths in whole words, up to 16 channels, rows up
    to 32 inputs or up to FEW_WEIGHTS weights, rows up to 64 inputs of up to 128 channels; the
    gemm's pairs, or from rows of 32 inputs its quads (kernels.QUAD_ROW), for the rest."""
    from aiotc.kernels import select_kernel

    for channels, mve, kernel in (
        (24, True, "aiotc_convolve_rows_s8"),
        (32, True, "aiotc_convolve_1x1_s8"),
        (8, False, "aiotc_convolve_1x1_s8"),
        (1, False, "aiotc_convolve_rows_s8"),
    ):
        g = OpGraph(seed=1)
        graph = g.build(g.conv2d(g.input((1, 4, 4, 16), zero_point=3), channels, kernel=(1, 1)))
        assert select_kernel(graph.ops[0], graph, mve=mve).name == kernel
    few, pairs, quad = "aiotc_convolve_1x1_few_s8", "aiotc_convolve_1x1_s8", "aiotc_convolve_1x1_quad_s8"
    for channels, depth, kernel in (
        (8, 16, few),
        (16, 256, few),
        (24, 192, few),
        (64, 32, few),
        (128, 64, few),
        (136, 64, quad),  # rows of 32 inputs and more: the quads (kernels.QUAD_ROW)
        (96, 72, quad),
        (32, 160, quad),
        (12, 16, pairs),
        (8, 6, pairs),
        (5, 8, few),  # odd: the last block zero padded
        (5, 256, few),
        (3, 32, few),
        (3, 128, quad),  # padded to more than twice the channels over rows of more than 32
        (9, 64, few),
        (18, 24, pairs),  # even: whole pairs
        (18, 32, quad),
    ):
        g = OpGraph(seed=1)
        graph = g.build(g.conv2d(g.input((1, 4, 4, depth), zero_point=3), channels, kernel=(1, 1)))
        assert select_kernel(graph.ops[0], graph, dsp=True).name == kernel


def test_first_layers_take_the_few_channel_window_kernel_on_dsp():
    """1-3 input channels, channels in blocks of 8 on the few kernel's shapes; 4 input
    channels (widened straight from the image), 12 channels or an MVE core: the gemm, whose
    quads take rows of QUAD_ROW inputs and more (of 1-3 channels too: gathered as bytes)."""
    from aiotc.kernels import select_kernel

    few, gemm, quad = "aiotc_convolve_im2col_few_s8", "aiotc_convolve_im2col_s8", "aiotc_convolve_im2col_quad_s8"
    for depth, channels, size, kernel, dsp in (
        (1, 8, 3, few, True),
        (3, 16, 3, few, True),
        (3, 64, 3, few, True),  # 27 taps padded to 28: up to 32
        (3, 24, 7, few, True),  # 148 x 24 weights: up to FEW_WEIGHTS
        (3, 64, 7, quad, True),  # 148 x 64: more
        (3, 12, 5, quad, True),  # 75 taps
        (3, 12, 3, gemm, True),  # 27 taps
        (4, 8, 3, quad, True),  # 36 taps
        (4, 8, 2, gemm, True),  # 16 taps
        (1, 12, 3, gemm, True),
        (1, 8, 3, gemm, False),
    ):
        g = OpGraph(seed=1)
        graph = g.build(g.conv2d(g.input((1, 8, 8, depth), zero_point=3), channels, kernel=(size, size)))
        assert select_kernel(graph.ops[0], graph, dsp=dsp).name == kernel, (depth, channels, size)


def test_only_windows_of_one_run_take_the_rows_kernel():
    """A Conv1D's 1xK window is one run of the image; padded or dilated ones are gathered (on MVE,
    up to 24 channels); 2-D windows of 4 channels or more run the gemm."""
    from aiotc.kernels import select_kernel

    for kwargs, kernel in (
        (dict(kernel=(1, 3), padding="valid"), "aiotc_convolve_rows_s8"),
        (dict(kernel=(1, 3), padding="same"), "aiotc_convolve_rows_im2col_s8"),
        (dict(kernel=(1, 3), padding="valid", dilation=(1, 2)), "aiotc_convolve_rows_im2col_s8"),
        (dict(kernel=(3, 3), padding="valid"), "aiotc_convolve_im2col_s8"),
    ):
        g = OpGraph(seed=1)
        graph = g.build(g.conv2d(g.input((1, 4, 12, 4), zero_point=3), 16, **kwargs))
        assert select_kernel(graph.ops[0], graph, mve=True).name == kernel


def test_packed_fully_connected_gives_way_to_the_rows_kernel():
    """Its scratch-free alternative is the rows kernel, not the reference loops."""
    from aiotc.kernels import scratch_free_kernel, select_kernel

    g = OpGraph(seed=1)
    graph = g.build(g.fully_connected(g.input((1, 64), zero_point=3), 32))
    op = graph.ops[0]
    packed = select_kernel(op, graph)
    assert packed.name == "aiotc_fully_connected_packed_s8" and packed.scratch_bytes > 0
    assert scratch_free_kernel(op, graph, packed).name == "aiotc_fully_connected_rows_s8"


def test_fully_connected_takes_the_rows_kernel_up_to_a_few_rows():
    """Packable weights: the rows kernel up to 4 rows on the DSP (the packed kernel's int16
    copy of the input pays from about 5), up to 12 on an MVE core or in portable C;
    unpackable ones always."""
    from aiotc.kernels import select_kernel

    for units, mve, dsp, unpackable, kernel in (
        (4, False, True, False, "aiotc_fully_connected_rows_s8"),
        (5, False, True, False, "aiotc_fully_connected_packed_s8"),
        (5, False, True, True, "aiotc_fully_connected_rows_s8"),
        (12, True, True, False, "aiotc_fully_connected_rows_s8"),
        (13, True, True, False, "aiotc_fully_connected_packed_s8"),
        (12, False, False, False, "aiotc_fully_connected_rows_s8"),
    ):
        g = OpGraph(seed=1)
        y = g.fully_connected(g.input((1, 64), zero_point=3), units)
        if unpackable:
            g.unpackable(y)
        graph = g.build(y)
        assert select_kernel(graph.ops[0], graph, mve=mve, dsp=dsp).name == kernel
