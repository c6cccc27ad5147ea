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

A layer that can run in row bands (streaming.py) may also go the other way: its bands
called bottom band first (each band's pixels still in increasing order), it writes over
its input from above, its output starting `lift` bytes over the input's start, clear of
every input row a band or a band above it still reads. Each pair then lets its output
sit below or above its input, so a chain of in-place layers need not drift down by the
sum of its slacks: placement (placement.py) picks either side per layer, and the plan
says which layers run bottom band first (ArenaPlan.bottom_first).

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
from .streaming import input_rows, row_bytes, streamable, sums_rows

# A bottom-first layer's bands hold at least this many output pixels: each band call repeats
# its kernel's setup and odd last pixels (the 1x1 quads' lone 5th pixel of a 5-wide row),
# while every row a band adds lifts the output one input row higher.
BAND_PIXELS = 16


@dataclass(frozen=True)
class InPlace:
    """Op `op_index` may place `output` at or below `slack` bytes under `input`'s offset, or,
    run bottom band first, at or above `lift` bytes over it (None: it cannot)."""

    op_index: int
    input: str
    output: str
    slack: int
    lift: int | None = None


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
        data = [name for name in dict.fromkeys(op.inputs) if name is not None and not graph[name].is_const]
        slacks = {name: _slack(op, graph, name, group) for name in data}
        shared = [name for name, slack in slacks.items() if slack is not None and slack < graph[out].nbytes]
        for name in shared:
            # an op runs its bands one way: bottom first only where one input can be overlapped
            lift = _lift(op, graph, name) if len(shared) == 1 else None
            pairs.append(
                InPlace(
                    index,
                    name,
                    out,
                    _aligned(slacks[name], alignment),
                    None if lift is None else _aligned(lift, alignment),
                )
            )
    return pairs


def _aligned(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def bottom_first_bands(op: Op, graph: Graph) -> list[tuple[int, int]] | None:
    """The output row bands [a, b) of a layer run bottom band first, in the order called (None:
    the layer does not run in row bands): BAND_PIXELS output pixels each, the last a remainder."""
    out = graph[op.outputs[0]]
    if len(out.shape) != 4 or not streamable(op, graph) or sums_rows(op, graph):
        return None
    height, width = out.shape[1:3]
    rows = min(height, -(-BAND_PIXELS // width))
    return [(a, min(a + rows, height)) for a in reversed(range(0, height, rows))]


def _lift(op: Op, graph: Graph, name: str) -> int | None:
    """Bytes the output must start above input `name` when run bottom band first: a band writes
    from its first row on, over no input row it or a band above it reads. None when the
    layer does not run in bands or its output could not overlap the input anyway."""
    bands = bottom_first_bands(op, graph)
    if bands is None or op.inputs.count(name) > 1:
        return None
    row_in, row_out = row_bytes(graph, name), row_bytes(graph, op.outputs[0])
    lift = max(input_rows(op, graph, name, a, b)[1] * row_in - a * row_out for a, b in bands)
    return lift if lift < graph[name].nbytes else None


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
