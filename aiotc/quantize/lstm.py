"""UNIDIRECTIONAL_SEQUENCE_LSTM to the TFLite integer LSTM that tflite-micro runs.

What the TFLite converter writes for it (tflite-micro's mnist_lstm trained_lstm_int8 shows
each figure): int8 input and output; the hidden state (a variable tensor) in the output's
parameters, since each step's output is the next step's hidden state; each of the eight
gate matrices int8 symmetric with one scale (max |w| / 127); each gate's bias int32 at
input scale x its input weights' scale (the recurrent product has none); the cell state
int16 with zero point 0 and a power-of-two scale, 2^(ceil(log2 max|c|) - 15), so the
largest cell value calibration saw fits (the kernel's tanh of the cell needs the power
of two). The gates' Q3.12 inputs and Q0.15 outputs are fixed by the kernel, so nothing
else is calibrated. The cell's range is not a tensor of the float model (LiteRT keeps
only its last value), so it is found by running the float LSTM on the calibrated inputs
here, each sample from a zero state as tflite-micro starts after a reset.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..fixedpoint import tflite_round_array
from ..ir import LSTM_CELL_STATE, LSTM_HIDDEN_STATE, LSTM_INPUT, Graph, Op, Quant, Tensor
from .observe import FloatRunner

GATES = ("input", "forget", "cell", "output")  # TFLite's order: input weights 1-4, recurrent 5-8, biases 12-15


def _gate(op: Op, k: int) -> tuple[str, str, str]:
    return op.inputs[1 + k], op.inputs[5 + k], op.inputs[12 + k]


def cell_peaks(graph: Graph, samples: list[list[np.ndarray]]) -> dict[str, float]:
    """Each LSTM's cell state name -> the largest |cell| over the samples' steps (float)."""
    layers = [op for op in graph.ops if op.kind == "lstm"]
    if not layers:
        return {}
    runner = FloatRunner(graph)
    peaks = dict.fromkeys((op.inputs[LSTM_CELL_STATE] for op in layers), 0.0)
    for sample in samples:
        values = runner.run(sample, [op.inputs[LSTM_INPUT] for op in layers])
        for op in layers:
            peak = _float_cell_peak(op, graph, values[op.inputs[LSTM_INPUT]])
            peaks[op.inputs[LSTM_CELL_STATE]] = max(peaks[op.inputs[LSTM_CELL_STATE]], peak)
    return peaks


def _float_cell_peak(op: Op, graph: Graph, x: np.ndarray) -> float:
    """The float LSTM over one input sequence from zero state: its largest |cell|."""
    x = x.astype(np.float64)
    if op.attrs.time_major:
        x = x.transpose(1, 0, 2)
    weights = [[graph[name].data.astype(np.float64) for name in _gate(op, k)] for k in range(4)]
    h = np.zeros((x.shape[0], weights[0][1].shape[0]))
    c, peak = np.zeros_like(h), 0.0
    for t in range(x.shape[1]):
        pre = [x[:, t] @ w.T + h @ r.T + b for w, r, b in weights]
        i, f, o = (1 / (1 + np.exp(-pre[k])) for k in (0, 1, 3))
        c = f * c + i * np.tanh(pre[2])
        if op.attrs.cell_clip > 0:
            c = np.clip(c, -op.attrs.cell_clip, op.attrs.cell_clip)
        peak = max(peak, float(np.abs(c).max()))
        h = o * np.tanh(c)
    return peak


def cell_quant(peak: float) -> Quant:
    """int16, zero point 0, the power-of-two scale whose range holds `peak` (at least Q0.15)."""
    power = max(math.ceil(math.log2(peak)), 0) if peak > 0 else 0
    return Quant(np.array([2.0 ** (power - 15)], np.float32), np.zeros(1, np.int64))


def quantize_lstm(
    op: Op, graph: Graph, chosen: dict[str, Quant], cell_peak: float, tensors: dict[str, Tensor]
) -> tuple[str | None, ...]:
    """The op's operands in the integer LSTM's types; the hidden state takes the output's
    parameters (set in `chosen`), the cell state its int16 ones (in `tensors`)."""
    inputs = list(op.inputs)
    input_scale = np.float64(chosen[op.inputs[LSTM_INPUT]].scale[0])
    for k in range(4):
        (w_name, r_name, b_name), scales = _gate(op, k), []
        for index, name in ((1 + k, w_name), (5 + k, r_name)):
            w = graph[name]
            scale = np.float32(max(float(np.abs(w.data).max()) / 127, 1e-12))
            q = np.clip(tflite_round_array(w.data.astype(np.float64) / np.float64(scale)), -127, 127).astype(np.int8)
            inputs[index] = f"{name}/{op.name}"
            tensors[inputs[index]] = replace(w, name=inputs[index], dtype="int8", data=q, quant=_per_tensor(scale))
            scales.append(scale)
        b = graph[b_name]
        b_scale = np.float32(input_scale * np.float64(scales[0]))
        values = np.clip(tflite_round_array(b.data.astype(np.float64) / np.float64(b_scale)), -(2**31), 2**31 - 1)
        inputs[12 + k] = f"{b_name}/{op.name}"
        tensors[inputs[12 + k]] = replace(
            b, name=inputs[12 + k], dtype="int32", data=values.astype(np.int32), quant=_per_tensor(b_scale)
        )
    chosen[op.inputs[LSTM_HIDDEN_STATE]] = chosen[op.outputs[0]]
    cell = graph[op.inputs[LSTM_CELL_STATE]]
    tensors[cell.name] = replace(cell, dtype="int16", quant=cell_quant(cell_peak))
    return tuple(inputs)


def _per_tensor(scale: np.float32) -> Quant:
    return Quant(np.array([scale], np.float32), np.zeros(1, np.int64))
