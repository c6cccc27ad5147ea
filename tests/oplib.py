"""Single-op models built inside tests, checked against the oracle.

    g = OpGraph(seed=1)
    x = g.input((1, 9, 9, 3), scale=0.05, zero_point=-128)
    y = g.conv2d(x, out_channels=5, kernel=(3, 3), stride=(2, 2), padding="same")
    assert_matches_oracle(g.build(y), tmp_path)

An OpGraph makes tensors and ops with sensible random weights and quantization;
`assert_matches_oracle` writes the graph as .tflite (aiotc's writer), runs the oracle
(tflite-micro) on random inputs, compiles the same file with aiotc for the host and
requires equal outputs: every byte for integers, 1e-5 of the range for floats.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aiotc import ir
from aiotc.driver import CompileResult, compile_model
from aiotc.export.tflite import write_tflite
from aiotc.frontend.tflite import same_padding, transpose_same_padding
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify


def quant(scale, zero_point=0, axis=None) -> ir.Quant:
    scales = np.atleast_1d(np.asarray(scale, dtype=np.float32))
    zero_points = np.broadcast_to(np.asarray(zero_point, dtype=np.int64), scales.shape).copy()
    return ir.Quant(scales, zero_points, axis if scales.size > 1 else None)


class OpGraph:
    """A small graph under construction; float when dtype='float32', else int8 - or, with
    dtype='int16', TFLite's 16x8: int16 activations (zero point 0), int8 weights, int64
    bias, entered and left through `quantize` (int8 <-> int16) as the graph's own inputs
    and outputs stay int8."""

    def __init__(self, seed: int = 0, dtype: str = "int8"):
        self.rng = np.random.default_rng(seed)
        self.dtype = dtype
        self.tensors: dict[str, ir.Tensor] = {}
        self.ops: list[ir.Op] = []
        self.inputs: list[str] = []
        self.state: list[str] = []

    # --- tensors --------------------------------------------------------------------

    def _add(self, tensor: ir.Tensor) -> str:
        self.tensors[tensor.name] = tensor
        return tensor.name

    def _name(self, stem: str) -> str:
        return f"{stem}{len(self.tensors)}"

    def activation(self, shape, scale=0.05, zero_point=0, dtype=None) -> str:
        dtype = dtype or self.dtype
        q = quant(scale, zero_point) if dtype != "float32" else None
        return self._add(ir.Tensor(self._name("t"), tuple(shape), dtype, q))

    def input(self, shape, scale=0.05, zero_point=0, dtype=None) -> str:
        name = self.activation(shape, scale, zero_point, dtype)
        self.inputs.append(name)
        return name

    def const(self, array: np.ndarray, q: ir.Quant | None = None) -> str:
        array = np.asarray(array)
        return self._add(ir.Tensor(self._name("c"), array.shape, str(array.dtype), q, array))

    def weights(self, shape, axis: int | None = 0, scale=0.02, zero_point=0) -> str:
        """Random weights: int8 per-channel on `axis` (None: per tensor), or float32."""
        if self.dtype == "float32":
            return self.const(self.rng.normal(0, 0.5, shape).astype(np.float32))
        data = self.rng.integers(-127, 128, shape, dtype=np.int64).astype(np.int8)
        channels = shape[axis] if axis is not None else 1
        scales = scale * self.rng.uniform(0.5, 1.5, channels)
        return self.const(data, quant(scales, zero_point, axis))

    def int4(self, output: str) -> str:
        """The weights of the op that made `output` replaced by int4 ones in [-8, 7]
        (w4a8), their scales (and the bias's) times 127 / 7 so the outputs keep their
        range; returns output."""
        op = next(op for op in self.ops if op.outputs[0] == output)
        old = self.tensors[op.inputs[1]]
        data = self.rng.integers(-8, 8, old.shape).astype(np.int8)
        q = ir.Quant(old.quant.scale * np.float32(127 / 7), old.quant.zero_point, old.quant.axis)
        self.tensors[old.name] = ir.Tensor(old.name, old.shape, "int4", q, data)
        if len(op.inputs) > 2 and op.inputs[2] is not None:  # bias scale = input scale * weight scale
            bias = self.tensors[op.inputs[2]]
            self.tensors[bias.name] = ir.Tensor(
                bias.name,
                bias.shape,
                bias.dtype,
                ir.Quant(bias.quant.scale * np.float32(127 / 7), bias.quant.zero_point, bias.quant.axis),
                bias.data,
            )
        return output

    def unpackable(self, output: str, weight: int = 1, axis: int = 0, at: int = 0, value: int = -5) -> str:
        """The op that made `output` with -128 in its `weight` input's channel 1 (along
        `axis`) beside `value` < 0 in channel 0, at the channels' flat index `at`: the
        gemm's byte pairs cannot hold it (kernels.gemm_packable), so the reference kernel
        runs the layer; returns output."""
        op = next(op for op in self.ops if output in op.outputs)
        channels = np.moveaxis(self.tensors[op.inputs[weight]].data, axis, 0)
        channels[0].flat[at], channels[1].flat[at] = value, -128
        return output

    def bias(self, input_name: str, weights_name: str, channels: int) -> str:
        if self.dtype == "float32":
            return self.const(self.rng.normal(0, 0.5, channels).astype(np.float32))
        w_scales = np.broadcast_to(self.tensors[weights_name].quant.scale, (channels,))
        scales = self.tensors[input_name].quant.scale[0] * w_scales
        if self.tensors[input_name].dtype == "int16":  # 16x8: int64, in the accumulator's larger range
            return self.const(
                self.rng.integers(-3000 * 256, 3000 * 256, channels).astype(np.int64), quant(scales, 0, 0)
            )
        return self.const(self.rng.integers(-3000, 3000, channels).astype(np.int32), quant(scales, 0, 0))

    def _out(self, shape, scale, zero_point, dtype=None) -> str:
        return self.activation(shape, scale, zero_point, dtype)

    def _op(self, kind: str, inputs, out: str, attrs=None) -> str:
        self.ops.append(ir.Op(f"{kind}{len(self.ops)}", kind, tuple(inputs), (out,), attrs or ir.NoAttrs()))
        return out

    # --- ops ------------------------------------------------------------------------

    def conv2d(
        self,
        x,
        out_channels,
        kernel=(3, 3),
        stride=(1, 1),
        dilation=(1, 1),
        padding="same",
        groups=1,
        activation="none",
        per_channel=True,
        out_scale=None,
        out_zp=0,
    ):
        n, h, w, c = self.tensors[x].shape
        oh, ow, pad = _spatial(h, w, kernel, stride, dilation, padding)
        wt = self.weights((out_channels, *kernel, c // groups), 0 if per_channel else None)
        b = self.bias(x, wt, out_channels)
        scale = out_scale or self._acc_scale(x, wt, kernel[0] * kernel[1] * c // groups)
        y = self._out((n, oh, ow, out_channels), scale, out_zp)
        return self._op("conv2d", (x, wt, b), y, ir.Conv2D(stride, dilation, pad, activation))

    def transpose_conv(
        self, x, out_channels, kernel=(3, 3), stride=(2, 2), padding="same", bias=True, activation="none", out_zp=0
    ):
        """TRANSPOSE_CONV as Keras writes it: SAME gives input x stride, VALID (in - 1) x stride + kernel."""
        n, h, w, c = self.tensors[x].shape
        if padding == "same":
            oh, ow = h * stride[0], w * stride[1]
            pad = transpose_same_padding((oh, ow), kernel, stride)
        else:
            oh, ow, pad = (h - 1) * stride[0] + kernel[0], (w - 1) * stride[1] + kernel[1], (0, 0)
        wt = self.weights((out_channels, *kernel, c), 0)
        b = self.bias(x, wt, out_channels) if bias else None
        y = self._out((n, oh, ow, out_channels), self._acc_scale(x, wt, kernel[0] * kernel[1] * c), out_zp)
        return self._op("transpose_conv", (x, wt, b), y, ir.TransposeConv(stride, pad, activation))

    def depthwise(
        self,
        x,
        multiplier=1,
        kernel=(3, 3),
        stride=(1, 1),
        dilation=(1, 1),
        padding="same",
        activation="none",
        out_zp=0,
        out_scale=None,
    ):
        n, h, w, c = self.tensors[x].shape
        oh, ow, pad = _spatial(h, w, kernel, stride, dilation, padding)
        wt = self.weights((1, *kernel, c * multiplier), 3)
        b = self.bias(x, wt, c * multiplier)
        scale = out_scale or self._acc_scale(x, wt, kernel[0] * kernel[1])
        y = self._out((n, oh, ow, c * multiplier), scale, out_zp)
        return self._op(
            "depthwise_conv2d", (x, wt, b), y, ir.DepthwiseConv2D(stride, dilation, pad, multiplier, activation)
        )

    def fully_connected(
        self,
        x,
        units,
        per_channel=False,
        activation="none",
        keep_num_dims=False,
        bias=True,
        weight_zp=0,
        out_scale=None,
    ):
        shape = self.tensors[x].shape
        depth = shape[-1]
        wt = self.weights((units, depth), 0 if per_channel else None, zero_point=weight_zp)
        b = self.bias(x, wt, units) if bias else None
        out_shape = (*shape[:-1], units) if keep_num_dims else (int(np.prod(shape[:-1])), units)
        y = self._out(out_shape, out_scale or self._acc_scale(x, wt, depth), 3 if self.dtype == "int8" else 0)
        return self._op("fully_connected", (x, wt, b), y, ir.FullyConnected(activation, keep_num_dims))

    def pool(self, kind, x, kernel=(2, 2), stride=(2, 2), padding="valid", activation="none"):
        n, h, w, c = self.tensors[x].shape
        oh, ow, pad = _spatial(h, w, kernel, stride, (1, 1), padding)
        t = self.tensors[x]
        y = self._out((n, oh, ow, c), *_same_q(t))
        return self._op(kind, (x,), y, ir.Pool2D(kernel, stride, pad, activation))

    def binary(self, kind, a, b, out_scale=0.1, out_zp=0, activation="none"):
        shape = np.broadcast_shapes(self.tensors[a].shape, self.tensors[b].shape)
        y = self._out(shape, out_scale, out_zp)
        return self._op(kind, (a, b), y, ir.Binary(activation))

    def unary(self, kind, x, out_scale=None, out_zp=None, attrs=None, out_dtype=None):
        t = self.tensors[x]
        scale, zp = _same_q(t)
        y = self._out(
            t.shape, out_scale if out_scale is not None else scale, out_zp if out_zp is not None else zp, out_dtype
        )
        return self._op(kind, (x,), y, attrs)

    def quantize(self, x, dtype, scale, zero_point=0):
        """QUANTIZE (a requantization) of `x` to `dtype`: int8 <-> int16 around 16x8 layers."""
        return self._op("quantize", (x,), self._out(self.tensors[x].shape, scale, zero_point, dtype))

    def mean(self, x, axes, keepdims=True, out_scale=None, out_zp=None):
        t = self.tensors[x]
        shape = (
            tuple(1 if i in axes else d for i, d in enumerate(t.shape))
            if keepdims
            else tuple(d for i, d in enumerate(t.shape) if i not in axes)
        )
        scale, zp = _same_q(t)
        y = self._out(shape, out_scale or scale, zp if out_zp is None else out_zp)
        return self._op("mean", (x,), y, ir.Mean(tuple(axes), keepdims))

    def movement(self, kind, inputs, out_shape, attrs):
        scale, zp = _same_q(self.tensors[inputs[0]])
        return self._op(kind, inputs, self._out(out_shape, scale, zp), attrs)

    def lstm(
        self,
        x,
        units,
        hidden_scale=1 / 128,
        hidden_zp=0,
        cell_scale=2.0**-11,
        cell_clip=10.0,
        time_major=False,
        gate_std=2.0,
    ):
        """UNIDIRECTIONAL_SEQUENCE_LSTM of x [batch, time, features] (time_major: [time, batch,
        features]) as the TFLite converter writes a Keras LSTM: four gates, int8 weights per
        tensor scaled so the gates' inputs spread about `gate_std`, state as variable tensors."""
        t = self.tensors[x]
        batches, features = t.shape[1 if time_major else 0], t.shape[2]
        x_std = 1.0 if self.dtype == "float32" else float(t.quant.scale[0]) * 74
        w_scale = gate_std / (np.sqrt(features + units) * max(x_std, 0.5) * 73)
        hidden = self._add(
            ir.Tensor(
                self._name("h"),
                (batches, units),
                self.dtype,
                quant(hidden_scale, hidden_zp) if self.dtype != "float32" else None,
            )
        )
        cell_dtype = "int16" if self.dtype == "int8" else "float32"
        cell = self._add(
            ir.Tensor(
                self._name("c"), (batches, units), cell_dtype, quant(cell_scale) if self.dtype != "float32" else None
            )
        )
        self.state += [hidden, cell]
        weights = [self.weights((units, features), None, scale=w_scale) for _ in range(4)]
        weights += [self.weights((units, units), None, scale=w_scale) for _ in range(4)]
        biases = [self.bias(x, w, units) for w in weights[:4]]
        y = self._out((*t.shape[:2], units), hidden_scale, hidden_zp)
        inputs = (x, *weights, None, None, None, *biases, None, None, hidden, cell, None, None, None, None)
        return self._op("lstm", inputs, y, ir.Lstm(cell_clip, time_major))

    def svdf(self, x, units, rank=2, memory=8, state_dtype="int16", state_zp=0, activation="none", bias=True):
        """SVDF of x [batch, input] as the TFLite converter writes it: units x rank filters, each
        keeping `memory` values in the state (a variable tensor); int8 with int16 (TFLM's
        integer SVDF) or int8 time weights and state, or float32."""
        t = self.tensors[x]
        batches, size = t.shape
        filters = units * rank
        features = self.weights((filters, size), None, scale=0.02)
        if self.dtype == "float32":
            time, state_q, state_dtype = self.weights((filters, memory), None), None, "float32"
        else:
            state_scale = self._acc_scale(x, features, size) / (64 if state_dtype == "int16" else 1)
            limit = 32767 if state_dtype == "int16" else 127
            time = self.const(
                self.rng.integers(-limit, limit + 1, (filters, memory)).astype(state_dtype),
                quant(0.5 / limit / np.sqrt(memory)),
            )
            state_q = quant(state_scale, state_zp)
        state = self._add(ir.Tensor(self._name("s"), (batches, memory * filters), state_dtype, state_q))
        self.state.append(state)
        if not bias:
            b = None
        elif self.dtype == "float32":
            b = self.const(self.rng.normal(0, 0.5, units).astype(np.float32))
        else:
            acc_scale = np.float32(state_scale) * self.tensors[time].quant.scale[0]
            b = self.const(self.rng.integers(-3000, 3000, units).astype(np.int32), quant(acc_scale))
        out_scale = 1.0 if self.dtype == "float32" else float(state_scale * 127 * np.sqrt(rank) / 4)
        y = self._out((batches, units), out_scale, -5 if self.dtype == "int8" else 0)
        return self._op("svdf", (x, features, time, b, state), y, ir.Svdf(rank, activation))

    def _acc_scale(self, x, wt, taps) -> float:
        """An output scale that keeps typical accumulations inside int8 without saturating all."""
        t, w = self.tensors[x], self.tensors[wt]
        if t.dtype == "float32":
            return 1.0
        return float(t.quant.scale[0] * np.mean(w.quant.scale) * 127 * np.sqrt(taps) / 4)

    def reduce(self, kind, x, axes, keepdims=True, out_scale=None, out_zp=None):
        """SUM, REDUCE_MAX or REDUCE_MIN (ir.Mean attributes), shaped as `mean`."""
        y = self.mean(x, axes, keepdims, out_scale, out_zp)
        self.ops[-1] = ir.Op(f"{kind}{len(self.ops) - 1}", kind, (x,), (y,), ir.Mean(tuple(axes), keepdims))
        return y

    def arg_min_max(self, kind, x, axis):
        shape = self.tensors[x].shape
        y = self._add(ir.Tensor(self._name("t"), shape[:axis] + shape[axis + 1 :], "int32", None))
        return self._op(kind, (x,), y, ir.ArgMinMax(axis))

    def prelu(self, x, alpha_shape, alpha_zp=0, out_scale=None, out_zp=0):
        """PRELU with a constant alpha of `alpha_shape` (broadcast to x), mostly in [-0.5, 1.5]."""
        t = self.tensors[x]
        if self.dtype == "float32":
            alpha = self.const(self.rng.uniform(-0.5, 1.5, alpha_shape).astype(np.float32))
        else:
            alpha = self.const(self.rng.integers(-128, 128, alpha_shape).astype(np.int8), quant(1 / 128, alpha_zp))
        shape = np.broadcast_shapes(t.shape, tuple(alpha_shape))
        return self._op("prelu", (x, alpha), self._out(shape, out_scale or _same_q(t)[0], out_zp))

    def batch_matmul(self, a, b, adj_x=False, adj_y=False, out_zp=0):
        """BATCH_MATMUL of two tensors (inputs or consts), an int8 (int16) output scale fit for the depth."""
        x, y = self.tensors[a], self.tensors[b]
        rows, depth = (x.shape[-1], x.shape[-2]) if adj_x else x.shape[-2:]
        cols = y.shape[-2] if adj_y else y.shape[-1]
        shape = (*np.broadcast_shapes(x.shape[:-2], y.shape[:-2]), rows, cols)
        spread = 128 * (512 if x.dtype == "int16" else 1) * np.sqrt(depth) / 2
        out_scale = 1.0 if x.quant is None else float(x.quant.scale[0] * y.quant.scale[0] * spread)
        return self._op("batch_matmul", (a, b), self._out(shape, out_scale, out_zp), ir.BatchMatMul(adj_x, adj_y))

    def add_n(self, inputs, out_scale=None, out_zp=0):
        scale, _ = _same_q(self.tensors[inputs[0]])
        return self._op(
            "add_n", tuple(inputs), self._out(self.tensors[inputs[0]].shape, out_scale or scale * len(inputs), out_zp)
        )

    def cumsum(self, x, axis, exclusive=False, reverse=False, out_scale=None, out_zp=0):
        t = self.tensors[x]
        scale = out_scale or _same_q(t)[0] * t.shape[axis]
        return self._op("cumsum", (x,), self._out(t.shape, scale, out_zp), ir.CumSum(axis, exclusive, reverse))

    def build(self, *outputs: str) -> ir.Graph:
        graph = ir.Graph(
            "single_op",
            dict(self.tensors),
            tuple(self.ops),
            tuple(self.inputs),
            tuple(outputs),
            state=tuple(self.state),
        )
        graph = graph.with_ops(graph.ops)
        graph.validate()
        return graph

    def bool_input(self, shape) -> str:
        name = self._add(ir.Tensor(self._name("t"), tuple(shape), "bool"))
        self.inputs.append(name)
        return name

    def logical_not(self, x) -> str:
        return self._op("logical_not", (x,), self._add(ir.Tensor(self._name("t"), self.tensors[x].shape, "bool")))

    def select(self, condition, a, b, out_scale=None, out_zp=None):
        """SELECT_V2: the output broadcasts all three and keeps a's quantization unless told otherwise."""
        scale, zp = _same_q(self.tensors[a])
        shape = np.broadcast_shapes(*(self.tensors[t].shape for t in (condition, a, b)))
        y = self._out(shape, scale if out_scale is None else out_scale, zp if out_zp is None else out_zp)
        return self._op("select_v2", (condition, a, b), y)

    def broadcast(self, kind, a, b, out_scale=None, out_zp=None, attrs=None, out_dtype=None):
        """A two-input elementwise op (MAXIMUM, DIV, EQUAL, ...): the output takes the
        broadcast shape and, unless told otherwise, a's quantization; a bool output none."""
        scale, zp = _same_q(self.tensors[a])
        shape = np.broadcast_shapes(self.tensors[a].shape, self.tensors[b].shape)
        if out_dtype == "bool":
            return self._op(kind, (a, b), self._add(ir.Tensor(self._name("t"), shape, "bool")), attrs)
        y = self._out(shape, scale if out_scale is None else out_scale, zp if out_zp is None else out_zp)
        return self._op(kind, (a, b), y, attrs)

    def indexed(self, kind, operand, indices, out_shape, update=None, out_dtype=None):
        """GATHER_ND (operand: params), EMBEDDING_LOOKUP (operand: values; out_dtype float32 from int8
        values: the hybrid lookup) or DYNAMIC_UPDATE_SLICE (operand, update, indices: the start);
        `indices` an int32 array (a constant) or the name of an int32 tensor."""
        if not isinstance(indices, str):
            indices = self.const(np.asarray(indices, np.int32))
        inputs = (operand, update, indices) if kind == "dynamic_update_slice" else (operand, indices)
        scale, zp = _same_q(self.tensors[operand])
        dtype = out_dtype or self.tensors[operand].dtype
        y = (
            self._out(out_shape, scale, zp, dtype)
            if dtype != "float32"
            else self._add(ir.Tensor(self._name("t"), tuple(out_shape), "float32"))
        )
        return self._op(kind, inputs, y)

    def reduce_all(self, flags, axes, keepdims=False):
        shape = self.tensors[flags].shape
        out = tuple(1 if i in axes else d for i, d in enumerate(shape) if keepdims or i not in axes)
        return self._op(
            "reduce_all", (flags,), self._add(ir.Tensor(self._name("t"), out, "bool")), ir.Mean(axes, keepdims)
        )


def _same_q(t: ir.Tensor):
    if t.quant is None:
        return 1.0, 0
    return float(t.quant.scale[0]), int(t.quant.zero_point[0])


def _spatial(h, w, kernel, stride, dilation, padding):
    """Output size and explicit padding of TF SAME/VALID."""
    if padding == "same":
        oh, ow = -(-h // stride[0]), -(-w // stride[1])
        top, bottom = same_padding(h, kernel[0], stride[0], dilation[0], oh)
        left, right = same_padding(w, kernel[1], stride[1], dilation[1], ow)
        return oh, ow, ir.Padding(top, bottom, left, right)
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    return (h - eff[0]) // stride[0] + 1, (w - eff[1]) // stride[1] + 1, ir.Padding()


def conv1d_net(length: int = 400, dtype: str = "int8", channels: int = 16) -> ir.Graph:
    """A Conv1D net as the TFLite converter lays one out: one-row images (1 x 1 x L x C)
    between reshapes from and to 1 x L x C sequences, a residual add of sequences, a pooled head.
    At 8 channels an int8 step is 8 B, what a band call weighs (memory.BYTES_PER_CALL): on its
    side layer by layer (3,344 B) then beats the best stage (1,936 B and 250 calls)."""
    g = OpGraph(dtype=dtype)
    x = g.movement("reshape", (g.input((1, length, 3)),), (1, 1, length, 3), ir.NoAttrs())
    a = g.pool("max_pool2d", g.conv2d(x, channels, kernel=(1, 5), padding="valid", activation="relu"), (1, 2), (1, 2))
    b = g.conv2d(a, channels, kernel=(1, 3), activation="relu")
    steps = (length - 4) // 2
    a, b = (g.movement("reshape", (t,), (1, steps, channels), ir.NoAttrs()) for t in (a, b))
    return g.build(g.fully_connected(g.mean(g.binary("add", a, b), (1,), keepdims=False), 3))


# An SRAM budget the test graphs fit: within it the memory-aware kernel choice keeps each
# layer's fastest kernel (it would trade a small layer's scratch for the reference
# kernel's none: memory/kernel_choice.py).
FAST = {"sram_budget": 1 << 20}


def extreme_samples(graph: ir.Graph, random: int = 0, mixed: bool = False, seed: int = 0) -> list[list[np.ndarray]]:
    """Integer inputs at the ends of their types: every input at its minimum, then at its
    maximum, (`mixed`) each element one of the two at random, then `random` samples over
    the whole range."""
    rng = np.random.default_rng(seed)
    inputs = [(graph[name].shape, np.iinfo(graph[name].dtype)) for name in graph.inputs]
    samples = [[np.full(shape, getattr(info, end), info.dtype) for shape, info in inputs] for end in ("min", "max")]
    if mixed:
        samples.append([rng.choice(np.array([info.min, info.max], info.dtype), shape) for shape, info in inputs])
    return samples + [
        [rng.integers(info.min, info.max + 1, shape).astype(info.dtype) for shape, info in inputs]
        for _ in range(random)
    ]


def _compiled(graph: ir.Graph, board: str, tmp_path: Path, options) -> CompileResult:
    Path(tmp_path).mkdir(parents=True, exist_ok=True)
    model = Path(tmp_path) / "model.tflite"
    model.write_bytes(write_tflite(graph))
    return compile_model(model, board=board, out_dir=Path(tmp_path) / "out", **options)


def _assert_verified(out: Path, board: str, runner, samples: list[list[np.ndarray]], oracle: str | None) -> None:
    result = verify(out, board, samples, runner=runner)
    assert result.samples == len(samples) and result.mismatches == 0, (
        f"{result.mismatches}/{result.samples} samples differ from {result.oracle}, max abs diff {result.max_abs_diff}"
    )
    assert oracle in (None, result.oracle), result.oracle


def assert_matches_oracle(
    graph: ir.Graph, tmp_path: Path, samples: int = 5, seed: int = 0, inputs=None, oracle=None, **options
) -> CompileResult:
    """Compile `graph` for the host (`options`: compile_model's, the folder tmp_path/out)
    and require its outputs to equal the oracle's (named `oracle`, if given) on `inputs`
    or random samples: every byte for integers, 1e-5 of the range for floats."""
    compiled = _compiled(graph, "host", tmp_path, options)
    runner = HostModel.build(compiled.out_dir)
    _assert_verified(compiled.out_dir, "host", runner, inputs or random_samples(runner.inputs, samples, seed), oracle)
    return compiled


def assert_matches_oracle_in_qemu(
    graph: ir.Graph,
    board: str,
    tmp_path: Path,
    kernels=frozenset(),
    samples: int = 3,
    seed: int = 5,
    inputs=None,
    oracle=None,
    **options,
) -> CompileResult:
    """The same on `board` in QEMU, requiring `kernels` among those the build runs."""
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    compiled = _compiled(graph, board, tmp_path, options)
    assert set(kernels) <= set(compiled.report["kernels"]), compiled.report["kernels"]
    qemu = QemuModel.build(compiled.out_dir, load_board(board))
    _assert_verified(compiled.out_dir, board, qemu, inputs or random_samples(qemu.inputs, samples, seed), oracle)
    return compiled


def mixed_precision_model(source: Path, path: Path, choose, samples: int = 4) -> Path:
    """`source` (a float model) quantized with `choose(layer names)` -> {layer: precision},
    calibrated on random inputs, written as .tflite: a mixed-precision model to compile."""
    from aiotc.frontend import load_model
    from aiotc.passes import run_passes
    from aiotc.quantize.observe import observe
    from aiotc.quantize.precision import choosable_layers
    from aiotc.quantize.ptq import initial_ranges, quantize_graph

    graph = run_passes(load_model(source))
    shape = graph[graph.inputs[0]].shape
    inputs = [[x[None]] for x in np.random.default_rng(0).uniform(0, 1, (samples, *shape[1:])).astype(np.float32)]
    ranges = initial_ranges(graph, observe(graph, inputs), "mse")
    path.write_bytes(write_tflite(quantize_graph(graph, ranges, choose(choosable_layers(graph)))))
    return path
