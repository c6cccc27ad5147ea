"""The op -> C call mapping: one lowering function per op kind.

A lowering decides everything static about one layer (multipliers, shifts, clamps,
dims, repacked weights) and returns a `LayerCode`: the name of a template under
`templates/layers/` plus the values it places, and the runtime_c sources it calls.
Templates print; lowerings decide. Lowerings for one family of ops live in one
module (`ops_conv.py`, `ops_elementwise.py`, `ops_movement.py`) and register here
with `@lowers`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ..fixedpoint import activation_range, activation_range_float
from ..ir import Graph, Op, Tensor, zero_point
from ..ops import OPS

if TYPE_CHECKING:  # kernels.py reads zero_point from here
    from ..kernels import Kernel

C_TYPES = {
    "int8": "int8_t",
    "uint8": "uint8_t",
    "int16": "int16_t",
    "int32": "int32_t",
    "int64": "int64_t",
    "float32": "float",
    "bool": "uint8_t",
}


@dataclass
class LayerCode:
    """What codegen emits for one op."""

    template: str  # templates/layers/<template>.c.j2
    values: dict = field(default_factory=dict)  # what the template places
    kernels: tuple[str, ...] = ()  # runtime_c/src/<kernel>.c files the call needs


class LowerContext(Protocol):
    """What codegen offers a lowering (implemented in codegen/emit.py)."""

    graph: Graph
    kernels: Mapping[str, Kernel]  # each layer's kernel, by op name (aiotc/kernels.py)
    plain_pairs: bool  # the int8 gemm's byte pairs hold b itself (an MVE board: emit.plain_pairs)

    def ptr(self, tensor: str) -> str:
        """C expression for a tensor's buffer, typed (`(int8_t *)(arena + 64)` or a const symbol)."""

    def const(self, array: np.ndarray, hint: str) -> str:
        """Emit `array` as a const C array in NAME_weights.c; return its symbol (named after the layer and `hint`, its role: "bias_folded")."""

    def scratch(self) -> str:
        """C expression for this op's scratch context (`&ctx`, an `aiotc_context *`); only when its scratch size > 0."""


Lowering = Callable[[Op, LowerContext], LayerCode]


@dataclass(frozen=True)
class OpSupport:
    kind: str
    dtypes: tuple[str, ...]  # activation dtypes handled (the op's first input)
    lower: Lowering


LOWERINGS: dict[str, OpSupport] = {}


def lowers(*kinds: str, dtypes: tuple[str, ...] = ("int8", "float32")):
    """Register a lowering for op kinds, for the given activation dtypes."""

    def register(fn: Lowering) -> Lowering:
        for kind in kinds:
            LOWERINGS[kind] = OpSupport(kind, dtypes, fn)
        return fn

    return register


def support_problem(op: Op, graph: Graph) -> str | None:
    """Why `op` cannot be lowered, or None if it can."""
    support = LOWERINGS.get(op.kind)
    if support is None:
        return f"op {op.kind} (layer {op.name!r}) has no kernel"
    dtype = graph[op.inputs[0]].dtype if op.inputs and op.inputs[0] else None
    if dtype not in support.dtypes:
        return f"op {op.kind} on {dtype} (layer {op.name!r}); supported: {', '.join(support.dtypes)}"
    weighted = OPS[op.kind].weighted
    if weighted and graph[op.inputs[1]].dtype not in WEIGHT_DTYPES.get(dtype, ()):
        return (
            f"op {op.kind} (layer {op.name!r}) mixes {dtype} activations with {graph[op.inputs[1]].dtype} weights"
            " (a hybrid model); aiotc needs int8 or float32 throughout"
        )
    if weighted and graph[op.inputs[1]].dtype == "int4" and not (OPS[op.kind].convolves or OPS[op.kind].dense):
        return f"op {op.kind} (layer {op.name!r}) has int4 weights; aiotc takes them in conv, depthwise and fully connected layers"
    if weighted and dtype == "int16" and any(zero_point(graph[t]) != 0 for t in (op.inputs[0], op.outputs[0])):
        return f"op {op.kind} (layer {op.name!r}) has int16 activations with a zero point other than 0; TFLite's 16x8 layers are symmetric"
    if dtype == "int16" and (weighted or op.kind == "batch_matmul") and (factor := _sum_scale(op, graph)) >= 2.0**14:
        return (
            f"op {op.kind} (layer {op.name!r}) scales its int16 sums by {factor:g} (input x weight / output scale), "
            "2^14 or more, which TFLite's 16-bit requantization leaves undefined"
        )
    pair = (dtype, graph[op.outputs[0]].dtype)
    if op.kind == "quantize" and pair not in QUANTIZE_PAIRS:
        return f"op quantize (layer {op.name!r}) from {pair[0]} to {pair[1]}; supported: {', '.join(f'{a} -> {b}' for a, b in QUANTIZE_PAIRS)}"
    if op.kind == "quantize" and dtype != "float32" and graph[op.inputs[0]].quant is None:
        return f"op quantize (layer {op.name!r}) requantizes an {dtype} tensor that has no scale (indices or counts, not quantized values)"
    return None


def _sum_scale(op: Op, graph: Graph) -> float:
    """The largest factor from a layer's integer sums to its output: input scale x weight
    (or rhs) scale / output scale; 0 where a scale is missing."""
    x, w, out = graph[op.inputs[0]].quant, graph[op.inputs[1]].quant, graph[op.outputs[0]].quant
    if x is None or w is None or out is None:
        return 0.0
    return float(np.float64(x.scale[0]) * np.float64(w.scale.max()) / np.float64(out.scale[0]))


QUANTIZE_PAIRS = (
    ("float32", "int8"),
    ("int8", "int8"),
    ("int8", "int16"),
    ("int16", "int8"),
    ("int16", "int16"),
    ("int8", "int32"),
    ("int32", "int8"),
    ("int16", "int32"),
    ("int32", "int16"),
)  # tflite-micro's integer pairs (quantize_common.cc) but uint8
WEIGHT_DTYPES = {"int8": ("int8", "int4"), "float32": ("float32",), "int16": ("int8",)}  # by activation dtype


# --- small helpers shared by the lowering modules ---------------------------------


def dims(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A shape as CMSIS-NN dims {n, h, w, c}: leading ones for lower ranks."""
    if len(shape) > 4:
        raise ValueError(f"rank {len(shape)} shape {shape} does not fit NHWC dims")
    full = (1,) * (4 - len(shape)) + tuple(int(s) for s in shape)
    return full  # type: ignore[return-value]


def scale(tensor: Tensor) -> float:
    """The per-tensor scale as float32, which is what TFLite stores and computes with."""
    return float(np.float32(tensor.quant.scale.ravel()[0]))


def suffix(dtype: str) -> str:
    """Kernel name suffix for an activation dtype."""
    return {"int8": "s8", "int16": "s16", "int32": "s32", "float32": "f32"}[dtype]


def c_float(value: float) -> str:
    """A float32 C literal; infinities become FLT_MAX (the graph includes float.h)."""
    if value == float("inf"):
        return "FLT_MAX"
    if value == float("-inf"):
        return "-FLT_MAX"
    return f"{float(np.float32(value))!r}f"


def activation_limits(op: Op, graph: Graph) -> tuple:
    """The clamp of the op's fused activation in its output's domain (C literals for floats)."""
    out = graph[op.outputs[0]]
    if out.dtype == "float32":
        return tuple(c_float(v) for v in activation_range_float(op.attrs.activation))
    return activation_range(op.attrs.activation, out.dtype, scale(out), zero_point(out))
