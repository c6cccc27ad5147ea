"""An unrolled recurrence quantizes like the loop it came from: one range per tensor of its body.

The TFLite frontend inlines a WHILE's body once per iteration and the ONNX frontend
unrolls GRU, LSTM and RNN nodes over their time steps, each naming step t's tensors
`<layer>@<t>/<name>`. Here every step's copy of a tensor is one group: calibration pools
the group's values into one range (what the TFLite converter gives the loop body, and
what keeps the hidden state's scale the same from step to step), the range search tries
a clipping of the whole group at once (a trial per body tensor, not per step: 49 times
fewer on a 49-step model), and weights the steps share are quantized, and stored, once.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ..ir import Graph

STEP = re.compile(r"@\d+/")


def step_groups(graph: Graph) -> dict[str, tuple[str, ...]]:
    """Each activation of an unrolled step -> every step's copy of it (itself included)."""
    groups: dict[str, list[str]] = defaultdict(list)
    for t in graph.activations():
        if STEP.search(t.name):
            groups[STEP.sub("@*/", t.name)].append(t.name)
    return {name: tuple(members) for members in groups.values() if len(members) > 1 for name in members}


def search_units(names: list[str], groups: dict[str, tuple[str, ...]]) -> list[tuple[str, ...]]:
    """`names` (free tensors, in graph order) as the units the range search tries: a tensor
    alone, or the free members of its step group, first met where its first step is."""
    wanted, units, seen = set(names), [], set[str]()
    for name in names:
        if name not in seen:
            unit = tuple(m for m in groups.get(name, (name,)) if m in wanted)
            seen.update(unit)
            units.append(unit)
    return units
