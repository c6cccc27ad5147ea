"""Static figures of a graph: multiply-accumulates and weight bytes per layer."""

from __future__ import annotations

import numpy as np

from .ir import Graph, Op


def op_macs(op: Op, graph: Graph) -> int:
    """Multiply-accumulates of one op, counted as MLPerf Tiny and TFLite Micro's tables do."""
    out = graph[op.outputs[0]]
    if op.kind == "conv2d":
        filt = graph[op.inputs[1]]  # OHWI
        return out.size * int(np.prod(filt.shape[1:]))
    if op.kind == "depthwise_conv2d":
        filt = graph[op.inputs[1]]  # 1HW(C*M)
        return out.size * filt.shape[1] * filt.shape[2]
    if op.kind == "fully_connected":
        filt = graph[op.inputs[1]]  # [out, in]
        return (out.size // filt.shape[0]) * filt.shape[0] * filt.shape[1]
    if op.kind == "lstm":  # four gates, each a matmul of the input and one of the hidden state, per step
        units, features = graph[op.inputs[1]].shape
        return (out.size // units) * 4 * units * (features + units)
    return 0


def op_weight_bytes(op: Op, graph: Graph) -> int:
    """Bytes of the constant inputs of an op as the model stores them."""
    return sum(graph[t].nbytes for t in op.inputs if t is not None and graph[t].is_const)


def total_macs(graph: Graph) -> int:
    return sum(op_macs(op, graph) for op in graph.ops)
