"""The stack a model's invoke can need, from the compiler's own figures.

Every object is compiled with `-fcallgraph-info=su`: gcc writes, per source, each
function's frame (what `-fstack-usage` gives) and the calls it makes, in VCG text
(`name.ci`). The estimate is the deepest path of the call graph from the root:
the sum of the frames along it. Calls into the C library (memcpy, memmove, memset,
expf) have no figures; each counts as EXTERNAL_FRAME_BYTES, an assumption stated
beside the result. A recursive call would make the estimate no bound; none exists in
the runtime, and one found is reported.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

EXTERNAL_FRAME_BYTES = 64  # newlib's memcpy/memset/expf push at most a few registers on Cortex-M
NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
FRAME = re.compile(r"(\d+) bytes \(([\w,]+)\)")


@dataclass(frozen=True)
class StackUsage:
    frames: dict[str, int]  # function -> its own frame in bytes, for every function the root may call
    largest_frame: str
    largest_frame_bytes: int
    estimate_bytes: int  # deepest call chain from the root, external calls included
    path: list[str]  # that chain, root first
    external_calls: list[str]  # callees without figures (the C library), counted as EXTERNAL_FRAME_BYTES
    external_frame_bytes: int
    dynamic: list[str]  # functions whose frame size depends on run-time values (none expected)
    recursive: list[str]

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class CallGraph:
    frames: dict[str, tuple[str, int, str]]  # title -> (function name, bytes, static|dynamic|...)
    calls: dict[str, set[str]]
    names: dict[str, str]  # title -> function name, also for callees without a frame

    @classmethod
    def read(cls, folder: Path) -> CallGraph:
        graph = cls({}, {}, {})
        for path in sorted(Path(folder).glob("*.ci")):
            text = path.read_text()
            for title, label in NODE.findall(text):
                name = label.split("\\n")[0]
                graph.names.setdefault(title, name)
                if frame := FRAME.search(label):
                    graph.frames[title] = (name, int(frame[1]), frame[2])
            for source, target in EDGE.findall(text):
                graph.calls.setdefault(source, set()).add(target)
        return graph

    def title(self, function: str) -> str | None:
        """The node of a function compiled here (global functions are titled by their name)."""
        return (
            function
            if function in self.frames
            else next((t for t, (name, _, _) in self.frames.items() if name == function), None)
        )

    def deepest(self, title: str, seen: tuple[str, ...], recursive: set[str], memo: dict) -> tuple[int, list[str]]:
        """(bytes, path) of the deepest chain from `title`; a call back into `seen` is cut and noted."""
        if title in memo:
            return memo[title]
        if title not in self.frames:
            return EXTERNAL_FRAME_BYTES, [self.names.get(title, title)]
        name, own, _ = self.frames[title]
        best: tuple[int, list[str]] = (0, [])
        for callee in sorted(self.calls.get(title, ())):
            if callee in seen:
                recursive.add(name)
                continue
            best = max(best, self.deepest(callee, (*seen, callee), recursive, memo), key=lambda r: r[0])
        memo[title] = (own + best[0], [name, *best[1]])
        return memo[title]


def stack_usage(folder: Path, root: str) -> StackUsage:
    """The frames of the functions `root` may call (compiled in `folder`) and the deepest chain among them."""
    graph = CallGraph.read(folder)
    start = graph.title(root)
    if start is None:
        raise ValueError(f"no call graph figures for {root} in {folder} (compiled without -fcallgraph-info=su?)")
    recursive: set[str] = set()
    estimate, path = graph.deepest(start, (start,), recursive, {})
    reachable = _reachable(graph, start)
    frames = {name: size for title, (name, size, _) in graph.frames.items() if title in reachable}
    largest = max(frames, key=lambda f: (frames[f], f))
    return StackUsage(
        frames=dict(sorted(frames.items())),
        largest_frame=largest,
        largest_frame_bytes=frames[largest],
        estimate_bytes=estimate,
        path=path,
        external_calls=sorted({graph.names.get(t, t) for t in reachable if t not in graph.frames}),
        external_frame_bytes=EXTERNAL_FRAME_BYTES,
        dynamic=sorted(
            name for title, (name, _, kind) in graph.frames.items() if title in reachable and kind != "static"
        ),
        recursive=sorted(recursive),
    )


def _reachable(graph: CallGraph, start: str) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for callee in graph.calls.get(todo.pop(), ()):
            if callee not in seen:
                seen.add(callee)
                todo.append(callee)
    return seen
