"""Lowering of UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF (float32 and TFLM's integer kernels).

TFLite Micro's Prepare (lstm_eval_common.cc) computes each gate's requantization from
the input (or hidden state) and weight scales to the gates' fixed Q3.12, and the
products between gates from Q0.15 to the cell and hidden state scales. Here the same
figures are computed at compile time, in the same float/double precision, and the
zero points are folded into the biases, so the C only evaluates.
"""

from __future__ import annotations

import math

import numpy as np

from ..fixedpoint import quantize_multiplier
from ..ir import (
    LSTM_CELL_STATE,
    LSTM_HIDDEN_STATE,
    LSTM_INPUT,
    SVDF_BIAS,
    SVDF_FEATURE_WEIGHTS,
    SVDF_INPUT,
    SVDF_STATE,
    SVDF_TIME_WEIGHTS,
    Op,
    Tensor,
)
from ..kernels import padded_row8
from .lowering import (
    LayerCode,
    LowerContext,
    activation_limits,
    c_float,
    lowers,
    scale,
    suffix,
    zero_point,
)
from .ops_conv import pack_fc_rows, pack_fc_weights

# Gate -> (input weights, recurrent weights, bias) among the op's 24 TFLite inputs.
GATES = {"forget": (2, 6, 13), "input": (1, 5, 12), "cell": (3, 7, 14), "output": (4, 8, 15)}
GATE_INPUT_SCALE = np.float32(2.0**-12)  # the gates' int16 pre-activations: Q3.12
GATE_OUTPUT_SCALE = np.float32(2.0**-15)  # their sigmoid/tanh outputs: Q0.15


@lowers("lstm")
def lower_lstm(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    x, hidden = graph[op.inputs[LSTM_INPUT]], graph[op.inputs[LSTM_HIDDEN_STATE]]
    time_steps, batches = x.shape[:2] if op.attrs.time_major else x.shape[1::-1]
    values = {
        "dims": (batches, time_steps, x.shape[2], hidden.shape[1], int(op.attrs.time_major)),
        "input": ctx.ptr(op.inputs[LSTM_INPUT]),
        "hidden_state": ctx.ptr(op.inputs[LSTM_HIDDEN_STATE]),
        "cell_state": ctx.ptr(op.inputs[LSTM_CELL_STATE]),
        "output": ctx.ptr(op.outputs[0]),
        "quantized": x.dtype == "int8",
    }
    kernel = ctx.kernels[op.name].name or f"aiotc_lstm_{suffix(x.dtype)}"
    values |= _integer_values(op, ctx, kernel) if values["quantized"] else _float_values(op, ctx)
    values["context"] = ctx.scratch() if kernel in ("aiotc_lstm_packed_s8", "aiotc_lstm_wide_s8") else None
    return LayerCode("lstm", values | {"kernel": kernel}, (kernel,))


def _float_values(op: Op, ctx: LowerContext) -> dict:
    gates = {name: [ctx.ptr(op.inputs[i]) for i in indices] for name, indices in GATES.items()}
    return {"weights": None, "gates": gates, "cell_clip": c_float(op.attrs.cell_clip)}


def _integer_values(op: Op, ctx: LowerContext, kernel: str) -> dict:
    """aiotc_lstm_packed_s8: each gate's weights in the packed fully connected layout, its
    biases zero padded to whole blocks of 4 units; aiotc_lstm_wide_s8: all gates' weights
    in one int16 array (pack_lstm_wide), none in the gates."""
    graph = ctx.graph
    x, hidden, cell = (graph[op.inputs[i]] for i in (LSTM_INPUT, LSTM_HIDDEN_STATE, LSTM_CELL_STATE))
    units = hidden.shape[1]
    packed, wide = kernel == "aiotc_lstm_packed_s8", kernel == "aiotc_lstm_wide_s8"

    def weights(w: Tensor, role: str) -> str:
        if wide:
            return "NULL"
        return ctx.const(pack_fc_weights(w.data, ctx.plain_pairs), f"{role}_packed") if packed else ctx.ptr(w.name)

    def bias(values: np.ndarray, role: str) -> str:
        if wide:
            return "NULL"
        padded = np.zeros(-(-units // 4) * 4 if packed else units, np.int32)
        padded[:units] = values
        return ctx.const(padded, role)

    gates, wide_rows = {}, []
    for name, (in_index, rec_index, bias_index) in GATES.items():
        w_in, w_rec, b = graph[op.inputs[in_index]], graph[op.inputs[rec_index]], graph[op.inputs[bias_index]]
        rows_in, rows_rec = w_in.data.astype(np.int64).sum(axis=1), w_rec.data.astype(np.int64).sum(axis=1)
        input_bias, recurrent_bias = b.data.astype(np.int64) - zero_point(x) * rows_in, -zero_point(hidden) * rows_rec
        wide_rows.append((w_in.data, w_rec.data, input_bias, recurrent_bias))
        gates[name] = [
            weights(w_in, f"{name}_input_weights"),
            weights(w_rec, f"{name}_recurrent_weights"),
            bias(input_bias, f"{name}_input_bias"),
            bias(recurrent_bias, f"{name}_recurrent_bias"),
            _fc_multiplier(scale(x), scale(w_in)),
            _fc_multiplier(scale(hidden), scale(w_rec)),
        ]
    cell_scale = np.float64(scale(cell))
    tanh_multiplier, tanh_shift = cell_tanh_scaling(int(round(math.log2(cell_scale))))
    clip = int(min(max(np.float64(np.float32(op.attrs.cell_clip)) / cell_scale, -32768.0), 32767.0))
    product = np.float64(GATE_OUTPUT_SCALE) * np.float64(GATE_OUTPUT_SCALE)
    unit = [
        quantize_multiplier(np.float64(GATE_OUTPUT_SCALE) * cell_scale / cell_scale),
        quantize_multiplier(product / cell_scale),
        quantize_multiplier(product / np.float64(scale(hidden))),
    ]
    rights = [-2 - shift for _, shift in unit]
    return {
        "weights": ctx.const(pack_lstm_wide(*zip(*wide_rows)), "weights_wide") if wide else None,
        "gates": gates,
        "forget_times_cell": unit[0],
        "input_times_cell": unit[1],
        "hidden_quant": unit[2],
        "hidden_offset": zero_point(hidden),
        "cell_clip": (-clip, clip) if op.attrs.cell_clip > 0 else (-32768, 32767),
        "cell_tanh": (tanh_multiplier, tanh_shift, 1 << (tanh_shift - 1) if tanh_shift > 0 else 0),
        "unit_rights": rights if min(rights) >= 0 else [-1, -1, -1],
    }


def pack_lstm_wide(input_weights, recurrent_weights, input_bias, recurrent_bias) -> np.ndarray:
    """aiotc_lstm_wide_s8's int16 weights from the gates' (each a sequence in GATES' order:
    forget, input, cell, output): per unit its input rows then its recurrent rows, each as
    two row pairs (forget and input, cell and output); per pair its two biases (int32, as
    int16 halves), then per 8 inputs (zero padded) the first row's 8 weights, the second's."""

    def pairs(gates, biases) -> np.ndarray:  # (unit, pair, 4 + group * row * 8)
        units, depth = gates[0].shape
        padded = np.zeros((4, units, padded_row8(depth)), np.int16)
        padded[:, :, :depth] = np.stack(gates)
        rows = padded.reshape(2, 2, units, -1, 8).transpose(2, 0, 3, 1, 4).reshape(units, 2, -1)
        bias = np.stack(biases).astype(np.int32).reshape(2, 2, units).transpose(2, 0, 1)
        return np.concatenate([bias.copy().view(np.int16), rows], axis=2).reshape(units, -1)

    return np.concatenate([pairs(input_weights, input_bias), pairs(recurrent_weights, recurrent_bias)], axis=1).ravel()


def _fc_multiplier(input_scale: float, weight_scale: float) -> tuple[int, int]:
    """GetQuantizedConvolutionMultipler: the scales multiplied in float32, to Q3.12."""
    return quantize_multiplier(
        np.float64(np.float32(input_scale) * np.float32(weight_scale)) / np.float64(GATE_INPUT_SCALE)
    )


def cell_tanh_scaling(cell_scale_power: int) -> tuple[int, int]:
    """The int16 tanh reads Q3.12 times 3: TFLM's Tanh(cell_state_scale_power) brings the
    cell there as (cell * multiplier + round) >> shift."""
    left_shift = 15 + cell_scale_power - 3
    return (3, -left_shift) if left_shift < 0 else (3 << left_shift, 0)


@lowers("svdf")
def lower_svdf(op: Op, ctx: LowerContext) -> LayerCode:
    """TFLM's Prepare computes both requantizations from float32 scales (its tensors' params).
    The integer kernels get only the weights they read (a constant emitted and not referenced
    would still count in the flash): the feature weights packed (byte pairs) or in rows, the
    input's zero point folded into their bias."""
    graph = ctx.graph
    x, features, time, state, out = (graph[name] for name in (*op.inputs[:3], op.inputs[SVDF_STATE], op.outputs[0]))
    filters, memory = time.shape
    bias = op.inputs[SVDF_BIAS]
    kernel = ctx.kernels[op.name].name or f"aiotc_svdf_{suffix(x.dtype)}"
    packed = kernel == "aiotc_svdf_packed_s8"
    values = {
        "dims": (x.shape[0], x.shape[1], filters, memory, op.attrs.rank),
        "input": ctx.ptr(op.inputs[SVDF_INPUT]),
        "time_weights": ctx.ptr(op.inputs[SVDF_TIME_WEIGHTS]),
        "state": ctx.ptr(op.inputs[SVDF_STATE]),
        "bias": ctx.ptr(bias) if bias else "NULL",
        "output": ctx.ptr(op.outputs[0]),
        "quantized": x.dtype == "int8",
        "kernel": kernel,
        "context": ctx.scratch() if packed else None,
    }
    if values["quantized"]:  # the packed or the rows kernel
        feature_bias = np.zeros(-(-filters // 4) * 4, np.int32)
        feature_bias[:filters] = -zero_point(x) * features.data.astype(np.int64).sum(axis=1)
        weights = pack_fc_weights(features.data, ctx.plain_pairs) if packed else pack_fc_rows(features.data)
        # the state's zero point out of the time products: int32 wrapping, as the kernel's sums would
        unit_weights = time.data.astype(np.int64).reshape(filters // op.attrs.rank, -1).sum(axis=1)
        time_bias = graph[bias].data.astype(np.int64) - zero_point(state) * unit_weights
        values |= {
            "feature_weights": ctx.const(weights, "feature_weights_packed" if packed else "feature_weights_rows"),
            "feature_bias": ctx.const(feature_bias, "feature_bias_folded"),
            "bias": ctx.const(time_bias.astype(np.uint32).view(np.int32), "bias_folded"),
        }
    else:
        values["feature_weights"] = ctx.ptr(op.inputs[SVDF_FEATURE_WEIGHTS])
    if not values["quantized"]:
        act_min, act_max = activation_limits(op, graph)
        return LayerCode("svdf", values | {"act_min": act_min, "act_max": act_max}, (kernel,))
    s_x, s_f, s_t, s_state, s_out = (np.float32(scale(t)) for t in (x, features, time, state, out))
    values |= {
        "input_offset": -zero_point(x),
        "feature_quant": quantize_multiplier(np.float64(s_x * s_f / s_state)),
        "state_zero_point": zero_point(state),
        "state_bytes": 2 if state.dtype == "int16" else 1,
        "output_quant": quantize_multiplier(np.float64(s_state * s_t / s_out)),
        "output_offset": zero_point(out),
    }
    return LayerCode("svdf", values, (kernel,))
