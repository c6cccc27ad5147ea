"""Operator reordering: the topological order with the lowest peak of live activations.

In a graph with branches the order of the branches decides what is live together
(Liberis & Lane, "Optimising memory for TinyML via operator reordering"). Dynamic
programming over the sets of ops already run: the best peak to reach a set is the
best over its possible last ops of max(best peak before it, bytes live while it
runs). The sets are the graph's down-sets, few for the narrow graphs of TinyML; past
MAX_STATES of them at one step, or MAX_EVALUATIONS candidate steps in all (an unrolled
recurrent layer: hundreds of ops, each step's gates a few branches), the model's own
order is kept. Ties keep the model's order, so chains
(and graphs where the order does not matter) come out unchanged.
"""

from __future__ import annotations

from ..ir import Graph

MAX_STATES = 50_000
MAX_EVALUATIONS = 100_000  # bytes-live evaluations: a few seconds of Python


def best_order(graph: Graph) -> Graph:
    """`graph` with its ops in the order of least peak memory (same ops, same tensors)."""
    ops = graph.ops
    if len(ops) < 3:
        return graph
    producer = {t: i for i, op in enumerate(ops) for t in op.outputs}
    preds = [frozenset(producer[t] for t in op.inputs if t in producer) for op in ops]
    users: dict[str, set[int]] = {}
    for i, op in enumerate(ops):
        for t in op.inputs:
            if t in producer:
                users.setdefault(t, set()).add(i)
    external = set(graph.inputs) | set(graph.outputs)
    size = {t: graph[t].nbytes for t in producer if t not in external}

    def running(done: frozenset[int], i: int) -> int:
        """Arena bytes live while op i runs after the ops in `done`: what is still needed, and i's outputs."""
        live = {t for j in done for t in ops[j].outputs if t in size and not users.get(t, set()) <= done}
        return sum(size[t] for t in live) + sum(size[t] for t in ops[i].outputs if t in size)

    # best[state] = (peak, order as a tuple of op indices)
    best: dict[frozenset[int], tuple[int, tuple[int, ...]]] = {frozenset(): (0, ())}
    frontier: list[frozenset[int]] = [frozenset()]
    evaluations = 0
    for _ in range(len(ops)):
        nxt: dict[frozenset[int], tuple[int, tuple[int, ...]]] = {}
        for state in frontier:
            peak, order = best[state]
            for i in range(len(ops)):
                if i in state or not preds[i] <= state:
                    continue
                new = state | {i}
                evaluations += 1
                candidate = (max(peak, running(state, i)), order + (i,))
                if new not in nxt or candidate < nxt[new]:
                    nxt[new] = candidate
        if len(nxt) > MAX_STATES or evaluations > MAX_EVALUATIONS:
            return graph
        best.update(nxt)
        frontier = list(nxt)
    _, order = best[frozenset(range(len(ops)))]
    if list(order) == list(range(len(ops))):
        return graph
    return graph.with_ops(tuple(ops[i] for i in order))
