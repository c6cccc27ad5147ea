"""How close the int8 graph stays to the float one: top-1 agreement and SQNR.

Both graphs run in LiteRT with every tensor kept (the int8 one with its reference
kernels, which round as TFLite Micro does), so besides the outputs each layer's
output can be compared: per-layer SQNR shows where the error enters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from ..export.tflite import write_tflite
from ..ir import Graph, Op
from ..ops import OPS
from ..oracle import TFLM_ARENA, litert_reference_loads
from .observe import FloatRunner


def sqnr_db(reference: np.ndarray, approx: np.ndarray) -> float:
    """Signal-to-quantization-noise ratio in dB (capped at 99 when equal)."""
    signal = float(np.sum(np.square(reference, dtype=np.float64)))
    noise = float(np.sum(np.square(reference.astype(np.float64) - approx.astype(np.float64))))
    if noise == 0.0:
        return 99.0
    return round(float(10.0 * np.log10(max(signal, 1e-30) / noise)), 2)


class Int8Runner:
    """The int8 graph in LiteRT's reference kernels, every tensor readable and dequantized;
    in tflite-micro where LiteRT cannot run one of its ops (the integer LSTM)."""

    def __new__(cls, graph: Graph, reference_kernels: bool = True):
        if cls is Int8Runner and not all(OPS[op.kind].litert_int8 for op in graph.ops):
            return super().__new__(MicroRunner)
        return super().__new__(cls)

    def __init__(self, graph: Graph, reference_kernels: bool = True):
        """Reference kernels round as TFLite Micro does; the optimized ones are 10x faster
        (search), and stand in where the reference ones abort on the model."""
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        self.graph = graph
        content = write_tflite(graph)
        reference = reference_kernels and reference_kernels_run(graph, content)
        resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        self.interpreter = Interpreter(
            model_content=content,
            experimental_preserve_all_tensors=reference_kernels,
            experimental_op_resolver_type=resolver,
        )
        self.interpreter.allocate_tensors()
        self.index = {d["name"]: d["index"] for d in self.interpreter.get_tensor_details()}
        self.inputs = [d["index"] for d in self.interpreter.get_input_details()]
        self.output_index = [d["index"] for d in self.interpreter.get_output_details()]

    def outputs(self, sample: list[np.ndarray]) -> list[np.ndarray]:
        """The graph outputs of one sample, as real values."""
        self.run(sample, [])
        return [
            dequantize(self.interpreter.get_tensor(i), self.graph[name])
            for i, name in zip(self.output_index, self.graph.outputs)
        ]

    def run(self, sample: list[np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
        """Float inputs in, the named tensors out as real values."""
        ints = [quantize(array, self.graph[name]) for name, array in zip(self.graph.inputs, sample)]
        return {name: dequantize(value, self.graph[name]) for name, value in self.run_raw(ints, names).items()}

    def run_raw(self, inputs: list[np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
        """Integer inputs in, the named tensors out as stored (int8, int16, int32)."""
        if self.graph.state:
            self.interpreter.reset_all_variables()  # each sample a sequence of its own, from zero state
        for index, array in zip(self.inputs, inputs):
            self.interpreter.set_tensor(index, array)
        self.interpreter.invoke()
        return {name: self.interpreter.get_tensor(self.index[name]) for name in names}


class MicroRunner(Int8Runner):
    """The int8 graph in tflite-micro, every tensor kept: the oracle itself, for graphs with
    an op LiteRT cannot run as aiotc exports it (slower than LiteRT, so only there)."""

    def __init__(self, graph: Graph, reference_kernels: bool = True):
        import tflite
        from tflite_micro.python.tflite_micro import runtime

        self.graph = graph
        content = write_tflite(graph)
        self.interpreter = runtime.Interpreter.from_bytes(
            content,
            arena_size=max(TFLM_ARENA, 10 * len(content)),
            intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors,
        )
        subgraph = tflite.Model.GetRootAsModel(content, 0).Subgraphs(0)
        self.index = {subgraph.Tensors(i).Name().decode(): i for i in range(subgraph.TensorsLength())}
        self.output_index = [self.index[name] for name in graph.outputs]

    def outputs(self, sample: list[np.ndarray]) -> list[np.ndarray]:
        values = self.run(sample, list(self.graph.outputs))
        return [values[name] for name in self.graph.outputs]

    def run_raw(self, inputs: list[np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
        for index, array in enumerate(inputs):
            self.interpreter.set_input(array, index)
        self.interpreter.invoke()
        values = {name: np.array(self.interpreter.GetTensor(self.index[name], 0)["tensor_data"]) for name in names}
        self.interpreter.reset()  # each sample a sequence of its own, from zero state
        return values


class Int8Values:
    """The int8 graph's tensors on `samples`, kept between changes of the graph: `update` to a
    graph that differs from some op on (a corrected bias, a tried range) and `values` runs
    only the ops from the first changed one, and only as far as the tensors asked for.
    Bias correction in graph order so runs the model about once per sample instead of once
    per layer, and a range trial only the layers from the tensor tried. Each run is a
    .tflite of those ops, their inputs the kept integers: the same kernels on the same
    integers as the whole model, so the same values."""

    def __init__(self, graph: Graph, samples: list[list[np.ndarray]], reference_kernels: bool = True):
        self.graph, self.samples = graph, samples
        self.micro = not all(OPS[op.kind].litert_int8 for op in graph.ops)  # its parts run where it does
        self.reference_kernels = reference_kernels and (self.micro or reference_kernels_run(graph, write_tflite(graph)))
        self.kept: dict[str, list[np.ndarray]] = {}
        self.done = 0  # ops of self.graph whose outputs are kept, in graph order

    def update(self, graph: Graph) -> None:
        """Go on with `graph`: the kept values stay for the ops before its first difference."""
        same = 0
        for old, new in zip(self.graph.ops[: self.done], graph.ops):
            if old != new or any(not _same_tensor(self.graph[n], graph[n]) for n in (*new.inputs, *new.outputs) if n):
                break
            same += 1
        if any(not _same_tensor(self.graph[n], graph[n]) for n in graph.inputs):
            same = 0
        self.graph, self.done = graph, min(self.done, same)

    def values(self, names: list[str]) -> list[dict[str, np.ndarray]]:
        """Per sample, the named tensors as real values."""
        position = {t: i for i, op in enumerate(self.graph.ops) for t in op.outputs}
        self._run_to(max((position[n] + 1 for n in names if n in position), default=0))
        return [{n: dequantize(self.kept[n][i], self.graph[n]) for n in names} for i in range(len(self.samples))]

    def _run_to(self, end: int) -> None:
        graph = self.graph
        if self.done == 0:
            self.kept = {
                name: [quantize(s[i], graph[name]) for s in self.samples] for i, name in enumerate(graph.inputs)
            }
        if end <= self.done:
            return
        ops = graph.ops[self.done : end]
        made = [t for op in ops for t in op.outputs]
        read = [n for op in ops for n in op.inputs if n and not graph[n].is_const]
        inputs = list(dict.fromkeys(n for n in read if n not in made and n not in graph.state))
        state = tuple(n for n in graph.state if n in read)
        init = {n: v for n, v in graph.state_init.items() if n in state}
        part = replace(  # one invoke per sample: a variable's new value is never read
            graph, inputs=tuple(inputs), outputs=tuple(made), layouts={}, state=state, state_init=init, state_updates={}
        ).with_ops(ops)
        runner = MicroRunner(part) if self.micro else Int8Runner(part, self.reference_kernels)
        runs = [runner.run_raw([self.kept[n][i] for n in inputs], made) for i in range(len(self.samples))]
        self.kept |= {t: [r[t] for r in runs] for t in made}
        self.done = end


def _same_tensor(a, b) -> bool:
    return a is b or (
        a.shape == b.shape
        and a.dtype == b.dtype
        and a.quant == b.quant
        and (a.data is None) == (b.data is None)
        and (a.data is None or np.array_equal(a.data, b.data))
    )


_REFERENCE_RUNS: set[tuple] = set()  # signatures of the ops of every model the reference kernels ran


def reference_kernels_run(graph: Graph, content: bytes) -> bool:
    """Whether LiteRT's reference kernels run the graph (`content`, its .tflite): probed in a
    subprocess (oracle.litert_reference_loads, a quarter second) only if one of its ops is new,
    by kind, attributes, operand shapes and parameters. PTQ runs hundreds of models that
    differ in weights and biases only, or are parts of one model; an abort is an op's."""
    signatures = {_signature(op, graph) for op in graph.ops}
    if signatures <= _REFERENCE_RUNS:
        return True
    if not litert_reference_loads(content):
        return False
    _REFERENCE_RUNS.update(signatures)
    return True


def _signature(op: Op, graph: Graph) -> tuple:
    """The op as a kernel sees it before its data: a weighted layer's weights and bias
    values left out (other constants, such as indices or shapes, kept)."""
    operands: list[tuple | None] = []
    for index, name in enumerate((*op.inputs, *op.outputs)):
        if not name:
            operands.append(None)
            continue
        t = graph[name]
        q = t.quant and (t.quant.scale.tobytes(), t.quant.zero_point.tobytes(), t.quant.axis)
        data = t.data.tobytes() if t.is_const and not (OPS[op.kind].weighted and 0 < index < len(op.inputs)) else None
        operands.append((t.shape, t.dtype, t.is_const, q, data))
    return (op.kind, repr(op.attrs), tuple(operands))


def quantize(values: np.ndarray, tensor) -> np.ndarray:
    """Real values to int8 with the tensor's parameters, rounding half away from zero (TFLite)."""
    scaled = values.astype(np.float32) / np.float32(tensor.quant.scale[0])
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded + tensor.quant.zero_point[0], -128, 127).astype(np.int8)


def dequantize(values: np.ndarray, tensor) -> np.ndarray:
    return ((values.astype(np.float32) - tensor.quant.zero_point[0]) * np.float32(tensor.quant.scale[0])).astype(
        np.float32
    )


def measure(
    float_graph: Graph,
    int_graph: Graph,
    samples: list[list[np.ndarray]],
    per_layer: bool = True,
    progress: Callable[[str, int], Callable[[], None]] | None = None,
) -> dict:
    """Fidelity of `int_graph` to `float_graph` over `samples`: per output top-1 agreement
    (classifier outputs) and SQNR, and per layer SQNR."""
    layers = [op.outputs[0] for op in int_graph.ops if op.outputs[0] in float_graph.tensors] if per_layer else []
    names = list(dict.fromkeys([*layers, *int_graph.outputs]))
    want: dict[str, list[np.ndarray]] = {n: [] for n in names}
    got: dict[str, list[np.ndarray]] = {n: [] for n in names}
    f_runner, q_runner = FloatRunner(float_graph), Int8Runner(int_graph)
    tick = progress("measuring fidelity", len(samples)) if progress else None
    for sample in samples:
        for name, value in f_runner.run(sample, names).items():
            want[name].append(value.copy())
        for name, value in q_runner.run(sample, names).items():
            got[name].append(value)
        if tick:
            tick()
    outputs = []
    for name in int_graph.outputs:
        f, q = np.stack(want[name]), np.stack(got[name])
        entry: dict[str, Any] = {"name": name, "sqnr_db": sqnr_db(f, q)}
        if f.ndim >= 2 and f.shape[-1] > 1:
            entry["top1_agreement"] = round(
                float(np.mean(f.reshape(len(samples), -1).argmax(-1) == q.reshape(len(samples), -1).argmax(-1))), 4
            )
        outputs.append(entry)
    report = {"samples": len(samples), "outputs": outputs, "sqnr_db": min(o["sqnr_db"] for o in outputs)}
    agreements = [o["top1_agreement"] for o in outputs if "top1_agreement" in o]
    if agreements:
        report["top1_agreement"] = min(agreements)
    report["layers"] = [{"tensor": n, "sqnr_db": sqnr_db(np.stack(want[n]), np.stack(got[n]))} for n in layers]
    return report
