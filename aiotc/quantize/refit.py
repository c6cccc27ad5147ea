"""Weights refitted, layer by layer, to the inputs the quantized model really feeds them.

GPTQ (gptq.py) keeps each layer's output W x close for the float model's inputs x, but
in a model with int4 layers a layer's real inputs x_q already carry the error of the
int4 layers before it, and those errors add up. Here the conv and fully connected
layers are quantized one at a time in graph order: the layers before are final, the
int8 model runs on the calibration samples, and the layer's weights become the ridge
regression of the float model's output on the quantized inputs,

    W' = argmin |X_q W'^T - X_f W^T|^2 + d |W' - W|^2,  d = RIDGE x mean diag(X_q^T X_q),

then are GPTQ-rounded with H = X_q^T X_q, so the layer undoes what it can of the
error upstream (the idea of GPTAQ / asymmetric calibration, Li et al. 2025, closed
form). Only float weights change before quantization: the model stays the TFLite spec.
The ridge term pulls toward the float weights, which keeps the fit from following the
calibration samples' noise (a ridge toward zero instead: top-1 76%).

On 3000 photo crops held out from calibration (neither the benchmark's evaluation
crops nor its calibration ones), pretrainedResnet with 6 of 10 layers int4 (the flash
budget of benchmarks/mixed_precision.py): top-1 agreement 89.6% -> 91.6%, output SQNR
14.2 -> 16.6 dB. RIDGE 0.05 is the middle of the plateau measured there (0.03-0.1:
16.6 dB; 0.01: 16.3), with all 200 calibration samples (64 samples: 0.1 dB less at
RIDGE 0.1, 1.3 dB at 0.03, where the fit follows the fewer samples' noise).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from ..ir import Graph
from ..ops import OPS
from .fidelity import Int8Values
from .gptq import rows_of
from .observe import FloatRunner
from .precision import full_assignment
from .ptq import WEIGHT_BITS, layer_input, quantize_graph, quantize_weights

MAX_SAMPLES = 256
RIDGE = 0.05


def quantize_refitted(
    graph: Graph,
    ranges: dict[str, tuple[float, float]],
    precision: Mapping[str, str],
    samples: list[list[np.ndarray]],
    progress: Callable[[str, int], Callable[[], None]] | None = None,
) -> Graph:
    """`quantize_graph` of `graph` with every conv / fully connected layer's weights
    refitted to its quantized inputs and GPTQ-rounded with their statistics."""
    samples = samples[:MAX_SAMPLES]
    layers = [op for op in graph.ops if OPS[op.kind].dense and graph[op.inputs[1]].is_const]
    assignment = full_assignment(graph, precision)
    floats = FloatRunner(graph)
    int_graph = quantize_graph(graph, ranges, assignment)  # each layer's weights replaced in turn
    tick = progress("refitting weights", len(layers)) if progress else None
    ints = Int8Values(int_graph, samples)
    for op in layers:
        x, w = op.inputs[0], graph[op.inputs[1]]
        xq = layer_input(int_graph, op.name)  # x itself, or its int16 copy for a w8a16 layer
        ints.update(int_graph)  # the layers before keep their values
        h: np.ndarray = np.zeros(())  # sums of (got.T @ got) and (got.T @ want) over the samples
        cross: np.ndarray = np.zeros(())
        for sample, values in zip(samples, ints.values([xq])):
            got = rows_of(values[xq].astype(np.float64), op, w.shape)
            want = rows_of(floats.run(sample, [x])[x].astype(np.float64), op, w.shape)
            h, cross = h + got.T @ got, cross + got.T @ want
        weights = w.data.reshape(w.shape[0], -1).astype(np.float64)
        ridge = RIDGE * max(float(np.mean(np.diag(h))), 1e-12)
        refitted = np.linalg.solve(h + ridge * np.eye(len(h)), cross @ weights.T + ridge * weights.T).T
        fitted = replace(
            graph, tensors={**graph.tensors, w.name: replace(w, data=refitted.reshape(w.shape).astype(np.float32))}
        )
        tensors: dict = {}
        quantize_weights(
            op,
            fitted,
            int_graph[xq].quant,
            tensors,
            WEIGHT_BITS[assignment[op.name]],
            h,
            int_graph[xq].dtype == "int16",
        )
        int_graph = replace(int_graph, tensors={**int_graph.tensors, **tensors})
        if tick:
            tick()
    return int_graph
