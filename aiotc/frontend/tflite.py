"""TFLite frontend: a .tflite flatbuffer becomes an IR Graph.

Reads through the `tflite` schema package. Padding, strided-slice masks and the
constant operands of shape-like ops are resolved here, so later stages see explicit
attributes. Anything wrong with the file becomes a ModelError with one clear line;
all unsupported ops are reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tflite

from .. import ir
from ..errors import ModelError, UnsupportedOpsError
from .checks import check_size
from .recurrent import LSTM_INPUTS, lstm_problem

TENSOR_TYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 6: "bool", 7: "int16", 9: "int8", 17: "int4"}
NUMPY_TYPES = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "int64": np.int64, "bool": np.bool_, "int16": np.int16, "int8": np.int8}
ACTIVATIONS = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}
OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
SAME, VALID = 0, 1


def load_tflite(path: str | Path) -> ir.Graph:
    """Parse a .tflite file into the IR; raises ModelError for anything aiotc cannot use."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 16:
        raise ModelError(f"{path.name}: not a TFLite model (file is {'empty' if not data else f'only {len(data)} bytes'})")
    if data[4:8] != b"TFL3":
        raise ModelError(f"{path.name}: not a TFLite model (no TFL3 flatbuffer identifier)")
    try:
        return _Reader(data, path.stem).graph()
    except (ModelError, UnsupportedOpsError):
        raise
    except Exception as exc:  # flatbuffer accessors fail in many ways on corrupt input
        raise ModelError(f"{path.name}: corrupt or truncated TFLite model ({type(exc).__name__}: {exc})") from None


def same_padding(in_size: int, filter_size: int, stride: int, dilation: int, out_size: int) -> tuple[int, int]:
    """TFLite's SAME padding (ComputePaddingHeightWidth): the odd pixel goes after."""
    effective = (filter_size - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2, total - total // 2


@dataclass
class _Reader:
    buf: bytes
    name: str

    def graph(self) -> ir.Graph:
        model = tflite.Model.GetRootAsModel(self.buf, 0)
        if model.SubgraphsLength() != 1:
            raise ModelError(f"{self.name}: has {model.SubgraphsLength()} subgraphs; aiotc compiles single-subgraph models")
        self.model = model
        sg = model.Subgraphs(0)
        taken: set[str] = set()
        self.tensors = [self._tensor(sg, i, taken) for i in range(sg.TensorsLength())]
        self.by_name = {t.name: t for t in self.tensors}
        ops, problems = [], []
        for index in range(sg.OperatorsLength()):
            op = sg.Operators(index)
            code = model.OperatorCodes(op.OpcodeIndex())
            opname = OP_NAMES.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()), "CUSTOM")
            if opname == "CUSTOM":
                opname = f"CUSTOM:{code.CustomCode().decode(errors='replace')}"
            inputs = [self._name(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
            outputs = [self._name(i) for i in op.OutputsAsNumpy()]
            convert = _CONVERTERS.get(opname)
            layer = outputs[0] if outputs else f"op{index}"
            if convert is None:
                problems.append(f"{opname} at op {index} ({layer})")
                continue
            try:
                ops.append(convert(self, op, layer, inputs, outputs))
            except _Unsupported as why:
                problems.append(f"{opname} at op {index} ({layer}): {why}")
        if problems:
            raise UnsupportedOpsError(problems, SUPPORTED_OPS)
        graph = ir.Graph(
            self.name,
            {t.name: t for t in self.tensors},
            tuple(ops),
            tuple(self._name(i) for i in sg.InputsAsNumpy()),
            tuple(self._name(i) for i in sg.OutputsAsNumpy()),
            state=tuple(t.name for i, t in enumerate(self.tensors) if sg.Tensors(i).IsVariable() and any(t.name in op.inputs for op in ops)),
        )
        graph = graph.with_ops(graph.ops)  # drop tensors no op uses (consumed shape operands)
        try:
            graph.validate()
        except ValueError as exc:
            raise ModelError(f"{self.name}: inconsistent graph: {exc}") from None
        return graph

    # --- tensors ------------------------------------------------------------------

    def _tensor(self, sg, index: int, taken: set[str]) -> ir.Tensor:
        """Tensor `index`, named uniquely (TFLite names may repeat or be empty)."""
        t = sg.Tensors(index)
        dtype = TENSOR_TYPES.get(t.Type())
        label = t.Name().decode(errors="replace") or f"tensor{index}"
        if dtype is None:
            raise _unsupported_type(label, t.Type())
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        # A -1 batch dimension is fixed by `shape` (as TFLite Micro does); any other is dynamic.
        if t.ShapeSignatureLength() and any(int(d) < 0 for d in t.ShapeSignatureAsNumpy()[1:]):
            raise ModelError(f"{self.name}: tensor {label!r} has a dynamic shape {t.ShapeSignatureAsNumpy().tolist()}; aiotc needs static shapes")
        if any(d < 0 for d in shape):
            raise ModelError(f"{self.name}: tensor {label!r} has a negative dimension {list(shape)}")
        check_size(self.name, label, shape, dtype)
        name, suffix = label, 1
        while name in taken:
            suffix += 1
            name = f"{label}#{suffix}"
        taken.add(name)
        return ir.Tensor(name, shape, dtype, self._quant(t, label), self._data(t, dtype, shape, label))

    def _quant(self, t, label: str) -> ir.Quant | None:
        q = t.Quantization()
        if q is None or q.ScaleLength() == 0:
            return None
        scale = q.ScaleAsNumpy().astype(np.float32)
        zero_point = q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength() else np.zeros_like(scale, dtype=np.int64)
        if zero_point.size != scale.size:
            raise ModelError(f"{self.name}: tensor {label!r} has {scale.size} scales but {zero_point.size} zero points")
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ModelError(f"{self.name}: tensor {label!r} has a non-positive or non-finite quantization scale")
        axis = int(q.QuantizedDimension()) if scale.size > 1 else None
        return ir.Quant(scale, zero_point, axis)

    def _data(self, t, dtype: str, shape: tuple[int, ...], label: str) -> np.ndarray | None:
        index = t.Buffer()
        if index == 0 or index >= self.model.BuffersLength():
            return None
        b = self.model.Buffers(index)
        if b.Offset() > 1:  # large models keep buffers after the flatbuffer
            raw = self.buf[b.Offset() : b.Offset() + b.Size()]
        elif b.DataLength():
            raw = b.DataAsNumpy().tobytes()
        else:
            return None
        count = int(np.prod(shape, dtype=np.int64))
        if dtype == "int4":
            if len(raw) != (count + 1) // 2:
                raise ModelError(f"{self.name}: tensor {label!r} holds {len(raw)} bytes, its int4 shape {list(shape)} needs {(count + 1) // 2}")
            packed = np.frombuffer(raw, dtype=np.uint8)
            nibbles = np.stack([packed & 0x0F, packed >> 4], axis=-1).ravel()[:count].astype(np.int8)
            return np.where(nibbles > 7, nibbles - 16, nibbles).astype(np.int8).reshape(shape)
        itemsize = np.dtype(NUMPY_TYPES[dtype]).itemsize
        if len(raw) != count * itemsize:
            raise ModelError(f"{self.name}: tensor {label!r} holds {len(raw)} bytes, its shape {list(shape)} needs {count * itemsize}")
        return np.frombuffer(raw, dtype=NUMPY_TYPES[dtype]).reshape(shape).copy()

    def _name(self, index: int) -> str | None:
        if index < 0:
            return None
        if index >= len(self.tensors):
            raise ModelError(f"{self.name}: an op refers to tensor {index}, the model has {len(self.tensors)}")
        return self.tensors[index].name

    def const(self, name: str | None) -> np.ndarray:
        tensor = self.by_name.get(name) if name else None
        if tensor is None or tensor.data is None:
            raise _Unsupported(f"operand {name!r} must be a constant")
        return tensor.data

    def shape(self, name: str) -> tuple[int, ...]:
        return self.by_name[name].shape


class _Unsupported(Exception):
    """An op whose type is supported but whose options or operands are not."""


def _unsupported_type(label: str, code: int) -> ModelError:
    names = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
    return ModelError(f"tensor {label!r} has type {names.get(code, code)}, which aiotc does not support")


def _options(op, cls):
    table = op.BuiltinOptions()
    options = cls()
    if table is not None:
        options.Init(table.Bytes, table.Pos)
    return options


def _activation(code: int) -> str:
    if code not in ACTIVATIONS:
        raise _Unsupported(f"fused activation {code} is not supported")
    return ACTIVATIONS[code]


def _spatial_padding(mode: int, in_shape, out_shape, kernel, stride, dilation=(1, 1)) -> ir.Padding:
    if mode == VALID:
        return ir.Padding()
    top, bottom = same_padding(in_shape[1], kernel[0], stride[0], dilation[0], out_shape[1])
    left, right = same_padding(in_shape[2], kernel[1], stride[1], dilation[1], out_shape[2])
    return ir.Padding(top, bottom, left, right)


def _conv(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.Conv2DOptions)
    stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    kernel = r.shape(inputs[1])[1:3]
    padding = _spatial_padding(o.Padding(), r.shape(inputs[0]), r.shape(outputs[0]), kernel, stride, dilation)
    bias = inputs[2] if len(inputs) > 2 else None
    attrs = ir.Conv2D(stride, dilation, padding, _activation(o.FusedActivationFunction()))
    return ir.Op(layer, "conv2d", (inputs[0], inputs[1], bias), (outputs[0],), attrs)


def _depthwise(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.DepthwiseConv2DOptions)
    stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    kernel = r.shape(inputs[1])[1:3]
    padding = _spatial_padding(o.Padding(), r.shape(inputs[0]), r.shape(outputs[0]), kernel, stride, dilation)
    multiplier = r.shape(outputs[0])[3] // max(r.shape(inputs[0])[3], 1)
    bias = inputs[2] if len(inputs) > 2 else None
    attrs = ir.DepthwiseConv2D(stride, dilation, padding, multiplier, _activation(o.FusedActivationFunction()))
    return ir.Op(layer, "depthwise_conv2d", (inputs[0], inputs[1], bias), (outputs[0],), attrs)


def _fully_connected(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.FullyConnectedOptions)
    if o.WeightsFormat() != 0:
        raise _Unsupported("shuffled weights format")
    bias = inputs[2] if len(inputs) > 2 else None
    attrs = ir.FullyConnected(_activation(o.FusedActivationFunction()), bool(o.KeepNumDims()))
    return ir.Op(layer, "fully_connected", (inputs[0], inputs[1], bias), (outputs[0],), attrs)


def _pool(kind: str):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        o = _options(op, tflite.Pool2DOptions)
        kernel, stride = (o.FilterHeight(), o.FilterWidth()), (o.StrideH(), o.StrideW())
        padding = _spatial_padding(o.Padding(), r.shape(inputs[0]), r.shape(outputs[0]), kernel, stride)
        attrs = ir.Pool2D(kernel, stride, padding, _activation(o.FusedActivationFunction()))
        return ir.Op(layer, kind, (inputs[0],), (outputs[0],), attrs)

    return convert


def _binary(kind: str, options_class):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        o = _options(op, options_class)
        return ir.Op(layer, kind, tuple(inputs[:2]), (outputs[0],), ir.Binary(_activation(o.FusedActivationFunction())))

    return convert


def _mean(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    rank = len(r.shape(inputs[0]))
    axes = tuple(sorted({int(a) % rank for a in np.atleast_1d(r.const(inputs[1]))}))
    keepdims = bool(_options(op, tflite.ReducerOptions).KeepDims())
    return ir.Op(layer, "mean", (inputs[0],), (outputs[0],), ir.Mean(axes, keepdims))


def _pad(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    paddings = r.const(inputs[1]).reshape(-1, 2)
    if len(inputs) > 2 and inputs[2] is not None:
        value = r.const(inputs[2]).ravel()[0]
        out = r.by_name[outputs[0]]
        neutral = int(out.quant.zero_point.ravel()[0]) if out.quant is not None else 0
        if value != neutral:
            raise _Unsupported(f"padding with constant {value} (only the zero point is supported)")
    attrs = ir.Pad(tuple((int(a), int(b)) for a, b in paddings))
    return ir.Op(layer, "pad", (inputs[0],), (outputs[0],), attrs)


def _concat(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.ConcatenationOptions)
    rank = len(r.shape(outputs[0]))
    return ir.Op(layer, "concat", tuple(inputs), (outputs[0],), ir.Concat(o.Axis() % rank, _activation(o.FusedActivationFunction())))


def _unary(kind: str):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        return ir.Op(layer, kind, (inputs[0],), (outputs[0],), ir.NoAttrs())

    return convert


def _softmax(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    return ir.Op(layer, "softmax", (inputs[0],), (outputs[0],), ir.Softmax(float(_options(op, tflite.SoftmaxOptions).Beta())))


def _leaky_relu(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    return ir.Op(layer, "leaky_relu", (inputs[0],), (outputs[0],), ir.LeakyRelu(float(_options(op, tflite.LeakyReluOptions).Alpha())))


def _transpose(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    perm = tuple(int(p) for p in r.const(inputs[1]).ravel())
    return ir.Op(layer, "transpose", (inputs[0],), (outputs[0],), ir.Transpose(perm))


def _strided_slice(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.StridedSliceOptions)
    if o.EllipsisMask() or o.NewAxisMask():
        raise _Unsupported("ellipsis and new-axis masks")
    shape = r.shape(inputs[0])
    begin, end, strides = (r.const(inputs[i]).ravel().astype(np.int64) for i in (1, 2, 3))
    attrs = resolve_strided_slice(shape, begin, end, strides, o.BeginMask(), o.EndMask(), o.ShrinkAxisMask(), bool(o.Offset()))
    return ir.Op(layer, "strided_slice", (inputs[0],), (outputs[0],), attrs)


def _lstm(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.UnidirectionalSequenceLSTMOptions)
    inputs = (*inputs, *[None] * (LSTM_INPUTS - len(inputs)))
    diagonal = "diagonal recurrent weights not supported yet" if o.DiagonalRecurrentTensors() else None
    problem = diagonal or lstm_problem(r.by_name, inputs, outputs, o.FusedActivationFunction())
    if problem:
        raise _Unsupported(problem)
    return ir.Op(layer, "lstm", inputs, (outputs[0],), ir.Lstm(float(o.CellClip()), bool(o.TimeMajor())))


def resolve_strided_slice(shape, begin, end, strides, begin_mask, end_mask, shrink_mask, offset=False) -> ir.StridedSlice:
    """TFLite's StartForAxis/StopForAxis: masks and negative indices become concrete bounds."""
    b_out, e_out, s_out = [], [], []
    for axis, dim in enumerate(shape):
        if axis >= len(begin):
            b_out.append(0), e_out.append(dim), s_out.append(1)
            continue
        stride = int(strides[axis])
        if stride == 0:
            raise _Unsupported("a stride of 0")
        start = int(begin[axis])
        stop = int(end[axis]) + (start if offset else 0)
        if shrink_mask >> axis & 1:
            start = start + dim if start < 0 else start
            start = min(max(start, 0), dim - 1)
            b_out.append(start), e_out.append(start + 1), s_out.append(1)
            continue
        if begin_mask >> axis & 1:
            start = 0 if stride > 0 else dim - 1
        else:
            start = start + dim if start < 0 else start
            start = min(max(start, 0), dim) if stride > 0 else min(max(start, -1), dim - 1)
        if end_mask >> axis & 1:
            stop = dim if stride > 0 else -1
        else:
            stop = stop + dim if stop < 0 else stop
            stop = min(max(stop, 0), dim) if stride > 0 else min(max(stop, -1), dim - 1)
        b_out.append(start), e_out.append(stop), s_out.append(stride)
    return ir.StridedSlice(tuple(b_out), tuple(e_out), tuple(s_out))


_CONVERTERS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool("avg_pool2d"),
    "MAX_POOL_2D": _pool("max_pool2d"),
    "ADD": _binary("add", tflite.AddOptions),
    "SUB": _binary("sub", tflite.SubOptions),
    "MUL": _binary("mul", tflite.MulOptions),
    "MEAN": _mean,
    "PAD": _pad,
    "PADV2": _pad,
    "CONCATENATION": _concat,
    "RESHAPE": _unary("reshape"),
    "SQUEEZE": _unary("reshape"),
    "SOFTMAX": _softmax,
    "LOGISTIC": _unary("logistic"),
    "TANH": _unary("tanh"),
    "RELU": _unary("relu"),
    "RELU6": _unary("relu6"),
    "HARD_SWISH": _unary("hard_swish"),
    "LEAKY_RELU": _leaky_relu,
    "QUANTIZE": _unary("quantize"),
    "DEQUANTIZE": _unary("dequantize"),
    "TRANSPOSE": _transpose,
    "STRIDED_SLICE": _strided_slice,
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _lstm,
}
SUPPORTED_OPS = tuple(sorted(_CONVERTERS))
