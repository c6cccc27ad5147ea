"""How close the int8 graph stays to the float one: top-1 agreement and SQNR.

Both graphs run in LiteRT with every tensor kept (the int8 one with its reference
kernels, which round as TFLite Micro does), so besides the outputs each layer's
output can be compared: per-layer SQNR shows where the error enters.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..export.tflite import write_tflite
from ..ir import Graph
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
        reference = reference_kernels and litert_reference_loads(content)
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
        if self.graph.state:
            self.interpreter.reset_all_variables()  # each sample a sequence of its own, from zero state
        for index, name, array in zip(self.inputs, self.graph.inputs, sample):
            self.interpreter.set_tensor(index, quantize(array, self.graph[name]))
        self.interpreter.invoke()
        return {name: dequantize(self.interpreter.get_tensor(self.index[name]), self.graph[name]) for name in names}


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

    def run(self, sample: list[np.ndarray], names: list[str]) -> dict[str, np.ndarray]:
        for index, (name, array) in enumerate(zip(self.graph.inputs, sample)):
            self.interpreter.set_input(quantize(array, self.graph[name]), index)
        self.interpreter.invoke()
        values = {
            name: dequantize(np.array(self.interpreter.GetTensor(self.index[name], 0)["tensor_data"]), self.graph[name])
            for name in names
        }
        self.interpreter.reset()  # each sample a sequence of its own, from zero state
        return values


def quantize(values: np.ndarray, tensor) -> np.ndarray:
    """Real values to int8 with the tensor's parameters, rounding half away from zero (TFLite)."""
    scaled = values.astype(np.float32) / np.float32(tensor.quant.scale[0])
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded + tensor.quant.zero_point[0], -128, 127).astype(np.int8)


def dequantize(values: np.ndarray, tensor) -> np.ndarray:
    return ((values.astype(np.float32) - tensor.quant.zero_point[0]) * np.float32(tensor.quant.scale[0])).astype(
        np.float32
    )


def measure(float_graph: Graph, int_graph: Graph, samples: list[list[np.ndarray]], per_layer: bool = True) -> dict:
    """Fidelity of `int_graph` to `float_graph` over `samples`: per output top-1 agreement
    (classifier outputs) and SQNR, and per layer SQNR."""
    layers = [op.outputs[0] for op in int_graph.ops if op.outputs[0] in float_graph.tensors] if per_layer else []
    names = list(dict.fromkeys([*layers, *int_graph.outputs]))
    want: dict[str, list[np.ndarray]] = {n: [] for n in names}
    got: dict[str, list[np.ndarray]] = {n: [] for n in names}
    f_runner, q_runner = FloatRunner(float_graph), Int8Runner(int_graph)
    for sample in samples:
        for name, value in f_runner.run(sample, names).items():
            want[name].append(value.copy())
        for name, value in q_runner.run(sample, names).items():
            got[name].append(value)
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
