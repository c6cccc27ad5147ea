"""The static arena plan: every activation and scratch buffer at a fixed offset.

Liveness comes from the op order: a tensor lives from the op that writes it to its
last reader; an op's scratch lives only while it runs. Graph inputs and outputs are
not in the arena: the kernels read the caller's input and write the caller's output
buffer directly. A streamed stage (schedule.py) runs ops 0..k as one unit, so its
cached bands and scratch live through all of it (one scratch buffer, which its band
calls take in turn). Placement is an interval-packing problem: we try
several greedy orders (largest first as TFLite Micro does, longest-lived first,
earliest first), each placing a buffer at the lowest offset that overlaps no
conflicting buffer, keep the smallest arena, and stop as soon as one meets the
lower bound (the largest total live at any op, which no placement can beat).
In-place ops (inplace.py) relax one conflict: their output may start `slack` bytes
below a dying input and overlap the rest of it; reshapes of a dying input alias it.
Every plan is verified before it is returned.
"""

from __future__ import annotations

from dataclasses import dataclass

from .analysis import op_macs
from .inplace import InPlace, aliases, in_place_pairs
from .ir import Graph
from .schedule import StreamStage, row_bytes, stream_stage, streamable


def align(n: int, to: int) -> int:
    return (n + to - 1) // to * to


@dataclass(frozen=True)
class Buffer:
    """A block of arena memory live during ops first..last (inclusive)."""

    name: str
    size: int
    first: int
    last: int

    def overlaps_in_time(self, other: Buffer) -> bool:
        return self.first <= other.last and other.first <= self.last


@dataclass(frozen=True)
class ArenaPlan:
    offsets: dict[str, int]  # tensor name -> offset (aliases share their root's)
    scratch_offsets: dict[str, int]  # op name -> offset of its scratch
    size: int  # arena bytes, a multiple of the alignment
    lower_bound: int  # max over ops of the bytes live at that op (in-place overlaps not counted)
    buffers: tuple[Buffer, ...]  # what was placed (scratch buffers named "scratch:<op>")
    op_count: int
    in_place: tuple[InPlace, ...] = ()  # the overlaps the plan may use

    def live_bytes(self) -> list[int]:
        """Bytes live while each op runs (its inputs, outputs and scratch included)."""
        return live_profile(self.buffers, self.op_count, self.in_place)


@dataclass(frozen=True)
class Lifetimes:
    """The arena buffers of a schedule and the relations between them."""

    buffers: list[Buffer]
    alias: dict[str, str]  # tensor -> the buffer it shares
    in_place: list[InPlace]
    scratch_alias: dict[str, str]  # op -> the op whose scratch buffer it shares (streamed stages)


def lifetimes(graph: Graph, scratch_bytes: dict[str, int], alignment: int, stage: StreamStage | None = None) -> Lifetimes:
    """Live intervals of the arena buffers of `graph` in its op order (and stage)."""
    external = set(graph.inputs) | set(graph.outputs) | set(graph.state)  # state lives outside the arena
    stage_end = stage.last_op if stage else -1
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    for index, op in enumerate(graph.ops):
        at = 0 if index <= stage_end else index  # a stage runs as one unit
        until = max(index, stage_end)
        for name in op.inputs:
            if name is not None and not graph[name].is_const and name not in external:
                last[name] = max(last.get(name, 0), until)
        for name in op.outputs:
            if name not in external:
                first.setdefault(name, at)
                last[name] = max(last.get(name, at), until)
    alias = aliases(graph, last, external)
    for name, root in alias.items():  # an alias extends its root's life and is not a buffer of its own
        last[root] = max(last[root], last.pop(name))
        del first[name]
    cached = stage.cached_rows if stage else {}
    buffers = [Buffer(name, align(max(cached[name] * row_bytes(graph, name) if name in cached else graph[name].nbytes, 1), alignment), first[name], last[name]) for name in first]
    # A stage's band calls run one at a time and a kernel keeps nothing in its scratch from
    # one call to the next, so the stage's ops share one scratch buffer, the largest of theirs.
    staged = [op.name for op in graph.ops[: stage_end + 1] if scratch_bytes.get(op.name, 0) > 0]
    shared = max(staged, key=lambda name: scratch_bytes[name], default=None)
    scratch_alias = {name: shared for name in staged if name != shared}
    for index, op in enumerate(graph.ops):
        if scratch_bytes.get(op.name, 0) > 0 and op.name not in scratch_alias:
            span = (0, stage_end) if index <= stage_end else (index, index)
            buffers.append(Buffer(f"scratch:{op.name}", align(scratch_bytes[op.name], alignment), *span))
    dies_at = {name: last[alias.get(name, name)] for name in (*first, *alias)}
    pairs = [p for p in in_place_pairs(graph, dies_at, alignment) if p.op_index > stage_end and p.input not in alias and p.output not in alias]
    return Lifetimes(buffers, alias, pairs, scratch_alias)


def live_profile(buffers, op_count: int, in_place=()) -> list[int]:
    """Bytes of arena live at each op: its lower bound is the maximum.

    An in-place op needs only max(input + slack, output) for its pair, not their sum.
    """
    live = [0] * max(op_count, 1)
    for b in buffers:
        for i in range(b.first, b.last + 1):
            live[i] += b.size
    size = {b.name: b.size for b in buffers}
    saved: dict[int, int] = {}
    for p in in_place:
        shared = size[p.input] + size[p.output] - max(size[p.input] + p.slack, size[p.output])
        saved[p.op_index] = max(saved.get(p.op_index, 0), shared)
    return [bytes_ - saved.get(i, 0) for i, bytes_ in enumerate(live)]


def place(buffers: list[Buffer], order: list[int], in_place: list[InPlace]) -> dict[int, int]:
    """Greedy: each buffer, in `order`, at the lowest offset free of conflicting placed buffers.

    A placed buffer j forbids the starts in the open interval (off_j - size_i, off_j + size_j);
    when i is the in-place output of j the interval shrinks to (off_j - slack, ...), and when
    i is the input j overwrites, to (..., off_j + slack). Sizes, slacks and offsets are
    multiples of the alignment, so the lowest free start is 0 or the end of an interval.
    """
    index_of = {b.name: i for i, b in enumerate(buffers)}
    slack = {(index_of[p.input], index_of[p.output]): p.slack for p in in_place}
    offsets: dict[int, int] = {}
    for i in order:
        b = buffers[i]
        forbidden = []
        for j, at in offsets.items():
            if not b.overlaps_in_time(buffers[j]):
                continue
            lo, hi = at - b.size, at + buffers[j].size
            if (j, i) in slack:
                lo = at - slack[j, i]
            if (i, j) in slack:
                hi = at + slack[i, j]
            forbidden.append((lo, hi))
        offsets[i] = min(s for s in (0, *(hi for _, hi in forbidden)) if s >= 0 and not any(lo < s < hi for lo, hi in forbidden))
    return offsets


ORDERS = {
    "largest first": lambda b: (-b.size, b.first, b.name),
    "longest lived first": lambda b: (-(b.last - b.first), -b.size, b.name),
    "earliest first": lambda b: (b.first, -b.size, b.name),
    "largest area first": lambda b: (-b.size * (b.last - b.first + 1), b.name),
    "latest first": lambda b: (-b.first, -b.size, b.name),  # lets in-place chains descend
}


def plan_arena(graph: Graph, scratch_bytes: dict[str, int], alignment: int = 16, stage: StreamStage | None = None) -> ArenaPlan:
    """Place every arena buffer of `graph` (streaming `stage` first if given); verified, deterministic."""
    life = lifetimes(graph, scratch_bytes, alignment, stage)
    buffers = life.buffers
    bound = max(live_profile(buffers, len(graph.ops), life.in_place))
    best: dict[int, int] = {}
    best_size = None
    for key in ORDERS.values():
        # Scratch buffers (small, one op long) go last, into the holes the activations leave.
        order = sorted(range(len(buffers)), key=lambda i: (buffers[i].name.startswith("scratch:"), key(buffers[i])))
        offsets = place(buffers, order, life.in_place)
        size = max((offsets[i] + buffers[i].size for i in offsets), default=0)
        if best_size is None or size < best_size:
            best, best_size = offsets, size
        if best_size <= bound:
            break
    offsets = {b.name: best[i] for i, b in enumerate(buffers) if not b.name.startswith("scratch:")}
    scratch_offsets = {b.name.removeprefix("scratch:"): best[i] for i, b in enumerate(buffers) if b.name.startswith("scratch:")}
    plan = ArenaPlan(
        offsets=offsets | {name: offsets[root] for name, root in life.alias.items()},
        scratch_offsets=scratch_offsets | {name: scratch_offsets[root] for name, root in life.scratch_alias.items()},
        size=align(best_size or 0, alignment),
        lower_bound=bound,
        buffers=tuple(buffers),
        op_count=len(graph.ops),
        in_place=tuple(life.in_place),
    )
    verify_plan(plan, alignment)
    return plan


def verify_plan(plan: ArenaPlan, alignment: int = 16) -> None:
    """No two buffers live at the same time share a byte unless an in-place op allows it; aligned; inside."""
    offset_of = {**plan.offsets, **{f"scratch:{k}": v for k, v in plan.scratch_offsets.items()}}
    slack = {(p.input, p.output): p.slack for p in plan.in_place}
    placed = sorted(plan.buffers, key=lambda b: offset_of[b.name])
    for i, a in enumerate(placed):
        start = offset_of[a.name]
        if start % alignment or start + a.size > plan.size:
            raise AssertionError(f"arena plan: {a.name} at {start} (+{a.size}) is misaligned or outside {plan.size}")
        for b in placed[i + 1 :]:
            if offset_of[b.name] >= start + a.size:
                break
            if not a.overlaps_in_time(b):
                continue
            # legal only for an in-place output starting far enough below its input
            if any((x.name, y.name) in slack and offset_of[y.name] <= offset_of[x.name] - slack[x.name, y.name] for x, y in ((a, b), (b, a))):
                continue
            raise AssertionError(f"arena plan: {a.name} and {b.name} overlap while both live")


# (push, rows per step, paced): pull, push, and push paced one band at a time (schedule.stream_stage)
STREAM_MODES = [(push, rows, paced) for push, paced in ((True, True), (True, False), (False, False)) for rows in (1, 2, 4)]


def plan_memory(
    graph: Graph, scratch_bytes: dict[str, int], patch: str = "auto", sram_budget: int | None = None, max_overhead: float = 0.2, alignment: int = 16
) -> tuple[StreamStage | None, ArenaPlan]:
    """The schedule to use: layer by layer, or the first k+1 ops streamed.

    Every streamable prefix is simulated and planned in each streaming mode (a few
    milliseconds each). Without a budget, the smallest arena wins, each band call
    counted as BYTES_PER_CALL more bytes (so a few bytes do not buy many calls). With
    `sram_budget`, the one with the fewest band calls that fits it (layer by layer
    when that fits), else the smallest. Stages whose MAC overhead
    exceeds `max_overhead` are not considered (cached halos recompute nothing, so
    today's stages are all at 0%; the check keeps any recomputing schedule honest).
    """
    candidates = [(None, plan_arena(graph, scratch_bytes, alignment))]
    if patch != "off":
        for push, rows, paced in STREAM_MODES:
            for last_op in range(1, len(graph.ops)):
                if not streamable(graph.ops[last_op], graph):
                    break
                stage = stream_stage(graph, last_op, rows, push, paced)
                if stage is not None and mac_overhead(graph, stage) <= max_overhead:
                    candidates.append((stage, plan_arena(graph, scratch_bytes, alignment, stage)))
    calls = lambda c: c[0].calls if c[0] else 0  # noqa: E731
    smallest = min(plan.size for _, plan in candidates)
    if sram_budget is not None and sram_budget >= smallest:
        return min((c for c in candidates if c[1].size <= sram_budget), key=lambda c: (calls(c), c[1].size))
    return min(candidates, key=lambda c: (c[1].size + BYTES_PER_CALL * calls(c), c[1].size))


# What a band call is worth in arena bytes when no budget is given: each call repeats a
# kernel's setup (0.1-2.3 k instructions on the M4), so str_ww_ref_model's 119-call stage
# (4,528 B, +21% instructions) loses to its 18-call one (4,784 B), while every stage that
# saves more than this per extra call (mcunet 79 B, vww 31 B, kws 9 B) is kept.
BYTES_PER_CALL = 4


def mac_overhead(graph: Graph, stage: StreamStage) -> float:
    """MACs the stage's band calls execute beyond its layers' own MACs, as a fraction of the model's."""
    total = sum(op_macs(op, graph) for op in graph.ops)
    executed = sum(op_macs(graph.ops[c.op_index], graph) * (c.rows[1] - c.rows[0]) / graph[graph.ops[c.op_index].outputs[0]].shape[1] for calls, _ in stage.steps for c in calls)
    layers = sum(op_macs(op, graph) for op in graph.ops[: stage.last_op + 1])
    return (executed - layers) / total if total else 0.0
