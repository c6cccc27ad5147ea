"""Which UNIDIRECTIONAL_SEQUENCE_LSTM variants aiotc compiles, checked once in the frontend.

TFLite's LSTM has 24 inputs, most optional. aiotc takes what the TFLite converter writes
for a Keras LSTM, float32 or int8 (TFLM's integer LSTM: int8 input, weights and hidden
state, int16 cell state, int32 bias): all four gates, no peephole, projection or layer
normalization, tanh activation. Each other variant is refused with its name.
"""

from __future__ import annotations

import math

from ..ir import LSTM_CELL_STATE as CELL_STATE
from ..ir import LSTM_HIDDEN_STATE as HIDDEN_STATE
from ..ir import LSTM_INPUT as INPUT

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
