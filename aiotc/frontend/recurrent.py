"""Which UNIDIRECTIONAL_SEQUENCE_LSTM and SVDF variants aiotc compiles, checked once in the frontend.

TFLite's LSTM has 24 inputs, most optional. aiotc takes what the TFLite converter writes
for a Keras LSTM, float32 or int8 (TFLM's integer LSTM: int8 input, weights and hidden
state, int16 cell state, int32 bias): all four gates, no peephole, projection or layer
normalization, tanh activation. Each other variant is refused with its name.

SVDF: float32, or tflite-micro's integer SVDF (int8 input, feature weights and output,
int32 bias, time weights and state both int16 or both int8), per-tensor quantization.
"""

from __future__ import annotations

import math

from ..ir import LSTM_CELL_STATE as CELL_STATE
from ..ir import LSTM_HIDDEN_STATE as HIDDEN_STATE
from ..ir import LSTM_INPUT as INPUT
from ..ir import SVDF_BIAS, SVDF_FEATURE_WEIGHTS, SVDF_INPUT, SVDF_STATE, SVDF_TIME_WEIGHTS

GATE_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8)  # input-to-{input, forget, cell, output}, recurrent-to-{...}
GATE_BIASES = (12, 13, 14, 15)  # {input, forget, cell, output} gate bias
CIFG, PEEPHOLE, PROJECTION, LAYER_NORM = (1, 5), (9, 10, 11), (16, 17), (20, 21, 22, 23)
TANH = 4  # ActivationFunctionType.TANH
INTEGER_TYPES = {
    INPUT: "int8",
    HIDDEN_STATE: "int8",
    CELL_STATE: "int16",
    **{i: "int8" for i in GATE_WEIGHTS},
    **{i: "int32" for i in GATE_BIASES},
}


def lstm_problem(tensors, inputs, outputs, activation: int) -> str | None:
    """Why this LSTM cannot be compiled, or None. `tensors` maps names to ir.Tensor."""
    if any(inputs[i] is None for i in CIFG):
        return "CIFG (coupled input and forget gates) is not supported yet"
    for indices, variant in (
        (PEEPHOLE, "peephole connections"),
        (PROJECTION, "a projection layer"),
        (LAYER_NORM, "layer normalization"),
    ):
        if any(inputs[i] is not None for i in indices):
            return f"{variant} not supported yet"
    if activation != TANH:
        return f"fused activation {activation} (only tanh is supported)"
    needed = (INPUT, *GATE_WEIGHTS, *GATE_BIASES, HIDDEN_STATE, CELL_STATE)
    if any(inputs[i] is None for i in needed) or len(outputs) != 1:
        return "missing operands (gate biases and both states are required)"
    if any(tensors[inputs[i]].is_const for i in (HIDDEN_STATE, CELL_STATE)):
        return "the hidden and cell state must be variable tensors"
    x = tensors[inputs[INPUT]]
    if len(x.shape) != 3 or len(tensors[inputs[HIDDEN_STATE]].shape) != 2:
        return f"input of rank {len(x.shape)} (a [batch, time, features] sequence is needed)"
    dtypes = {i: tensors[inputs[i]].dtype for i in needed}
    if set(dtypes.values()) == {"float32"}:
        return None
    if dtypes != {i: INTEGER_TYPES[i] for i in needed}:
        return (
            "types "
            + ", ".join(sorted(set(dtypes.values())))
            + ": only float32 and TFLM's integer LSTM (int8 activations and weights, int16 cell state) are supported"
        )
    if any(
        tensors[inputs[i]].quant is None or tensors[inputs[i]].quant.per_channel
        for i in (INPUT, *GATE_WEIGHTS, HIDDEN_STATE, CELL_STATE)
    ):
        return "per-channel or missing quantization (TFLM's integer LSTM is per tensor)"
    if any(tensors[inputs[i]].quant.zero_point[0] != 0 for i in GATE_WEIGHTS):
        return "weights with a zero point (TFLM's integer LSTM has symmetric weights)"
    cell_scale = float(tensors[inputs[CELL_STATE]].quant.scale[0])
    if not math.log2(cell_scale).is_integer():
        return f"a cell state scale of {cell_scale:g}, not a power of two"
    return None


def lstm_output_shape(op, graph):
    """The output [batch, time, units] (time major: [time, batch, units]) its operands give,
    or why they disagree (every frontend's graph is checked with it, in checks.py)."""
    x = graph[op.inputs[INPUT]]
    if len(x.shape) != 3:
        return f"input must be a [batch, time, features] sequence, has shape {list(x.shape)}"
    batches = x.shape[1] if op.attrs.time_major else x.shape[0]
    units = graph[op.inputs[GATE_WEIGHTS[0]]].shape[0]
    expected = {
        **{i: (units, x.shape[2]) for i in GATE_WEIGHTS[:4]},
        **{i: (units, units) for i in GATE_WEIGHTS[4:]},
        **{i: (units,) for i in GATE_BIASES},
    }
    expected |= {HIDDEN_STATE: (batches, units), CELL_STATE: (batches, units)}
    for index, shape in expected.items():
        t = graph[op.inputs[index]]
        if t.shape != shape or (index in (*GATE_WEIGHTS, *GATE_BIASES)) != t.is_const:
            return f"operand {index} {t.name!r} is {'a constant' if t.is_const else 'a variable'} of shape {list(t.shape)}, expected {list(shape)}"
    return (*x.shape[:2], units)


def svdf_problem(tensors, inputs, rank: int) -> str | None:
    """Why this SVDF cannot be compiled, or None. `tensors` maps names to ir.Tensor."""
    if len(inputs) != 5 or any(
        inputs[i] is None for i in (SVDF_INPUT, SVDF_FEATURE_WEIGHTS, SVDF_TIME_WEIGHTS, SVDF_STATE)
    ):
        return "needs its input, feature and time weights and state (5 operands, the bias may be absent)"
    if tensors[inputs[SVDF_STATE]].is_const:
        return "the state must be a variable tensor"
    if rank < 1:
        return f"rank {rank}"
    present = [i for i in range(5) if inputs[i] is not None]
    dtypes = {i: tensors[inputs[i]].dtype for i in present}
    if set(dtypes.values()) == {"float32"}:
        return None
    time_dtype = dtypes[SVDF_TIME_WEIGHTS]
    expected = {SVDF_INPUT: "int8", SVDF_FEATURE_WEIGHTS: "int8", SVDF_TIME_WEIGHTS: time_dtype, SVDF_STATE: time_dtype}
    if inputs[SVDF_BIAS] is None:
        return "an integer SVDF without a bias (tflite-micro requires one)"
    if time_dtype not in ("int8", "int16") or dtypes != expected | {SVDF_BIAS: "int32"}:
        return (
            "types "
            + ", ".join(dtypes[i] for i in present)
            + ": only float32 and tflite-micro's integer SVDF (int8 input and feature weights, int16 or int8 time weights and state) are supported"
        )
    if not tensors[inputs[SVDF_BIAS]].is_const:
        return "an integer SVDF's bias computed by the graph (aiotc folds the state's zero point into it)"
    if any(tensors[inputs[i]].quant is None or tensors[inputs[i]].quant.per_channel for i in present):
        return "per-channel or missing quantization (tflite-micro's integer SVDF is per tensor)"
    return None


def svdf_output_shape(op, graph):
    """The output [batch, units] the operands give, or why they disagree (checks.py)."""
    x, features, time = (graph[op.inputs[i]] for i in (SVDF_INPUT, SVDF_FEATURE_WEIGHTS, SVDF_TIME_WEIGHTS))
    if len(x.shape) != 2 or len(features.shape) != 2 or len(time.shape) != 2:
        return f"input {list(x.shape)}, feature weights {list(features.shape)} and time weights {list(time.shape)} must be matrices"
    (batches, size), (filters, memory) = x.shape, time.shape
    if filters % op.attrs.rank or features.shape != (filters, size):
        return (
            f"feature weights {list(features.shape)} for {filters} filters of rank {op.attrs.rank} over {size} inputs"
        )
    units = filters // op.attrs.rank
    expected = {SVDF_STATE: (batches, memory * filters), SVDF_BIAS: (units,)}
    for index, shape in expected.items():
        name = op.inputs[index]
        if name is not None and graph[name].shape != shape:
            return f"operand {index} {name!r} has shape {list(graph[name].shape)}, expected {list(shape)}"
    if not (features.is_const and time.is_const) or graph[op.inputs[SVDF_STATE]].is_const:
        return "the weights must be constants and the state a variable"
    return (batches, units)
