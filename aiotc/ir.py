"""The intermediate representation every stage reads: Tensor, Op and Graph.

Plain immutable dataclasses. Layout is NHWC as in TFLite and CMSIS-NN; weights keep
TFLite's layouts (conv OHWI, depthwise 1HW(C*M), fully connected [out, in]), so the
ONNX frontend converts at its edge and every later stage sees one convention.
Later stages return their own result objects (ArenaPlan, PatchPlan, QuantChoice)
rather than adding fields here. Consumers and producers are computed, not stored.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

DTYPES = ("int4", "int8", "uint8", "int16", "int32", "uint32", "int64", "float16", "float32", "bool")
ITEMSIZE = {
    "int4": 0.5,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "int32": 4,
    "uint32": 4,
    "int64": 8,
    "float16": 2,  # constants only: a hybrid model's weights, dequantized by the frontend
    "float32": 4,
    "bool": 1,
}
ACTIVATIONS = ("none", "relu", "relu6", "relu_n1_to_1")


@dataclass(frozen=True, eq=False)
class Quant:
    """Affine quantization: real = scale * (q - zero_point), per tensor or per `axis`."""

    scale: np.ndarray  # float32, shape [1] or [channels]
    zero_point: np.ndarray  # int64, same shape as scale
    axis: int | None = None  # None: per tensor

    @property
    def per_channel(self) -> bool:
        return self.axis is not None and self.scale.size > 1

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Quant)
            and self.axis == other.axis
            and np.array_equal(self.scale, other.scale)
            and np.array_equal(self.zero_point, other.zero_point)
        )

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False)
class Tensor:
    """A named value: an activation (data is None) or a constant (weights, bias, shapes)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quant | None = None
    data: np.ndarray | None = None

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return math.prod(self.shape)  # exact Python ints; the planner asks this millions of times

    @property
    def nbytes(self) -> int:
        """Bytes this tensor occupies in memory (int4 packs two values per byte)."""
        return int(np.ceil(self.size * ITEMSIZE[self.dtype]))


def zero_point(tensor: Tensor) -> int:
    """The per-tensor zero point (0 for a float tensor)."""
    return int(tensor.quant.zero_point.ravel()[0]) if tensor.quant is not None else 0


def pack_int4(values: np.ndarray) -> np.ndarray:
    """int4 values (int8 in [-8, 7]) packed two per byte as TFLite stores them: the flat
    element 2i in the low nibble of byte i, 2i+1 in the high one (an odd count pads 0)."""
    nibbles = (np.asarray(values).astype(np.int8).ravel() & 0x0F).astype(np.uint8)
    if nibbles.size % 2:
        nibbles = np.append(nibbles, np.uint8(0))
    return (nibbles[0::2] | (nibbles[1::2] << 4)).astype(np.uint8).view(np.int8)


# --- per-op-kind attributes -------------------------------------------------------


@dataclass(frozen=True)
class Padding:
    """Explicit spatial padding, resolved from SAME/VALID by the frontend."""

    top: int = 0
    bottom: int = 0
    left: int = 0
    right: int = 0


@dataclass(frozen=True)
class Conv2D:
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: Padding = Padding()
    activation: str = "none"  # fused; groups = input channels / filter input channels


@dataclass(frozen=True)
class DepthwiseConv2D:
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    padding: Padding = Padding()
    depth_multiplier: int = 1
    activation: str = "none"


@dataclass(frozen=True)
class FullyConnected:
    activation: str = "none"
    keep_num_dims: bool = False


@dataclass(frozen=True)
class Pool2D:
    kernel: tuple[int, int]
    stride: tuple[int, int] = (1, 1)
    padding: Padding = Padding()
    activation: str = "none"


@dataclass(frozen=True)
class Binary:
    """ADD, SUB, MUL with numpy broadcasting."""

    activation: str = "none"


@dataclass(frozen=True)
class Mean:
    axes: tuple[int, ...]
    keepdims: bool = False
    # A streamed band call of a float mean over the rows and columns (codegen/stage.py): (the
    # band's first row, the whole input's rows); None: the whole map.
    rows: tuple[int, int] | None = None


@dataclass(frozen=True)
class ArgMinMax:
    """ARG_MAX / ARG_MIN: the index (int32) of the first extreme value along `axis`."""

    axis: int


@dataclass(frozen=True)
class CumSum:
    """CUMSUM along `axis`; exclusive leaves each element's own value out, reverse sums from the end."""

    axis: int
    exclusive: bool = False
    reverse: bool = False


@dataclass(frozen=True)
class BatchMatMul:
    """BATCH_MATMUL: lhs @ rhs over the last two axes (adj_*: that operand's last two axes
    swapped first), the leading (batch) axes broadcast."""

    adj_x: bool = False
    adj_y: bool = False


@dataclass(frozen=True)
class Pad:
    paddings: tuple[tuple[int, int], ...]  # (before, after) per dimension


@dataclass(frozen=True)
class Concat:
    axis: int
    activation: str = "none"


@dataclass(frozen=True)
class Softmax:
    beta: float = 1.0


@dataclass(frozen=True)
class LeakyRelu:
    alpha: float


@dataclass(frozen=True)
class Transpose:
    perm: tuple[int, ...]


@dataclass(frozen=True)
class StridedSlice:
    """Resolved per dimension (masks applied): output[i] = input[begin + i * stride]."""

    begin: tuple[int, ...]
    end: tuple[int, ...]
    strides: tuple[int, ...]


@dataclass(frozen=True)
class Lstm:
    """UNIDIRECTIONAL_SEQUENCE_LSTM with tanh (the converter's only choice). Inputs in TFLite's
    order (24, None where absent); the hidden and cell state (inputs 18, 19) are graph state."""

    cell_clip: float = 0.0  # 0: no clipping
    time_major: bool = False  # input [time, batch, features] rather than [batch, time, features]


# The LSTM's operands in TFLite's order (24, None where absent): the frontend puts them
# there, the lowering reads them.
LSTM_INPUTS = 24
LSTM_INPUT, LSTM_HIDDEN_STATE, LSTM_CELL_STATE = 0, 18, 19


@dataclass(frozen=True)
class Svdf:
    """SVDF: a rank-`rank` factored filter over the last `memory` frames. Inputs in TFLite's
    order: input, feature weights, time weights, bias (None where absent), and the state
    (graph state) holding each filter's last `memory` feature values. Float applies the fused
    activation; tflite-micro's integer SVDF ignores it (the int8 clamp is the only one)."""

    rank: int
    activation: str = "none"


SVDF_INPUT, SVDF_FEATURE_WEIGHTS, SVDF_TIME_WEIGHTS, SVDF_BIAS, SVDF_STATE = range(5)


@dataclass(frozen=True)
class NoAttrs:
    """Ops fully described by their tensors: RESHAPE, RELU, LOGISTIC, QUANTIZE, ..."""


@dataclass(frozen=True)
class Op:
    """One layer. `inputs` may hold None for an absent optional input (e.g. no bias)."""

    name: str
    kind: str
    inputs: tuple[str | None, ...]
    outputs: tuple[str, ...]
    attrs: Any = field(default_factory=NoAttrs)

    def __post_init__(self) -> None:
        from .ops import OPS  # the op table names this module's attribute types

        if self.kind not in OPS:
            raise ValueError(f"unknown op kind {self.kind!r}")
        expected = OPS[self.kind].attrs
        if not isinstance(self.attrs, expected):
            raise TypeError(f"op {self.name}: {self.kind} takes {expected.__name__}, got {type(self.attrs).__name__}")


@dataclass(frozen=True)
class Graph:
    """A model: tensors by name, ops in execution order, graph inputs and outputs."""

    name: str
    tensors: Mapping[str, Tensor]
    ops: tuple[Op, ...]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    # Graph inputs the source model holds in another layout than the IR, e.g.
    # {"input": "NCHW"} for a PyTorch image input: the C takes NHWC, run/verify transpose.
    layouts: Mapping[str, str] = field(default_factory=dict)
    # Float activations the source model already quantized (ONNX QuantizeLinear/
    # DequantizeLinear pairs): tensor -> (scale, int8 zero point). PTQ takes these
    # instead of calibrating.
    quant_hints: Mapping[str, tuple[float, int]] = field(default_factory=dict)
    # Variable tensors (an LSTM's hidden and cell state): read and written in place by
    # their ops, kept across invokes outside the arena, reset by NAME_reset().
    state: tuple[str, ...] = ()
    # A state tensor's value before the first invoke and after a reset, where it is not its
    # zero point (resource variables: what the model's init subgraph assigns).
    state_init: Mapping[str, np.ndarray] = field(default_factory=dict)
    # State tensor -> the tensor whose value it takes once the invoke's ops have run
    # (ASSIGN_VARIABLE): ops read a resource variable's old value all invoke long.
    state_updates: Mapping[str, str] = field(default_factory=dict)
    # A hybrid model's quantized weights, made float32 constants by the frontend
    # (frontend/hybrid.py): tensor -> (its stored dtype, its element count).
    dequantized: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    def __getitem__(self, tensor_name: str) -> Tensor:
        return self.tensors[tensor_name]

    @property
    def kept(self) -> set[str]:
        """Tensors whose values outlive the ops: the outputs and the state's new values.
        Passes never rename or drop them."""
        return set(self.outputs) | set(self.state_updates.values())

    @cached_property
    def producers(self) -> dict[str, Op]:
        return {t: op for op in self.ops for t in op.outputs}

    @cached_property
    def consumers(self) -> dict[str, list[Op]]:
        users: dict[str, list[Op]] = {name: [] for name in self.tensors}
        for op in self.ops:
            for t in op.inputs:
                if t is not None and op not in users[t]:
                    users[t].append(op)
        return users

    def activations(self) -> list[Tensor]:
        """Non-constant tensors: what the arena must hold."""
        return [t for t in self.tensors.values() if not t.is_const]

    def with_ops(self, ops: list[Op] | tuple[Op, ...], tensors: Mapping[str, Tensor] | None = None) -> Graph:
        """A copy with new ops (and tensors), unused tensors dropped."""
        tensors = dict(self.tensors if tensors is None else tensors)
        used = set(self.inputs) | self.kept | set(self.state)
        for op in ops:
            used.update(t for t in op.inputs if t is not None)
            used.update(op.outputs)
        return replace(self, ops=tuple(ops), tensors={n: t for n, t in tensors.items() if n in used})

    def validate(self) -> None:
        """Check the structural invariants every stage relies on (raises ValueError)."""
        defined = set(self.inputs) | set(self.state) | {n for n, t in self.tensors.items() if t.is_const}
        for name in (*self.inputs, *self.outputs):
            if name not in self.tensors:
                raise ValueError(f"graph input/output {name!r} is not a tensor")
        for op in self.ops:
            for t in op.inputs:
                if t is None:
                    continue
                if t not in self.tensors:
                    raise ValueError(f"op {op.name} reads unknown tensor {t!r}")
                if t not in defined:
                    raise ValueError(f"op {op.name} reads {t!r} before it is computed")
            for t in op.outputs:
                if t not in self.tensors:
                    raise ValueError(f"op {op.name} writes unknown tensor {t!r}")
                if t in defined:
                    raise ValueError(f"tensor {t!r} is written twice")
                defined.add(t)
        for name in self.kept:
            if name not in defined:
                raise ValueError(f"graph output or new state {name!r} is never computed")
        for name in self.state_updates:
            if name not in self.state:
                raise ValueError(f"{name!r} takes a new value but is not state")


# --- data movement (issue 20): attributes of packing and the indexed copies ---------


@dataclass(frozen=True)
class Pack:
    axis: int  # the output's new axis


@dataclass(frozen=True)
class Tile:
    multiples: tuple[int, ...]


@dataclass(frozen=True)
class Resize:
    align_corners: bool = False
    half_pixel_centers: bool = False
    # A streamed band call (codegen/stage.py): (full output rows, full input rows, the band's
    # first output row, its input band's first row); None: the whole image.
    rows: tuple[int, int, int, int] | None = None


@dataclass(frozen=True)
class Reverse:
    axes: tuple[int, ...]


@dataclass(frozen=True)
class Gather:
    """Constant indices (flattened, in range) along `axis`; their shape replaces that axis."""

    axis: int
    indices: tuple[int, ...]
    indices_shape: tuple[int, ...]


@dataclass(frozen=True)
class MirrorPad:
    paddings: tuple[tuple[int, int], ...]
    reflect: bool  # REFLECT leaves the edge out, SYMMETRIC repeats it


@dataclass(frozen=True)
class BlockSize:
    """DEPTH_TO_SPACE / SPACE_TO_DEPTH."""

    block_size: int


@dataclass(frozen=True)
class BatchSpace:
    """BATCH_TO_SPACE_ND / SPACE_TO_BATCH_ND on NHWC (a 3-D input's W is 1): the block
    (height, width) and the crops (BATCH_TO_SPACE_ND) or paddings (SPACE_TO_BATCH_ND,
    zeros only) of height and width."""

    block: tuple[int, int]
    crops: tuple[tuple[int, int], tuple[int, int]] = ((0, 0), (0, 0))


@dataclass(frozen=True)
class TransposeConv:
    """TRANSPOSE_CONV / ONNX ConvTranspose (group 1, no dilation): input pixel (y, x) adds
    its products to the output pixels from (y * stride_h - top, x * stride_w - left) on;
    the output's height and width are its declared shape's (TFLite's output_shape)."""

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)  # (top, left)
    activation: str = "none"


@dataclass(frozen=True)
class Gelu:
    approximate: bool = False  # the tanh form; else exact, with erf
