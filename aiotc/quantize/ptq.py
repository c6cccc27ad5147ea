"""Post-training quantization: a float graph and its calibration statistics become an
int8 graph to the TFLite int8 spec, so tflite-micro runs its export unchanged.

- weights: int8 symmetric per output channel (zero point 0, [-127, 127]);
- biases: int32 with scale input_scale x weight_scale and zero point 0;
- activations: int8 asymmetric over the calibrated range (zero always inside);
- w8a16 layers (mixed precision) read and write int16 copies of their activations
  (symmetric, zero point 0, over what the int8 parameters cover) with int64 biases,
  TFLite's 16x8; QUANTIZE ops convert where a neighbour computes in int8, and the
  graph's inputs and outputs stay int8;
- outputs by the op table's `output_quant`: fixed as TFLite Micro requires them
  (softmax and logistic 1/256 with zero point -128, tanh 1/128 with 0);
- ops tflite-micro runs on float32 only (the table's `float_only`: NEG) stay float
  between DEQUANTIZE and QUANTIZE, as the TFLite converter writes them;
- ops that move bytes without rescaling in TFLite Micro (reshape, pools, pad,
  transpose, slice, relu6, concat) give their output the input's parameters; a
  concat's inputs share one range, their producers quantizing straight into it.

Ranges: `minmax` takes what calibration saw; `mse` searches, per tensor, the
clipping range whose quantization error over the calibration histogram is least
(min/max is one candidate, so a tensor without outliers keeps it); search.py then
refines them against the model's output (method `search`, the default).

Weights: nearest rounding, or GPTQ rounding (gptq.py) for the layers whose input
statistics are given; method `search` gives them for every conv and fully connected
layer, int8 or int4; int4 ones then also choose each channel's clipping.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from ..errors import ModelError
from ..fixedpoint import tflite_round_array
from ..ir import LSTM_CELL_STATE, Graph, Op, Quant, Tensor
from ..ops import CALIBRATED, OPS, SAME_AS_INPUT, SHARED, Fixed
from .gptq import gptq_round
from .lstm import quantize_lstm
from .observe import TensorStats
from .precision import DEFAULT, full_assignment

WEIGHT_BITS = {"w8a8": 8, "w4a8": 4, "w8a16": 8}  # per precision choice (precision.py)
WIDE = "/int16"  # suffix of a tensor's int16 copy, read and written by w8a16 layers
SHRINK = np.linspace(0.2, 1.0, 81)  # candidate clipping ranges, as fractions of min/max
INT4_CLIPPING = np.linspace(0.5, 1.0, 21)  # candidate int4 weight scales, as fractions of max|w| / 7


def initial_ranges(graph: Graph, stats: dict[str, TensorStats], method: str) -> dict[str, tuple[float, float]]:
    """Every activation's range by `method` (graph inputs: min/max); concat groups share the union."""
    real = [t for t in graph.activations() if t.dtype == "float32"]  # not integer results (arg max indices)
    missing = [t.name for t in real if t.name not in stats]
    if missing:
        raise ModelError(f"calibration did not observe {len(missing)} tensor(s), e.g. {missing[0]!r}")
    ranges = {t.name: choose_range(stats[t.name], "minmax" if t.name in graph.inputs else method) for t in real}
    for op in graph.ops:
        if OPS[op.kind].output_quant == SHARED:
            names = [
                n for n in (*op.inputs, op.outputs[0]) if not graph[n].is_const and graph[n].dtype == "float32"
            ]  # the output holds the constants; indices share no range
            union = (min(stats[n].low for n in names), max(stats[n].high for n in names))
            ranges.update({n: union for n in names})
    return ranges


def free_tensors(graph: Graph) -> list[str]:
    """Activations whose range is a free choice (not fixed by the op or inherited from an input)."""
    return [
        op.outputs[0]
        for op in graph.ops
        if calibrated(op)
        and graph.consumers[op.outputs[0]]
        and all(OPS[c.kind].output_quant != SHARED for c in graph.consumers[op.outputs[0]])
    ]


def calibrated(op: Op) -> bool:
    """Whether the op's output gets a range of its own (not fixed, inherited or shared)."""
    return OPS[op.kind].output_quant == CALIBRATED


def shared_range(op: Op) -> bool:
    """Whether the op's output range is one its inputs share (concat, maximum, minimum)."""
    return OPS[op.kind].output_quant == SHARED


def quantize_graph(
    graph: Graph,
    ranges: dict[str, tuple[float, float]],
    precision: Mapping[str, str] | None = None,
    hessians: Mapping[str, np.ndarray] | None = None,
    keep_float: frozenset[str] = frozenset(),
) -> Graph:
    """The int8 graph of `graph` (float32), its activations quantized over `ranges`;
    `precision` (layer name -> "w8a8"|"w4a8"|"w8a16", see precision.py) picks per layer;
    weights of layers in `hessians` are rounded by GPTQ (gptq.py). The ops in `keep_float`
    (a QDQ model's unquantized part) stay float, as do graph inputs without a range: a
    QUANTIZE (over the tensor's range) or a DEQUANTIZE converts where the two parts meet."""
    assignment = full_assignment(graph, precision)
    chosen = _activation_quants(graph, ranges, keep_float)
    floats = {name for name in graph.inputs if name not in ranges} | {
        op.outputs[0] for op in graph.ops if op.name in keep_float
    }
    wide = {name for name, p in assignment.items() if p == "w8a16"}
    tensors: dict[str, Tensor] = {name: graph[name] for name in floats}
    ops: list[Op] = []
    quantized: dict[tuple, list[str | None]] = {}  # weights the steps of an unrolled loop share: once
    for name in graph.inputs:
        if name not in floats:
            _widen_if_read(name, graph, wide, chosen, tensors, ops)
    for op in graph.ops:
        if op.name in keep_float:
            tensors |= {n: graph[n] for n in op.inputs if n and graph[n].is_const}
            ops.append(
                replace(op, inputs=tuple(_converted(n, "float32", graph, floats, tensors, ops) for n in op.inputs))
            )
            continue
        inputs = [_converted(n, "int8", graph, floats, tensors, ops, chosen) for n in op.inputs]
        if OPS[op.kind].weighted:
            bits = WEIGHT_BITS[assignment.get(op.name, DEFAULT)]  # a layer no search chooses for: int8
            if op.name in wide:
                inputs[0] += WIDE
            key = (*op.inputs[1:], bits, op.name in wide, float(chosen[inputs[0]].scale[0]))
            if key not in quantized:
                quantized[key] = quantize_weights(
                    op, graph, chosen[inputs[0]], tensors, bits, (hessians or {}).get(op.name), op.name in wide
                )
            inputs[1:] = quantized[key]
        elif op.kind == "lstm":  # its own integer spec: per-tensor weights, an int16 cell (lstm.py)
            inputs = list(quantize_lstm(op, graph, chosen, ranges[op.inputs[LSTM_CELL_STATE]][1], tensors))
        else:
            shared = chosen[op.outputs[0]] if OPS[op.kind].output_quant == SHARED else None
            for index, name in enumerate(inputs):
                if name and name == op.inputs[index] and graph[name].is_const:
                    inputs[index] = _constant(graph[name], tensors, shared)
        for index, name in enumerate(inputs):
            if (
                shared_range(op)
                and name in chosen
                and not graph[op.inputs[index]].is_const
                and chosen[name] != chosen[op.outputs[0]]
            ):
                inputs[index] = _requantized(name, chosen, graph, tensors, ops)
        if op.name in wide:
            out = op.outputs[0]
            ops.append(replace(op, inputs=tuple(inputs), outputs=(out + WIDE,)))
            chosen[out + WIDE] = int16_quant(chosen[out])
            tensors[out + WIDE] = replace(graph[out], name=out + WIDE)
            if out in graph.outputs or any(c.name not in wide for c in graph.consumers[out]):
                ops.append(Op(f"{out}/to_int8", "quantize", (out + WIDE,), (out,)))
        else:
            if OPS[op.kind].float_only:
                _in_float(replace(op, inputs=tuple(inputs)), graph, tensors, ops)
            else:
                ops.append(replace(op, inputs=tuple(inputs)))
            _widen_if_read(op.outputs[0], graph, wide, chosen, tensors, ops)
    for name, q in chosen.items():
        if name in floats:
            continue  # a float tensor's range is its int8 copy's (_converted)
        tensors[name] = replace(
            tensors.get(name) or graph[name], dtype="int16" if name.endswith(WIDE) else "int8", quant=q
        )
    tensors |= {t.name: t for t in graph.activations() if t.dtype != "float32"}  # integer results (arg max indices)
    return replace(graph, tensors=tensors, ops=tuple(ops), quant_hints={})


def _converted(
    name: str | None,
    dtype: str,
    graph: Graph,
    floats: set[str],
    tensors: dict[str, Tensor],
    ops: list[Op],
    chosen: dict[str, Quant] | None = None,
) -> str | None:
    """The activation `name` as an op computing in `dtype` reads it: itself, or its copy in
    the other precision (made once, by the first reader): DEQUANTIZE of an int8 tensor,
    QUANTIZE of a float one over its range (the QDQ model's QuantizeLinear)."""
    if not name or graph[name].is_const or (name in floats) == (dtype == "float32"):
        return name
    copy = f"{name}/{'float' if dtype == 'float32' else 'int8'}"
    if copy not in tensors:
        tensors[copy] = replace(graph[name], name=copy, quant=None)
        ops.append(Op(copy, "dequantize" if dtype == "float32" else "quantize", (name,), (copy,)))
        if chosen is not None:
            chosen[copy] = chosen[name]
    return copy


def _in_float(op: Op, graph: Graph, tensors: dict[str, Tensor], ops: list[Op]) -> None:
    """The op on float copies of its int8 inputs, its float output quantized to its int8 one."""
    inputs = []
    for name in op.inputs:
        inputs.append(f"{name}/float")
        tensors[inputs[-1]] = replace(graph[name], name=inputs[-1], quant=None)
        ops.append(Op(f"{name}/to_float", "dequantize", (name,), (inputs[-1],)))
    out = op.outputs[0]
    tensors[f"{out}/float"] = replace(graph[out], name=f"{out}/float", quant=None)
    ops.append(replace(op, inputs=tuple(inputs), outputs=(f"{out}/float",)))
    ops.append(Op(f"{out}/to_int8", "quantize", (f"{out}/float",), (out,)))


def _widen_if_read(
    name: str, graph: Graph, wide: set[str], chosen: dict[str, Quant], tensors: dict[str, Tensor], ops: list[Op]
) -> None:
    """Where a w8a16 layer reads an int8 tensor, its int16 copy (TFLite's QUANTIZE int8 -> int16)."""
    if any(c.name in wide for c in graph.consumers[name]):
        chosen[name + WIDE] = int16_quant(chosen[name])
        tensors[name + WIDE] = replace(graph[name], name=name + WIDE)
        ops.append(Op(f"{name}/to_int16", "quantize", (name,), (name + WIDE,)))


def layer_input(int_graph: Graph, layer: str) -> str:
    """The activation a layer of the quantized graph reads (an int16 copy for w8a16)."""
    return next(op.inputs[0] for op in int_graph.ops if op.name == layer)


def float_name(name: str) -> str:
    """The float graph's tensor that an activation of the quantized graph stands for."""
    return name.removesuffix(WIDE)


def int16_quant(q8: Quant) -> Quant:
    """int16 symmetric parameters (zero point 0, TFLite's 16x8) covering what `q8` represents."""
    scale, zero_point = float(q8.scale[0]), int(q8.zero_point[0])
    reach = max((zero_point + 128) * scale, (127 - zero_point) * scale)
    return Quant(np.array([max(reach / 32767.0, MIN_INT16_SCALE)], np.float32), np.array([0], np.int64))


# TFLite quantizes a fused ReLU6's 6.0 into an int32 when it prepares a 16x8 layer: a
# scale under 6 / 2^31 (a tensor calibration saw near zero) would refuse the model.
MIN_INT16_SCALE = 1e-8


def activation_quant(low: float, high: float) -> Quant:
    """int8 asymmetric parameters covering [low, high] and zero."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    high = max(high, low + 2e-6)  # the TFLite converter's least range; softmax needs its scale above 2^-27
    scale = (high - low) / 255.0
    zero_point = int(np.clip(np.round(-128 - low / scale), -128, 127))
    return Quant(np.array([scale], np.float32), np.array([zero_point], np.int64))


def choose_range(stats: TensorStats, method: str) -> tuple[float, float]:
    """The range to quantize over: min/max, or the clipping of least squared error."""
    if method == "minmax" or stats.histogram is None or stats.high <= stats.low or not stats.histogram.any():
        return stats.low, stats.high
    edges = stats.edges()
    x = (edges[:-1] + edges[1:]) / 2
    low = np.minimum(stats.low * SHRINK, 0.0)[:, None]
    high = np.maximum(stats.high * SHRINK, 0.0)[:, None]
    scale = np.maximum(high - low, 1e-12) / 255.0
    zero_point = np.clip(np.round(-128 - low / scale), -128, 127)
    q = np.clip(np.round(x / scale) + zero_point, -128, 127)
    error = (((q - zero_point) * scale - x) ** 2 * stats.histogram).sum(axis=1)
    best = int(np.argmin(error))
    return float(stats.low * SHRINK[best]), float(stats.high * SHRINK[best])


def _activation_quants(
    graph: Graph, ranges: dict[str, tuple[float, float]], keep_float: frozenset[str] = frozenset()
) -> dict[str, Quant]:
    """Every activation's parameters, in graph order (pass-through ops follow their input);
    an input or a `keep_float` op's output has them only where it has a range."""
    shared = _concat_groups(graph, ranges, keep_float)
    chosen = {
        name: shared.get(name) or activation_quant(*ranges[name])
        for name in graph.inputs
        if name in ranges or name in shared
    }
    for op in graph.ops:
        out, rule = op.outputs[0], OPS[op.kind].output_quant
        if graph[out].dtype != "float32":
            continue  # an integer result (arg max indices) is not quantized
        if op.name in keep_float:
            if out in ranges:
                chosen[out] = activation_quant(*ranges[out])
            continue
        if out in shared:
            chosen[out] = shared[out]
        elif isinstance(rule, Fixed):
            chosen[out] = Quant(np.array([rule.scale], np.float32), np.array([rule.zero_point], np.int64))
        elif rule == SAME_AS_INPUT:
            chosen[out] = chosen[op.inputs[0]]
        else:
            chosen[out] = activation_quant(*ranges[out])
    return chosen


def _concat_groups(
    graph: Graph, ranges: dict[str, tuple[float, float]], keep_float: frozenset[str] = frozenset()
) -> dict[str, Quant]:
    """A concat and those inputs whose producers can quantize into its range share one Quant."""
    shared: dict[str, Quant] = {}
    for op in graph.ops:
        if OPS[op.kind].output_quant != SHARED or op.name in keep_float:
            continue
        q = activation_quant(*ranges[op.outputs[0]])
        shared[op.outputs[0]] = q
        for name in op.inputs:
            producer = graph.producers.get(name)
            if producer is not None and calibrated(producer) and name not in shared:
                shared[name] = q
    return shared


def _requantized(name: str, chosen: dict[str, Quant], graph: Graph, tensors: dict[str, Tensor], ops: list[Op]) -> str:
    """A copy of `name` in the parameters its concat needs (TFLite's QUANTIZE int8 -> int8)."""
    target = f"{name}/requantized"
    consumer = next(op for op in graph.consumers[name] if OPS[op.kind].output_quant == SHARED)
    chosen[target] = chosen[consumer.outputs[0]]
    tensors[target] = replace(graph[name], name=target)
    ops.append(Op(target, "quantize", (name,), (target,)))
    return target


_round = tflite_round_array


def quantize_weights(
    op: Op,
    graph: Graph,
    input_quant: Quant,
    tensors: dict[str, Tensor],
    bits: int = 8,
    hessian: np.ndarray | None = None,
    wide: bool = False,
) -> list[str | None]:
    """Per-channel symmetric weights of `bits` (8: int8 in [-127, 127]; 4: int4 in [-7, 7],
    packed two per byte on export and in flash; GPTQ-rounded given the layer's input
    `hessian`) and the bias they imply: int32, or int64 for an int16 (`wide`) input (16x8)."""
    axis = OPS[op.kind].weight_axis
    w = graph[op.inputs[1]]
    top = 2 ** (bits - 1) - 1
    moved = np.moveaxis(w.data.astype(np.float64), axis, 0)
    peak = np.abs(moved.reshape(moved.shape[0], -1)).max(axis=1) / top
    floor = np.zeros_like(peak)
    bias_name = op.inputs[2] if len(op.inputs) > 2 else None
    if bias_name:  # a dead channel (weights ~0, BatchNorm collapsed) must still hold its bias in int32
        floor = np.abs(graph[bias_name].data.astype(np.float64)) / (float(input_quant.scale[0]) * (2**31 - 1)) * 1.01
    if bits == 4 and OPS[op.kind].int4_per_tensor:
        peak, floor = peak.max(keepdims=True), floor.max(keepdims=True)
    clipping = INT4_CLIPPING if bits == 4 and hessian is not None else np.ones(1)
    scales = np.maximum(np.outer(clipping, peak), floor)
    scales = np.where(scales > 0, scales, 1.0).astype(np.float32)
    shape = [1] * w.data.ndim
    shape[axis] = -1
    if hessian is not None:
        w_scale, q = gptq_round(w.data, scales, hessian, top)
    else:
        w_scale = scales[0]
        q = np.clip(
            _round(w.data / w_scale.reshape(shape if w_scale.size > 1 else 1).astype(np.float64)), -top, top
        ).astype(np.int8)
    zeros = np.zeros(w_scale.size, np.int64)
    names = [_own_name(w, op, graph)]
    tensors[names[0]] = replace(w, name=names[0], dtype=f"int{bits}", data=q, quant=Quant(w_scale, zeros, axis))
    if bias_name:
        b = graph[bias_name]
        b_scale = (np.float64(input_quant.scale[0]) * w_scale.astype(np.float64)).astype(np.float32)
        bias_bits = 64 if wide else 32
        values = np.clip(
            _round(b.data.astype(np.float64) / b_scale.astype(np.float64)),
            -(2 ** (bias_bits - 1)),
            2 ** (bias_bits - 1) - 1,
        ).astype(f"int{bias_bits}")
        names.append(_own_name(b, op, graph))
        tensors[names[1]] = replace(
            b, name=names[1], dtype=f"int{bias_bits}", data=values, quant=Quant(b_scale, zeros, 0)
        )
    return names


def _own_name(t: Tensor, op: Op, graph: Graph) -> str:
    """The name of a layer's quantized weights or bias: the constant's own, unless other
    layers share it (Keras exports share all-zero biases), each quantizing it its own way
    (those reading it at one input scale share its first copy: quantize_graph)."""
    return t.name if len(graph.consumers[t.name]) == 1 else f"{t.name}/{op.name}"


def _constant(t: Tensor, tensors: dict[str, Tensor], shared: Quant | None = None) -> str:
    """A float operand of an elementwise op: int8, per tensor, over its own range (or over the
    range it shares with its op's output: concat, maximum, minimum). Indices (int32) stay as they are."""
    if t.dtype != "float32":
        tensors[t.name] = t
        return t.name
    q = shared or activation_quant(float(t.data.min()), float(t.data.max()))
    values = np.clip(_round(t.data / q.scale[0]) + q.zero_point[0], -128, 127).astype(np.int8)
    tensors[t.name] = replace(t, dtype="int8", data=values, quant=q)
    return t.name
