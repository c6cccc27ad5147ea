"""The model's state: variable tensors that live across invokes (an LSTM's hidden and
cell state, an SVDF's memory, resource variables), as tflite-micro keeps them in
persistent buffers.

They are not activations: the planner never places them in the arena (where another
tensor could overlay them between invokes); they sit back to back in one static
buffer of NAME_STATE_SIZE bytes, and NAME_reset() sets each to its initial value: a
resource variable's from the model's init subgraph (Graph.state_init), else
tflite-micro's reset value (its zero point for int8, else 0). That is also its value
before the first invoke.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .ir import Graph

STATE_ALIGNMENT = 16


@dataclass(frozen=True)
class StateBuffer:
    tensor: str
    offset: int  # bytes into the state buffer
    nbytes: int
    fill: int  # the byte every element of it resets to
    initial: bytes | None = None  # or the bytes it resets to (Graph.state_init)


def state_layout(graph: Graph, rows: Mapping[str, int] | None = None) -> tuple[list[StateBuffer], int]:
    """The state tensors' places in the state buffer, and its size; `rows`: tensors kept only in part (their last rows, --stream)."""
    buffers, at = [], 0
    for name in graph.state:
        t = graph[name]
        zero = int(t.quant.zero_point.ravel()[0]) if t.dtype == "int8" and t.quant is not None else 0
        nbytes = t.nbytes // t.shape[1] * rows[name] if rows and name in rows else t.nbytes
        initial = graph.state_init.get(name)
        data = None if initial is None else np.asarray(initial).tobytes()
        buffers.append(StateBuffer(name, at, nbytes, zero & 0xFF, data))
        at += -(-nbytes // STATE_ALIGNMENT) * STATE_ALIGNMENT
    return buffers, at


def initial_state(buffers: list[StateBuffer], size: int) -> np.ndarray:
    """The state buffer's bytes before the first invoke (as after a reset)."""
    data = np.zeros(size, np.uint8)
    for b in buffers:
        data[b.offset : b.offset + b.nbytes] = b.fill if b.initial is None else np.frombuffer(b.initial, np.uint8)
    return data
