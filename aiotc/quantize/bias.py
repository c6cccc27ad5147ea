"""Empirical bias correction (Nagel et al., "Data-Free Quantization", ICCV 2019, with
the expectations measured on calibration data instead of derived from BatchNorm).

Rounding weights and activations shifts the mean of a layer's outputs a little per
channel, and the layers after it take that shift for signal. For each conv, depthwise
conv and fully connected layer in graph order, the mean of its output before the
fused activation follows from the mean input under each filter tap (the layer is
linear): once for the float model on its float inputs, once for the int8 model on the
int8 inputs it really gets (those of the layers before already corrected). The
difference, in units of the bias scale, is added to the int32 (int64 in w8a16) bias. Only bias
integers change, so the model stays the TFLite int8 spec and the C bit-exact with it.
On photo crops held out from calibration, over GPTQ-rounded weights: output SQNR
+0.6 dB on pretrainedResnet (22.4 -> 23.0 dB), +0.4 dB on vww_96, top-1 agreement
unchanged within noise; over nearest-rounded weights +1.7 and +1.5 dB.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..ir import Graph, Op
from ..ops import OPS
from .fidelity import Int8Values
from .gptq import taps
from .observe import FloatRunner
from .ptq import float_name

MAX_SAMPLES = 128


def correct_biases(
    float_graph: Graph,
    int_graph: Graph,
    samples: list[list[np.ndarray]],
    progress: Callable[[str, int], Callable[[], None]] | None = None,
) -> Graph:
    """`int_graph` with each layer's int32 bias moved by its mean output error on `samples`."""
    samples = samples[:MAX_SAMPLES]
    layers = [
        op
        for op in int_graph.ops
        if (OPS[op.kind].convolves or OPS[op.kind].dense) and len(op.inputs) > 2 and op.inputs[2]
    ]  # the layers whose mean output tap means give (a transposed convolution keeps its bias)
    floats = FloatRunner(float_graph)
    float_ops = {op.name: op for op in float_graph.ops}
    names = sorted({float_name(op.inputs[0]) for op in layers})
    float_inputs = [floats.run(s, names) for s in samples]
    by_bias: dict[str, list[Op]] = {}  # the steps of an unrolled loop share one bias: corrected once
    for op in layers:
        by_bias.setdefault(op.inputs[2], []).append(op)
    tick = progress("correcting biases", len(by_bias)) if progress else None
    ints = Int8Values(int_graph, samples)
    for bias, ops in by_bias.items():
        b = int_graph[bias]
        ints.update(int_graph)
        int_inputs = ints.values(sorted({op.inputs[0] for op in ops}))
        error = np.mean(
            [_output_error(op, float_graph, float_ops[op.name], int_graph, float_inputs, int_inputs) for op in ops],
            axis=0,
        )
        limits = np.iinfo(b.data.dtype)  # int32, or int64 after an int16 input
        values = np.clip(b.data + np.round(error / b.quant.scale.astype(np.float64)), limits.min, limits.max)
        int_graph = replace(
            int_graph, tensors={**int_graph.tensors, b.name: replace(b, data=values.astype(b.data.dtype))}
        )
        if tick:
            tick()
    return int_graph


def _output_error(op: Op, float_graph: Graph, float_op: Op, int_graph: Graph, float_inputs, int_inputs) -> np.ndarray:
    """Per output channel, the float layer's mean output less the int8 one's (biases included)."""
    x, w, b = op.inputs[0], int_graph[op.inputs[1]], int_graph[op.inputs[2]]
    weights = float_graph[float_op.inputs[1]].data.astype(np.float64)
    want = (
        _mean_output(op, weights, _tap_mean([v[float_name(x)] for v in float_inputs], op, weights.shape))
        + float_graph[float_op.inputs[2]].data
    )
    shape = [1] * w.data.ndim
    shape[w.quant.axis] = -1
    dequantized = w.data * w.quant.scale.astype(np.float64).reshape(shape if w.quant.scale.size > 1 else 1)
    got = _mean_output(
        op, dequantized, _tap_mean([v[x] for v in int_inputs], op, weights.shape)
    ) + b.data * b.quant.scale.astype(np.float64)
    return want - got


def _tap_mean(inputs: list[np.ndarray], op: Op, filter_shape: tuple[int, ...]) -> np.ndarray:
    """The mean input under each filter tap over all output positions and samples:
    (kh, kw, input channels) for convolutions, (input features,) for fully connected."""
    if op.kind == "fully_connected":
        return np.mean([x.reshape(-1, filter_shape[-1]).mean(axis=0) for x in inputs], axis=0)
    kernel = (filter_shape[1], filter_shape[2])
    return np.mean(
        [[t.mean(axis=(0, 1, 2)) for t in taps(x.astype(np.float64), op, kernel)] for x in inputs], axis=0
    ).reshape(*kernel, -1)


def _mean_output(op: Op, weights: np.ndarray, tap_mean: np.ndarray) -> np.ndarray:
    """Per output channel, the layer's mean output before bias and activation."""
    if op.kind == "fully_connected":
        return weights @ tap_mean
    if op.kind == "depthwise_conv2d":
        return (weights[0] * np.repeat(tap_mean, op.attrs.depth_multiplier, axis=-1)).sum(axis=(0, 1))
    out_channels, kh, kw, group_channels = weights.shape
    groups = tap_mean.shape[-1] // group_channels
    per_group = weights.reshape(groups, out_channels // groups, kh, kw, group_channels)
    return np.einsum("gohwc,hwgc->go", per_group, tap_mean.reshape(kh, kw, groups, group_channels)).reshape(-1)
