"""Layers with few outputs (issue 22): the 1x1 conv to one channel (aiotc_convolve_1x1_one_s8)
and the fully connected layer of few rows (aiotc_fully_connected_rows_s8), bit-exact with
tflite-micro on the host (portable C) and in QEMU (DSP on the M4, MVE on the M55): input
depths with tails after whole words and whole vectors, widths not a multiple of 4,
strides, weights of -128 and 127, the general requantization and clamps."""

from __future__ import annotations

import pytest

from .oplib import OpGraph, assert_matches_oracle, assert_matches_oracle_in_qemu

KERNELS = {"aiotc_convolve_1x1_one_s8", "aiotc_fully_connected_rows_s8"}


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
    ):
        outs.append(g.conv2d(g.input(shape, zero_point=-7), 1, kernel=(1, 1), **kwargs))
        _extremes(g)
    for shape, units, kwargs in (
        ((1, 4000), 4, {}),  # keyword spotting's classifier: a whole block
        ((1, 37), 3, dict(per_channel=True)),  # a partial block, a word tail
        ((2, 21), 10, dict(activation="relu")),  # 2 blocks and 2 rows, 2 batches
        ((1, 560), 10, dict(out_scale=0.0005)),  # the general requantization
        ((1, 1), 1, {}),  # depth 1
    ):
        outs.append(g.fully_connected(g.input(shape, zero_point=5), units, **kwargs))
        _extremes(g)
    return g.build(*outs)


def test_few_output_kernels_match_tflite_micro(tmp_path):
    compiled = assert_matches_oracle(few_outputs_graph(), tmp_path, samples=4, seed=3)
    assert set(compiled.report["kernels"]) == KERNELS


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_few_output_kernels_match_tflite_micro_in_qemu(board, tmp_path):
    compiled = assert_matches_oracle_in_qemu(few_outputs_graph(), board, tmp_path, samples=4, seed=3)
    assert set(compiled.report["kernels"]) == KERNELS


def test_packed_fully_connected_gives_way_to_the_rows_kernel():
    """Its scratch-free alternative is the rows kernel, not the reference loops."""
    from aiotc.kernels import scratch_free_kernel, select_kernel

    g = OpGraph(seed=1)
    graph = g.build(g.fully_connected(g.input((1, 64), zero_point=3), 32))
    op = graph.ops[0]
    packed = select_kernel(op, graph)
    assert packed.name == "aiotc_fully_connected_packed_s8" and packed.scratch_bytes > 0
    assert scratch_free_kernel(op, graph, packed).name == "aiotc_fully_connected_rows_s8"
