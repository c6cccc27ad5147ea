"""Per-layer precision choices for mixed precision (README: mixed precision).

A layer (conv, depthwise conv, fully connected) computes in one of:
- w8a8: int8 weights, int8 activations (the TFLite int8 spec; the default);
- w4a8: int4 weights packed two per byte, per-channel symmetric, int8 activations;
- w8a16: int8 weights, int16 symmetric activations, int64 bias (TFLite's 16x8).
An assignment maps layer (op) names to a choice; layers it leaves out stay w8a8.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import UsageError
from ..ir import Graph
from ..ops import OPS

PRECISIONS = ("w8a8", "w4a8", "w8a16")
DEFAULT = "w8a8"


def choosable_layers(graph: Graph) -> list[str]:
    """The layers whose precision a search may choose, in graph order."""
    return [op.name for op in graph.ops if OPS[op.kind].convolves or OPS[op.kind].dense]  # not transposed convs


def full_assignment(graph: Graph, precision: Mapping[str, str] | None) -> dict[str, str]:
    """`precision` checked and completed: every choosable layer named, the rest w8a8."""
    precision = dict(precision or {})
    layers = choosable_layers(graph)
    unknown = sorted(set(precision) - set(layers))
    if unknown:
        raise UsageError(
            f"precision given for {unknown[0]!r}, which is not a conv, depthwise conv or fully connected layer of {graph.name}"
        )
    bad = sorted({p for p in precision.values() if p not in PRECISIONS})
    if bad:
        raise UsageError(f"unknown precision {bad[0]!r}; choose from {', '.join(PRECISIONS)}")
    return {name: precision.get(name, DEFAULT) for name in layers}
