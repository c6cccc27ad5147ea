"""Operator reordering: the topological order with the lowest peak of live activations.

In a graph with branches the order of the branches decides what is live together
(Liberis & Lane, "Optimising memory for TinyML via operator reordering"). Dynamic
programming over the sets of ops already run: the best peak to reach a set is the
best over its possible last ops of max(best peak before it, bytes live while it
runs). The sets are the graph's down-sets, few for the narrow graphs of TinyML; past
MAX_STATES the model's own order is kept. Ties keep the order that comes first
lexicographically, so chains (and graphs where the order does not matter) come out
unchanged.

A set is a bit mask; each carries the bytes live after it, the ops ready to run
next and its rank among the sets of its size in the lexicographic order of their
best orders, so a step costs a few integer operations and no order is copied.
"""

from __future__ import annotations

from ..ir import Graph

MAX_STATES = 50_000


def best_order(graph: Graph) -> Graph:
    """`graph` with its ops in the order of least peak memory (same ops, same tensors)."""
    ops = graph.ops
    if len(ops) < 3:
        return graph
    producer = {t: i for i, op in enumerate(ops) for t in op.outputs}
    preds = [sum(1 << producer[t] for t in set(op.inputs) if t in producer) for op in ops]
    succs: list[set[int]] = [set() for _ in ops]
    users: dict[str, int] = {}  # tensor -> bit mask of the ops reading it
    for i, op in enumerate(ops):
        for t in set(op.inputs):
            if t in producer:
                succs[producer[t]].add(i)
                users[t] = users.get(t, 0) | 1 << i
    external = set(graph.inputs) | set(graph.outputs)
    size = {t: graph[t].nbytes for t in producer if t not in external}
    written = [sum(size.get(t, 0) for t in op.outputs) for op in ops]  # i's outputs, live while i runs
    kept = [sum(size.get(t, 0) for t in op.outputs if users.get(t)) for op in ops]  # ... and after it
    freed = [[(users[t], size[t]) for t in set(op.inputs) if t in size] for op in ops]  # inputs i may be last to read

    # the sets of one size, in the lexicographic order of their best orders: (mask, peak, live after, ready ops)
    frontier = [(0, 0, 0, frozenset(i for i in range(len(ops)) if not preds[i]))]
    parent: dict[int, tuple[int, int]] = {}  # set -> (the set before it, the op run last) on its best order
    n = len(ops)
    bit = [1 << i for i in range(n)]
    for _ in range(n):
        # new set -> its best (peak, rank of the set before it, op run last), one integer compared as that tuple
        best: dict[int, int] = {}
        ranks = len(frontier) * n
        for rank, (mask, peak, live, ready) in enumerate(frontier):
            for i in ready:
                new = mask | bit[i]
                running = live + written[i]
                candidate = (running if running > peak else peak) * ranks + rank * n + i
                known = best.get(new)
                if known is None:
                    if len(best) == MAX_STATES:
                        return graph
                    best[new] = candidate
                elif candidate < known:
                    best[new] = candidate
        nxt = []
        for new, candidate in sorted(best.items(), key=lambda item: item[1] % ranks):
            peak, rest = divmod(candidate, ranks)
            mask, _, live, ready = frontier[rest // n]
            i = rest % n
            parent[new] = (mask, i)
            for readers, bytes_ in freed[i]:
                if readers & new == readers:
                    live -= bytes_
            arrived = [j for j in succs[i] if preds[j] & new == preds[j]]
            nxt.append((new, peak, live + kept[i], ready.difference((i,)).union(arrived)))
        frontier = nxt
    order = []
    mask = frontier[0][0]
    while mask:
        mask, i = parent[mask]
        order.append(i)
    order.reverse()
    if order == list(range(len(ops))):
        return graph
    return graph.with_ops(tuple(ops[i] for i in order))
