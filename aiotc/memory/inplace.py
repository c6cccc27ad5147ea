"""In-place execution: where an op may write its output over an input that dies with it.

The kernels with a `write_group` (aiotc/kernels.py) keep the contract stated in
runtime_c/include/aiotc_nn.h: they compute output pixels (elements, for flat kernels)
in increasing order, at most `write_group` of them at a time, and while computing a
group read only input rows at or after the first row that group needs. An output may then start `slack` bytes below its
input and overlap the rest of it: whatever the kernel writes has already been read
for the last time. The slack is exact for the op's geometry, e.g. a 3x3 stride-1
depthwise conv over 5x64 rows needs its output to start two rows plus a group below
its input, a 1x1 conv with as many output as input channels one group; against a
separate buffer that saves nearly the whole input.

A concatenation copies its inputs' rows in order, so its output may end where any one
of its inputs ends: row r of that input is read before the output rows written reach
it (a DenseNet layer appends its features to its input without a second copy of it).

RESHAPE is better than in place: when its input dies with it, both names are one
buffer (an alias) and the copy disappears. A reshape of a graph input is a view of the
caller's buffer, which no op writes: it reads the input where it is (a Conv1D's expand_dims).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph, Op
from ..kernels import Kernel
from ..ops import OPS
from .streaming import input_rows


@dataclass(frozen=True)
class InPlace:
    """Op `op_index` may place `output` at or below `slack` bytes under `input`'s offset."""

    op_index: int
    input: str
    output: str
    slack: int


def in_place_pairs(
    graph: Graph,
    kernels: dict[str, Kernel],
    dies_at: dict[str, int],
    alignment: int,
    candidates: list[InPlace] | None = None,
) -> list[InPlace]:
    """Every (input, output) pair of an op where the input dies at that op and the kernel allows it
    (of `candidates`, in_place_candidates' list, when the caller computed it once for many schedules)."""
    candidates = in_place_candidates(graph, kernels, alignment) if candidates is None else candidates
    return [p for p in candidates if dies_at.get(p.input) == p.op_index and dies_at.get(p.output) is not None]


def in_place_candidates(graph: Graph, kernels: dict[str, Kernel], alignment: int) -> list[InPlace]:
    """The pairs the kernels allow were the input to die at its op: the slack is a matter of
    geometry, the same in every schedule."""
    pairs = []
    for index, op in enumerate(graph.ops):
        group = kernels[op.name].write_group
        if group is None:
            continue
        out = op.outputs[0]
        for name in dict.fromkeys(op.inputs):
            if name is None or graph[name].is_const:
                continue
            slack = _slack(op, graph, name, group)
            if slack is not None and slack < graph[out].nbytes:
                pairs.append(InPlace(index, name, out, -(-slack // alignment) * alignment))
    return pairs


def _slack(op: Op, graph: Graph, name: str, group: int) -> int | None:
    """Bytes the output must start below input `name`; None when the kernel cannot share it."""
    inp, out = graph[name], graph[op.outputs[0]]
    if OPS[op.kind].updates_input:  # the kernel copies input 0 forward first, then writes only the output
        return 0 if name == op.inputs[0] else None
    if OPS[op.kind].copy_lead is not None:
        return OPS[op.kind].copy_lead(op, graph) if name == op.inputs[0] else None
    if OPS[op.kind].joins_rows:  # on the output's last bytes, each input row is read before the rows written reach it
        return out.nbytes - inp.nbytes
    if OPS[op.kind].windowed:
        if len(out.shape) != 4 or out.shape[0] != 1 or op.inputs[0] != name:
            return None
        _, height, width, _ = out.shape
        pixels = height * width
        pixel_out = out.nbytes // pixels
        row_in = inp.nbytes // inp.shape[1]
        # A group starting at pixel q writes up to pixel q+group and reads from the first input row of q's row on.
        first_row = np.array([input_rows(op, graph, name, r, r + 1)[0] for r in range(height)]).repeat(width)
        q = np.arange(pixels)
        return int(np.max(np.minimum(q + group, pixels) * pixel_out - first_row * row_in))
    if inp.shape != out.shape:  # a broadcast operand is read again and again
        return None
    count = out.size
    size_in, size_out = inp.nbytes // max(count, 1), out.nbytes // max(count, 1)
    group = min(group, count)
    # Element i's group writes up to element i+group and reads from element i on; the worst i is the first or the last group.
    return max(group * size_out, count * size_out - (count - group) * size_in)


def aliases(graph: Graph, dies_at: dict[str, int], external: set[str]) -> dict[str, str]:
    """Reshape outputs that can share their input's buffer: output name -> root buffer name
    (a graph input's name for a view of it, whenever the input is read)."""
    root: dict[str, str] = {}
    for index, op in enumerate(graph.ops):
        if OPS[op.kind].alias:
            src, dst = op.inputs[0], op.outputs[0]
            view = root.get(src, src) in graph.inputs
            if dst not in external and (view or (src not in external and dies_at.get(src) == index)):
                root[dst] = root.get(src, src)
    return root
