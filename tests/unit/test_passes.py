"""Each graph pass on a small float graph: the rewrite it promises, and the same
outputs before and after in LiteRT (the float oracle)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from aiotc import ir
from aiotc.passes import (
    depthwise_over_one_channel_as_conv,
    fold_affine,
    fold_moves_of_constants,
    fold_pads_into_windows,
    fuse_activations,
    global_pools_as_means,
    merge_reshapes,
    remove_dead_ops,
    remove_identity_reshapes,
    repeats_as_resize_nearest,
    run_passes,
    simplify_transposes,
)
from aiotc.quantize.observe import FloatRunner

from ..oplib import OpGraph


def float_outputs(graph: ir.Graph, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    sample = [rng.normal(0, 1, graph[name].shape).astype(np.float32) for name in graph.inputs]
    return FloatRunner(graph).outputs(sample)


def assert_same_function(before: ir.Graph, after: ir.Graph) -> None:
    for old, new in zip(float_outputs(before), float_outputs(after), strict=True):
        np.testing.assert_allclose(new, old, rtol=1e-5, atol=1e-5 * float(np.ptp(old) or 1))


def kinds(graph: ir.Graph) -> list[str]:
    return [op.kind for op in graph.ops]


def conv_then(*steps: str) -> ir.Graph:
    """input -> conv -> the steps (mul/add by per-channel constants, relu, relu6), float."""
    g = OpGraph(seed=3, dtype="float32")
    x = g.input((1, 6, 6, 3))
    y = g.conv2d(x, out_channels=4)
    for step in steps:
        if step in ("mul", "add"):
            y = g.binary(step, y, g.const(g.rng.uniform(0.5, 1.5, (1, 1, 1, 4)).astype(np.float32)))
        else:
            y = g.unary(step, y)
    return g.build(y)


def test_batchnorm_and_relu_fold_into_the_conv():
    graph = conv_then("mul", "add", "relu")
    folded = run_passes(graph)
    assert kinds(folded) == ["conv2d"]
    assert folded.ops[0].attrs.activation == "relu"
    assert_same_function(graph, folded)


def test_relu6_fuses_once():
    graph = conv_then("relu6", "relu")
    fused = fuse_activations(graph)
    assert kinds(fused) == ["conv2d", "relu"]  # the conv's activation is taken: the relu stays
    assert fused.ops[0].attrs.activation == "relu6"
    assert_same_function(graph, fused)


def test_a_layer_read_twice_keeps_its_own_output():
    g = OpGraph(seed=1, dtype="float32")
    x = g.input((1, 4, 4, 2))
    y = g.conv2d(x, out_channels=2)
    scaled = g.binary("mul", y, g.const(np.full((2,), 2.0, np.float32)))
    graph = g.build(scaled, g.unary("relu", y))
    assert kinds(fold_affine(graph)) == kinds(graph)
    assert kinds(fuse_activations(graph)) == kinds(graph)


@pytest.mark.parametrize(
    ("first", "second", "left"),
    [((0, 3, 1, 2), (0, 2, 3, 1), []), ((0, 2, 1, 3), (0, 2, 1, 3), []), ((0, 3, 1, 2), (0, 1, 2, 3), ["transpose"])],
)
def test_transposes_compose(first, second, left):
    g = OpGraph(seed=2, dtype="float32")
    x = g.input((1, 3, 4, 5))
    shape = tuple(g.tensors[x].shape[p] for p in first)
    y = g.movement("transpose", (x,), shape, ir.Transpose(first))
    z = g.movement("transpose", (y,), tuple(shape[p] for p in second), ir.Transpose(second))
    graph = g.build(g.unary("relu", z))
    simplified = simplify_transposes(graph)
    assert kinds(simplified) == [*left, "relu"]
    assert_same_function(graph, simplified)


def test_a_transpose_of_unit_axes_is_a_reshape():
    g = OpGraph(dtype="float32")
    x = g.input((1, 1, 4, 5))
    y = g.movement("transpose", (x,), (1, 4, 1, 5), ir.Transpose((0, 2, 1, 3)))
    graph = g.build(g.unary("relu", y))
    assert kinds(simplify_transposes(graph)) == ["reshape", "relu"]


def test_reshape_chains_merge_and_identities_go():
    g = OpGraph(dtype="float32")
    x = g.input((1, 2, 3, 4))
    y = g.movement("reshape", (x,), (1, 24), ir.NoAttrs())
    z = g.movement("reshape", (y,), (1, 2, 3, 4), ir.NoAttrs())
    graph = g.build(g.unary("relu", z))
    simplified = remove_identity_reshapes(merge_reshapes(graph))
    assert kinds(simplified) == ["relu"]
    assert simplified.ops[0].inputs == (x,)
    assert_same_function(graph, simplified)


def test_unread_ops_go():
    g = OpGraph(dtype="float32")
    x = g.input((1, 8))
    g.unary("relu", x)
    graph = g.build(g.unary("relu6", x))
    assert kinds(remove_dead_ops(graph)) == ["relu6"]


def constant_slice_added(dtype: str = "float32") -> ir.Graph:
    """x + reshape(transpose(strided_slice(c))), c a constant: what an unrolled Keras
    LSTM leaves behind (a slice of its constant initial TensorList)."""
    g = OpGraph(seed=5, dtype=dtype)
    x = g.input((1, 4))
    c = g.const(g.rng.normal(0, 1, (3, 4, 1)).astype(np.float32))
    row = g.movement("strided_slice", [c], (1, 4, 1), ir.StridedSlice((2, 0, 0), (3, 4, 1), (1, 1, 1)))
    column = g.movement("transpose", [row], (1, 1, 4), ir.Transpose((0, 2, 1)))
    flat = g.movement("reshape", [column], (1, 4), ir.NoAttrs())
    return g.build(g.binary("add", x, flat))


def test_moves_of_constants_fold():
    graph = constant_slice_added()
    folded = fold_moves_of_constants(graph)
    assert kinds(folded) == ["add"]
    np.testing.assert_array_equal(folded[folded.ops[0].inputs[1]].data, graph[graph.ops[0].inputs[0]].data[2:3, :, 0])
    assert_same_function(graph, folded)


def test_a_depthwise_conv_over_one_channel_is_a_conv():
    g = OpGraph(seed=4, dtype="float32")
    x = g.input((1, 9, 7, 1))
    graph = g.build(g.depthwise(x, multiplier=4, kernel=(3, 2), stride=(2, 1)))
    rewritten = depthwise_over_one_channel_as_conv(graph)
    assert kinds(rewritten) == ["conv2d"]
    assert rewritten[rewritten.ops[0].inputs[1]].shape == (4, 3, 2, 1)
    assert_same_function(graph, rewritten)


@pytest.mark.parametrize("kind", ["tile", "broadcast_to"])
@pytest.mark.parametrize(
    "view, repeated, resized",
    [
        ((1, 3, 1, 4, 1, 2), (1, 3, 2, 4, 3, 2), (1, 6, 12, 2)),  # both axes in one rank-6 tile
        ((1, 3, 4, 1, 2), (1, 3, 4, 3, 2), (1, 3, 12, 2)),  # columns only
        ((1, 1, 3, 4, 2), (1, 2, 3, 4, 2), None),  # the whole image twice: not a resize
    ],
)
def test_repeated_unit_axes_are_a_nearest_resize(kind, view, repeated, resized):
    g = OpGraph(seed=2, dtype="float32")
    x = g.input((1, 3, 4, 2))
    y = g.movement("reshape", (x,), view, ir.NoAttrs())
    multiples = ir.Tile(tuple(r // v for r, v in zip(repeated, view)))
    y = g.movement(kind, (y,), repeated, multiples if kind == "tile" else ir.NoAttrs())
    graph = g.build(g.movement("reshape", (y,), resized or (1, 6, 4, 2), ir.NoAttrs()))
    rewritten = run_passes(graph)
    if resized is None:
        assert "resize_nearest" not in kinds(rewritten)
        return
    assert kinds(repeats_as_resize_nearest(graph)) == ["reshape", "resize_nearest", "reshape", "reshape"]
    assert kinds(rewritten) == ["resize_nearest", "reshape"]  # the reshape names the graph's output
    assert_same_function(graph, rewritten)


def padded(pads, reader: str, activation: str = "relu") -> ir.Graph:
    """input -> conv (activation) -> PAD -> `reader` (conv, depthwise or a pool, VALID), float."""
    g = OpGraph(seed=5, dtype="float32")
    y = g.conv2d(g.input((1, 7, 6, 2)), out_channels=3, activation=activation)
    n, h, w, c = g.tensors[y].shape
    shape = (n, h + pads[1][0] + pads[1][1], w + pads[2][0] + pads[2][1], c + pads[3][0] + pads[3][1])
    y = g.movement("pad", [y], shape, ir.Pad(pads))
    if reader == "conv2d":
        y = g.conv2d(y, out_channels=4, stride=(2, 2), padding="valid")
    elif reader == "depthwise_conv2d":
        y = g.depthwise(y, padding="valid")
    else:
        y = g.pool(reader, y, kernel=(3, 3), stride=(2, 2))
    return g.build(y)


@pytest.mark.parametrize("reader", ["conv2d", "depthwise_conv2d", "max_pool2d"])
def test_a_pad_becomes_the_padding_of_the_window_reading_it(reader):
    graph = padded(((0, 0), (1, 1), (1, 0), (0, 0)), reader)
    folded = fold_pads_into_windows(graph)
    assert kinds(folded) == ["conv2d", reader]
    assert folded.ops[1].attrs.padding == ir.Padding(1, 1, 1, 0)
    assert_same_function(graph, folded)


@pytest.mark.parametrize(
    "pads, reader, activation",
    [
        (((0, 0), (1, 1), (1, 1), (0, 0)), "avg_pool2d", "relu"),  # an average counts the padding
        (((0, 0), (1, 1), (1, 1), (0, 0)), "max_pool2d", "none"),  # a negative input: the pad's zero wins
        (((0, 0), (2, 0), (0, 0), (0, 0)), "max_pool2d", "relu"),  # more than half the window: TFLite cannot say it
        (((0, 0), (1, 1), (1, 1), (0, 1)), "conv2d", "relu"),  # channels
        (((0, 0), (3, 0), (0, 0), (0, 0)), "conv2d", "relu"),  # a window of padding only
    ],
)
def test_a_pad_that_is_not_the_windows_padding_stays(pads, reader, activation):
    graph = padded(pads, reader, activation)
    assert kinds(fold_pads_into_windows(graph)) == kinds(graph)


def test_a_conv1d_causal_pad_becomes_the_convs_padding():
    """Keras' causal Conv1D as TFLite converts it: PAD of the 1 x L x C sequence, reshape to a
    one-row image, VALID conv. The conv pads on the left instead, the image is L wide."""
    g = OpGraph(seed=2, dtype="float32")
    x = g.input((1, 10, 2))
    sequence = g.movement("pad", [x], (1, 13, 2), ir.Pad(((0, 0), (3, 0), (0, 0))))
    image = g.movement("reshape", [sequence], (1, 1, 13, 2), ir.NoAttrs())
    graph = g.build(g.conv2d(image, out_channels=3, kernel=(1, 4), padding="valid"))
    folded = fold_pads_into_windows(graph)
    assert kinds(folded) == ["reshape", "conv2d"]
    assert folded[folded.ops[0].outputs[0]].shape == (1, 1, 10, 2)
    assert folded.ops[1].attrs.padding == ir.Padding(0, 0, 3, 0)
    assert_same_function(graph, folded)


@pytest.mark.parametrize(
    "kernel, activation, dtype, hinted, mean",
    [
        ((6, 5), "none", "float32", False, True),  # the whole map
        ((3, 5), "none", "float32", False, False),  # part of it
        ((6, 5), "relu", "float32", False, False),  # a clamp after the average
        ((6, 5), "none", "int8", False, False),  # quantized: TFLite's int8 pool, its scales
        ((6, 5), "none", "float32", True, False),  # a QDQ model: the pool keeps the scales it is given
    ],
)
def test_a_float_average_pool_over_the_whole_map_is_a_mean(kernel, activation, dtype, hinted, mean):
    g = OpGraph(seed=4, dtype=dtype)
    graph = g.build(g.pool("avg_pool2d", g.conv2d(g.input((1, 6, 5, 3)), 4), kernel, (1, 1), activation=activation))
    if hinted:
        graph = replace(graph, quant_hints={graph.inputs[0]: (0.05, 0)})
    rewritten = global_pools_as_means(graph)
    assert kinds(rewritten) == ["conv2d", "mean" if mean else "avg_pool2d"]
    if mean:
        assert rewritten.ops[1].attrs == ir.Mean((1, 2), keepdims=True)
        assert rewritten[rewritten.ops[1].outputs[0]].shape == (1, 1, 1, 4)
        assert_same_function(graph, rewritten)
