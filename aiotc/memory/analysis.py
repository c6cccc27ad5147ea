"""Static figures of a graph: multiply-accumulates and weight bytes per layer."""

from __future__ import annotations

from ..ir import Graph, Op
from ..ops import OPS


def op_macs(op: Op, graph: Graph) -> int:
    """Multiply-accumulates of one op, counted as MLPerf Tiny and TFLite Micro's tables do."""
    return OPS[op.kind].macs(op, graph)


def op_weight_bytes(op: Op, graph: Graph) -> int:
    """Bytes of the constant inputs of an op as the model stores them."""
    return sum(graph[t].nbytes for t in op.inputs if t is not None and graph[t].is_const)


def total_macs(graph: Graph) -> int:
    return sum(op_macs(op, graph) for op in graph.ops)
