"""Random valid graphs over every op kind of aiotc/ops.py, for the differential fuzzer
(tests/test_graph_fuzz.py): drawn with hypothesis, built with tests/oplib.py's OpGraph,
written as .tflite by aiotc's writer, compiled for the host and compared with the oracle.

A graph starts from one input and grows 1 to MAX_LAYERS layers: each layer reads the
newest tensor or, now and then, an older one (a branch), and a two-input layer may take
as its second operand an older tensor of the graph (a merge), a new input or a constant.
Every tensor no layer reads is an output. GENERATORS holds one generator per op kind:
it draws the layer's legal shapes, attributes and quantization (zero points at the ends
of the range, per-channel scales, broadcasting operands, odd sizes) and adds the layer.
Which activation dtypes a kind takes is the lowering's own list (codegen's LOWERINGS),
so an op gaining int16 kernels is fuzzed in int16 without a change here.

Floats: a layer whose output jumps on a tiny change of its input (floor, comparisons,
float -> int) reads only "exact" tensors, ones that aiotc and the oracle compute to the
same bits (inputs, moved or clamped values, single IEEE operations), so a 1-ulp
difference of a convolution's summation order never shows as a mismatch.
"""

from __future__ import annotations

import math
import multiprocessing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import strategies as st

from aiotc import ir
from aiotc import oracle_by_op as by_op
from aiotc.codegen.emit import LOWERINGS
from aiotc.ops import OPS, SAME_AS_INPUT, SHARED, Fixed

from .oplib import OpGraph, _spatial, quant

MAX_LAYERS = 6
MAX_ELEMENTS = 1536  # a tensor grows no larger: graphs stay tiny, compile and run in milliseconds
INTEGER = ("int8", "int16")
FIXED_INT16 = {"softmax": Fixed(1 / 32768, 0), "logistic": Fixed(1 / 32768, 0), "tanh": Fixed(1 / 32768, 0)}
EXACT_FLOAT = {  # float kinds whose outputs are the same bits in any correct implementation
    "reshape", "transpose", "strided_slice", "pad", "concat", "pack", "tile", "broadcast_to", "reverse",
    "gather", "mirror_pad", "depth_to_space", "space_to_depth", "batch_to_space", "space_to_batch",
    "resize_nearest", "zeros_like", "relu", "relu6", "abs", "neg", "maximum", "minimum", "reduce_max",
    "reduce_min", "max_pool2d", "ceil", "floor", "round", "add", "sub", "mul", "div", "square",
    "squared_difference", "floor_div", "floor_mod", "select_v2", "cast", "gather_nd", "embedding_lookup",
    "dynamic_update_slice",
}  # fmt: skip
JUMPS = {  # float layers whose output jumps on a 1-ulp change of their input: they read exact tensors only
    "ceil", "floor", "round", "floor_div", "floor_mod", "arg_max", "arg_min", "cast", "quantize",
    "equal", "not_equal", "greater", "greater_equal", "less", "less_equal",
}  # fmt: skip


class Fuzz:
    """The graph being drawn: an OpGraph, hypothesis's draw, which tensors are exact."""

    def __init__(self, draw, dtype: str):
        self.draw = draw
        self.g = OpGraph(seed=draw(st.integers(0, 2**16)), dtype=dtype)
        self.exact: set[str] = set()
        self.read: set[str] = set()  # tensors some layer reads

    # --- tensors --------------------------------------------------------------------

    def t(self, name: str) -> ir.Tensor:
        return self.g.tensors[name]

    def shape(self, name: str) -> tuple[int, ...]:
        return self.t(name).shape

    def activations(self, dtype: str | None = None) -> list[str]:
        """Every non-constant tensor (of `dtype`), oldest first."""
        return [
            n
            for n, t in self.g.tensors.items()
            if t.data is None and n not in self.g.state and (dtype is None or t.dtype == dtype)
        ]

    def scale(self, around: float = 0.05) -> float:
        """A scale within a factor 16 of `around`, odd-valued (not a power of two)."""
        return float(np.float32(around * 2 ** self.draw(st.floats(-4, 4, allow_nan=False))))

    def zero_point(self, dtype: str) -> int:
        if dtype != "int8":
            return 0  # int16 tensors are symmetric
        return self.draw(st.sampled_from([-128, 127, 0]) | st.integers(-128, 127))

    def input(self, shape, dtype: str, scale: float | None = None, zero_point: int | None = None) -> str:
        if dtype == "bool":
            name = self.g.bool_input(shape)
        else:
            scale = self.scale() if scale is None else scale
            zero_point = self.zero_point(dtype) if zero_point is None else zero_point
            name = self.g.input(shape, scale, zero_point, dtype)
        self.exact.add(name)
        return name

    def like(self, x: str, shape=None) -> str:
        """A new input quantized as x (an operand that must share x's range), of x's or the given shape."""
        t = self.t(x)
        if t.quant is None:
            return self.input(shape or t.shape, t.dtype)
        return self.input(shape or t.shape, t.dtype, float(t.quant.scale[0]), int(t.quant.zero_point[0]))

    def requant(self, name: str, q: tuple[float, int] | None) -> str:
        """Give tensor `name` the quantization q (scale, zero point)."""
        t = self.t(name)
        if q is not None and t.quant is not None:
            self.g.tensors[name] = ir.Tensor(name, t.shape, t.dtype, quant(q[0], q[1]), t.data)
        return name

    def out_quant(self, kind: str, x: str, natural: float) -> tuple[float, int] | None:
        """The output's (scale, zero point) by the table's rule: fixed, x's own, or drawn near `natural`."""
        t = self.t(x)
        if t.quant is None:
            return None
        rule = OPS[kind].output_quant
        if isinstance(rule, Fixed):
            return FIXED_INT16.get(kind, rule) if t.dtype == "int16" else tuple(rule)
        if rule in (SAME_AS_INPUT, SHARED):
            return float(t.quant.scale[0]), int(t.quant.zero_point[0])
        return self.scale(natural), self.zero_point(t.dtype)

    def natural(self, x: str, gain: float = 1.0) -> float:
        """A scale that keeps `gain` times x's range about in range."""
        t = self.t(x)
        return 1.0 if t.quant is None else float(t.quant.scale[0]) * gain

    def op(self, kind: str, inputs, out: str, attrs=None) -> str:
        """Add the layer; its output is exact if all inputs are and the kind keeps bits."""
        self.g._op(kind, inputs, out, attrs)
        self.read.update(i for i in inputs if i is not None)
        if kind in EXACT_FLOAT and all(i in self.exact or self.t(i).data is not None for i in inputs if i):
            self.exact.add(out)
        return out

    def out(self, shape, q, dtype: str | None = None) -> str:
        dtype = dtype or self.g.dtype
        if q is None or dtype in ("bool", "int32", "float32"):
            return self.g._add(ir.Tensor(self.g._name("t"), tuple(int(d) for d in shape), dtype))
        return self.g.activation(shape, q[0], q[1], dtype)

    def same(self, kind: str, x: str, attrs=None, gain: float = 1.0) -> str:
        """A layer whose output has x's shape and dtype."""
        t = self.t(x)
        return self.op(kind, (x,), self.out(t.shape, self.out_quant(kind, x, self.natural(x, gain)), t.dtype), attrs)

    def operand(self, x: str, shared: bool = False, broadcast: bool = True, dtype: str | None = None) -> str:
        """A second operand for a layer reading x: an older tensor of a broadcastable shape
        (a merge of two branches), a new input, or a constant; `shared`: in x's quantization."""
        t = self.t(x)
        dtype = dtype or t.dtype
        older = [
            n
            for n in self.activations(dtype)
            if n != x
            and _broadcasts(self.shape(n), t.shape, broadcast)
            and (not shared or self.t(n).quant == t.quant)
            and (dtype != "float32" or x not in self.exact or n in self.exact)
        ]
        choice = self.draw(st.sampled_from(["input", "const", "older"] if older else ["input", "const"]))
        if choice == "older":
            return self.draw(st.sampled_from(older))
        shape = t.shape
        if broadcast and self.draw(st.booleans()):
            shape = tuple(d if self.draw(st.booleans()) else 1 for d in t.shape)
            shape = shape[self.draw(st.integers(0, len(shape) - 1)) :] if shape else shape
        if choice == "input":
            if shared or dtype != t.dtype:
                return self.like(x, shape) if dtype == t.dtype else self.input(shape, dtype)
            return self.input(shape, dtype)
        return self.constant(shape, dtype, t.quant if shared else None)

    def constant(self, shape, dtype: str, q: ir.Quant | None = None) -> str:
        rng = self.g.rng
        if dtype == "float32":
            return self.g.const(rng.normal(0, 1, shape).astype(np.float32))
        if dtype == "bool":
            return self.g.const(rng.integers(0, 2, shape).astype(np.bool_))
        info = np.iinfo(dtype)
        data = rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)
        if q is None:
            q = quant(self.scale(), self.zero_point(dtype))
        return self.g.const(data, q)

    def positive(self, x: str, floor: float) -> str:
        """Float x made >= floor (abs, then add a constant): the domain of sqrt, log, a divisor."""
        t = self.t(x)
        a = self.same("abs", x)
        c = self.g.const(np.full((1,), floor, np.float32))
        return self.op("add", (a, c), self.out(np.broadcast_shapes(t.shape, (1,)), None, "float32"), ir.Binary())

    def finish(self) -> ir.Graph:
        """The graph whose outputs are the tensors no layer reads."""
        outputs = [n for n in self.activations() if n not in self.read and n not in self.g.inputs]
        return self.g.build(*outputs)


def _broadcasts(shape, target, broadcast: bool) -> bool:
    if not broadcast:
        return tuple(shape) == tuple(target)
    return len(shape) <= len(target) and all(a in (1, b) for a, b in zip(reversed(shape), reversed(target)))


# --- generators: one per op kind ------------------------------------------------------


@dataclass(frozen=True)
class Gen:
    """Adds one layer of its kind reading x; `takes(f, x)` says whether it can."""

    add: Callable[[Fuzz, str], str]
    takes: Callable[[Fuzz, str], bool] = lambda f, x: True  # noqa: E731


def _rank(low: int, high: int = 6):
    return lambda f, x: low <= len(f.shape(x)) <= high


def as_4d(f: Fuzz, x: str) -> str:
    """x reshaped to NHWC (its last axis kept as channels) unless it is rank 4."""
    shape = f.shape(x)
    if len(shape) == 4:
        return x
    channels = shape[-1] if shape else 1
    return _reshape_to(f, x, (1, 1, int(np.prod(shape)) // channels, channels))


def _reshape_to(f: Fuzz, x: str, shape) -> str:
    return f.op("reshape", (x,), f.out(shape, f.out_quant("reshape", x, 1.0), f.t(x).dtype))


def _activation(f: Fuzz) -> str:
    return f.draw(st.sampled_from(ir.ACTIVATIONS))


def _window(f: Fuzz, h: int, w: int, dilated: bool):
    """Kernel, stride, dilation and padding legal for an h x w image."""
    kernel = (f.draw(st.integers(1, 3)), f.draw(st.integers(1, 3)))
    stride = (f.draw(st.integers(1, 3)), f.draw(st.integers(1, 3)))
    dilation = (f.draw(st.integers(1, 2)), f.draw(st.integers(1, 2))) if dilated else (1, 1)
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    padding = "same" if eff[0] > h or eff[1] > w else f.draw(st.sampled_from(["same", "valid"]))
    return kernel, stride, dilation, padding


def _int8_extremes(f: Fuzz, weights: str) -> None:
    """Sometimes put -128 and 127 into int8 weights (legal; 16x8 fast layouts must cope)."""
    t = f.t(weights)
    if t.dtype == "int8" and f.draw(st.booleans()):
        data = t.data.copy()
        data.flat[0], data.flat[-1] = -128, 127
        f.g.tensors[weights] = ir.Tensor(weights, t.shape, t.dtype, t.quant, data)


def _weighted_output(f: Fuzz, kind: str, x: str, y: str) -> str:
    """The layer OpGraph just added: its weights sometimes at -128 and 127, its output
    requantized by the table's rule around OpGraph's accumulator-fitting scale."""
    f.read.add(x)
    _int8_extremes(f, f.g.ops[-1].inputs[1])
    return f.requant(y, f.out_quant(kind, x, float(f.t(y).quant.scale[0]) if f.t(y).quant else 1.0))


def gen_conv2d(f: Fuzz, x: str) -> str:
    x = as_4d(f, x)
    n, h, w, c = f.shape(x)
    kernel, stride, dilation, padding = _window(f, h, w, True)
    groups = f.draw(st.sampled_from([g for g in (1, 2, 3) if c % g == 0]))
    out_c = groups * f.draw(st.integers(1, 3))
    y = f.g.conv2d(
        x, out_c, kernel, stride, dilation, padding, groups, _activation(f), per_channel=f.draw(st.booleans())
    )
    return _weighted_output(f, "conv2d", x, y)


def gen_transpose_conv(f: Fuzz, x: str) -> str:
    x = as_4d(f, x)
    kernel = (f.draw(st.integers(1, 3)), f.draw(st.integers(1, 3)))
    stride = (f.draw(st.integers(1, 2)), f.draw(st.integers(1, 2)))
    padding = f.draw(st.sampled_from(["same", "valid"]))
    y = f.g.transpose_conv(
        x,
        f.draw(st.integers(1, 4)),
        kernel,
        stride,
        padding,
        bias=f.draw(st.booleans()),
        activation=f.draw(st.sampled_from(["none", "relu", "relu6"])),
    )
    return _weighted_output(f, "transpose_conv", x, y)


def gen_depthwise(f: Fuzz, x: str) -> str:
    x = as_4d(f, x)
    _, h, w, _ = f.shape(x)
    kernel, stride, dilation, padding = _window(f, h, w, True)
    y = f.g.depthwise(x, f.draw(st.integers(1, 2)), kernel, stride, dilation, padding, _activation(f))
    return _weighted_output(f, "depthwise_conv2d", x, y)


def gen_fully_connected(f: Fuzz, x: str) -> str:
    if len(f.shape(x)) < 2:
        x = _reshape_to(f, x, (1, *f.shape(x)))
    keep = len(f.shape(x)) > 2 and f.draw(st.booleans())
    y = f.g.fully_connected(
        x,
        f.draw(st.integers(1, 9)),
        per_channel=f.draw(st.booleans()),
        activation=_activation(f),
        keep_num_dims=keep,
        bias=f.draw(st.booleans()),
    )
    return _weighted_output(f, "fully_connected", x, y)


def gen_pool(kind: str) -> Callable[[Fuzz, str], str]:
    def add(f: Fuzz, x: str) -> str:
        x = as_4d(f, x)
        _, h, w, _ = f.shape(x)
        kernel, stride, _, padding = _window(f, h, w, False)
        n, h, w, c = f.shape(x)
        oh, ow, pad = _spatial(h, w, kernel, stride, (1, 1), padding)
        q = f.out_quant(kind, x, f.natural(x))
        return f.op(kind, (x,), f.out((n, oh, ow, c), q, f.t(x).dtype), ir.Pool2D(kernel, stride, pad, _activation(f)))

    return add


def gen_binary(kind: str) -> Callable[[Fuzz, str], str]:
    """add, sub, mul, div, squared_difference, maximum, minimum, floor_div, floor_mod."""

    def add(f: Fuzz, x: str) -> str:
        t = f.t(x)
        shared = OPS[kind].output_quant == SHARED
        other = f.operand(x, shared=shared)
        if t.dtype == "float32" and kind in ("div", "floor_div", "floor_mod"):
            other = f.positive(other, 0.5)
            if f.draw(st.booleans()):
                other = f.same("neg", other)
        a, b = (other, x) if f.draw(st.booleans()) and f.t(other).data is None else (x, other)
        shape = np.broadcast_shapes(f.shape(a), f.shape(b))
        gain = {"mul": 4.0, "squared_difference": 16.0, "add": 2.0, "sub": 2.0}.get(kind, 1.0)
        attrs = (
            ir.Binary(_activation(f) if OPS[kind].fuses_activation else "none")
            if OPS[kind].attrs is ir.Binary
            else None
        )
        if kind in ("add", "sub", "mul", "div") and attrs.activation == "relu_n1_to_1":
            attrs = ir.Binary("relu")
        return f.op(kind, (a, b), f.out(shape, f.out_quant(kind, x, f.natural(x, gain)), t.dtype), attrs)

    return add


def gen_compare(kind: str) -> Callable[[Fuzz, str], str]:
    def add(f: Fuzz, x: str) -> str:
        other = f.operand(x)
        a, b = (other, x) if f.draw(st.booleans()) and f.t(other).data is None else (x, other)
        shape = np.broadcast_shapes(f.shape(a), f.shape(b))
        return f.op(kind, (a, b), f.out(shape, None, "bool"))

    return add


def gen_logical(kind: str) -> Callable[[Fuzz, str], str]:
    def add(f: Fuzz, x: str) -> str:
        if kind == "logical_not":
            return f.op(kind, (x,), f.out(f.shape(x), None, "bool"))
        other = f.operand(x)
        shape = np.broadcast_shapes(f.shape(x), f.shape(other))
        return f.op(kind, (x, other), f.out(shape, None, "bool"))

    return add


def gen_select(f: Fuzz, x: str) -> str:
    """x is the bool condition; the two values share one quantization."""
    dtype = f.draw(st.sampled_from(["int8", "int16", "float32"]))
    shape = f.shape(x)
    a = f.input(tuple(d if f.draw(st.booleans()) else 1 for d in shape), dtype)
    b = f.operand(a, shared=True)
    out_shape = np.broadcast_shapes(shape, f.shape(a), f.shape(b))
    q = f.t(a).quant  # aiotc, as tflite-micro, moves raw values: one quantization for all three
    q = (float(q.scale[0]), int(q.zero_point[0])) if q is not None else None
    return f.op("select_v2", (x, a, b), f.out(out_shape, q, dtype))


def gen_unary(kind: str, attrs: Callable[[Fuzz, str], object] | None = None, gain: float = 1.0):
    def add(f: Fuzz, x: str) -> str:
        if f.t(x).dtype == "float32" and kind in ("sqrt", "rsqrt", "log"):
            x = f.positive(x, 0.0 if kind == "sqrt" else 0.25)
        if f.t(x).dtype != "float32" and kind == "rsqrt":
            x = f.same("abs", x)  # TFLite reports an error below the zero point
        return f.same(kind, x, attrs(f, x) if attrs else None, gain)

    return add


def gen_quantize(f: Fuzz, x: str) -> str:
    """float -> int8, or an integer requantized to int8 or int16."""
    t = f.t(x)
    target = "int8" if t.dtype == "float32" else f.draw(st.sampled_from(INTEGER))
    natural = 0.05 if t.dtype == "float32" else f.natural(x, 4 if t.dtype == "int8" and target == "int8" else 1)
    if t.dtype == "int8" and target == "int16":
        natural = f.natural(x) / 200
    if t.dtype == "int16" and target == "int8":
        natural = f.natural(x) * 200
    return f.op("quantize", (x,), f.out(t.shape, (f.scale(natural), f.zero_point(target)), target))


def gen_dequantize(f: Fuzz, x: str) -> str:
    return f.op("dequantize", (x,), f.out(f.shape(x), None, "float32"))


def gen_cast(f: Fuzz, x: str) -> str:
    from aiotc.codegen.ops_layout import CAST_TYPES

    t = f.t(x)
    target = f.draw(st.sampled_from([d for d in CAST_TYPES if d != t.dtype]))
    q = (1.0, 0) if target in INTEGER else None  # CAST ignores quantization
    return f.op("cast", (x,), f.out(t.shape, q, target))


def gen_reshape(f: Fuzz, x: str) -> str:
    size = f.t(x).size
    dims = []
    rest = size
    for _ in range(f.draw(st.integers(0, 3))):
        d = f.draw(st.sampled_from([d for d in range(1, rest + 1) if rest % d == 0]))
        dims.append(d)
        rest //= d
    return _reshape_to(f, x, (*dims, rest))


def gen_transpose(f: Fuzz, x: str) -> str:
    shape = f.shape(x)
    perm = tuple(f.draw(st.permutations(range(len(shape)))))
    return f.op(
        "transpose",
        (x,),
        f.out([shape[p] for p in perm], f.out_quant("transpose", x, 1), f.t(x).dtype),
        ir.Transpose(perm),
    )


def gen_strided_slice(f: Fuzz, x: str) -> str:
    begin, end, strides, out = [], [], [], []
    for d in f.shape(x):
        s = f.draw(st.sampled_from([1, 1, 2, 3, -1, -2]))
        b = f.draw(st.integers(0, d - 1))
        e = f.draw(st.integers(b + 1, d)) if s > 0 else f.draw(st.integers(-1, b - 1))
        (
            begin.append(b),
            end.append(e),
            strides.append(s),
            out.append(len(range(b, e, s)) if e >= 0 else len(range(b, -1, s))),
        )
    q = f.out_quant("strided_slice", x, 1)
    return f.op(
        "strided_slice", (x,), f.out(out, q, f.t(x).dtype), ir.StridedSlice(tuple(begin), tuple(end), tuple(strides))
    )


def gen_pad(f: Fuzz, x: str) -> str:
    pads = tuple((f.draw(st.integers(0, 2)), f.draw(st.integers(0, 2))) for _ in f.shape(x))
    shape = [d + a + b for d, (a, b) in zip(f.shape(x), pads)]
    return f.op("pad", (x,), f.out(shape, f.out_quant("pad", x, 1), f.t(x).dtype), ir.Pad(pads))


def gen_mirror_pad(f: Fuzz, x: str) -> str:
    reflect = f.draw(st.booleans())
    pads = tuple(
        (f.draw(st.integers(0, min(2, d - reflect))), f.draw(st.integers(0, min(2, d - reflect)))) for d in f.shape(x)
    )
    shape = [d + a + b for d, (a, b) in zip(f.shape(x), pads)]
    return f.op(
        "mirror_pad", (x,), f.out(shape, f.out_quant("mirror_pad", x, 1), f.t(x).dtype), ir.MirrorPad(pads, reflect)
    )


def gen_concat(f: Fuzz, x: str) -> str:
    shape = f.shape(x)
    axis = f.draw(st.integers(0, len(shape) - 1))
    parts = [x]
    for _ in range(f.draw(st.integers(1, 2))):
        part_shape = tuple(f.draw(st.integers(1, 4)) if i == axis else d for i, d in enumerate(shape))
        older = [n for n in f.activations(f.t(x).dtype) if f.shape(n) == part_shape and f.t(n).quant == f.t(x).quant]
        parts.append(f.draw(st.sampled_from(older)) if older and f.draw(st.booleans()) else f.like(x, part_shape))
    parts = f.draw(st.permutations(parts))
    out = tuple(sum(f.shape(p)[axis] for p in parts) if i == axis else d for i, d in enumerate(shape))
    return f.op("concat", tuple(parts), f.out(out, f.out_quant("concat", x, 1), f.t(x).dtype), ir.Concat(axis))


def gen_pack(f: Fuzz, x: str) -> str:
    shape = f.shape(x)
    parts = [x] + [f.operand(x, shared=True, broadcast=False) for _ in range(f.draw(st.integers(0, 2)))]
    axis = f.draw(st.integers(0, len(shape)))
    out = shape[:axis] + (len(parts),) + shape[axis:]
    return f.op("pack", tuple(parts), f.out(out, f.out_quant("pack", x, 1), f.t(x).dtype), ir.Pack(axis))


def gen_add_n(f: Fuzz, x: str) -> str:
    parts = [x] + [f.operand(x, shared=True, broadcast=False) for _ in range(f.draw(st.integers(1, 3)))]
    q = f.out_quant("add_n", x, f.natural(x, len(parts)))
    return f.op("add_n", tuple(parts), f.out(f.shape(x), q, f.t(x).dtype))


def gen_tile(f: Fuzz, x: str) -> str:
    t = f.t(x)
    multiples = tuple(f.draw(st.integers(1, 3)) if t.size * 3 <= MAX_ELEMENTS else 1 for _ in t.shape)
    shape = [d * m for d, m in zip(t.shape, multiples)]
    return f.op("tile", (x,), f.out(shape, f.out_quant("tile", x, 1), t.dtype), ir.Tile(multiples))


def gen_broadcast_to(f: Fuzz, x: str) -> str:
    t = f.t(x)
    lead = tuple(f.draw(st.integers(1, 2)) for _ in range(f.draw(st.integers(0, 4 - min(len(t.shape), 4)))))
    grow = MAX_ELEMENTS // max(t.size, 1)
    shape = lead + tuple(f.draw(st.integers(1, 3)) if d == 1 and grow >= 3 else d for d in t.shape)
    return f.op("broadcast_to", (x,), f.out(shape, f.out_quant("broadcast_to", x, 1), t.dtype))


def gen_resize(kind: str) -> Callable[[Fuzz, str], str]:
    def add(f: Fuzz, x: str) -> str:
        x = as_4d(f, x)
        n, h, w, c = f.shape(x)
        size = (f.draw(st.integers(1, 2 * h + 1)), f.draw(st.integers(1, 2 * w + 1)))
        align = f.draw(st.booleans())
        half = f.draw(st.booleans()) and not (align and kind == "resize_bilinear")
        q = f.out_quant(kind, x, 1)
        return f.op(kind, (x,), f.out((n, *size, c), q, f.t(x).dtype), ir.Resize(align, half))

    return add


def gen_reverse(f: Fuzz, x: str) -> str:
    rank = len(f.shape(x))
    axes = tuple(sorted(f.draw(st.sets(st.integers(0, rank - 1), min_size=1))))
    return f.same("reverse", x, ir.Reverse(axes))


def gen_gather(f: Fuzz, x: str) -> str:
    shape = f.shape(x)
    axis = f.draw(st.integers(0, len(shape) - 1))
    idx_shape = tuple(f.draw(st.lists(st.integers(1, 3), max_size=2)))
    indices = tuple(f.draw(st.integers(0, shape[axis] - 1)) for _ in range(int(np.prod(idx_shape))))
    out = shape[:axis] + idx_shape + shape[axis + 1 :]
    if len(out) > 4:
        return f.same("reverse", x, ir.Reverse((0,)))
    return f.op(
        "gather", (x,), f.out(out, f.out_quant("gather", x, 1), f.t(x).dtype), ir.Gather(axis, indices, idx_shape)
    )


def gen_gather_nd(f: Fuzz, x: str) -> str:
    """Constant index rows of depth 1 to the params' rank, each entry inside its axis."""
    shape = f.shape(x)
    depth = f.draw(st.integers(1, min(len(shape), 5)))
    lead = tuple(f.draw(st.lists(st.integers(1, 3), min_size=1, max_size=4 - len(shape) + depth)))
    rows = [[f.draw(st.integers(0, d - 1)) for d in shape[:depth]] for _ in range(int(np.prod(lead)))]
    indices = f.g.const(np.array(rows, np.int32).reshape(*lead, depth))
    return f.op("gather_nd", (x, indices), f.out(lead + shape[depth:], f.out_quant("gather_nd", x, 1), f.t(x).dtype))


def gen_embedding_lookup(f: Fuzz, x: str) -> str:
    """x's rows (x as [rows, ...]) picked by constant ids; int8 rows of zero point 0 may come
    out float32 (the hybrid lookup)."""
    if len(f.shape(x)) < 2:
        x = _reshape_to(f, x, (*f.shape(x), 1))
    t = f.t(x)
    ids = f.draw(st.lists(st.integers(0, t.shape[0] - 1), min_size=1, max_size=5))
    hybrid = t.dtype == "int8" and int(t.quant.zero_point[0]) == 0 and f.draw(st.booleans())
    out = (len(ids), *t.shape[1:])
    y = f.out(out, None, "float32") if hybrid else f.out(out, f.out_quant("embedding_lookup", x, 1), t.dtype)
    return f.op("embedding_lookup", (x, f.g.const(np.array(ids, np.int32))), y)


def gen_dynamic_update_slice(f: Fuzz, x: str) -> str:
    """An update in x's quantization (a new input or a constant) at a constant start, some
    entries past the operand (tflite-micro clamps them)."""
    t = f.t(x)
    update_shape = tuple(f.draw(st.integers(1, d)) for d in t.shape)
    update = f.like(x, update_shape) if f.draw(st.booleans()) else f.constant(update_shape, t.dtype, t.quant)
    start = f.g.const(np.array([f.draw(st.integers(-2, d + 1)) for d in t.shape], np.int32))
    q = f.out_quant("dynamic_update_slice", x, 1)
    return f.op("dynamic_update_slice", (x, update, start), f.out(t.shape, q, t.dtype))


def gen_depth_to_space(f: Fuzz, x: str) -> str:
    """x's elements as (1, H, W, C) with C a multiple of block^2."""
    size = f.t(x).size
    block = f.draw(st.sampled_from([b for b in (2, 3) if size % (b * b) == 0]))
    shape = f.shape(x)
    if len(shape) != 4 or shape[3] % (block * block):
        x = _reshape_to(f, x, (1, 1, size // (block * block), block * block))
    n, h, w, c = f.shape(x)
    out = (n, h * block, w * block, c // block**2)
    return f.op(
        "depth_to_space", (x,), f.out(out, f.out_quant("depth_to_space", x, 1), f.t(x).dtype), ir.BlockSize(block)
    )


def gen_space_to_depth(f: Fuzz, x: str) -> str:
    size = f.t(x).size
    block = f.draw(st.sampled_from([b for b in (2, 3) if size % (b * b) == 0]))
    shape = f.shape(x)
    if len(shape) != 4 or shape[1] % block or shape[2] % block:
        x = _reshape_to(f, x, (1, block, block, size // (block * block)))
    n, h, w, c = f.shape(x)
    out = (n, h // block, w // block, c * block**2)
    return f.op(
        "space_to_depth", (x,), f.out(out, f.out_quant("space_to_depth", x, 1), f.t(x).dtype), ir.BlockSize(block)
    )


def _square_blocks(f: Fuzz, x: str) -> bool:
    return any(f.t(x).size % (b * b) == 0 for b in (2, 3))


def gen_batch_to_space(f: Fuzz, x: str) -> str:
    """(bh*bw*N, H, W, C) -> (N, H*bh - crops, W*bw - crops, C)."""
    shape = f.shape(x)
    spatial = f.t(x).size // (shape[-1] if shape else 1)
    bh, bw = f.draw(st.sampled_from([(bh, bw) for bh in (1, 2, 3) for bw in (1, 2) if spatial % (bh * bw) == 0]))
    if len(shape) != 4 or shape[0] % (bh * bw):
        x = _reshape_to(f, x, (bh * bw, spatial // (bh * bw), 1, shape[-1] if shape else 1))
    n, h, w, c = f.shape(x)
    crops = tuple(
        (f.draw(st.integers(0, 1)), f.draw(st.integers(0, 1))) if d * b > 2 else (0, 0) for d, b in ((h, bh), (w, bw))
    )
    out = (n // (bh * bw), h * bh - sum(crops[0]), w * bw - sum(crops[1]), c)
    q = f.out_quant("batch_to_space", x, 1)
    return f.op("batch_to_space", (x,), f.out(out, q, f.t(x).dtype), ir.BatchSpace((bh, bw), crops))


def gen_space_to_batch(f: Fuzz, x: str) -> str:
    """(N, H, W, C) with H, W multiples of the block -> (N*bh*bw, H/bh, W/bw, C); zero paddings
    only (aiotc refuses others, said in the frontend)."""
    x = as_4d(f, x)
    n, h, w, c = f.shape(x)
    bh = f.draw(st.sampled_from([b for b in (1, 2, 3) if h % b == 0]))
    bw = f.draw(st.sampled_from([b for b in (1, 2, 3) if w % b == 0]))
    out = (n * bh * bw, h // bh, w // bw, c)
    return f.op(
        "space_to_batch", (x,), f.out(out, f.out_quant("space_to_batch", x, 1), f.t(x).dtype), ir.BatchSpace((bh, bw))
    )


def gen_reduce(kind: str) -> Callable[[Fuzz, str], str]:
    def add(f: Fuzz, x: str) -> str:
        shape = f.shape(x)
        axes = tuple(sorted(f.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
        keep = f.draw(st.booleans())
        out = (
            tuple(1 if i in axes else d for i, d in enumerate(shape))
            if keep
            else tuple(d for i, d in enumerate(shape) if i not in axes)
        )
        gain = float(np.prod([shape[a] for a in axes])) if kind == "sum" else 1.0
        q = f.out_quant(kind, x, f.natural(x, math.sqrt(gain)))
        return f.op(kind, (x,), f.out(out, q, f.t(x).dtype), ir.Mean(axes, keep))

    return add


def gen_arg(kind: str) -> Callable[[Fuzz, str], str]:
    def add(f: Fuzz, x: str) -> str:
        shape = f.shape(x)
        axis = f.draw(st.integers(0, len(shape) - 1))
        return f.op(kind, (x,), f.out(shape[:axis] + shape[axis + 1 :], None, "int32"), ir.ArgMinMax(axis))

    return add


def gen_prelu(f: Fuzz, x: str) -> str:
    t = f.t(x)
    alpha_shape = tuple(d if f.draw(st.booleans()) else 1 for d in t.shape)
    alpha_shape = alpha_shape[f.draw(st.integers(0, len(alpha_shape) - 1)) :]
    if t.dtype == "float32":
        alpha = f.g.const(f.g.rng.uniform(-0.5, 1.5, alpha_shape).astype(np.float32))
    else:
        info = np.iinfo(t.dtype)
        alpha = f.g.const(
            f.g.rng.integers(info.min, info.max, alpha_shape, endpoint=True).astype(t.dtype),
            quant(f.scale(1 / 128), f.zero_point(t.dtype)),
        )
    return f.op("prelu", (x, alpha), f.out(t.shape, f.out_quant("prelu", x, f.natural(x)), t.dtype))


def gen_batch_matmul(f: Fuzz, x: str) -> str:
    """x times an older tensor, a new input or a constant: [..., rows, depth] x [..., depth, cols]."""
    t = f.t(x)
    if len(t.shape) < 2:
        x = _reshape_to(f, x, (1, *t.shape))
    shape = f.shape(x)
    adj_x, adj_y = f.draw(st.booleans()), f.draw(st.booleans())
    depth = shape[-2] if adj_x else shape[-1]
    cols = f.draw(st.integers(1, 6))
    batch = tuple(d if f.draw(st.booleans()) else 1 for d in shape[:-2])
    batch = batch[f.draw(st.integers(0, len(batch))) :]
    rhs_shape = (*batch, *((cols, depth) if adj_y else (depth, cols)))
    if f.draw(st.booleans()):
        rhs = f.input(rhs_shape, t.dtype)
    else:
        rhs = f.constant(rhs_shape, t.dtype, quant(f.scale(0.02), 0) if t.dtype != "float32" else None)
    rows = shape[-1] if adj_x else shape[-2]
    out = (*np.broadcast_shapes(shape[:-2], batch), rows, cols)
    natural = f.natural(x) * (float(f.t(rhs).quant.scale[0]) if f.t(rhs).quant else 1.0) * 128 * math.sqrt(depth)
    return f.op(
        "batch_matmul",
        (x, rhs),
        f.out(out, f.out_quant("batch_matmul", x, natural), t.dtype),
        ir.BatchMatMul(adj_x, adj_y),
    )


def gen_cumsum(f: Fuzz, x: str) -> str:
    shape = f.shape(x)
    axis = f.draw(st.integers(0, len(shape) - 1))
    attrs = ir.CumSum(axis, f.draw(st.booleans()), f.draw(st.booleans()))
    return f.same("cumsum", x, attrs, math.sqrt(shape[axis]))


def gen_lstm(f: Fuzz, x: str) -> str:
    """[batch, time, features] from x's elements, a few units."""
    shape = f.shape(x)
    if len(shape) != 3:
        features = shape[-1] if shape else 1
        x = _reshape_to(f, x, (1, f.t(x).size // features, features))
    time_major = f.draw(st.booleans())
    y = f.g.lstm(x, f.draw(st.integers(1, 5)), time_major=time_major, cell_clip=f.draw(st.sampled_from([0.0, 3.0])))
    f.read.add(x)
    return y


def gen_svdf(f: Fuzz, x: str) -> str:
    """[batch, input] from x's elements; int16 or int8 state in integer graphs."""
    shape = f.shape(x)
    if len(shape) != 2:
        features = shape[-1] if shape else 1
        x = _reshape_to(f, x, (f.t(x).size // features, features))
    y = f.g.svdf(
        x,
        f.draw(st.integers(1, 4)),
        rank=f.draw(st.integers(1, 2)),
        memory=f.draw(st.integers(2, 5)),
        state_dtype=f.draw(st.sampled_from(["int16", "int8"])),
        activation=f.draw(st.sampled_from(["none", "relu"])),
        bias=f.draw(st.booleans()),
    )
    f.read.add(x)
    return y


def gen_softmax(f: Fuzz, x: str) -> str:
    return f.same("softmax", x, ir.Softmax(f.draw(st.sampled_from([1.0, 0.5, 2.0, 0.3]))))


def gen_leaky_relu(f: Fuzz, x: str) -> str:
    return f.same("leaky_relu", x, ir.LeakyRelu(f.draw(st.sampled_from([0.01, 0.2, 0.5, 0.9, 1.5, -0.3]))))


def gen_zeros_like(f: Fuzz, x: str) -> str:
    return f.same("zeros_like", x)


def _exact_unless_float(f: Fuzz, x: str) -> bool:
    """A jumping layer on float reads exact tensors only (the module's docstring)."""
    return f.t(x).dtype != "float32" or x in f.exact


def _quantized_or_exact(f: Fuzz, x: str) -> bool:
    """QUANTIZE requantizes quantized values (an int32 index has no scale) or reads exact floats."""
    return f.t(x).quant is not None if f.t(x).dtype != "float32" else x in f.exact


def _reads_exact(kind: str) -> Callable[[Fuzz, str], bool]:
    return _exact_unless_float if kind in JUMPS else lambda f, x: True


UNARY = ("abs", "neg", "sqrt", "rsqrt", "square", "exp", "log", "sin", "cos", "ceil", "floor", "round")
BINARY = ("add", "sub", "mul", "div", "squared_difference", "maximum", "minimum", "floor_div", "floor_mod")
COMPARE = ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal")

GENERATORS: dict[str, Gen] = {
    "conv2d": Gen(gen_conv2d),
    "depthwise_conv2d": Gen(gen_depthwise),
    "fully_connected": Gen(gen_fully_connected),
    "avg_pool2d": Gen(gen_pool("avg_pool2d")),
    "max_pool2d": Gen(gen_pool("max_pool2d")),
    "l2_pool2d": Gen(gen_pool("l2_pool2d")),
    **{kind: Gen(gen_binary(kind), _reads_exact(kind)) for kind in BINARY},
    **{kind: Gen(gen_compare(kind), _exact_unless_float) for kind in COMPARE},
    **{kind: Gen(gen_logical(kind)) for kind in ("logical_and", "logical_or", "logical_not")},
    "select_v2": Gen(gen_select),
    **{kind: Gen(gen_unary(kind), _reads_exact(kind)) for kind in UNARY},
    **{
        kind: Gen(gen_unary(kind))
        for kind in ("relu", "relu6", "hard_swish", "logistic", "tanh", "elu", "l2_normalization", "log_softmax")
    },
    "softmax": Gen(gen_softmax),
    "leaky_relu": Gen(gen_leaky_relu),
    "prelu": Gen(gen_prelu),
    "quantize": Gen(gen_quantize, _quantized_or_exact),
    "dequantize": Gen(gen_dequantize),
    "cast": Gen(gen_cast, _exact_unless_float),
    "zeros_like": Gen(gen_zeros_like),
    "mean": Gen(gen_reduce("mean")),
    "sum": Gen(gen_reduce("sum")),
    "reduce_max": Gen(gen_reduce("reduce_max")),
    "reduce_min": Gen(gen_reduce("reduce_min")),
    "arg_max": Gen(gen_arg("arg_max"), _exact_unless_float),
    "arg_min": Gen(gen_arg("arg_min"), _exact_unless_float),
    "reshape": Gen(gen_reshape),
    "transpose": Gen(gen_transpose),
    "strided_slice": Gen(gen_strided_slice),
    "pad": Gen(gen_pad),
    "mirror_pad": Gen(gen_mirror_pad),
    "concat": Gen(gen_concat),
    "pack": Gen(gen_pack, _rank(0, 3)),
    "add_n": Gen(gen_add_n),
    "tile": Gen(gen_tile),
    "broadcast_to": Gen(gen_broadcast_to),
    "resize_nearest": Gen(gen_resize("resize_nearest")),
    "resize_bilinear": Gen(gen_resize("resize_bilinear")),
    "reverse": Gen(gen_reverse),
    "gather": Gen(gen_gather),
    "depth_to_space": Gen(gen_depth_to_space, _square_blocks),
    "space_to_depth": Gen(gen_space_to_depth, _square_blocks),
    "batch_to_space": Gen(gen_batch_to_space),
    "space_to_batch": Gen(gen_space_to_batch),
    "batch_matmul": Gen(gen_batch_matmul),
    "cumsum": Gen(gen_cumsum),
    "lstm": Gen(gen_lstm),
    "svdf": Gen(gen_svdf),
    "transpose_conv": Gen(gen_transpose_conv),
    "gelu": Gen(gen_unary("gelu", lambda f, x: ir.Gelu(f.draw(st.booleans())))),
    "gather_nd": Gen(gen_gather_nd, _rank(1, 4)),
    "embedding_lookup": Gen(gen_embedding_lookup, _rank(1, 4)),
    "dynamic_update_slice": Gen(gen_dynamic_update_slice, _rank(1, 4)),
    "reduce_all": Gen(gen_reduce("reduce_all"), _rank(1, 4)),
}


def eligible(f: Fuzz, x: str) -> list[str]:
    """The kinds whose lowering takes x's dtype and whose generator can read x."""
    dtype = f.t(x).dtype
    return sorted(kind for kind, gen in GENERATORS.items() if dtype in LOWERINGS[kind].dtypes and gen.takes(f, x))


# --- whole graphs ---------------------------------------------------------------------


@st.composite
def input_shapes(draw) -> tuple[int, ...]:
    rank = draw(st.sampled_from([4, 4, 4, 3, 2, 1]))
    dims = [draw(st.integers(1, 9)) for _ in range(rank)]
    if rank == 4:
        dims[0] = draw(st.sampled_from([1, 1, 1, 2]))
    while np.prod(dims) > 400:
        dims[dims.index(max(dims))] //= 2
    return tuple(dims)


@dataclass
class Drawn:
    """A drawn graph and the kinds it holds."""

    graph: ir.Graph
    kinds: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return self.describe()

    def describe(self) -> str:
        lines = []
        for op in self.graph.ops:
            ins = ", ".join(_tensor_text(self.graph[i]) for i in op.inputs if i)
            lines.append(
                f"  {op.name}: {op.kind}{_attr_text(op.attrs)} ({ins}) -> {_tensor_text(self.graph[op.outputs[0]])}"
            )
        return "\n".join([f"graph, inputs {list(self.graph.inputs)}, outputs {list(self.graph.outputs)}", *lines])


def _tensor_text(t: ir.Tensor) -> str:
    q = f" q({t.quant.scale.tolist()}, {t.quant.zero_point.tolist()})" if t.quant is not None else ""
    const = " const" if t.data is not None else ""
    return f"{t.name}{list(t.shape)} {t.dtype}{q}{const}"


def _attr_text(attrs) -> str:
    return "" if isinstance(attrs, ir.NoAttrs) else f" {attrs}"


@st.composite
def graphs(draw, dtype: str | None = None) -> Drawn:
    """1 to MAX_LAYERS layers from one input; a layer reads the newest tensor or an older one."""
    dtype = dtype or draw(st.sampled_from(["int8", "int8", "int16", "float32", "float32"]))
    f = Fuzz(draw, dtype)
    x = f.input(draw(input_shapes()), dtype)
    kinds = []
    for _ in range(draw(st.integers(1, MAX_LAYERS))):
        if draw(st.integers(0, 3)) == 0:  # a branch from an older tensor
            x = draw(st.sampled_from([n for n in f.activations() if f.t(n).size <= MAX_ELEMENTS]))
        if not f.shape(x):  # a scalar (a reduction over every axis) goes on as [1]
            x = _reshape_to(f, x, (1,))
        choices = eligible(f, x)
        if not choices or f.t(x).size > MAX_ELEMENTS:
            break
        kind = draw(st.sampled_from(choices))
        kinds.append(kind)
        if f.t(x).dtype in ("int8", "int16", "float32"):  # OpGraph's weights and outputs follow x
            f.g.dtype = f.t(x).dtype
        x = GENERATORS[kind].add(f, x)
    return Drawn(f.finish(), kinds)


# --- running one: aiotc on the host against the oracle ---------------------------------

ORACLE_TIMEOUT_S = 60


def _serve(conn) -> None:
    """The oracle process: (model path, interpreter, samples) in, outputs or an error out.
    A separate process because an interpreter may abort on a model it rejects."""
    while True:
        path, which, samples = conn.recv()
        try:
            conn.send(("ok", _invoke(path, which, samples)))
        except Exception as error:  # noqa: BLE001  (the parent decides what a refusal means)
            conn.send(("error", f"{type(error).__name__}: {error}"))


def _invoke(path: str, which: str, samples) -> list[list[np.ndarray]]:
    """Every sample through one interpreter of the model, reset between samples."""
    if which == by_op.NAME:
        oracle = by_op.OpByOp(path)
        return [oracle.run(sample) for sample in samples]
    results = []
    if which == "tflite-micro":
        import tflite
        from tflite_micro.python.tflite_micro import runtime

        interpreter = runtime.Interpreter.from_file(path)
        count = tflite.Model.GetRootAsModel(Path(path).read_bytes(), 0).Subgraphs(0).OutputsLength()
        for sample in samples:
            for index, array in enumerate(sample):
                interpreter.set_input(array, index)
            interpreter.invoke()
            results.append([np.array(interpreter.get_output(i)) for i in range(count)])
            interpreter.reset()
        return results
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_path=path, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    for sample in samples:
        interpreter.reset_all_variables()  # samples are independent: an LSTM's state starts at zero
        for detail, array in zip(interpreter.get_input_details(), sample):
            interpreter.set_tensor(detail["index"], array)
        interpreter.invoke()
        results.append([np.array(interpreter.get_tensor(d["index"])) for d in interpreter.get_output_details()])
    return results


class Oracle:
    """tflite-micro (integers: whole, else op by op) or LiteRT's reference kernels (floats)
    in a child process, restarted when an interpreter kills it."""

    def __init__(self):
        self._process = None

    def _start(self):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True)
        self._process.start()

    def run(self, path: Path, which: str, samples) -> tuple[str, object]:
        if self._process is None or not self._process.is_alive():
            self._start()
        self._conn.send((str(path), which, samples))
        if not self._conn.poll(ORACLE_TIMEOUT_S):
            self.close()
            return "error", "no answer"
        try:
            return self._conn.recv()
        except (EOFError, OSError):
            self.close()
            return "error", "the interpreter crashed"

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process = None


def samples_for(graph: ir.Graph, seed: int, count: int = 3) -> list[list[np.ndarray]]:
    """Whole-range integers (the first sample at the extremes), N(0, 2) floats, random bools."""
    rng = np.random.default_rng(seed)
    samples = []
    for k in range(count):
        sample = []
        for name in graph.inputs:
            t = graph[name]
            if t.dtype == "bool":
                sample.append(rng.integers(0, 2, t.shape).astype(np.bool_))
            elif t.dtype == "float32":
                sample.append((rng.standard_normal(t.shape) * 2).astype(np.float32))
            else:
                info = np.iinfo(t.dtype)
                values = rng.integers(info.min, info.max, t.shape, endpoint=True)
                if k == 0:
                    values = np.where(rng.integers(0, 2, t.shape) == 1, info.max, info.min)
                sample.append(values.astype(t.dtype))
        samples.append(sample)
    return samples


def outputs_agree(got: np.ndarray, want: np.ndarray) -> bool:
    """Integers and bools equal; floats within 1e-5 of the output's finite range, the same
    infinities and NaNs where the oracle has them."""
    if got.shape != want.shape:
        return False
    if not np.issubdtype(want.dtype, np.floating):
        return bool(np.array_equal(got.astype(np.int64), want.astype(np.int64)))
    finite = np.isfinite(want)
    if not np.array_equal(finite, np.isfinite(got)):
        return False
    if not np.array_equal(got[~finite], want[~finite], equal_nan=True):
        return False
    if not finite.any():
        return True
    span = float(np.max(want[finite]) - np.min(want[finite]))
    return float(np.max(np.abs(got[finite].astype(np.float64) - want[finite]))) <= 1e-5 * max(span, 1.0)
