"""Graph passes: pure functions Graph -> Graph, applied in the order of PASSES."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from .ir import Graph, Op


def remove_identity_reshapes(graph: Graph) -> Graph:
    """A reshape to the same shape is a no-op: its readers read its input instead."""
    renamed: dict[str, str] = {}
    ops: list[Op] = []
    for op in graph.ops:
        op = replace(op, inputs=tuple(renamed.get(t, t) if t else t for t in op.inputs))
        src, dst = (op.inputs[0], op.outputs[0]) if op.kind == "reshape" else (None, None)
        if src and graph[src].shape == graph[dst].shape and dst not in graph.outputs:
            renamed[dst] = src
            continue
        ops.append(op)
    return graph.with_ops(ops)


PASSES: list[Callable[[Graph], Graph]] = [remove_identity_reshapes]


def run_passes(graph: Graph) -> Graph:
    for apply in PASSES:
        graph = apply(graph)
        graph.validate()
    return graph
