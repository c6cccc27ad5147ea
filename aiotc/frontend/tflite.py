"""TFLite frontend: a .tflite flatbuffer becomes an IR Graph.

Reads through the `tflite` schema package. Padding, strided-slice masks and the
constant operands of shape-like ops are resolved here, so later stages see explicit
attributes. Anything wrong with the file becomes a ModelError with one clear line;
all unsupported ops are reported at once.

Shapes are made static here: an input's -1 batch is 1 (a microcontroller runs one
sample), an op whose inputs are all constant (or SHAPE of a static tensor) is evaluated
by numpy (FOLDERS: Keras writes Flatten's target shape as SHAPE -> STRIDED_SLICE ->
PACK), and a tensor whose shape the file leaves dynamic takes the one its op computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import tflite

from .. import ir
from ..errors import ModelError, UnsupportedOpsError
from .checks import SHAPE_RULES, check_counts, check_size
from .recurrent import lstm_problem, svdf_problem

TENSOR_TYPES = {
    0: "float32",
    1: "float16",  # constants only: a hybrid model's weights behind DEQUANTIZE (frontend/hybrid.py)
    2: "int32",
    3: "uint8",
    4: "int64",
    6: "bool",
    7: "int16",
    9: "int8",
    15: "uint32",  # constants only (shapes, indices): evaluated at compile time
    17: "int4",
}
TENSOR_TYPES[13] = "int32"  # RESOURCE: a variable's handle (an int32 id in tflite-micro), read by the frontend only
NUMPY_TYPES = {
    "float32": np.float32,
    "int32": np.int32,
    "uint8": np.uint8,
    "int64": np.int64,
    "bool": np.bool_,
    "int16": np.int16,
    "int8": np.int8,
    "uint32": np.uint32,
    "float16": np.float16,
}
CONSTANT_ONLY = {"uint32": "shapes, indices", "float16": "weights behind DEQUANTIZE"}
ACTIVATIONS = {0: "none", 1: "relu", 2: "relu_n1_to_1", 3: "relu6"}
OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
SAME, VALID = 0, 1


def load_tflite(path: str | Path) -> ir.Graph:
    """Parse a .tflite file into the IR; raises ModelError for anything aiotc cannot use."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 16:
        raise ModelError(
            f"{path.name}: not a TFLite model (file is {'empty' if not data else f'only {len(data)} bytes'})"
        )
    if data[4:8] != b"TFL3":
        raise ModelError(f"{path.name}: not a TFLite model (no TFL3 flatbuffer identifier)")
    try:
        return _Reader(data, path.stem).graph()
    except (ModelError, UnsupportedOpsError):
        raise
    except Exception as exc:  # flatbuffer accessors fail in many ways on corrupt input
        if not _valid_flatbuffer(data):
            raise ModelError(f"{path.name}: corrupt or truncated TFLite model ({type(exc).__name__}: {exc})") from None
        raise RuntimeError(
            f"{path.name}: aiotc failed to read this valid TFLite model ({type(exc).__name__}: {exc})"
        ) from exc


def _valid_flatbuffer(data: bytes) -> bool:
    """Whether TFLite's own flatbuffer verifier (in LiteRT, when installed) accepts the file:
    if it does, a reading failure is aiotc's bug, not the user's file."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        return False
    try:
        Interpreter(model_content=data)
    except ValueError as exc:
        return "not a valid Flatbuffer" not in str(exc)
    except Exception:  # e.g. an op LiteRT does not resolve: the structure itself was read
        return True
    return True


def same_padding(in_size: int, filter_size: int, stride: int, dilation: int, out_size: int) -> tuple[int, int]:
    """TFLite's SAME padding (ComputePaddingHeightWidth): the odd pixel goes after."""
    effective = (filter_size - 1) * dilation + 1
    total = max((out_size - 1) * stride + effective - in_size, 0)
    return total // 2, total - total // 2


def transpose_same_padding(out_hw, kernel, stride) -> tuple[int, int]:
    """TRANSPOSE_CONV's SAME padding (top, left): tflite-micro's for a convolution from
    the output's size to the input's."""
    top, left = (same_padding(o, k, s, 1, -(-o // s))[0] for o, k, s in zip(out_hw, kernel, stride))
    return top, left


@dataclass
class _Reader:
    buf: bytes
    name: str

    def graph(self) -> ir.Graph:
        model = tflite.Model.GetRootAsModel(self.buf, 0)
        if model.SubgraphsLength() < 1:
            raise ModelError(f"{self.name}: has no subgraph")
        self.model = model  # subgraph 0 is the model; others run only as CALL_ONCE's init (`variables`)
        self.variables = _Variables()
        sg = model.Subgraphs(0)
        check_counts(self.name, sg.OperatorsLength(), sg.TensorsLength())
        self.taken: set[str] = set()  # tensor names, unique across inlined subgraphs too
        self.inlined: dict[tuple[int, int], str] = {}  # (subgraph, tensor index) -> a constant's one name
        taken = self.taken
        self.dynamic: dict[str, list[int]] = {}  # tensors whose declared shape is a placeholder: their signature
        self.untyped: dict[str, str] = {}  # tensors of a type aiotc has no dtype for -> its TFLite name
        self.graph_inputs = {int(i) for i in sg.InputsAsNumpy()}
        self.tensors = [self._tensor(sg, i, taken) for i in range(sg.TensorsLength())]
        self.by_name = {t.name: t for t in self.tensors}
        self.alias: dict[str, str] = {}  # a WHILE's outputs -> the last iteration's values
        ops, problems = self.run_subgraph(sg, self._name)
        if problems:
            raise UnsupportedOpsError(problems, SUPPORTED_OPS)
        self._check_types(ops)
        used = {name for o in ops for name in (*o.inputs, *o.outputs)} | {self._name(i) for i in sg.InputsAsNumpy()}
        for name in self.dynamic:
            if name in used and self._open(name):
                raise ModelError(
                    f"{self.name}: tensor {name!r} has a dynamic shape {self.dynamic[name]}; aiotc fixes the "
                    "batch to 1 but no op gives this tensor a static shape"
                )
        graph_outputs = tuple(self.alias.get(name, name) for name in map(self._name, sg.OutputsAsNumpy()))
        if any(self.variables.read(name) != name for name in graph_outputs):
            raise ModelError(
                f"{self.name}: a model output is a resource variable's value; aiotc cannot compile that yet"
            )
        graph = ir.Graph(
            self.name,
            dict(self.by_name),
            tuple(ops),
            tuple(self._name(i) for i in sg.InputsAsNumpy()),
            graph_outputs,
            state=tuple(
                t.name
                for i, t in enumerate(self.tensors)
                if sg.Tensors(i).IsVariable() and any(t.name in op.inputs for op in ops)
            )
            + tuple(self.variables.state.values()),
            state_init=self.variables.initial_values(self),
            state_updates=dict(self.variables.updates),
        )
        graph = graph.with_ops(graph.ops)  # drop tensors no op uses (consumed shape operands)
        try:
            graph.validate()
        except ValueError as exc:
            raise ModelError(f"{self.name}: inconsistent graph: {exc}") from None
        return graph

    def run_subgraph(self, sg, name_of) -> tuple[list[ir.Op], list[str]]:
        """Convert the ops of subgraph `sg`, whose tensor i is named name_of(i) (None: absent):
        the IR ops, and why each unsupported op is (evaluated ops settle their outputs)."""
        model = self.model
        ops: list[ir.Op] = []
        problems: list[str] = []
        for index in range(sg.OperatorsLength()):
            op = sg.Operators(index)
            if op.OpcodeIndex() >= model.OperatorCodesLength():
                raise ModelError(
                    f"{self.name}: op {index} has operator code {op.OpcodeIndex()}, the model has {model.OperatorCodesLength()}"
                )
            opname = _op_name(model.OperatorCodes(op.OpcodeIndex()))
            inputs = [self.read(name_of(i)) for i in op.InputsAsNumpy()] if op.InputsLength() else []
            outputs = [name_of(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
            layer = outputs[0] if outputs else f"op{index}"
            needed = REQUIRED_INPUTS.get(opname, 1)
            outputs_ok = (
                len(outputs) >= 1 and None not in outputs
                if opname in MULTI_OUTPUT
                else len(outputs) == (0 if opname in NO_OUTPUTS else 1)
            )
            if (opname in _CONVERTERS or opname in FOLDERS) and (
                not outputs_ok or len(inputs) < needed or None in inputs[:needed]
            ):
                raise ModelError(
                    f"{self.name}: {opname} at op {index} ({layer}) needs {needed} input(s) and "
                    f"{'outputs' if opname in MULTI_OUTPUT else 'no output' if opname in NO_OUTPUTS else 'one output'}, has {inputs} and {outputs}"
                )
            try:
                if self._foldable(opname, inputs, outputs):
                    try:
                        value = FOLDERS[opname](self, op, inputs, outputs)
                    except (ValueError, IndexError) as exc:  # numpy on the model's own constants
                        raise ModelError(
                            f"{self.name}: {opname} at op {index} ({layer}) cannot be evaluated on its constants ({exc})"
                        ) from None
                    self.settle(outputs[0], value)
                    continue
                convert = _CONVERTERS.get(opname)
                if convert is None:
                    problems.append(
                        f"{opname} at op {index} ({layer})"
                        + (": aiotc evaluates it only on constants" if opname in FOLDERS else "")
                    )
                    continue
                converted = convert(self, op, layer, inputs, outputs)
                ops.extend(self.settle_op(o) for o in (converted if isinstance(converted, list) else [converted]))
            except _Unsupported as why:
                problems.append(f"{opname} at op {index} ({layer}): {why}")
        return ops, problems

    def read(self, name: str | None) -> str | None:
        """The tensor an op reads for `name`: a WHILE output's last value, a variable's state, else `name`."""
        return self.variables.read(self.alias.get(name, name)) if name else name

    def _check_types(self, ops: list[ir.Op]) -> None:
        """Tensors of a type aiotc cannot compute with, refused only here, after the unsupported
        ops: a model's unsupported ops (the signal library's, which make UINT32/UINT64 values)
        are the answer a user needs first. UINT32 is taken where it is a constant (folded)."""
        for op in ops:
            for name in (t for t in (*op.inputs, *op.outputs) if t):
                if name in self.untyped:
                    raise ModelError(
                        f"{self.name}: tensor {name!r} has type {self.untyped[name]}, which aiotc does not support"
                    )
                dtype = self.by_name[name].dtype
                if dtype in CONSTANT_ONLY and not self.by_name[name].is_const:
                    raise ModelError(
                        f"{self.name}: tensor {name!r} has type {dtype.upper()} and is computed at run time (layer "
                        f"{op.name!r}); aiotc takes {dtype.upper()} tensors only as constants ({CONSTANT_ONLY[dtype]})"
                    )

    # --- tensors ------------------------------------------------------------------

    def _tensor(self, sg, index: int, taken: set[str], main: bool = True) -> ir.Tensor:
        """Tensor `index`, named uniquely (TFLite names may repeat, be empty or absent); `main`:
        of subgraph 0, whose inputs take a batch of 1."""
        t = sg.Tensors(index)
        model_input = main and index in self.graph_inputs
        dtype = TENSOR_TYPES.get(t.Type())
        label = (t.Name() or b"").decode(errors="replace") or f"tensor{index}"
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        if any(d < 0 for d in shape):
            raise ModelError(f"{self.name}: tensor {label!r} has a negative dimension {list(shape)}")
        signature = (
            [int(d) for d in t.ShapeSignatureAsNumpy()] if 0 < t.ShapeSignatureLength() == len(shape) else list(shape)
        )
        if any(0 <= s != d for s, d in zip(signature, shape)):
            raise ModelError(f"{self.name}: tensor {label!r} has shape {list(shape)} but signature {signature}")
        # A graph input's -1 batch is 1: a microcontroller runs one sample. Elsewhere a -1
        # in the signature makes `shape` (where converters write 1) a placeholder until the
        # op computing the tensor settles it: a first dimension of -1 need not be the batch
        # (a Dense layer on 3-D inputs reshapes to [-1, features]).
        if model_input and signature[:1] == [-1]:
            shape = (1, *shape[1:])
        dynamic = any(d < 0 for d in signature[1 if model_input else 0 :])
        check_size(self.name, label, shape, dtype)
        name, suffix = label, 1
        while name in taken:
            suffix += 1
            name = f"{label}#{suffix}"
        taken.add(name)
        if dtype is None:  # refused if a converted op reads or writes it (_check_types)
            self.untyped[name] = TYPE_NAMES.get(t.Type(), str(t.Type()))
            return ir.Tensor(name, shape, self.untyped[name].lower())
        data = self._data(t, dtype, shape, label)
        if dynamic and data is None:
            self.dynamic[name] = signature
        return ir.Tensor(name, shape, dtype, self._quant(t, label, shape), data)

    def _quant(self, t, label: str, shape: tuple[int, ...]) -> ir.Quant | None:
        q = t.Quantization()
        if q is None or q.ScaleLength() == 0:
            return None
        scale = q.ScaleAsNumpy().astype(np.float32)
        zero_point = (
            q.ZeroPointAsNumpy().astype(np.int64) if q.ZeroPointLength() else np.zeros_like(scale, dtype=np.int64)
        )
        if zero_point.size != scale.size:
            raise ModelError(f"{self.name}: tensor {label!r} has {scale.size} scales but {zero_point.size} zero points")
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ModelError(f"{self.name}: tensor {label!r} has a non-positive or non-finite quantization scale")
        axis = int(q.QuantizedDimension()) if scale.size > 1 else None
        # tflite-micro checks quantized_dimension only on a filter (the scales must number
        # the filter's dims[quantized_dimension], the output channels; checks.py says the
        # same) and never reads a bias's, whose per-channel scales no kernel uses. So a 1-D
        # tensor's scales lie along its one axis, whatever the field says.
        if axis is not None and len(shape) == 1 and shape[0] == scale.size:
            axis = 0
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
                raise ModelError(
                    f"{self.name}: tensor {label!r} holds {len(raw)} bytes, its int4 shape {list(shape)} needs {(count + 1) // 2}"
                )
            packed = np.frombuffer(raw, dtype=np.uint8)
            nibbles = np.stack([packed & 0x0F, packed >> 4], axis=-1).ravel()[:count].astype(np.int8)
            return np.where(nibbles > 7, nibbles - 16, nibbles).astype(np.int8).reshape(shape)
        itemsize = np.dtype(NUMPY_TYPES[dtype]).itemsize
        if len(raw) != count * itemsize:
            raise ModelError(
                f"{self.name}: tensor {label!r} holds {len(raw)} bytes, its shape {list(shape)} needs {count * itemsize}"
            )
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

    def constant(self, label: str, value: np.ndarray) -> str:
        """A new constant tensor (a converter's narrowed operand), named uniquely."""
        name, suffix = label, 1
        while name in self.taken:
            suffix += 1
            name = f"{label}#{suffix}"
        self.taken.add(name)
        self.by_name[name] = ir.Tensor(name, value.shape, str(value.dtype), None, value)
        return name

    def shape(self, name: str) -> tuple[int, ...]:
        if self._open(name):
            raise _Unsupported(f"operand {name!r} has a dynamic shape {self.dynamic[name]}")
        return self.by_name[name].shape

    def _open(self, name: str | None) -> bool:
        """Whether `name` is unsettled in more than its first dimension: its declared shape
        cannot stand (an open first dimension keeps the declared one, as tflite-micro would)."""
        return name in self.dynamic and any(d < 0 for d in self.dynamic[name][1:])

    def _foldable(self, opname: str, inputs, outputs) -> bool:
        """Whether the op's one output is known now: unquantized constant inputs (SHAPE: a static one)."""
        if opname not in FOLDERS:
            return False
        present = [self.by_name[name] for name in inputs if name is not None]
        if any(name in self.untyped for name in (*inputs, *outputs)):
            return False
        if opname == "SHAPE":
            return bool(present) and present[0].name not in self.dynamic
        return all(t.is_const and t.quant is None for t in present) and self.by_name[outputs[0]].quant is None

    def settle(self, name: str, value: np.ndarray | tuple[int, ...]) -> None:
        """Give `name` its value (a folded constant) or its shape (a tuple: for a tensor the file left dynamic)."""
        old = self.by_name[name]
        if not isinstance(value, tuple):
            data: np.ndarray = np.asarray(value).astype(NUMPY_TYPES[old.dtype])
            if name not in self.dynamic and data.shape != old.shape:
                raise ModelError(
                    f"{self.name}: tensor {name!r} is declared {list(old.shape)} but evaluates to {list(data.shape)}"
                )
            self.by_name[name] = ir.Tensor(name, data.shape, old.dtype, old.quant, data)
        elif name in self.dynamic:
            signature = self.dynamic[name]
            if len(value) != len(signature) or any(0 <= s != v for s, v in zip(signature, value)):
                raise ModelError(f"{self.name}: tensor {name!r} is declared {signature}, its op computes {list(value)}")
            self.by_name[name] = ir.Tensor(name, tuple(int(d) for d in value), old.dtype, old.quant)
        else:
            return
        self.dynamic.pop(name, None)
        check_size(self.name, name, self.by_name[name].shape, old.dtype)

    def settle_op(self, op: ir.Op) -> ir.Op:
        """Settle a dynamic output to the shape the op computes from its (static) inputs."""
        out = op.outputs[0]
        if out in self.dynamic:
            compute = _OUTPUT_SHAPES.get(op.kind) or SHAPE_RULES.get(op.kind)
            shape = compute(op, self.by_name) if compute else None
            if isinstance(shape, tuple):
                self.settle(out, shape)
        return op


class _Unsupported(Exception):
    """An op whose type is supported but whose options or operands are not."""


TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}


def _op_name(code) -> str:
    """The op's builtin name; CUSTOM:name; BUILTIN_n for a code newer than the schema."""
    number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    if number == tflite.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{(code.CustomCode() or b'?').decode(errors='replace')}"
    return OP_NAMES.get(number, f"BUILTIN_{number}")


def _options(op, cls):
    table = op.BuiltinOptions()
    options = cls()
    if table is not None:
        if op.BuiltinOptionsType() != getattr(tflite.BuiltinOptions, cls.__name__):
            raise _Unsupported(f"its options are not {cls.__name__}")
        options.Init(table.Bytes, table.Pos)
    return options


def _activation(code: int) -> str:
    if code not in ACTIVATIONS:
        raise _Unsupported(f"fused activation {code} is not supported")
    return ACTIVATIONS[code]


def _spatial_padding(mode: int, in_shape, kernel, stride, dilation=(1, 1)) -> ir.Padding:
    """SAME padding for the output size TFLite computes (ceil(in / stride)), not the declared one."""
    if mode == VALID:
        return ir.Padding()
    if len(in_shape) != 4 or min(stride) < 1:
        raise _Unsupported(f"input {list(in_shape)} and stride {list(stride)} (NHWC, positive strides)")
    top, bottom = same_padding(in_shape[1], kernel[0], stride[0], dilation[0], -(-in_shape[1] // stride[0]))
    left, right = same_padding(in_shape[2], kernel[1], stride[1], dilation[1], -(-in_shape[2] // stride[1]))
    return ir.Padding(top, bottom, left, right)


def _conv(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.Conv2DOptions)
    stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    kernel = r.shape(inputs[1])[1:3]
    padding = _spatial_padding(o.Padding(), r.shape(inputs[0]), kernel, stride, dilation)
    bias = inputs[2] if len(inputs) > 2 else None
    attrs = ir.Conv2D(stride, dilation, padding, _activation(o.FusedActivationFunction()))
    return ir.Op(layer, "conv2d", (inputs[0], inputs[1], bias), (outputs[0],), attrs)


def _depthwise(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.DepthwiseConv2DOptions)
    if len(r.shape(inputs[0])) != 4 or len(r.shape(inputs[1])) != 4:
        raise ModelError(f"{layer}: a depthwise convolution takes a 4-D input and filter (tflite-micro's rule)")
    stride, dilation = (o.StrideH(), o.StrideW()), (o.DilationHFactor(), o.DilationWFactor())
    kernel = r.shape(inputs[1])[1:3]
    padding = _spatial_padding(o.Padding(), r.shape(inputs[0]), kernel, stride, dilation)
    multiplier = r.shape(inputs[1])[3] // max(r.shape(inputs[0])[3], 1)
    bias = inputs[2] if len(inputs) > 2 else None
    attrs = ir.DepthwiseConv2D(stride, dilation, padding, multiplier, _activation(o.FusedActivationFunction()))
    return ir.Op(layer, "depthwise_conv2d", (inputs[0], inputs[1], bias), (outputs[0],), attrs)


def _transpose_conv(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    """Inputs (output_shape, filter, input[, bias]). tflite-micro never reads output_shape's
    values (the seanet models even feed it as a graph input): the output tensor's declared
    shape is the output, settled from output_shape where the file left it dynamic. SAME
    padding is TFLite's for a convolution from the output's size to the input's."""
    o = _options(op, tflite.TransposeConvOptions)
    if r.by_name[inputs[0]].is_const:
        r.settle(outputs[0], tuple(int(d) for d in r.const(inputs[0]).ravel()))
    stride, kernel, out_shape = (o.StrideH(), o.StrideW()), r.shape(inputs[1])[1:3], r.shape(outputs[0])
    if len(out_shape) != 4 or min(stride) < 1:
        raise _Unsupported(f"output {list(out_shape)} and stride {list(stride)} (NHWC, positive strides)")
    padding = transpose_same_padding(out_shape[1:3], kernel, stride) if o.Padding() != VALID else (0, 0)
    bias = inputs[3] if len(inputs) > 3 else None
    if bias is not None and r.by_name[bias].dtype == "int16" and r.by_name[bias].is_const:
        old = r.by_name[bias]  # a 16x8 layer's int16 bias, which tflite-micro widens to int64
        bias = f"{bias}/int64"
        r.by_name[bias] = ir.Tensor(bias, old.shape, "int64", old.quant, old.data.astype(np.int64))
    attrs = ir.TransposeConv(stride, padding, _activation(o.FusedActivationFunction()))
    return ir.Op(layer, "transpose_conv", (inputs[2], inputs[1], bias), (outputs[0],), attrs)


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
        padding = _spatial_padding(o.Padding(), r.shape(inputs[0]), kernel, stride)
        attrs = ir.Pool2D(kernel, stride, padding, _activation(o.FusedActivationFunction()))
        return ir.Op(layer, kind, (inputs[0],), (outputs[0],), attrs)

    return convert


def _binary(kind: str, options_class):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        o = _options(op, options_class)
        return ir.Op(layer, kind, tuple(inputs[:2]), (outputs[0],), ir.Binary(_activation(o.FusedActivationFunction())))

    return convert


def _reduce(kind: str):
    """MEAN, SUM, REDUCE_MAX, REDUCE_MIN, REDUCE_ALL: constant axes (negative ones counted from the end)."""

    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        rank = len(r.shape(inputs[0]))
        axes = tuple(sorted({int(a) % rank for a in np.atleast_1d(r.const(inputs[1]))}))
        keepdims = bool(_options(op, tflite.ReducerOptions).KeepDims())
        if kind in ("reduce_max", "reduce_min") and not _same_quant(
            r.by_name[inputs[0]].quant, r.by_name[outputs[0]].quant
        ):
            raise _Unsupported("input and output quantization differ (tflite-micro's int8 max/min copies values)")
        return ir.Op(layer, kind, (inputs[0],), (outputs[0],), ir.Mean(axes, keepdims))

    return convert


def _same_quant(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return np.array_equal(a.scale, b.scale) and np.array_equal(a.zero_point, b.zero_point)


def _arg_min_max(kind: str):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        if r.by_name[outputs[0]].dtype != "int32":
            raise _Unsupported(f"{r.by_name[outputs[0]].dtype} output (tflite-micro writes int32 indices)")
        axis = np.atleast_1d(r.const(inputs[1]))
        if axis.size != 1:
            raise _Unsupported(f"axis {list(axis)}: one axis only")
        return ir.Op(layer, kind, (inputs[0],), (outputs[0],), ir.ArgMinMax(int(axis[0]) % len(r.shape(inputs[0]))))

    return convert


def _prelu(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    alpha = r.by_name[inputs[1]].quant
    if alpha is not None and alpha.scale.size > 1:
        raise _Unsupported("per-channel alpha quantization (tflite-micro reads one alpha scale)")
    return ir.Op(layer, "prelu", (inputs[0], inputs[1]), (outputs[0],), ir.NoAttrs())


def _l2_normalization(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    if _activation(_options(op, tflite.L2NormOptions).FusedActivationFunction()) != "none":
        raise _Unsupported("a fused activation (tflite-micro refuses it)")
    return ir.Op(layer, "l2_normalization", (inputs[0],), (outputs[0],), ir.NoAttrs())


def _batch_matmul(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.BatchMatMulOptions)
    if any(q is not None and q.scale.size > 1 for q in (r.by_name[inputs[0]].quant, r.by_name[inputs[1]].quant)):
        raise _Unsupported("per-channel quantization (tflite-micro reads one scale per operand)")
    return ir.Op(
        layer, "batch_matmul", (inputs[0], inputs[1]), (outputs[0],), ir.BatchMatMul(bool(o.AdjX()), bool(o.AdjY()))
    )


def _add_n(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    if not all(_same_quant(r.by_name[inputs[0]].quant, r.by_name[name].quant) for name in inputs):
        raise _Unsupported("inputs quantized differently (tflite-micro needs one scale and zero point)")
    return ir.Op(layer, "add_n", tuple(inputs), (outputs[0],), ir.NoAttrs())


def _cumsum(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.CumsumOptions)
    axis = int(np.atleast_1d(r.const(inputs[1]))[0]) % len(r.shape(inputs[0]))
    return ir.Op(layer, "cumsum", (inputs[0],), (outputs[0],), ir.CumSum(axis, bool(o.Exclusive()), bool(o.Reverse())))


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
    rank = len(r.shape(inputs[0]))
    if rank == 0:
        raise _Unsupported("scalar inputs")
    inputs = [name for name in inputs if name is None or not (r.by_name[name].is_const and r.by_name[name].size == 0)]
    if len(inputs) == 1 and _activation(o.FusedActivationFunction()) == "none":  # the others were empty
        return ir.Op(layer, "reshape", (inputs[0],), (outputs[0],), ir.NoAttrs())
    return ir.Op(
        layer,
        "concat",
        tuple(inputs),
        (outputs[0],),
        ir.Concat(o.Axis() % rank, _activation(o.FusedActivationFunction())),
    )


def _unary(kind: str):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        return ir.Op(layer, kind, (inputs[0],), (outputs[0],), ir.NoAttrs())

    return convert


def _softmax(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    pair = (r.by_name[inputs[0]].dtype, r.by_name[outputs[0]].dtype)
    if pair[0] != pair[1] and pair != ("int8", "int16"):
        raise _Unsupported(f"{pair[0]} input with {pair[1]} output")
    return ir.Op(
        layer, "softmax", (inputs[0],), (outputs[0],), ir.Softmax(float(_options(op, tflite.SoftmaxOptions).Beta()))
    )


def _leaky_relu(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    return ir.Op(
        layer,
        "leaky_relu",
        (inputs[0],),
        (outputs[0],),
        ir.LeakyRelu(float(_options(op, tflite.LeakyReluOptions).Alpha())),
    )


def _reshape(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    """RESHAPE to its constant shape operand (or options); a declared static output shape stands."""
    if outputs[0] in r.dynamic:
        has_operand = len(inputs) > 1 and inputs[1] is not None
        target = r.const(inputs[1]).ravel() if has_operand else _options(op, tflite.ReshapeOptions).NewShapeAsNumpy()
        r.settle(outputs[0], _resolve_shape(r.shape(inputs[0]), [int(d) for d in target]))
    return ir.Op(layer, "reshape", (inputs[0],), (outputs[0],), ir.NoAttrs())


def _expand_dims(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    shape = r.shape(inputs[0])
    axis = int(r.const(inputs[1]).ravel()[0])
    axis = axis + len(shape) + 1 if axis < 0 else axis
    if not 0 <= axis <= len(shape):
        raise _Unsupported(f"axis {axis} for an input of rank {len(shape)}")
    r.settle(outputs[0], shape[:axis] + (1,) + shape[axis:])
    return ir.Op(layer, "reshape", (inputs[0],), (outputs[0],), ir.NoAttrs())


def _squeeze(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    shape = r.shape(inputs[0])
    o = _options(op, tflite.SqueezeOptions)
    axes = (
        {int(d) % len(shape) for d in o.SqueezeDimsAsNumpy()}
        if o.SqueezeDimsLength() and shape
        else set(range(len(shape)))
    )
    r.settle(outputs[0], tuple(d for i, d in enumerate(shape) if not (d == 1 and i in axes)))
    return ir.Op(layer, "reshape", (inputs[0],), (outputs[0],), ir.NoAttrs())


def _resolve_shape(shape: tuple[int, ...], target: list[int]) -> tuple[int, ...]:
    """`target` with its one -1 (if any) standing for what the input's elements leave."""
    size, known = int(np.prod(shape, dtype=np.int64)), int(np.prod([d for d in target if d != -1], dtype=np.int64))
    if target.count(-1) > 1 or any(d < -1 for d in target) or (-1 in target and (known == 0 or size % known)):
        raise _Unsupported(f"cannot reshape {list(shape)} to {target}")
    return tuple(size // known if d == -1 else d for d in target)


def _transpose(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    perm = tuple(int(p) for p in r.const(inputs[1]).ravel())
    return ir.Op(layer, "transpose", (inputs[0],), (outputs[0],), ir.Transpose(perm))


def _strided_slice(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.StridedSliceOptions)
    if o.EllipsisMask() or o.NewAxisMask():
        raise _Unsupported("ellipsis and new-axis masks")
    shape = r.shape(inputs[0])
    begin, end, strides = (r.const(inputs[i]).ravel().astype(np.int64) for i in (1, 2, 3))
    attrs = resolve_strided_slice(
        shape, begin, end, strides, o.BeginMask(), o.EndMask(), o.ShrinkAxisMask(), bool(o.Offset())
    )
    sizes = [max(0, -(-(e - b) // s)) for b, e, s in zip(attrs.begin, attrs.end, attrs.strides)]
    r.settle(outputs[0], tuple(d for axis, d in enumerate(sizes) if not o.ShrinkAxisMask() >> axis & 1))
    return ir.Op(layer, "strided_slice", (inputs[0],), (outputs[0],), attrs)


def _lstm(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.UnidirectionalSequenceLSTMOptions)
    inputs = (*inputs, *[None] * (ir.LSTM_INPUTS - len(inputs)))
    diagonal = "diagonal recurrent weights not supported yet" if o.DiagonalRecurrentTensors() else None
    problem = diagonal or lstm_problem(r.by_name, inputs, outputs, o.FusedActivationFunction())
    if problem:
        raise _Unsupported(problem)
    return ir.Op(layer, "lstm", inputs, (outputs[0],), ir.Lstm(float(o.CellClip()), bool(o.TimeMajor())))


def _svdf(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.SVDFOptions)
    inputs = (*inputs, *[None] * (5 - len(inputs)))
    problem = svdf_problem(r.by_name, inputs, o.Rank())
    if problem:
        raise _Unsupported(problem)
    return ir.Op(layer, "svdf", inputs, (outputs[0],), ir.Svdf(int(o.Rank()), _activation(o.FusedActivationFunction())))


# --- control flow: WHILE with a trip count known at compile time, unrolled -----------------
MAX_TRIPS = 1024  # iterations a WHILE may unroll into (a Keras RNN runs one per time step)


def _while(r: _Reader, op, layer, inputs, outputs) -> list[ir.Op]:
    """The body inlined once per iteration while the condition, evaluated on the loop
    variables (the counters are constants: each iteration's are folded), holds."""
    o = _options(op, tflite.WhileOptions)
    values, ops = list(inputs), []
    for trip in range(MAX_TRIPS + 1):
        cond_ops, (holds,) = _inline(r, o.CondSubgraphIndex(), values, f"{layer}@cond{trip}")
        if cond_ops or not r.by_name[holds].is_const:
            raise _Unsupported("its condition depends on run-time values (only a fixed trip count is unrolled)")
        if not bool(r.by_name[holds].data.ravel()[0]):
            break
        if trip == MAX_TRIPS:
            raise _Unsupported(f"more than {MAX_TRIPS} iterations")
        body_ops, values = _inline(r, o.BodySubgraphIndex(), values, f"{layer}@{trip}")
        ops += body_ops
    if len(values) != len(outputs):
        raise _Unsupported(f"{len(values)} loop variables for {len(outputs)} outputs")
    for out, value in zip(outputs, values):
        r.alias[out] = value
    return ops


def _inline(r: _Reader, index: int, values: list[str], prefix: str) -> tuple[list[ir.Op], list[str]]:
    """Subgraph `index` run on `values` (the names of its inputs): its IR ops, and the names
    of its outputs. Its other tensors get fresh names under `prefix`, so each inlined copy
    has its own; constants keep one name per subgraph, so weights are stored once."""
    if not 0 < index < r.model.SubgraphsLength():
        raise _Unsupported(f"subgraph {index} of {r.model.SubgraphsLength()}")
    sg = r.model.Subgraphs(index)
    sg_inputs = [int(i) for i in sg.InputsAsNumpy()] if sg.InputsLength() else []
    if len(sg_inputs) != len(values):
        raise _Unsupported(f"subgraph {index} takes {len(sg_inputs)} inputs, given {len(values)}")
    names: dict[int, str] = dict(zip(sg_inputs, values))
    # Labels made unique within this copy only, so step t's tensor is `prefix/label` in every
    # copy (PTQ gives an unrolled loop's steps one range per tensor: quantize/steps.py).
    local: set[str] = set()
    outer, r.dynamic = r.dynamic, {}
    try:
        for i in range(sg.TensorsLength()):
            if i in names:
                continue
            if (index, i) in r.inlined:
                names[i] = r.inlined[(index, i)]
                continue
            t = r._tensor(sg, i, local, main=False)
            name = f"subgraph{index}/{t.name}" if t.is_const else f"{prefix}/{t.name}"
            while name in r.by_name:
                name += "'"
            r.by_name[name] = replace(t, name=name)
            if t.is_const:
                r.inlined[(index, i)] = name
            elif t.name in r.dynamic:
                outer[name] = r.dynamic.pop(t.name)
            names[i] = name
    finally:
        r.dynamic = outer

    def name_of(i: int) -> str | None:
        if i < 0:
            return None
        if i not in names:
            raise ModelError(f"{r.name}: subgraph {index} refers to tensor {i}, it has {sg.TensorsLength()}")
        return names[i]

    ops, problems = r.run_subgraph(sg, name_of)
    if problems:
        raise _Unsupported(f"in subgraph {index}: " + "; ".join(problems))
    return ops, [r.read(name_of(int(i))) for i in sg.OutputsAsNumpy()]


# --- resource variables: VAR_HANDLE, READ_VARIABLE, ASSIGN_VARIABLE, CALL_ONCE ---------------
# No IR ops: a variable is a state tensor (Graph.state) that ops read directly all invoke
# long, which takes its assigned value once the ops have run (Graph.state_updates) and
# starts at what the init subgraph (run by CALL_ONCE) assigns (Graph.state_init).


@dataclass
class _Variables:
    handles: dict[str, str] = field(default_factory=dict)  # handle tensor -> variable (its shared name)
    state: dict[str, str] = field(default_factory=dict)  # variable -> its state tensor
    aliases: dict[str, str] = field(default_factory=dict)  # READ_VARIABLE's output -> the state tensor
    updates: dict[str, str] = field(default_factory=dict)  # state tensor -> the tensor assigned to it
    init: dict[str, ir.Tensor] = field(default_factory=dict)  # variable -> the constant its init subgraph assigns

    def read(self, name: str | None) -> str | None:
        """The tensor an op reads for `name`: a read variable's state tensor, else `name`."""
        return self.aliases.get(name, name) if name else name

    def tensor(self, r: _Reader, variable: str, like: str) -> str:
        """The state tensor of `variable`, made like tensor `like` (shape, type, quantization) when first met."""
        if variable not in self.state:
            t, name = r.by_name[like], variable
            while name in r.by_name:
                name += "'"
            r.by_name[name] = ir.Tensor(name, t.shape, t.dtype, t.quant)
            self.state[variable] = name
        state = r.by_name[self.state[variable]]
        if (state.shape, state.dtype) != (r.by_name[like].shape, r.by_name[like].dtype):
            raise _Unsupported(
                f"variable {variable!r} is used as {state.dtype} {list(state.shape)} and as another type or shape"
            )
        return state.name

    def initial_values(self, r: _Reader) -> dict[str, np.ndarray]:
        values = {}
        for variable, name in self.state.items():
            if variable in self.init:
                t, state = self.init[variable], r.by_name[name]
                if t.dtype != state.dtype or t.size != state.size:
                    raise ModelError(
                        f"{r.name}: variable {variable!r} is initialized as {t.dtype} {list(t.shape)}, used as {state.dtype} {list(state.shape)}"
                    )
                values[name] = t.data.reshape(state.shape)
        return values


def _variable(r: _Reader, handle: str) -> str:
    if handle not in r.variables.handles:
        raise _Unsupported(f"{handle!r} is not a VAR_HANDLE's output")
    return r.variables.handles[handle]


def _var_handle(r: _Reader, op, layer, inputs, outputs) -> list[ir.Op]:
    o = _options(op, tflite.VarHandleOptions)
    r.variables.handles[outputs[0]] = (o.SharedName() or b"").decode(errors="replace") or outputs[0]
    return []


def _read_variable(r: _Reader, op, layer, inputs, outputs) -> list[ir.Op]:
    variable = _variable(r, inputs[0])
    if r.variables.state.get(variable) in r.variables.updates:
        raise _Unsupported(f"variable {variable!r} is read after it is assigned in the same invoke")
    r.variables.aliases[outputs[0]] = r.variables.tensor(r, variable, outputs[0])
    return []


def _assign_variable(r: _Reader, op, layer, inputs, outputs) -> list[ir.Op]:
    state = r.variables.tensor(r, _variable(r, inputs[0]), inputs[1])
    r.variables.updates[state] = inputs[1]
    return []


def _call_once(r: _Reader, op, layer, inputs, outputs) -> list[ir.Op]:
    """Its init subgraph may only assign constants to variables: they become the initial state."""
    index = _options(op, tflite.CallOnceOptions).InitSubgraphIndex()
    if not 0 < index < r.model.SubgraphsLength():
        raise _Unsupported(f"init subgraph {index} of {r.model.SubgraphsLength()}")
    sg = r.model.Subgraphs(index)
    tensors = [r._tensor(sg, i, set(), main=False) for i in range(sg.TensorsLength())]
    handles: dict[int, str] = {}
    for k in range(sg.OperatorsLength()):
        init_op = sg.Operators(k)
        name = _op_name(r.model.OperatorCodes(init_op.OpcodeIndex()))
        operands = [int(i) for i in init_op.InputsAsNumpy()] if init_op.InputsLength() else []
        if name == "VAR_HANDLE" and init_op.OutputsLength() == 1:
            o = _options(init_op, tflite.VarHandleOptions)
            handles[int(init_op.Outputs(0))] = (o.SharedName() or b"").decode(errors="replace")
        elif (
            name == "ASSIGN_VARIABLE"
            and len(operands) == 2
            and operands[0] in handles
            and tensors[operands[1]].is_const
        ):
            r.variables.init[handles[operands[0]]] = tensors[operands[1]]
        else:
            raise _Unsupported(f"its init subgraph runs {name} (only constants assigned to variables are supported)")
    return []


def resolve_strided_slice(
    shape, begin, end, strides, begin_mask, end_mask, shrink_mask, offset=False
) -> ir.StridedSlice:
    """TFLite's StartForAxis/StopForAxis: masks and negative indices become concrete bounds."""
    b_out: list[int] = []
    e_out: list[int] = []
    s_out: list[int] = []
    for axis, dim in enumerate(shape):
        if axis >= len(begin):
            b_out.append(0)
            e_out.append(dim)
            s_out.append(1)
            continue
        stride = int(strides[axis])
        if stride == 0:
            raise _Unsupported("a stride of 0")
        start = int(begin[axis])
        stop = int(end[axis]) + (start if offset else 0)
        if shrink_mask >> axis & 1:
            start = start + dim if start < 0 else start
            start = min(max(start, 0), dim - 1)
            b_out.append(start)
            e_out.append(start + 1)
            s_out.append(1)
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
        b_out.append(start)
        e_out.append(stop)
        s_out.append(stride)
    return ir.StridedSlice(tuple(b_out), tuple(e_out), tuple(s_out))


# --- data movement (issue 20) ---------------------------------------------------------
# SLICE, SPLIT, SPLIT_V and UNPACK become strided slices, one per output, so ops keep
# one output each; the others are table-driven copies (codegen/ops_layout.py).


def _axis(value, rank: int) -> int:
    axis = int(value)
    if not -rank <= axis < rank:
        raise _Unsupported(f"axis {axis} for rank {rank}")
    return axis % rank


def _slices(source: str, shape, outputs, axis: int, sizes) -> list[ir.Op]:
    """One strided slice per output: consecutive pieces of `sizes` along `axis`."""
    if len(sizes) != len(outputs) or sum(sizes) != shape[axis] or min(sizes) < 0:
        raise _Unsupported(f"pieces {list(sizes)} do not split axis {axis} of {list(shape)}")
    ops, start = [], 0
    for out, size in zip(outputs, sizes):
        begin = tuple(start if i == axis else 0 for i in range(len(shape)))
        end = tuple(start + size if i == axis else d for i, d in enumerate(shape))
        ops.append(ir.Op(out, "strided_slice", (source,), (out,), ir.StridedSlice(begin, end, (1,) * len(shape))))
        start += size
    return ops


def _split(r: _Reader, op, layer, inputs, outputs) -> list[ir.Op]:
    if len(inputs) == 2:  # SPLIT: axis, input
        axis_name, source = inputs
        shape = r.shape(source)
        axis = _axis(r.const(axis_name).ravel()[0], len(shape))
        if shape[axis] % len(outputs):
            raise _Unsupported(f"{len(outputs)} pieces of axis {axis} of {list(shape)}")
        sizes = [shape[axis] // len(outputs)] * len(outputs)
    else:  # SPLIT_V: input, size_splits, axis
        source = inputs[0]
        shape = r.shape(source)
        axis = _axis(r.const(inputs[2]).ravel()[0], len(shape))
        sizes = [int(s) for s in r.const(inputs[1]).ravel()]
        if sizes.count(-1) == 1:
            sizes[sizes.index(-1)] = shape[axis] - (sum(sizes) + 1)
    for out, size in zip(outputs, sizes):
        r.settle(out, shape[:axis] + (size,) + shape[axis + 1 :])
    return _slices(source, shape, outputs, axis, sizes)


def _slice(r: _Reader, op, layer, inputs, outputs) -> list[ir.Op] | ir.Op:
    shape = r.shape(inputs[0])
    begin, size = ([int(v) for v in r.const(name).ravel()] for name in inputs[1:3])
    if len(begin) != len(shape) or len(size) != len(shape):
        raise _Unsupported(f"begin {begin} and size {size} for rank {len(shape)}")
    end = [d if s == -1 else b + s for b, s, d in zip(begin, size, shape)]
    if any(not 0 <= b <= e <= d for b, e, d in zip(begin, end, shape)):
        raise _Unsupported(f"slice {begin} + {size} outside {list(shape)}")
    if any(b == e for b, e in zip(begin, end)):  # an unrolled loop's first or last step: nothing to copy
        r.settle(outputs[0], np.zeros([e - b for b, e in zip(begin, end)], NUMPY_TYPES[r.by_name[outputs[0]].dtype]))
        return []
    r.settle(outputs[0], tuple(e - b for b, e in zip(begin, end)))
    return ir.Op(
        layer,
        "strided_slice",
        (inputs[0],),
        (outputs[0],),
        ir.StridedSlice(tuple(begin), tuple(end), (1,) * len(shape)),
    )


def _unpack(r: _Reader, op, layer, inputs, outputs) -> list[ir.Op]:
    shape = r.shape(inputs[0])
    axis = _axis(_options(op, tflite.UnpackOptions).Axis(), len(shape))
    for out in outputs:
        r.settle(out, shape[:axis] + shape[axis + 1 :])
    return _slices(inputs[0], shape, outputs, axis, [1] * len(outputs))


def _pack(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    rank = len(r.shape(inputs[0])) + 1
    axis = _axis(_options(op, tflite.PackOptions).Axis(), rank)
    return ir.Op(layer, "pack", tuple(inputs), (outputs[0],), ir.Pack(axis))


def _tile(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    multiples = tuple(int(m) for m in r.const(inputs[1]).ravel())
    return ir.Op(layer, "tile", (inputs[0],), (outputs[0],), ir.Tile(multiples))


def _broadcast_to(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    r.settle(outputs[0], tuple(int(d) for d in r.const(inputs[1]).ravel()))
    return ir.Op(layer, "broadcast_to", (inputs[0],), (outputs[0],), ir.NoAttrs())


def _resize(kind: str, options_class):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        o = _options(op, options_class)
        shape, size = r.shape(inputs[0]), [int(d) for d in r.const(inputs[1]).ravel()]
        if len(shape) != 4 or len(size) != 2 or min(size) < 1:
            raise _Unsupported(f"resizing {list(shape)} to {size} (NHWC to height, width)")
        if kind == "resize_bilinear" and o.AlignCorners() and o.HalfPixelCenters():
            raise _Unsupported("align_corners with half_pixel_centers (TFLite's reference refuses them together)")
        r.settle(outputs[0], (shape[0], *size, shape[3]))
        return ir.Op(
            layer, kind, (inputs[0],), (outputs[0],), ir.Resize(bool(o.AlignCorners()), bool(o.HalfPixelCenters()))
        )

    return convert


def _shared_range(kind: str, count: int = 2, values: slice = slice(0, 2)):
    """MAXIMUM, MINIMUM, SELECT_V2: tflite-micro compares or copies raw int8 values, which
    is right only when the value inputs and the output share one quantization."""

    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        quants = [r.by_name[name].quant for name in (*inputs[values], outputs[0])]
        first = quants[0]
        if first is not None and any(
            q is None or not (np.array_equal(q.scale, first.scale) and np.array_equal(q.zero_point, first.zero_point))
            for q in quants
        ):
            raise _Unsupported("inputs and output quantized differently (tflite-micro uses the raw values)")
        return ir.Op(layer, kind, tuple(inputs[:count]), (outputs[0],), ir.NoAttrs())

    return convert


def _reverse(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    rank = len(r.shape(inputs[0]))
    axes = tuple(sorted({_axis(a, rank) for a in r.const(inputs[1]).ravel()}))
    return ir.Op(layer, "reverse", (inputs[0],), (outputs[0],), ir.Reverse(axes))


def _gather(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    o = _options(op, tflite.GatherOptions)
    if o.BatchDims():
        raise _Unsupported("batch_dims")
    shape, indices = r.shape(inputs[0]), r.const(inputs[1])
    axis = _axis(o.Axis(), len(shape))
    if indices.size and not (0 <= indices.min() and indices.max() < shape[axis]):
        raise _Unsupported(f"indices outside 0..{shape[axis] - 1}")
    r.settle(outputs[0], shape[:axis] + indices.shape + shape[axis + 1 :])
    return ir.Op(
        layer,
        "gather",
        (inputs[0],),
        (outputs[0],),
        ir.Gather(axis, tuple(int(i) for i in indices.ravel()), indices.shape),
    )


def _mirror_pad(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    paddings = tuple((int(a), int(b)) for a, b in r.const(inputs[1]).reshape(-1, 2))
    reflect = _options(op, tflite.MirrorPadOptions).Mode() == tflite.MirrorPadMode.REFLECT
    return ir.Op(layer, "mirror_pad", (inputs[0],), (outputs[0],), ir.MirrorPad(paddings, reflect))


def _block(kind: str, options_class):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        return ir.Op(
            layer, kind, (inputs[0],), (outputs[0],), ir.BlockSize(int(_options(op, options_class).BlockSize()))
        )

    return convert


def _batch_space(kind: str):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        rank = len(r.shape(inputs[0]))
        block, crops = [int(b) for b in r.const(inputs[1]).ravel()], [int(c) for c in r.const(inputs[2]).ravel()]
        if rank not in (3, 4) or len(block) != rank - 2 or len(crops) != 2 * len(block):
            raise _Unsupported(f"block {block} and crops or paddings {crops} for rank {rank} (NHWC or NHC)")
        if kind == "space_to_batch" and any(crops):
            raise _Unsupported(f"paddings {crops} (only zero paddings are supported)")
        block, crops = (block + [1])[:2], (crops + [0, 0])[:4]
        attrs = ir.BatchSpace((block[0], block[1]), ((crops[0], crops[1]), (crops[2], crops[3])))
        return ir.Op(layer, kind, (inputs[0],), (outputs[0],), attrs)

    return convert


def _gelu(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    return ir.Op(
        layer, "gelu", (inputs[0],), (outputs[0],), ir.Gelu(bool(_options(op, tflite.GeluOptions).Approximate()))
    )


def _gather_nd(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    return ir.Op(layer, "gather_nd", (inputs[0], inputs[1]), (outputs[0],), ir.NoAttrs())


def _embedding_lookup(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    """TFLite's operands are (ids, values); the IR puts the values first, as GATHER_ND's params."""
    values, out = r.by_name[inputs[1]], r.by_name[outputs[0]]
    if values.dtype == "int8" and out.dtype == "float32" and np.any(values.quant.zero_point != 0):
        raise _Unsupported("int8 values with a zero point other than 0 (tflite-micro's hybrid lookup needs 0)")
    if out.dtype != "float32" and not _same_quant(values.quant, out.quant):
        raise _Unsupported("values and output quantized differently (tflite-micro copies the raw values)")
    return ir.Op(layer, "embedding_lookup", (inputs[1], inputs[0]), (outputs[0],), ir.NoAttrs())


def _dynamic_update_slice(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
    """The start indices are read at run time, clamped as tflite-micro clamps them; a constant
    start (also one the frontend evaluated) is an int32 constant, an int64 one narrowed to it."""
    operand, update, start = (r.by_name[name] for name in inputs[:3])
    if operand.quant is not None and not (
        _same_quant(operand.quant, update.quant) and _same_quant(operand.quant, r.by_name[outputs[0]].quant)
    ):  # an unquantized operand (float32, int32) takes the update's values as they are
        raise _Unsupported("operand, update and output quantized differently (tflite-micro copies the raw values)")
    if start.dtype == "int64":
        if start.data is None:
            raise _Unsupported("int64 start indices computed at run time (aiotc takes int32 ones)")
        name = r.constant(f"{start.name}/int32", np.clip(start.data, -(2**31), 2**31 - 1).astype(np.int32))
    else:
        name = start.name
    return ir.Op(layer, "dynamic_update_slice", (operand.name, update.name, name), (outputs[0],), ir.NoAttrs())


def _fold_broadcast_args(r: _Reader, op, inputs, outputs) -> np.ndarray:
    """The broadcast of two shapes, as tflite-micro's BroadcastArgs: aligned at the end, a 1 takes the other."""
    a, b = (r.const(name).ravel().astype(np.int64) for name in inputs[:2])
    size = max(a.size, b.size)
    a, b = (np.concatenate([np.ones(size - v.size, np.int64), v]) for v in (a, b))
    if np.any((a != b) & (a != 1) & (b != 1)):
        raise ValueError(f"shapes {a.tolist()} and {b.tolist()} do not broadcast")
    return np.where(a == 1, b, a)


def _plain_binary(kind: str):
    def convert(r: _Reader, op, layer, inputs, outputs) -> ir.Op:
        return ir.Op(layer, kind, tuple(inputs[:2]), (outputs[0],), ir.NoAttrs())

    return convert


_CONVERTERS = {
    "CONV_2D": _conv,
    "DEPTHWISE_CONV_2D": _depthwise,
    "FULLY_CONNECTED": _fully_connected,
    "AVERAGE_POOL_2D": _pool("avg_pool2d"),
    "MAX_POOL_2D": _pool("max_pool2d"),
    "ADD": _binary("add", tflite.AddOptions),
    "SUB": _binary("sub", tflite.SubOptions),
    "MUL": _binary("mul", tflite.MulOptions),
    "MEAN": _reduce("mean"),
    "PAD": _pad,
    "PADV2": _pad,
    "CONCATENATION": _concat,
    "RESHAPE": _reshape,
    "EXPAND_DIMS": _expand_dims,
    "SQUEEZE": _squeeze,
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
    "SVDF": _svdf,
    "VAR_HANDLE": _var_handle,
    "READ_VARIABLE": _read_variable,
    "ASSIGN_VARIABLE": _assign_variable,
    "CALL_ONCE": _call_once,
    "WHILE": _while,
    # data movement (issue 20)
    "SLICE": _slice,
    "SPLIT": _split,
    "SPLIT_V": _split,
    "UNPACK": _unpack,
    "PACK": _pack,
    "TILE": _tile,
    "BROADCAST_TO": _broadcast_to,
    "RESIZE_NEAREST_NEIGHBOR": _resize("resize_nearest", tflite.ResizeNearestNeighborOptions),
    "RESIZE_BILINEAR": _resize("resize_bilinear", tflite.ResizeBilinearOptions),
    "REVERSE_V2": _reverse,
    "GATHER": _gather,
    "MIRROR_PAD": _mirror_pad,
    "DEPTH_TO_SPACE": _block("depth_to_space", tflite.DepthToSpaceOptions),
    "SPACE_TO_DEPTH": _block("space_to_depth", tflite.SpaceToDepthOptions),
    "BATCH_TO_SPACE_ND": _batch_space("batch_to_space"),
    "SPACE_TO_BATCH_ND": _batch_space("space_to_batch"),
    "CAST": _unary("cast"),
    "ZEROS_LIKE": _unary("zeros_like"),
    # issue 20: reductions, activations, matrix products
    "SUM": _reduce("sum"),
    "REDUCE_MAX": _reduce("reduce_max"),
    "REDUCE_MIN": _reduce("reduce_min"),
    "ARG_MAX": _arg_min_max("arg_max"),
    "ARG_MIN": _arg_min_max("arg_min"),
    "PRELU": _prelu,
    "ELU": _unary("elu"),
    "L2_NORMALIZATION": _l2_normalization,
    "L2_POOL_2D": _pool("l2_pool2d"),
    "LOG_SOFTMAX": _unary("log_softmax"),
    "BATCH_MATMUL": _batch_matmul,
    "ADD_N": _add_n,
    "CUMSUM": _cumsum,
    # elementwise math (issue 20)
    "MAXIMUM": _shared_range("maximum"),
    "MINIMUM": _shared_range("minimum"),
    "DIV": _binary("div", tflite.DivOptions),
    "SQUARED_DIFFERENCE": _plain_binary("squared_difference"),
    "FLOOR_DIV": _plain_binary("floor_div"),
    "FLOOR_MOD": _plain_binary("floor_mod"),
    **{
        name: _unary(name.lower())
        for name in ("ABS", "NEG", "SQRT", "RSQRT", "SQUARE", "EXP", "LOG", "SIN", "COS", "CEIL", "FLOOR", "ROUND")
    },
    **{
        name: _plain_binary(name.lower())
        for name in (
            "EQUAL",
            "NOT_EQUAL",
            "GREATER",
            "GREATER_EQUAL",
            "LESS",
            "LESS_EQUAL",
            "LOGICAL_AND",
            "LOGICAL_OR",
        )
    },
    "LOGICAL_NOT": _unary("logical_not"),
    "SELECT_V2": _shared_range("select_v2", 3, slice(1, 3)),
    "TRANSPOSE_CONV": _transpose_conv,
    "GELU": _gelu,
    # issue 20: indexed reads and writes, and REDUCE_ALL
    "GATHER_ND": _gather_nd,
    "EMBEDDING_LOOKUP": _embedding_lookup,
    "DYNAMIC_UPDATE_SLICE": _dynamic_update_slice,
    "REDUCE_ALL": _reduce("reduce_all"),
}
# The leading inputs each converter or evaluator reads (others: the first), checked before.
REQUIRED_INPUTS = {
    **dict.fromkeys(
        (
            "CONV_2D",
            "DEPTHWISE_CONV_2D",
            "FULLY_CONNECTED",
            "ADD",
            "SUB",
            "MUL",
            "MEAN",
            "PAD",
            "PADV2",
            "TRANSPOSE",
            "EXPAND_DIMS",
        ),
        2,
    ),
    **dict.fromkeys(("GATHER", "FILL", "TILE", "FLOOR_DIV", "MAXIMUM", "MINIMUM", "REDUCE_PROD", "SUM"), 2),
    "STRIDED_SLICE": 4,
    **dict.fromkeys(
        ("SPLIT", "RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR", "REVERSE_V2", "MIRROR_PAD", "BROADCAST_TO"), 2
    ),
    **dict.fromkeys(("SPLIT_V", "SLICE", "BATCH_TO_SPACE_ND", "SPACE_TO_BATCH_ND"), 3),
    **dict.fromkeys(
        ("REDUCE_MAX", "REDUCE_MIN", "ARG_MAX", "ARG_MIN", "PRELU", "BATCH_MATMUL", "ADD_N", "CUMSUM"), 2
    ),  # issue 20; SUM is above
    "SELECT_V2": 3,
    "TRANSPOSE_CONV": 3,
    **dict.fromkeys(("GATHER_ND", "EMBEDDING_LOOKUP", "REDUCE_ALL", "BROADCAST_ARGS"), 2),
    "DYNAMIC_UPDATE_SLICE": 3,
    "SVDF": 3,  # input, feature and time weights; the converter checks the state
    **dict.fromkeys(("VAR_HANDLE", "CALL_ONCE"), 0),
    "ASSIGN_VARIABLE": 2,
    **dict.fromkeys(
        (
            "DIV",
            "SQUARED_DIFFERENCE",
            "FLOOR_MOD",
            "EQUAL",
            "NOT_EQUAL",
            "GREATER",
            "GREATER_EQUAL",
            "LESS",
            "LESS_EQUAL",
            "LOGICAL_AND",
            "LOGICAL_OR",
        ),
        2,
    ),  # elementwise math (issue 20)
}
MULTI_OUTPUT = {"SPLIT", "SPLIT_V", "UNPACK", "WHILE"}  # converted into one op per output
NO_OUTPUTS = {"CALL_ONCE", "ASSIGN_VARIABLE"}
SUPPORTED_OPS = tuple(sorted(_CONVERTERS))  # besides FOLDERS' ops on constants: they are evaluated


def _fully_connected_shape(op: ir.Op, tensors) -> tuple[int, ...] | None:
    if len(tensors[op.inputs[1]].shape) != 2:
        return None  # the checks refuse the filter
    shape, (units, depth) = tensors[op.inputs[0]].shape, tensors[op.inputs[1]].shape
    return (
        (*shape[:-1], units)
        if op.attrs.keep_num_dims
        else (int(np.prod(shape, dtype=np.int64)) // max(depth, 1), units)
    )


def _mean_shape(op: ir.Op, tensors) -> tuple[int, ...]:
    shape = tensors[op.inputs[0]].shape
    return tuple(
        1 if i in op.attrs.axes else d for i, d in enumerate(shape) if op.attrs.keepdims or i not in op.attrs.axes
    )


_OUTPUT_SHAPES = {
    "fully_connected": _fully_connected_shape,
    "mean": _mean_shape,
}  # where the checks' rules give no shape
_OUTPUT_SHAPES |= dict.fromkeys(("sum", "reduce_max", "reduce_min", "reduce_all"), _mean_shape)  # reductions (issue 20)


# --- constant folding: numpy evaluators of unquantized ops, by TFLite op name ----------


def _clamp(value: np.ndarray, activation: str) -> np.ndarray:
    bounds = {"none": (None, None), "relu": (0, None), "relu6": (0, 6), "relu_n1_to_1": (-1, 1)}[activation]
    return value if bounds == (None, None) else np.clip(value, *bounds)


def _fold_binary(function, options_class=None):
    def fold(r: _Reader, op, inputs, outputs) -> np.ndarray:
        value = function(r.const(inputs[0]), r.const(inputs[1]))
        return (
            _clamp(value, _activation(_options(op, options_class).FusedActivationFunction()))
            if options_class
            else value
        )

    return fold


def _fold_reshape(convert):
    """RESHAPE, EXPAND_DIMS, SQUEEZE of a constant: the converter settles the output's shape."""

    def fold(r: _Reader, op, inputs, outputs) -> np.ndarray:
        convert(r, op, outputs[0], inputs, outputs)
        return r.const(inputs[0]).reshape(r.by_name[outputs[0]].shape)

    return fold


def _fold_strided_slice(r: _Reader, op, inputs, outputs) -> np.ndarray:
    o = _options(op, tflite.StridedSliceOptions)
    if o.EllipsisMask() or o.NewAxisMask():
        raise _Unsupported("ellipsis and new-axis masks")
    value = r.const(inputs[0])
    begin, end, strides = (r.const(inputs[i]).ravel().astype(np.int64) for i in (1, 2, 3))
    a = resolve_strided_slice(
        value.shape, begin, end, strides, o.BeginMask(), o.EndMask(), o.ShrinkAxisMask(), bool(o.Offset())
    )
    sliced = value[
        tuple(slice(b, e if e >= 0 else None, s) for b, e, s in zip(a.begin, a.end, a.strides))
    ]  # stop -1: past index 0
    return sliced.reshape([d for axis, d in enumerate(sliced.shape) if not o.ShrinkAxisMask() >> axis & 1])


def _fold_gather(r: _Reader, op, inputs, outputs) -> np.ndarray:
    o = _options(op, tflite.GatherOptions)
    if o.BatchDims():
        raise _Unsupported("batch_dims")
    return np.take(r.const(inputs[0]), r.const(inputs[1]), axis=o.Axis())


def _fold_fill(r: _Reader, op, inputs, outputs) -> np.ndarray:
    shape = tuple(int(d) for d in r.const(inputs[0]).ravel())
    check_size(r.name, outputs[0], shape, r.by_name[outputs[0]].dtype)  # before allocating it
    return np.full(shape, r.const(inputs[1]).ravel()[0])


def _fold_tile(r: _Reader, op, inputs, outputs) -> np.ndarray:
    value, multiples = r.const(inputs[0]), [int(m) for m in r.const(inputs[1]).ravel()]
    if len(multiples) != value.ndim:
        raise ValueError(f"{len(multiples)} multiples for rank {value.ndim}")
    check_size(r.name, outputs[0], tuple(d * m for d, m in zip(value.shape, multiples)), r.by_name[outputs[0]].dtype)
    return np.tile(value, multiples)


def _fold_concat(r: _Reader, op, inputs, outputs) -> np.ndarray:
    o = _options(op, tflite.ConcatenationOptions)
    return _clamp(np.concatenate([r.const(n) for n in inputs], axis=o.Axis()), _activation(o.FusedActivationFunction()))


def _fold_reduce(function):
    def fold(r: _Reader, op, inputs, outputs) -> np.ndarray:
        axes = tuple(int(a) for a in np.atleast_1d(r.const(inputs[1])))
        return function(r.const(inputs[0]), axis=axes, keepdims=bool(_options(op, tflite.ReducerOptions).KeepDims()))

    return fold


def _fold_fully_connected(r: _Reader, op, inputs, outputs) -> np.ndarray:
    """A constant input (an unrolled RNN's initial state) through constant weights."""
    o = _options(op, tflite.FullyConnectedOptions)
    weights = r.const(inputs[1])
    x = r.const(inputs[0])
    value = x.reshape(-1, weights.shape[1]) @ weights.T
    if len(inputs) > 2 and inputs[2] is not None:
        value = value + r.const(inputs[2])
    if o.KeepNumDims():
        value = value.reshape(*x.shape[:-1], weights.shape[0])
    return _clamp(value, _activation(o.FusedActivationFunction()))


FOLDERS = {
    "SHAPE": lambda r, op, inputs, outputs: np.array(r.shape(inputs[0])),
    "STRIDED_SLICE": _fold_strided_slice,
    "PACK": lambda r, op, inputs, outputs: np.stack(
        [r.const(n) for n in inputs], axis=_options(op, tflite.PackOptions).Axis()
    ),
    "CONCATENATION": _fold_concat,
    "RESHAPE": _fold_reshape(_reshape),
    "EXPAND_DIMS": _fold_reshape(_expand_dims),
    "SQUEEZE": _fold_reshape(_squeeze),
    "TRANSPOSE": lambda r, op, inputs, outputs: r.const(inputs[0]).transpose(
        [int(p) for p in r.const(inputs[1]).ravel()]
    ),
    "GATHER": _fold_gather,
    "CAST": lambda r, op, inputs, outputs: r.const(inputs[0]),  # to the output's type, as every folded value
    "FILL": _fold_fill,
    "TILE": _fold_tile,
    "ADD": _fold_binary(np.add, tflite.AddOptions),
    "SUB": _fold_binary(np.subtract, tflite.SubOptions),
    "MUL": _fold_binary(np.multiply, tflite.MulOptions),
    "FLOOR_DIV": _fold_binary(np.floor_divide),
    "MAXIMUM": _fold_binary(np.maximum),
    "MINIMUM": _fold_binary(np.minimum),
    "REDUCE_PROD": _fold_reduce(np.prod),
    "SUM": _fold_reduce(np.sum),
    # a WHILE's condition on its counters
    **{
        name: _fold_binary(function)
        for name, function in (
            ("LESS", np.less),
            ("LESS_EQUAL", np.less_equal),
            ("GREATER", np.greater),
            ("GREATER_EQUAL", np.greater_equal),
            ("EQUAL", np.equal),
            ("NOT_EQUAL", np.not_equal),
            ("LOGICAL_AND", np.logical_and),
            ("LOGICAL_OR", np.logical_or),
        )
    },
    "LOGICAL_NOT": lambda r, op, inputs, outputs: np.logical_not(r.const(inputs[0])),
    "FULLY_CONNECTED": _fold_fully_connected,
    "BROADCAST_ARGS": _fold_broadcast_args,  # shape arithmetic (issue 20)
}
