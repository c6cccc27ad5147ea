"""Observe a float graph on calibration data: every activation's range and histogram.

The float IR is written as .tflite and run in ai-edge-litert with all intermediate
tensors kept, so no second float interpreter is needed and the values are those a
float runtime computes. Two passes: the first finds each tensor's min and max, the
second histograms it over that span (what the MSE range search needs).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ..export.tflite import write_tflite
from ..ir import Graph
from .steps import step_groups

BINS = 2048


@dataclass
class TensorStats:
    """What calibration saw of one tensor."""

    low: float
    high: float
    histogram: np.ndarray | None = None  # BINS counts over [low, high]

    def edges(self) -> np.ndarray:
        return np.linspace(self.low, self.high, BINS + 1)


class FloatRunner:
    """The float graph in LiteRT, every tensor readable after an invoke."""

    def __init__(self, graph: Graph):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.graph = graph
        with warnings.catch_warnings():  # keeping all tensors is the point here, not a debugging slip
            warnings.simplefilter("ignore")
            resolver = (
                OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            )  # every tensor in CPU memory, no delegate log line
            self.interpreter = Interpreter(
                model_content=write_tflite(graph),
                experimental_preserve_all_tensors=True,
                experimental_op_resolver_type=resolver,
            )
        self.interpreter.allocate_tensors()
        self.index = {d["name"]: d["index"] for d in self.interpreter.get_tensor_details()}
        self.input_index = [d["index"] for d in self.interpreter.get_input_details()]
        self.output_index = [d["index"] for d in self.interpreter.get_output_details()]

    def run(self, sample: list[np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
        if self.graph.state:
            self.interpreter.reset_all_variables()  # each sample a sequence of its own, from zero state
        for index, array in zip(self.input_index, sample):
            self.interpreter.set_tensor(index, np.ascontiguousarray(array, dtype=np.float32))
        self.interpreter.invoke()
        return {name: self.interpreter.get_tensor(self.index[name]) for name in names}

    def outputs(self, sample: list[np.ndarray]) -> list[np.ndarray]:
        self.run(sample, [])
        return [self.interpreter.get_tensor(i).copy() for i in self.output_index]


def observe(
    graph: Graph, samples: list[list[np.ndarray]], progress: Callable[[], None] | None = None
) -> dict[str, TensorStats]:
    """Range and histogram of every float activation over the samples (progress ticks twice per sample);
    the steps of an unrolled loop share one TensorStats, pooling their values (steps.py)."""
    runner = FloatRunner(graph)
    names = [t.name for t in graph.activations() if t.dtype == "float32"]
    groups = step_groups(graph)
    pooled: dict[tuple[str, ...], TensorStats] = {}
    stats = {name: pooled.setdefault(groups.get(name, (name,)), TensorStats(np.inf, -np.inf)) for name in names}
    for values in _each(runner, samples, names, progress):
        for name, array in values.items():
            s = stats[name]
            s.low, s.high = min(s.low, float(array.min())), max(s.high, float(array.max()))
    for s in pooled.values():
        s.histogram = np.zeros(BINS, dtype=np.int64)
    for values in _each(runner, samples, names, progress):
        for name, array in values.items():
            s = stats[name]
            s.histogram += histogram(array, s.low, s.high)
    return stats


def histogram(array: np.ndarray, low: float, high: float) -> np.ndarray:
    """BINS counts of `array` over [low, high], in float64: a constant tensor, or one whose
    span is too narrow for BINS distinct float64 edges (np.histogram refuses it), counts
    all in the first bin, as its range search then has nothing to clip."""
    edges = np.linspace(low, high, BINS + 1)
    if not np.all(np.diff(edges) > 0):
        counts = np.zeros(BINS, dtype=np.int64)
        counts[0] = array.size
        return counts
    return np.histogram(array.astype(np.float64), bins=BINS, range=(low, high))[0]


def _each(runner: FloatRunner, samples, names, progress) -> Iterator[dict[str, np.ndarray]]:
    for sample in samples:
        yield runner.run(sample, names)
        if progress:
            progress()
