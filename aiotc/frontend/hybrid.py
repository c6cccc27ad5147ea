"""Hybrid ("dynamic-range") models become float models, their weights dequantized at compile time.

The TFLite converter's `optimizations = [Optimize.DEFAULT]` without a representative dataset
keeps float32 activations and stores weights quantized: int8 with scales in the layers
themselves (LiteRT's hybrid kernels quantize the activations on the fly; tflite-micro has no
such kernels), or float16 constants behind DEQUANTIZE ops. aiotc compiles such a model as
the float model it stands for. The rule:

  1. a DEQUANTIZE of a constant (int8 with scales, or float16) becomes the float32 constant
     it computes;
  2. an op computing on float32 (its first input) takes each quantized constant operand as
     w = scale * (q - zero_point), per tensor or per channel along the quantization's axis.

Nothing else changes: the result is the float graph, and PTQ (`--calib`) can quantize it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ModelError
from ..ir import Graph, Op, Tensor
from ..ops import OPS
from .checks import check_quant

QUANTIZED_WEIGHTS = ("int4", "int8", "uint8", "int16")


def dequantize_weights(graph: Graph) -> Graph:
    """The graph with its hybrid layers made float (the rule above); `graph.dequantized`
    names the tensors that were, with their stored dtype and element count."""
    tensors = dict(graph.tensors)
    done: dict[str, tuple[str, int]] = {}
    ops: list[Op] = []
    for op in graph.ops:
        source = tensors[op.inputs[0]] if op.inputs and op.inputs[0] else None
        if op.kind == "dequantize" and source is not None and source.is_const and op.outputs[0] not in graph.kept:
            if tensors[op.outputs[0]].shape != source.shape:
                raise ModelError(f"{graph.name}: dequantize {op.name!r} changes the shape {list(source.shape)}")
            tensors[op.outputs[0]] = _float(graph.name, op.outputs[0], source)
            done[source.name] = (source.dtype, source.size)
            continue
        if source is not None and source.dtype == "float32" and not OPS[op.kind].converts_dtype:
            for name in op.inputs[1:]:
                weight = tensors.get(name) if name else None
                if weight is not None and _quantized_constant(weight):
                    tensors[weight.name] = _float(graph.name, weight.name, weight)
                    done[weight.name] = (weight.dtype, weight.size)
        ops.append(op)
    if not done:
        return graph
    return replace(graph.with_ops(ops, tensors), dequantized={**graph.dequantized, **done})


def _quantized_constant(tensor: Tensor) -> bool:
    return tensor.is_const and tensor.dtype in QUANTIZED_WEIGHTS and tensor.quant is not None


def _float(model: str, name: str, tensor: Tensor) -> Tensor:
    """`tensor`'s values as a float32 constant named `name`: exactly scale * (q - zero_point)."""
    values = np.asarray(tensor.data).astype(np.float64)
    if tensor.quant is not None:
        check_quant(model, tensor)  # before its scales are trusted: check_graph sees only the result
        q = tensor.quant
        shape = [1] * values.ndim
        if q.per_channel:
            shape[q.axis] = q.scale.size
        scale = q.scale.astype(np.float64).reshape(shape if q.per_channel else ())
        zero = q.zero_point.astype(np.float64).reshape(shape if q.per_channel else ())
        values = scale * (values - zero)
    data = values.astype(np.float32)
    return Tensor(name, data.shape, "float32", None, data)
