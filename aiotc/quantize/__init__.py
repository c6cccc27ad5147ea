"""Quantization: float graphs to int8 from calibration data (post-training, TFLite spec).

    load_calibration -> observe (float ranges and histograms) -> initial_ranges
    -> refine_ranges -> input_hessians -> quantize_graph (GPTQ-rounded weights) -> correct_biases -> measure

refine_ranges, GPTQ rounding of int8 weights and correct_biases make up method
"search" (the default): each gains on held-out data (search.py, gptq.py, bias.py
say how much). The search scores ranges with nearest-rounded weights and no bias
correction: scoring with them chose ranges no better on held-out pretrainedResnet
crops and would make each of its trials seconds slower.

A mixed-precision assignment (`Quantized.with_precision`) is quantized again from the
same ranges, its weights refitted layer by layer to the quantized inputs (refit.py).

`quantize_model` runs the chain and returns the int8 graph with its fidelity report;
`quantize_qdq` quantizes a QDQ model with the activation parameters it carries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace

from threadpoolctl import threadpool_limits

from ..errors import ModelError, UsageError
from ..ir import LSTM_CELL_STATE, LSTM_HIDDEN_STATE, Graph
from .bias import correct_biases
from .calibration import Calibration, load_calibration
from .fidelity import measure
from .gptq import input_hessians
from .lstm import cell_peaks
from .mixed import MixedSearch
from .observe import observe
from .ptq import calibrated, initial_ranges, quantize_graph, shared_range
from .refit import quantize_refitted
from .search import refine_ranges

__all__ = ["Calibration", "Quantized", "quantize_model", "quantize_qdq", "needs_quantization"]


def _one_blas_thread(function):
    """Run `function` with OpenBLAS on one thread: PTQ's matrix products are small (a layer's
    inputs per sample, GPTQ's columns) and OpenBLAS's threads spin between them, costing more
    CPU than they save (vww_96: GPTQ's input statistics 3.7 -> 0.2 CPU s; the same model)."""

    @functools.wraps(function)
    def one_thread(*args, **kwargs):
        with threadpool_limits(limits=1, user_api="blas"):
            return function(*args, **kwargs)

    return one_thread


@dataclass(frozen=True)
class Quantized:
    graph: Graph  # int8
    float_graph: Graph
    report: dict  # report.json's "quantization": method, samples, fidelity
    search: MixedSearch | None = None  # with --precision auto: sensitivities, assignments by budget
    samples: tuple = ()
    ranges: dict | None = None
    hessians: dict | None = None  # GPTQ's input statistics
    bias_corrected: bool = False

    @_one_blas_thread
    def with_precision(self, assignment: dict[str, str]) -> Quantized:
        """The same calibration with `assignment` (layer -> w8a8 | w4a8 | w8a16), fidelity measured again.

        With GPTQ statistics, the weights refitted to the quantized inputs (refit.py);
        bias-corrected as the int8 model was. The mixed search's sensitivities and Pareto
        points are measured with neither (each would cost a trial seconds to minutes)."""
        if self.hessians is None:
            graph = quantize_graph(self.float_graph, self.ranges, assignment)
        else:
            graph = quantize_refitted(self.float_graph, self.ranges, assignment, list(self.samples))
        if self.bias_corrected:
            graph = correct_biases(self.float_graph, graph, list(self.samples))
        report = self.report | {
            "precision": dict(sorted(assignment.items())),
            "fidelity_on_calibration_data": measure(self.float_graph, graph, list(self.samples)),
        }
        return replace(self, graph=graph, report=report)


def needs_quantization(graph: Graph) -> bool:
    """A graph computing in float (its activations float32) that PTQ can turn int8."""
    return any(t.dtype == "float32" for t in graph.activations())


@_one_blas_thread
def quantize_model(
    graph: Graph, calib: Calibration, progress: Callable[[str, int], Callable[[], None]] | None = None
) -> Quantized:
    """Calibrate `graph` on `calib` and quantize it to int8; fidelity measured on the calibration data.

    `progress(description, total)` returns a tick function (the CLI's progress bar)."""
    if not needs_quantization(graph):
        raise UsageError(f"{graph.name} is already quantized (no float activations); --calib applies to float models")
    lstm_state = {op.inputs[i] for op in graph.ops if op.kind == "lstm" for i in (LSTM_HIDDEN_STATE, LSTM_CELL_STATE)}
    if set(graph.state) - lstm_state:
        raise UsageError(
            f"{graph.name} has recurrent state (an SVDF or resource variables): aiotc cannot quantize it yet;"
            " compile it as float, or quantize it with the TFLite converter"
        )
    samples = load_calibration(calib, graph)
    tick = progress("calibrating", 2 * len(samples)) if progress else None
    stats = observe(graph, samples, tick)
    ranges = initial_ranges(graph, stats, "minmax" if calib.method == "minmax" else "mse")
    ranges |= {cell: (-peak, peak) for cell, peak in cell_peaks(graph, samples).items()}  # lstm.py
    refined = calib.method == "search"
    if refined:
        ranges = refine_ranges(graph, ranges, samples, progress)
    hessians = input_hessians(graph, samples) if refined or calib.precision == "auto" else None
    int_graph = quantize_graph(graph, ranges, None, hessians)
    if refined:
        int_graph = correct_biases(graph, int_graph, samples, progress)
    fidelity = measure(graph, int_graph, samples, progress=progress)
    method = "ranges by search, GPTQ-rounded weights, bias-corrected" if refined else f"ranges by {calib.method}"
    report = {
        "method": f"post-training int8, {method}",
        "calibration": calib.data,
        "calibration_samples": len(samples),
        "fidelity_on_calibration_data": fidelity,
    }
    search = MixedSearch(graph, ranges, samples, hessians, progress) if calib.precision == "auto" else None
    return Quantized(int_graph, graph, report, search, tuple(samples), ranges, hessians, refined)


def quantize_qdq(graph: Graph) -> Quantized:
    """A QDQ model (ONNX QuantizeLinear/DequantizeLinear pairs) in int8 with its own scales.

    Each hinted tensor's (scale, zero point) becomes the range that reproduces it
    exactly; weights are requantized per channel from their dequantized values (the
    same integers when the model quantized them per channel). Ops whose output
    parameters TFLite fixes (softmax, logistic, tanh) or passes through (pools,
    reshapes, concat) follow those rules, as tflite-micro needs them.

    A model quantized in part (onnxruntime leaves a GRU float and quantizes the Gemm after
    it) keeps the rest float: an op whose output range is its own (calibrated or shared)
    and has no QuantizeLinear computes in float, and so does an op whose output follows
    its input (fixed, or the input's) where that input is float with no QuantizeLinear."""
    hints = graph.quant_hints
    floats = {name for name in graph.inputs if name not in hints}
    keep_float = set()
    for op in graph.ops:
        inputs = [name for name in op.inputs if name and not graph[name].is_const]
        own_range = calibrated(op) or shared_range(op)
        if op.outputs[0] not in hints if own_range else any(n in floats and n not in hints for n in inputs):
            keep_float.add(op.name)
            floats.add(op.outputs[0])
    missing = [
        name
        for op in graph.ops
        if op.name not in keep_float
        for name in op.inputs
        if name in floats and name not in hints
    ]
    if missing:
        raise ModelError(
            f"{graph.name}: the QDQ model quantizes no QuantizeLinear for {len(missing)} activation(s) its"
            f" quantized ops read, e.g. {missing[0]!r}: pass --calib DATA to calibrate it instead"
        )
    ranges = {
        name: ((-128 - zero_point) * scale, (127 - zero_point) * scale) for name, (scale, zero_point) in hints.items()
    }
    report = {"method": "the model's own QuantizeLinear/DequantizeLinear scales (QDQ)", "quantized_tensors": len(hints)}
    if keep_float:
        report["float_layers"] = len(keep_float)
    return Quantized(quantize_graph(graph, ranges, keep_float=frozenset(keep_float)), graph, report)
