"""ONNX frontend: an .onnx model becomes an IR Graph in NHWC.

Shapes come from ONNX shape inference with the batch fixed to 1 (as TFLite Micro
fixes it); any other symbolic dimension is a dynamic shape aiotc refuses. Nodes
whose inputs are all constant are evaluated once here (onnx's reference
evaluator), which resolves shape arithmetic and DequantizeLinear weights.

Layout: every ONNX value maps to an IR tensor that is either `plain` (same shape
as in ONNX) or `nhwc` (ONNX holds it as NCHW; the IR holds its (0,2,3,1)
transpose). Spatial ops need nhwc, shape-sensitive ops (Reshape, Flatten, MatMul)
need plain; an IR transpose is emitted only where a value crosses from one to the
other, and a model's own Transposes between the two become renames. So tf2onnx's
NHWC-input + Transpose + Conv models and PyTorch's NCHW models both end in plain
NHWC graphs; passes then fold the transposes left over (moves of unit axes).
A 4-D graph input read by a spatial op is NCHW in the model and NHWC in the
compiled C: `Graph.layouts` records it so run/verify can transpose user data.

QDQ models (onnxruntime.quantization's QuantizeLinear/DequantizeLinear pairs) keep
their float graph: a pair on an activation becomes a rename and its scale and zero
point a `Graph.quant_hints` entry (uint8 zero points moved to int8), which PTQ then
takes as the tensor's parameters; weights and biases behind DequantizeLinear fold to
floats that requantize to the same integers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .. import ir
from ..errors import ModelError, UnsupportedOpsError
from ..ops import ONNX_UNARY
from .checks import MAX_OPS, MAX_SUBGRAPH_DEPTH, check_counts, check_size

TO_NHWC, TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)
NCHW_AXIS_IN_NHWC = (0, 3, 1, 2)  # ONNX (NCHW) axis i is IR (NHWC) axis NCHW_AXIS_IN_NHWC[i]
SPATIAL = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization"}
FLOAT = 1  # onnx.TensorProto.FLOAT


class _Unsupported(Exception):
    """An op whose type is supported but whose attributes or operands are not."""


def load_onnx(path: str | Path) -> ir.Graph:
    """Parse an .onnx file into the IR; raises ModelError for anything aiotc cannot use."""
    import onnx

    path = Path(path)
    data = path.read_bytes()
    if not data:
        raise ModelError(f"{path.name}: not an ONNX model (file is empty)")
    try:
        model = onnx.load_from_string(data)
    except Exception as exc:  # protobuf raises DecodeError and friends on corrupt input
        raise ModelError(f"{path.name}: not an ONNX model or corrupt ({type(exc).__name__})") from None
    if not model.graph.node:
        raise ModelError(f"{path.name}: not an ONNX model or corrupt (no graph nodes)")
    _check_declared(model.graph, path.stem)
    try:
        return _Converter(model, path.stem).graph()
    except (ModelError, UnsupportedOpsError):
        raise
    except Exception as exc:  # malformed protobuf fields fail in many ways
        raise ModelError(f"{path.name}: corrupt or inconsistent ONNX model ({type(exc).__name__}: {exc})") from None


def _check_declared(graph, name: str) -> None:
    """What the file declares, checked before shape inference or any initializer is read:
    the counts, the nesting of subgraphs, the initializers' sizes, and no external data
    (a file path the model would choose)."""
    check_counts(name, len(graph.node), len(graph.initializer) + len(graph.input) + len(graph.value_info))
    for t in graph.initializer:
        if t.data_location == t.EXTERNAL:
            raise ModelError(
                f"{name}: initializer {t.name!r} keeps its data in an external file; aiotc reads self-contained models"
            )
        check_size(name, t.name, tuple(t.dims), _numpy_dtype(t.data_type))
    pending, nodes = [(graph, 0)], 0
    while pending:
        g, depth = pending.pop()
        if depth > MAX_SUBGRAPH_DEPTH:
            raise ModelError(f"{name}: subgraphs nest {depth} deep; aiotc refuses more than {MAX_SUBGRAPH_DEPTH}")
        nodes += len(g.node)
        if nodes > MAX_OPS:
            raise ModelError(f"{name}: declares over {MAX_OPS:,} nodes with its subgraphs; aiotc refuses more")
        for node in g.node:
            for attr in node.attribute:
                pending.extend((sub, depth + 1) for sub in ([attr.g] if attr.HasField("g") else []) + list(attr.graphs))


def _numpy_dtype(code: int) -> str:
    """An ONNX element type as a numpy dtype name ('' when it has none)."""
    import onnx

    try:
        return str(onnx.helper.tensor_dtype_to_np_dtype(code))
    except (KeyError, ValueError, TypeError):
        return ""


def _static_inputs(model, name: str) -> None:
    """Fix a symbolic batch dimension to 1; refuse any other dynamic dimension."""
    initializers = {t.name for t in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        for index, dim in enumerate(dims):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            if index == 0 and len(dims) > 1:
                dim.Clear()
                dim.dim_value = 1
            else:
                shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
                raise ModelError(f"{name}: input {value.name!r} has a dynamic shape {shape}; aiotc needs static shapes")
    # Stale symbolic shapes in the file would fight the inferred static ones.
    del model.graph.value_info[:]
    for value in model.graph.output:
        value.type.tensor_type.ClearField("shape")


class _Converter:
    def __init__(self, model, name: str):
        import onnx

        self.onnx = onnx
        self.name = name
        _static_inputs(model, name)
        try:
            model = onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        except Exception as exc:
            raise ModelError(f"{name}: ONNX shape inference failed: {str(exc).splitlines()[0][:200]}") from None
        self.model = model
        self.opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=1)
        self.types = {}
        for value in (*model.graph.input, *model.graph.value_info, *model.graph.output):
            self.types[value.name] = value.type.tensor_type
        self.consts = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
        self.values: dict[str, tuple[str, str]] = {}  # onnx name -> (ir name, 'plain' | 'nhwc')
        self.tensors: dict[str, ir.Tensor] = {}
        self.ops: list[ir.Op] = []
        self.layouts: dict[str, str] = {}
        self.hints: dict[str, tuple[float, int]] = {}

    # --- driver ---------------------------------------------------------------------

    def graph(self) -> ir.Graph:
        g = self.model.graph
        initializers = set(self.consts)
        spatial_readers = {i for node in g.node if node.op_type in SPATIAL for i in node.input[:1]}
        inputs = []
        for value in g.input:
            if value.name in initializers:
                continue
            shape = self.shape(value.name)
            dtype = self.dtype(value.name)
            if len(shape) == 4 and value.name in spatial_readers:
                self.define(value.name, tuple(shape[i] for i in TO_NHWC), dtype, "nhwc")
                self.layouts[value.name] = "NCHW"
            else:
                self.define(value.name, shape, dtype, "plain")
            inputs.append(self.values[value.name][0])
        problems: list[str] = []
        failed: set[str] = set()
        for index, node in enumerate(g.node):
            layer = node.name or (node.output[0] if node.output else f"node{index}")
            if failed.intersection(node.input):  # reported where it began, unless unsupported itself
                failed.update(node.output)
                if node.op_type not in CONVERTERS and node.op_type != "Constant":
                    problems.append(f"{node.op_type} at node {index} ({layer})")
                continue
            try:
                self.node(node)
            except _Unsupported as why:
                problems.append(f"{node.op_type} at node {index} ({layer}){f': {why}' if str(why) else ''}")
                failed.update(node.output)
        if problems:
            raise UnsupportedOpsError(problems, SUPPORTED_OPS)
        outputs = []
        for value in g.output:
            if value.name in self.consts:
                raise ModelError(f"{self.name}: output {value.name!r} is a constant; nothing to compute")
            outputs.append(self.plain(value.name))
        graph = ir.Graph(
            self.name, dict(self.tensors), tuple(self.ops), tuple(inputs), tuple(outputs), self.layouts, self.hints
        )
        graph = graph.with_ops(graph.ops)
        try:
            graph.validate()
        except ValueError as exc:
            raise ModelError(f"{self.name}: inconsistent graph: {exc}") from None
        return graph

    def node(self, node) -> None:
        kind = node.op_type
        if node.domain not in ("", "ai.onnx"):
            raise _Unsupported(f"domain {node.domain!r}")
        if kind == "Constant":
            self.consts[node.output[0]] = self._constant_value(node)
        elif kind == "Shape" and node.input[0] not in self.consts:
            self.consts[node.output[0]] = np.array(self.shape(node.input[0]), dtype=np.int64)
        elif all(not i or i in self.consts for i in node.input):
            self._fold(node)
        elif kind in CONVERTERS:
            CONVERTERS[kind](self, node, _attrs(node))
        else:
            raise _Unsupported()

    def _constant_value(self, node) -> np.ndarray:
        attr = node.attribute[0]
        value = self.onnx.helper.get_attribute_value(attr)
        if attr.name == "value":
            return self.onnx.numpy_helper.to_array(value)
        if attr.name in ("value_float", "value_int", "value_floats", "value_ints"):
            return np.array(value, dtype=np.float32 if "float" in attr.name else np.int64)
        raise _Unsupported(f"constant of kind {attr.name}")

    def _fold(self, node) -> None:
        """Evaluate a node of constants with onnx's reference implementation."""
        from onnx import helper
        from onnx.reference import ReferenceEvaluator

        feeds = {i: self.consts[i] for i in node.input if i}
        graph = helper.make_graph(
            [node],
            "fold",
            [
                helper.make_tensor_value_info(i, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                for i, a in feeds.items()
            ],
            [helper.make_empty_tensor_value_info(o) for o in node.output if o],
        )
        # The reference evaluator lacks some old versions (DequantizeLinear < 19): on
        # constants the newest version computes the same, so it is the fallback.
        for opset in (self.opset, self.onnx.defs.onnx_opset_version()):
            try:
                model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
                results = ReferenceEvaluator(model).run(None, feeds)
                break
            except Exception as exc:
                problem = f"cannot evaluate on constants ({type(exc).__name__})"
        else:
            raise _Unsupported(problem)
        for name, value in zip([o for o in node.output if o], results):
            self.consts[name] = np.asarray(value)

    # --- values and layouts ------------------------------------------------------------

    def shape(self, name: str) -> tuple[int, ...]:
        if name in self.consts:
            return tuple(self.consts[name].shape)
        t = self.types.get(name)
        if t is None or not t.HasField("shape"):
            raise ModelError(f"{self.name}: tensor {name!r} has no inferred shape; aiotc needs static shapes")
        dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in t.shape.dim)
        if any(d < 0 for d in dims):
            raise ModelError(f"{self.name}: tensor {name!r} has a dynamic shape; aiotc needs static shapes")
        return dims

    def dtype(self, name: str) -> str:
        elem = self.types[name].elem_type if name in self.types else FLOAT
        if elem != FLOAT:
            kind = self.onnx.TensorProto.DataType.Name(elem)
            raise ModelError(
                f"{self.name}: tensor {name!r} has ONNX type {kind}; aiotc computes float32 activations (integer models come in as TFLite)"
            )
        return "float32"

    def define(
        self, onnx_name: str, shape: tuple[int, ...], dtype: str, layout: str, ir_name: str | None = None
    ) -> str:
        ir_name = ir_name or onnx_name
        check_size(self.name, ir_name, shape, dtype)
        self.tensors[ir_name] = ir.Tensor(ir_name, tuple(int(d) for d in shape), dtype)
        self.values[onnx_name] = (ir_name, layout)
        return ir_name

    def output(self, node, layout: str, index: int = 0) -> str:
        """Define node output `index` from its inferred ONNX shape in `layout`."""
        name = node.output[index]
        shape = self.shape(name)
        if layout == "nhwc":
            shape = tuple(shape[i] for i in TO_NHWC)
        return self.define(name, shape, self.dtype(name), layout)

    def alias(self, node, source: str, layout: str) -> None:
        """The node's output is an existing IR tensor under another name (or layout)."""
        self.values[node.output[0]] = (self.values[source][0], layout)

    def const(self, name: str, what: str) -> np.ndarray:
        if not name or name not in self.consts:
            raise _Unsupported(f"{what} must be a constant")
        return self.consts[name].astype(np.float32)

    def const_tensor(self, array: np.ndarray, hint: str) -> str:
        name = hint
        while name in self.tensors:
            name += "'"
        array = np.ascontiguousarray(array, dtype=np.float32)
        self.tensors[name] = ir.Tensor(name, array.shape, "float32", None, array)
        return name

    def layout(self, name: str) -> str:
        if name not in self.values:
            raise _Unsupported(f"input {name!r} is not computed by a supported node")
        return self.values[name][1]

    def nhwc(self, name: str) -> str:
        """The IR tensor holding `name` in NHWC (a transpose if it is held plain)."""
        ir_name, layout = self.values.get(name, (None, None))
        if ir_name is None:
            raise _Unsupported(f"input {name!r} is not computed by a supported node")
        if layout == "nhwc":
            return ir_name
        if len(self.tensors[ir_name].shape) != 4:
            raise _Unsupported(
                f"input {name!r} has rank {len(self.tensors[ir_name].shape)}, a 4-D NCHW tensor is needed"
            )
        return self._transposed(name, ir_name, TO_NHWC, "nhwc")

    def plain(self, name: str) -> str:
        """The IR tensor holding `name` in ONNX's own layout."""
        ir_name, layout = self.values.get(name, (None, None))
        if ir_name is None:
            raise _Unsupported(f"input {name!r} is not computed by a supported node")
        return ir_name if layout == "plain" else self._transposed(name, ir_name, TO_NCHW, "plain")

    def _transposed(self, name: str, ir_name: str, perm: tuple[int, ...], layout: str) -> str:
        key = f"{ir_name}:{layout}"
        if key not in self.tensors:
            t = self.tensors[ir_name]
            self.tensors[key] = ir.Tensor(key, tuple(t.shape[p] for p in perm), t.dtype)
            self.emit("transpose", (ir_name,), key, ir.Transpose(perm))
        return key

    def emit(self, kind: str, inputs, output: str, attrs=None) -> None:
        self.ops.append(ir.Op(output, kind, tuple(inputs), (output,), attrs if attrs is not None else ir.NoAttrs()))

    def unary(self, node, kind: str, attrs=None) -> None:
        """An elementwise op: keeps its input's layout."""
        layout = self.layout(node.input[0])
        source = self.values[node.input[0]][0]
        self.emit(kind, (source,), self.output(node, layout), attrs)


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


# --- converters, one per ONNX op type ------------------------------------------------


def _padding(c: _Converter, node, a: dict, kernel, stride, dilation, in_hw, out_hw) -> ir.Padding:
    """Explicit padding from `pads` or `auto_pad`, end padding no output reads trimmed."""
    auto = a.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto == "VALID":
        return ir.Padding()
    begin, end = [], []
    for axis in range(2):
        effective = (kernel[axis] - 1) * dilation[axis] + 1
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            total = max((out_hw[axis] - 1) * stride[axis] + effective - in_hw[axis], 0)
            small, large = total // 2, total - total // 2
            b, e = (small, large) if auto == "SAME_UPPER" else (large, small)
        else:
            pads = list(a.get("pads", [0, 0, 0, 0]))
            b, e = pads[axis], pads[axis + 2]
        if b < 0 or e < 0:
            raise _Unsupported("negative padding")
        needed = max((out_hw[axis] - 1) * stride[axis] + effective - in_hw[axis] - b, 0)
        begin.append(b)
        end.append(min(e, needed))
    return ir.Padding(begin[0], end[0], begin[1], end[1])


def _window(c: _Converter, node, a: dict):
    x = c.nhwc(node.input[0])
    kernel = tuple(a["kernel_shape"]) if "kernel_shape" in a else None
    if kernel is not None and len(kernel) != 2:
        raise _Unsupported(f"{len(kernel)}-D window; aiotc supports 2-D")
    stride = tuple(a.get("strides", (1, 1)))
    dilation = tuple(a.get("dilations", (1, 1)))
    return x, kernel, stride, dilation


def conv(c: _Converter, node, a: dict) -> None:
    x, _, stride, dilation = _window(c, node, a)
    weights = c.const(node.input[1], "the filter")
    if weights.ndim != 4:
        raise _Unsupported(f"{weights.ndim - 2}-D convolution; aiotc supports 2-D")
    bias = c.const(node.input[2], "the bias") if len(node.input) > 2 and node.input[2] else None
    out = c.output(node, "nhwc")
    in_shape, out_shape = c.tensors[x].shape, c.tensors[out].shape
    kernel = weights.shape[2:]
    padding = _padding(c, node, a, kernel, stride, dilation, in_shape[1:3], out_shape[1:3])
    groups, channels = int(a.get("group", 1)), in_shape[3]
    if groups == 1:
        filt, kind = weights.transpose(0, 2, 3, 1), "conv2d"
        attrs: ir.Conv2D | ir.DepthwiseConv2D = ir.Conv2D(stride, dilation, padding)
    elif groups == channels and weights.shape[1] == 1:
        filt, kind = weights.transpose(1, 2, 3, 0), "depthwise_conv2d"
        attrs = ir.DepthwiseConv2D(stride, dilation, padding, weights.shape[0] // channels)
    else:
        raise _Unsupported(f"grouped convolution with {groups} groups of {channels} channels")
    bias_name = c.const_tensor(bias, f"{out}/bias") if bias is not None else None
    c.emit(kind, (x, c.const_tensor(filt, f"{out}/filter"), bias_name), out, attrs)


def pool(c: _Converter, node, a: dict) -> None:
    x, kernel, stride, dilation = _window(c, node, a)
    if dilation != (1, 1):
        raise _Unsupported("dilated pooling")
    out = c.output(node, "nhwc")
    in_shape, out_shape = c.tensors[x].shape, c.tensors[out].shape
    padding = _padding(c, node, a, kernel, stride, dilation, in_shape[1:3], out_shape[1:3])
    if node.op_type == "AveragePool" and a.get("count_include_pad", 0) and padding != ir.Padding():
        raise _Unsupported("count_include_pad=1 with padding (TFLite averages over the valid pixels only)")
    kind = "max_pool2d" if node.op_type == "MaxPool" else "avg_pool2d"
    c.emit(kind, (x,), out, ir.Pool2D(kernel, stride, padding))


def global_pool(c: _Converter, node, a: dict) -> None:
    x = c.nhwc(node.input[0])
    out = c.output(node, "nhwc")
    if node.op_type == "GlobalAveragePool":
        c.emit("mean", (x,), out, ir.Mean((1, 2), keepdims=True))
    else:
        h, w = c.tensors[x].shape[1:3]
        c.emit("max_pool2d", (x,), out, ir.Pool2D((h, w), (h, w)))


def batch_norm(c: _Converter, node, a: dict) -> None:
    """y = x * scale + shift per channel: a mul and an add that passes fold into the conv before."""
    gamma, beta, mean, var = (c.const(n, "BatchNormalization's statistics") for n in node.input[1:5])
    scale = gamma / np.sqrt(var + a.get("epsilon", 1e-5))
    shift = beta - mean * scale
    x = c.nhwc(node.input[0]) if len(c.shape(node.input[0])) == 4 else c.plain(node.input[0])
    layout = "nhwc" if len(c.shape(node.input[0])) == 4 else "plain"
    shape = (1, 1, 1, -1) if layout == "nhwc" else (1, -1) + (1,) * (len(c.shape(node.input[0])) - 2)
    out = c.output(node, layout)
    scaled = c.define(f"{node.output[0]}/scaled", c.tensors[out].shape, "float32", layout)
    c.emit("mul", (x, c.const_tensor(scale.reshape(shape), f"{out}/scale")), scaled, ir.Binary())
    c.emit("add", (scaled, c.const_tensor(shift.reshape(shape), f"{out}/shift")), out, ir.Binary())
    c.values[node.output[0]] = (out, layout)


def gemm(c: _Converter, node, a: dict) -> None:
    if a.get("transA", 0):
        raise _Unsupported("transA=1")
    x = c.plain(node.input[0])
    weights = c.const(node.input[1], "B")
    weights = (weights if a.get("transB", 0) else weights.T) * np.float32(a.get("alpha", 1.0))
    out = c.output(node, "plain")
    bias = None
    if len(node.input) > 2 and node.input[2]:
        scaled = np.broadcast_to(c.const(node.input[2], "C") * np.float32(a.get("beta", 1.0)), (1, weights.shape[0]))
        bias = c.const_tensor(scaled.reshape(-1), f"{out}/bias")
    c.emit("fully_connected", (x, c.const_tensor(weights, f"{out}/weights"), bias), out, ir.FullyConnected())


def matmul(c: _Converter, node, a: dict) -> None:
    """x @ B with a constant 2-D B: a fully connected layer (a following Add becomes its bias)."""
    x = c.plain(node.input[0])
    weights = c.const(node.input[1], "the right operand")
    if weights.ndim != 2 or len(c.tensors[x].shape) != 2:
        raise _Unsupported("only [N, K] x constant [K, M] products")
    c.emit(
        "fully_connected",
        (x, c.const_tensor(weights.T, f"{node.output[0]}/weights"), None),
        c.output(node, "plain"),
        ir.FullyConnected(),
    )


def _unary(kind: str):
    """The converter of an ONNX unary op that is aiotc's `kind` as it is."""
    return lambda c, n, a: c.unary(n, kind)


def binary(c: _Converter, node, a: dict) -> None:
    kind = node.op_type.lower()
    names = list(node.input)
    variable = [n for n in names if n not in c.consts]
    layouts = {c.layout(n) for n in variable}
    rank = len(c.shape(node.output[0]))
    layout = "nhwc" if "nhwc" in layouts and rank == 4 else "plain"
    operands: list[str] = []
    for n in names:
        if n in c.consts:
            value = c.consts[n].astype(np.float32)
            if layout == "nhwc":
                value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(TO_NHWC)
            operands.append(c.const_tensor(value, f"{node.output[0]}/{len(operands)}"))
        else:
            operands.append(c.nhwc(n) if layout == "nhwc" else c.plain(n))
    c.emit(kind, operands, c.output(node, layout), ir.Binary())


def clip(c: _Converter, node, a: dict) -> None:
    def bound(index: int, key: str, default: float) -> float:
        if len(node.input) > index and node.input[index]:
            return float(c.const(node.input[index], "a Clip bound"))
        return float(a.get(key, default))

    low, high = bound(1, "min", -np.inf), bound(2, "max", np.inf)
    if low == 0 and high == 6:
        c.unary(node, "relu6")
    elif low == 0 and high == np.inf:
        c.unary(node, "relu")
    else:
        raise _Unsupported(f"Clip to [{low:g}, {high:g}]; aiotc has ReLU ([0, inf)) and ReLU6 ([0, 6])")


def transpose(c: _Converter, node, a: dict) -> None:
    source, layout = c.values.get(node.input[0], (None, None))
    if source is None:
        raise _Unsupported(f"input {node.input[0]!r} is not computed by a supported node")
    rank = len(c.shape(node.input[0]))
    perm = tuple(a.get("perm", tuple(reversed(range(rank)))))
    if layout == "plain" and perm == TO_NCHW:
        return c.alias(node, node.input[0], "nhwc")
    if layout == "nhwc" and perm == TO_NHWC:
        return c.alias(node, node.input[0], "plain")
    if layout == "nhwc":  # held y = x^T(0,2,3,1); x = y^T(0,3,1,2); out = x^T(perm)
        perm = tuple(TO_NCHW[p] for p in perm)
    c.emit("transpose", (source,), c.output(node, "plain"), ir.Transpose(perm))


def reshape(c: _Converter, node, a: dict) -> None:
    c.emit("reshape", (c.plain(node.input[0]),), c.output(node, "plain"))


def concat(c: _Converter, node, a: dict) -> None:
    rank = len(c.shape(node.output[0]))
    axis = a["axis"] % rank
    if any(n in c.consts for n in node.input):
        raise _Unsupported("constant operands")
    if rank == 4 and any(c.layout(n) == "nhwc" for n in node.input):
        inputs = [c.nhwc(n) for n in node.input]
        c.emit("concat", inputs, c.output(node, "nhwc"), ir.Concat(NCHW_AXIS_IN_NHWC[axis]))
    else:
        c.emit("concat", [c.plain(n) for n in node.input], c.output(node, "plain"), ir.Concat(axis))


def softmax(c: _Converter, node, a: dict) -> None:
    rank = len(c.shape(node.input[0]))
    axis = a.get("axis", -1 if c.opset >= 13 else 1) % rank
    if axis != rank - 1 and any(d != 1 for d in c.shape(node.input[0])[axis + 1 :]):
        raise _Unsupported(f"softmax over axis {axis} of a rank-{rank} tensor; aiotc normalizes the last axis")
    c.emit("softmax", (c.plain(node.input[0]),), c.output(node, "plain"), ir.Softmax())


def pad(c: _Converter, node, a: dict) -> None:
    mode = a.get("mode", b"constant")
    if (mode.decode() if isinstance(mode, bytes) else mode) != "constant":
        raise _Unsupported(f"mode {mode!r}")
    pads = (
        c.consts[node.input[1]].tolist()
        if len(node.input) > 1 and node.input[1] in c.consts
        else list(a.get("pads", []))
    )
    value = (
        float(c.const(node.input[2], "the pad value"))
        if len(node.input) > 2 and node.input[2]
        else float(a.get("value", 0.0))
    )
    if value != 0.0 or (len(node.input) > 3 and node.input[3]):
        raise _Unsupported("padding with a non-zero value or on selected axes")
    rank = len(pads) // 2
    pairs = [(int(pads[i]), int(pads[i + rank])) for i in range(rank)]
    if rank == 4 and c.layout(node.input[0]) == "nhwc":
        c.emit("pad", (c.nhwc(node.input[0]),), c.output(node, "nhwc"), ir.Pad(tuple(pairs[i] for i in TO_NHWC)))
    else:
        c.emit("pad", (c.plain(node.input[0]),), c.output(node, "plain"), ir.Pad(tuple(pairs)))


def reduce_mean(c: _Converter, node, a: dict) -> None:
    rank = len(c.shape(node.input[0]))
    axes = (
        a.get("axes")
        if "axes" in a
        else (c.consts[node.input[1]].tolist() if len(node.input) > 1 and node.input[1] else range(rank))
    )
    axes = sorted(int(x) % rank for x in axes)
    keep = bool(a.get("keepdims", 1))
    if rank == 4 and c.layout(node.input[0]) == "nhwc" and keep:
        c.emit(
            "mean",
            (c.nhwc(node.input[0]),),
            c.output(node, "nhwc"),
            ir.Mean(tuple(sorted(NCHW_AXIS_IN_NHWC[x] for x in axes)), True),
        )
    else:
        c.emit("mean", (c.plain(node.input[0]),), c.output(node, "plain"), ir.Mean(tuple(axes), keep))


def identity(c: _Converter, node, a: dict) -> None:
    c.alias(node, node.input[0], c.layout(node.input[0]))


def quantize_linear(c: _Converter, node, a: dict) -> None:
    """Q of a computed float value: the value itself, its int8 parameters recorded."""
    scale = c.const(node.input[1], "the scale")
    if scale.size != 1:
        raise _Unsupported("per-axis quantization of an activation")
    zero_point = c.consts[node.input[2]] if len(node.input) > 2 and node.input[2] in c.consts else np.zeros(1, np.uint8)
    if zero_point.dtype not in (np.uint8, np.int8):
        raise _Unsupported(f"{zero_point.dtype} quantization (int8 and uint8 are supported)")
    int8_zero_point = int(zero_point.ravel()[0]) - (128 if zero_point.dtype == np.uint8 else 0)
    c.alias(node, node.input[0], c.layout(node.input[0]))
    c.hints[c.values[node.input[0]][0]] = (float(scale.ravel()[0]), int8_zero_point)


def dequantize_linear(c: _Converter, node, a: dict) -> None:
    """DQ of a quantized activation (a QuantizeLinear's output): the float value again."""
    if c.values.get(node.input[0], (None,))[0] not in c.hints:
        raise _Unsupported("dequantizing a value no QuantizeLinear made")
    c.alias(node, node.input[0], c.layout(node.input[0]))


# --- data movement (issue 20) ----------------------------------------------------------


def _held(c: _Converter, name: str) -> tuple[str, str]:
    """The IR tensor for `name` and its layout: NHWC if a rank-4 value is held so, else plain."""
    layout = "nhwc" if len(c.shape(name)) == 4 and c.layout(name) == "nhwc" else "plain"
    return (c.nhwc(name) if layout == "nhwc" else c.plain(name)), layout


def split(c: _Converter, node, a: dict) -> None:
    """One strided slice per output, as the TFLite frontend reads SPLIT."""
    source, layout = _held(c, node.input[0])
    rank = len(c.shape(node.input[0]))
    axis = a.get("axis", 0) % rank
    sizes = [c.shape(out)[axis] for out in node.output]
    axis = NCHW_AXIS_IN_NHWC[axis] if layout == "nhwc" else axis
    shape, start = c.tensors[source].shape, 0
    for index, size in enumerate(sizes):
        begin = tuple(start if i == axis else 0 for i in range(rank))
        end = tuple(start + size if i == axis else d for i, d in enumerate(shape))
        c.emit("strided_slice", (source,), c.output(node, layout, index), ir.StridedSlice(begin, end, (1,) * rank))
        start += size


def tile(c: _Converter, node, a: dict) -> None:
    source, layout = _held(c, node.input[0])
    if node.input[1] not in c.consts:
        raise _Unsupported("repeats must be a constant")
    repeats = [int(r) for r in c.consts[node.input[1]].ravel()]
    if layout == "nhwc":
        repeats = [repeats[i] for i in TO_NHWC]
    c.emit("tile", (source,), c.output(node, layout), ir.Tile(tuple(repeats)))


def depth_space(kind: str):
    """DepthToSpace's DCR order and SpaceToDepth are TFLite's on NHWC."""

    def convert(c: _Converter, node, a: dict) -> None:
        mode = a.get("mode", b"DCR")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if kind == "depth_to_space" and mode != "DCR":
            raise _Unsupported(f"mode {mode} (DCR is supported)")
        c.emit(kind, (c.nhwc(node.input[0]),), c.output(node, "nhwc"), ir.BlockSize(int(a["blocksize"])))

    return convert


def gather(c: _Converter, node, a: dict) -> None:
    """Gather of a computed value at constant indices: aiotc's gather (the TFLite frontend's kind)."""
    source, layout = _held(c, node.input[0])
    if layout != "plain":
        raise _Unsupported("a gather from an NCHW image")
    shape = c.tensors[source].shape
    axis = a.get("axis", 0) % len(shape)
    indices = c.consts.get(node.input[1])
    if indices is None:
        raise _Unsupported("indices must be constants")
    indices = np.where(indices < 0, indices + shape[axis], indices).astype(np.int64)
    if indices.size and not (indices.min() >= 0 and indices.max() < shape[axis]):
        raise _Unsupported(f"indices outside 0..{shape[axis] - 1}")
    attrs = ir.Gather(axis, tuple(int(i) for i in indices.ravel()), indices.shape)
    c.emit("gather", (source,), c.output(node, "plain"), attrs)


def gru(c: _Converter, node, a: dict) -> None:
    """A forward GRU (sigmoid and tanh, as PyTorch exports nn.GRU), unrolled over its time
    steps into fully connected layers and elementwise ops: per step
    z, r = sigmoid(W x + R h + b), n = tanh(W_n x + b_Wn + r (R_n h + b_Rn)) (linear_before_reset,
    else R_n (r h)), h = (1 - z) n + z h."""
    if a.get("direction", b"forward") not in (b"forward", "forward") or a.get("layout", 0):
        raise _Unsupported(f"direction {a.get('direction')!r}, layout {a.get('layout', 0)} (forward, layout 0 only)")
    if "activations" in a or "clip" in a:
        raise _Unsupported("activations or clip other than the default")
    if len(node.input) > 4 and node.input[4]:
        raise _Unsupported("sequence_lens")
    hidden = int(a["hidden_size"])
    x = c.plain(node.input[0])
    steps, batches, _ = c.tensors[x].shape
    w, r = c.const(node.input[1], "W")[0], c.const(node.input[2], "R")[0]
    has_bias = len(node.input) > 3 and node.input[3]
    b = c.const(node.input[3], "B")[0] if has_bias else np.zeros(6 * hidden, np.float32)
    if len(node.input) > 5 and node.input[5]:
        h = c.const_tensor(c.const(node.input[5], "initial_h")[0], f"{node.output[0] or node.name}/h0")
    else:
        h = c.const_tensor(np.zeros((batches, hidden), np.float32), f"{node.output[0] or node.name}/h0")
    prefix = node.output[0] or node.output[1]
    gate = {g: slice(i * hidden, (i + 1) * hidden) for i, g in enumerate("zrn")}

    def tensor(role: str, t: int, shape=(batches, hidden)) -> str:
        name = f"{prefix}/{t}/{role}"
        c.tensors[name] = ir.Tensor(name, tuple(shape), "float32")
        return name

    constants: dict[str, tuple[str, str | None]] = {}  # role -> its weights and bias, made once for all steps

    def fc(source: str, weights: np.ndarray, bias: np.ndarray | None, role: str, t: int) -> str:
        if c.tensors[source].is_const:  # the initial state: computed here (no activation for PTQ to calibrate)
            value = c.tensors[source].data @ weights.T + (0 if bias is None else bias)
            return c.const_tensor(value, f"{prefix}/{t}/{role}")
        if role not in constants:
            bias_name = None if bias is None else c.const_tensor(bias, f"{prefix}/{role}/bias")
            constants[role] = (c.const_tensor(weights, f"{prefix}/{role}/weights"), bias_name)
        out = tensor(role, t)
        c.emit("fully_connected", (source, *constants[role]), out, ir.FullyConnected())
        return out

    def op(kind: str, inputs, role: str, t: int) -> str:
        out = tensor(role, t)
        c.emit(kind, inputs, out, ir.Binary() if kind in ("add", "sub", "mul") else None)
        return out

    ones = c.const_tensor(np.ones((batches, hidden), np.float32), f"{prefix}/ones")
    outputs = []
    for t in range(steps):
        step = tensor("x", t, (1, batches, c.tensors[x].shape[2]))
        c.emit(
            "strided_slice", (x,), step, ir.StridedSlice((t, 0, 0), (t + 1, batches, c.tensors[x].shape[2]), (1, 1, 1))
        )
        xt = tensor("xt", t, (batches, c.tensors[x].shape[2]))
        c.emit("reshape", (step,), xt)
        z, rg = (
            op(
                "logistic",
                (
                    op(
                        "add",
                        (
                            fc(xt, w[gate[g]], b[gate[g]] + b[3 * hidden :][gate[g]], f"x{g}", t),
                            fc(h, r[gate[g]], None, f"h{g}", t),
                        ),
                        f"{g}_in",
                        t,
                    ),
                ),
                g,
                t,
            )
            for g in "zr"
        )
        if a.get("linear_before_reset", 0):
            recurrent = op("mul", (rg, fc(h, r[gate["n"]], b[3 * hidden :][gate["n"]], "hn", t)), "r_hn", t)
        else:
            recurrent = fc(op("mul", (rg, h), "r_h", t), r[gate["n"]], b[3 * hidden :][gate["n"]], "hn", t)
        n = op("tanh", (op("add", (fc(xt, w[gate["n"]], b[gate["n"]], "xn", t), recurrent), "n_in", t),), "n", t)
        keep = op("mul", (op("sub", (ones, z), "1-z", t), n), "new", t)
        h = op("add", (keep, op("mul", (z, h), "old", t)), "h", t)
        outputs.append(h)
    if node.output[0]:
        packed = tensor("y", steps, (steps, batches, hidden))
        c.emit("pack", outputs, packed, ir.Pack(0))
        c.emit("reshape", (packed,), c.output(node, "plain", 0))
    if len(node.output) > 1 and node.output[1]:
        c.emit("reshape", (h,), c.output(node, "plain", 1))


CONVERTERS = {
    "Conv": conv,
    "MaxPool": pool,
    "AveragePool": pool,
    "GlobalAveragePool": global_pool,
    "GlobalMaxPool": global_pool,
    "BatchNormalization": batch_norm,
    "Gemm": gemm,
    "MatMul": matmul,
    "Add": binary,
    "Sub": binary,
    "Mul": binary,
    "Relu": lambda c, n, a: c.unary(n, "relu"),
    "Clip": clip,
    "Sigmoid": lambda c, n, a: c.unary(n, "logistic"),
    "Tanh": lambda c, n, a: c.unary(n, "tanh"),
    "HardSwish": lambda c, n, a: c.unary(n, "hard_swish"),
    "LeakyRelu": lambda c, n, a: c.unary(n, "leaky_relu", ir.LeakyRelu(float(a.get("alpha", 0.01)))),
    "Transpose": transpose,
    "Reshape": reshape,
    "Flatten": reshape,
    "Squeeze": reshape,
    "Unsqueeze": reshape,
    "Concat": concat,
    "Softmax": softmax,
    "Pad": pad,
    "ReduceMean": reduce_mean,
    "Identity": identity,
    "Dropout": identity,
    "QuantizeLinear": quantize_linear,
    "DequantizeLinear": dequantize_linear,
    # data movement (issue 20)
    "Split": split,
    "Gather": gather,
    "GRU": gru,
    "Tile": tile,
    "DepthToSpace": depth_space("depth_to_space"),
    "SpaceToDepth": depth_space("space_to_depth"),
    # elementwise math (issue 20)
    "Div": binary,
    **{kind.capitalize(): _unary(kind) for kind in ONNX_UNARY},
}
SUPPORTED_OPS = tuple(sorted(CONVERTERS))  # besides any op whose inputs are all constant: it is folded
