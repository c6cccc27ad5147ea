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
A 3-D value read by a spatial op (Conv1d: [N, C, L]) is held as the NHWC image one
row high, [N, 1, L, C].

Constant subgraphs are evaluated before any op is converted and ONNX shape inference
runs again with their values, so shapes computed by arithmetic that ONNX's data
propagation does not follow are static too.

QDQ models (onnxruntime.quantization's QuantizeLinear/DequantizeLinear pairs) keep
their float graph: a pair on an activation becomes a rename and its scale and zero
point a `Graph.quant_hints` entry (uint8 zero points moved to int8), which PTQ then
takes as the tensor's parameters; weights and biases behind DequantizeLinear fold to
floats that requantize to the same integers. Values inside an op built from several
kinds (HardSigmoid, Clip) get parameters derived from the op's output hint (`derived`).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .. import ir
from ..errors import ModelError, UnsupportedOpsError
from ..ops import ONNX_UNARY, OPS, SAME_AS_INPUT
from .checks import MAX_OPS, MAX_SUBGRAPH_DEPTH, check_counts, check_size

TO_NHWC, TO_NCHW = (0, 2, 3, 1), (0, 3, 1, 2)
NCHW_AXIS_IN_NHWC = (0, 3, 1, 2)  # ONNX (NCHW) axis i is IR (NHWC) axis NCHW_AXIS_IN_NHWC[i]
SPATIAL = {"Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "BatchNormalization"}
SPATIAL |= {"ConvTranspose"}  # issue 20
FLOAT, BOOL = 1, 9  # onnx.TensorProto's element types aiotc computes with (bool: masks, Where's condition)
MAX_FOLD_ROUNDS = 4  # constant folding, then shape inference on the values found, at most this often


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
        dequantized = _dynamic_as_float(model)
        graph = _Converter(model, path.stem).graph()
        return replace(graph, dequantized=dequantized) if dequantized else graph
    except (ModelError, UnsupportedOpsError):
        raise
    except Exception as exc:  # malformed protobuf fields fail in many ways
        raise ModelError(f"{path.name}: corrupt or inconsistent ONNX model ({type(exc).__name__}: {exc})") from None


def _dynamic_as_float(model) -> dict[str, tuple[str, int]]:
    """onnxruntime's quantize_dynamic as the float model (the hybrid rule of hybrid.py): a
    ConvInteger or MatMulInteger of a DynamicQuantizeLinear's output becomes a Conv or MatMul of
    its float input and the constant weights less their zero points, and the DynamicQuantizeLinear
    leaves scale 1 and zero point 0, so the Mul by the weights' scale that follows scales the
    float product (passes fold it into a conv). Only a DynamicQuantizeLinear whose every reader
    is such a layer goes (another reader needs its real scale). Rewrites `model` in place;
    returns the weights dequantized (dtype, element count)."""
    from onnx import helper, numpy_helper

    g = model.graph
    consts = {t.name: t for t in g.initializer}
    dynamic = {n.output[0]: n for n in g.node if n.op_type == "DynamicQuantizeLinear" and len(n.output) == 3}

    def integer_layer(node) -> bool:
        """A layer of constant weights reading a DynamicQuantizeLinear with its zero point."""
        source = dynamic.get(node.input[0]) if node.op_type in ("ConvInteger", "MatMulInteger") else None
        zero_point = node.input[2] if len(node.input) > 2 else ""
        return source is not None and node.input[1] in consts and zero_point in ("", source.output[2])

    readers: dict[str, list] = {}
    for node in g.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {o.name for o in g.output}
    gone = {n for n in dynamic if n not in outputs and readers.get(n) and all(map(integer_layer, readers[n]))}
    nodes, done = [], {}
    for node in g.node:
        if node.input and node.input[0] in gone and integer_layer(node):
            q = numpy_helper.to_array(consts[node.input[1]])
            w_zero = numpy_helper.to_array(consts[node.input[3]]) if len(node.input) > 3 and node.input[3] else 0
            axis_shape = (-1,) + (1,) * (q.ndim - 1) if node.op_type == "ConvInteger" else (-1,)  # output channels
            weights = q.astype(np.float32) - np.asarray(w_zero, np.float32).reshape(
                axis_shape if np.size(w_zero) > 1 else ()
            )
            name = f"{node.input[1]}/float"
            g.initializer.append(numpy_helper.from_array(weights, name))
            done[node.input[1]] = ("int8" if q.dtype == np.int8 else "uint8", int(q.size))
            float_op = "Conv" if node.op_type == "ConvInteger" else "MatMul"
            nodes.append(
                helper.make_node(float_op, [dynamic[node.input[0]].input[0], name], list(node.output), node.name)
            )
            nodes[-1].attribute.extend(node.attribute)
        elif node.op_type == "DynamicQuantizeLinear" and node.output[0] in gone:
            # the float value is read itself: scale 1, zero point 0
            g.initializer.extend(
                [
                    numpy_helper.from_array(np.array(1.0, np.float32), node.output[1]),
                    numpy_helper.from_array(np.array(0, np.uint8), node.output[2]),
                ]
            )
        else:
            nodes.append(node)
    if not done:
        return {}
    del g.node[:]
    g.node.extend(nodes)
    del g.value_info[:]  # the integer products' declared types: inference gives the float ones
    return done


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
        self.model = self._infer(model)
        self.opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=1)
        self.consts = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
        self._fold_constants()
        self.values: dict[str, tuple[str, str]] = {}  # onnx name -> (ir name, 'plain' | 'nhwc')
        self.tensors: dict[str, ir.Tensor] = {}
        self.ops: list[ir.Op] = []
        self.layouts: dict[str, str] = {}
        self.hints: dict[str, tuple[float, int]] = {}
        self.hard_sigmoids: dict[str, str] = {}  # IR output of HardSigmoid(x) as in x * HardSigmoid(x) -> x
        self.derived: dict[str, tuple[str, float, float]] = {}  # inner value -> (output, scale factor, offset)

    def _infer(self, model):
        """The model with ONNX's inferred shapes; they are also read into `types`."""
        try:
            model = self.onnx.shape_inference.infer_shapes(model, strict_mode=True, data_prop=True)
        except Exception as exc:
            raise ModelError(f"{self.name}: ONNX shape inference failed: {str(exc).splitlines()[0][:200]}") from None
        self.types = {
            v.name: v.type.tensor_type for v in (*model.graph.input, *model.graph.value_info, *model.graph.output)
        }
        return model

    def _fold_constants(self) -> None:
        """Evaluate the constant subgraphs before any op is converted, and infer the shapes again
        with their values as initializers: shape arithmetic ONNX's data propagation does not follow
        (PyTorch's chunk: Shape -> Gather -> Div -> Slice ends) then leaves no shape dynamic. The
        nodes stay in the model (the driver skips them), so errors name the model's own node numbers."""
        for _ in range(MAX_FOLD_ROUNDS):
            folded = []
            for node in self.model.graph.node:
                if self._folded(node) or node.domain not in ("", "ai.onnx") or node.op_type in ("If", "Loop", "Scan"):
                    continue
                constant = node.op_type == "Constant" or all(not i or i in self.consts for i in node.input)
                if constant or (node.op_type == "Shape" and self._static(node.input[0])):
                    try:
                        self.node(node)
                    except (_Unsupported, ModelError):
                        continue
                    folded.append(node)
            if not folded:
                return
            model = self.onnx.ModelProto()
            model.CopyFrom(self.model)
            del model.graph.node[:]
            model.graph.node.extend(n for n in self.model.graph.node if not self._folded(n))
            known = {t.name for t in model.graph.initializer}
            model.graph.initializer.extend(
                self.onnx.numpy_helper.from_array(np.asarray(v), k) for k, v in self.consts.items() if k not in known
            )
            del model.graph.value_info[:]
            try:
                self._infer(model)  # sets `types` only when it succeeds
            except ModelError:  # the first inference stands: whatever it left dynamic is refused later
                return

    def _derive_hints(self) -> None:
        """A QDQ model quantizes an op's output, not the values inside aiotc's pieces of it: an inner
        value that is the output's grid scaled by `factor` and moved by `offset` gets that grid.
        A source without a hint of its own may pass on its input's (a reshape, a pixel shuffle)."""
        producers = {op.outputs[0]: op for op in self.ops}
        for inner, (source, factor, offset) in self.derived.items():
            while source not in self.hints and source in producers:
                producer = producers[source]
                if OPS[producer.kind].output_quant != SAME_AS_INPUT:
                    break
                source = producer.inputs[0]
            if source in self.hints and inner not in self.hints:
                scale, zero_point = self.hints[source]
                shift = round(offset / (scale * factor))
                self.hints[inner] = (scale * factor, int(np.clip(zero_point - shift, -128, 127)))

    def _folded(self, node) -> bool:
        return bool(node.output) and all(not o or o in self.consts for o in node.output)

    def _static(self, name: str) -> bool:
        t = self.types.get(name)
        return t is not None and t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim)

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
        self._derive_hints()
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
        if self._folded(node):
            return
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
        if elem == BOOL:
            return "bool"
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
            shape = tuple(_as_image(shape)[i] for i in TO_NHWC)
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
        dtype = str(array.dtype) if str(array.dtype) in ("bool", "int32") else "float32"  # int32: indices
        array = np.ascontiguousarray(array, dtype=dtype)
        self.tensors[name] = ir.Tensor(name, array.shape, dtype, None, array)
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
        shape = self.tensors[ir_name].shape
        if len(shape) == 3:
            ir_name = self._reshaped(ir_name, _as_image(shape))
        elif len(shape) != 4:
            raise _Unsupported(f"input {name!r} has rank {len(shape)}, a 4-D NCHW (or 3-D NCL) tensor is needed")
        return self._transposed(name, ir_name, TO_NHWC, "nhwc")

    def plain(self, name: str) -> str:
        """The IR tensor holding `name` in ONNX's own layout."""
        ir_name, layout = self.values.get(name, (None, None))
        if ir_name is None:
            raise _Unsupported(f"input {name!r} is not computed by a supported node")
        if layout == "plain":
            return ir_name
        nchw = self._transposed(name, ir_name, TO_NCHW, "plain")
        shape = self.shape(name)
        return self._reshaped(nchw, shape) if len(shape) == 3 else nchw

    def _transposed(self, name: str, ir_name: str, perm: tuple[int, ...], layout: str) -> str:
        key = f"{ir_name}:{layout}"
        if key not in self.tensors:
            t = self.tensors[ir_name]
            self.tensors[key] = ir.Tensor(key, tuple(t.shape[p] for p in perm), t.dtype)
            self.emit("transpose", (ir_name,), key, ir.Transpose(perm))
        return key

    def _reshaped(self, ir_name: str, shape: tuple[int, ...]) -> str:
        """A 1-D signal [N, C, L] and its image [N, C, 1, L]: the same bytes."""
        key = f"{ir_name}:{'x'.join(map(str, shape))}"
        if key not in self.tensors:
            self.tensors[key] = ir.Tensor(key, tuple(shape), self.tensors[ir_name].dtype)
            self.emit("reshape", (ir_name,), key)
        return key

    def emit(self, kind: str, inputs, output: str, attrs=None) -> None:
        self.ops.append(ir.Op(output, kind, tuple(inputs), (output,), attrs if attrs is not None else ir.NoAttrs()))

    def unary(self, node, kind: str, attrs=None) -> None:
        """An elementwise op: keeps its input's layout."""
        layout = self.layout(node.input[0])
        source = self.values[node.input[0]][0]
        self.emit(kind, (source,), self.output(node, layout), attrs)


def _as_image(shape: tuple[int, ...]) -> tuple[int, ...]:
    """A 1-D signal (Conv1d, MaxPool1d: [N, C, L]) is an image one row high, [N, C, 1, L]."""
    return (shape[0], shape[1], 1, shape[2]) if len(shape) == 3 else shape


def _window_2d(c: _Converter, node, a: dict) -> dict:
    """A 1-D window's attributes as the 2-D window of its image one row high."""
    if len(c.shape(node.input[0])) != 3:
        return a
    a = {key: [1, *value] if key in ("kernel_shape", "strides", "dilations") else value for key, value in a.items()}
    if "pads" in a:
        a["pads"] = [0, a["pads"][0], 0, a["pads"][1]]
    return a


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
    a = _window_2d(c, node, a)
    x, _, stride, dilation = _window(c, node, a)
    weights = c.const(node.input[1], "the filter")
    if weights.ndim == 3:  # Conv1d: [O, I, K] as [O, I, 1, K]
        weights = weights[:, :, None, :]
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


def conv_transpose(c: _Converter, node, a: dict) -> None:
    """ConvTranspose with group 1, no dilation and explicit pads (PyTorch's export): weights
    (C_in, C_out, kH, kW) as OHWI; input pixel i lands at output i * stride - pads_begin,
    and the output's size is the inferred one (output_padding, output_shape included)."""
    x, _, stride, dilation = _window(c, node, a)
    weights = c.const(node.input[1], "the filter")
    auto = a.get("auto_pad", b"NOTSET")
    if weights.ndim != 4 or int(a.get("group", 1)) != 1 or dilation != (1, 1):
        raise _Unsupported("only 2-D, group 1 and no dilation")
    if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", "VALID"):
        raise _Unsupported(f"auto_pad {auto!r}; explicit pads are supported")
    pads = list(a.get("pads", [0, 0, 0, 0]))
    if min(pads) < 0:
        raise _Unsupported("negative padding")
    bias = c.const(node.input[2], "the bias") if len(node.input) > 2 and node.input[2] else None
    out = c.output(node, "nhwc")
    bias_name = c.const_tensor(bias, f"{out}/bias") if bias is not None else None
    filt = c.const_tensor(weights.transpose(1, 2, 3, 0), f"{out}/filter")
    c.emit("transpose_conv", (x, filt, bias_name), out, ir.TransposeConv(stride, (pads[0], pads[1])))


def pool(c: _Converter, node, a: dict) -> None:
    a = _window_2d(c, node, a)
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
    """x @ B with a constant 2-D B: a fully connected layer over x's last axis (a following Add
    becomes its bias); any other product (attention's Q K^T): a batch matmul."""
    if any(len(c.shape(n)) < 2 for n in node.input):
        raise _Unsupported("1-D operands")
    if node.input[1] in c.consts and c.consts[node.input[1]].ndim == 2 and node.input[0] not in c.consts:
        x = c.plain(node.input[0])
        weights = c.const_tensor(c.const(node.input[1], "B").T, f"{node.output[0]}/weights")
        keep = ir.FullyConnected(keep_num_dims=len(c.tensors[x].shape) > 2)
        c.emit("fully_connected", (x, weights, None), c.output(node, "plain"), keep)
        return
    operands = [
        c.const_tensor(c.consts[n], f"{node.output[0]}/{index}") if n in c.consts else c.plain(n)
        for index, n in enumerate(node.input)
    ]
    c.emit("batch_matmul", operands, c.output(node, "plain"), ir.BatchMatMul())


def _unary(kind: str):
    """The converter of an ONNX unary op that is aiotc's `kind` as it is."""
    return lambda c, n, a: c.unary(n, kind)


BINARY = {
    "Add": "add",
    "Sub": "sub",
    "Mul": "mul",
    "Div": "div",
    "Max": "maximum",
    "Min": "minimum",
    "Equal": "equal",
    "Less": "less",
    "LessOrEqual": "less_equal",
    "Greater": "greater",
    "GreaterOrEqual": "greater_equal",
    "And": "logical_and",
    "Or": "logical_or",
    "Where": "select_v2",
}  # element-wise ops of two (Where: three) inputs, broadcast as ONNX broadcasts


def binary(c: _Converter, node, a: dict) -> None:
    kind = BINARY[node.op_type]
    names = list(node.input)
    if len(names) != OPS[kind].min_inputs:
        raise _Unsupported(f"{len(names)} inputs")
    if kind == "mul" and _hard_swish(c, node):
        return
    variable = [n for n in names if n not in c.consts]
    layouts = {c.layout(n) for n in variable}
    rank = len(c.shape(node.output[0]))
    layout = "nhwc" if "nhwc" in layouts and rank == 4 else "plain"
    operands: list[str] = []
    for n in names:
        if n in c.consts:
            value = c.consts[n] if c.consts[n].dtype == np.bool_ else c.consts[n].astype(np.float32)
            if layout == "nhwc":
                value = value.reshape((1,) * (4 - value.ndim) + value.shape).transpose(TO_NHWC)
            operands.append(c.const_tensor(value, f"{node.output[0]}/{len(operands)}"))
        else:
            operands.append(c.nhwc(n) if layout == "nhwc" else c.plain(n))
    c.emit(kind, operands, c.output(node, layout), OPS[kind].attrs())


def _chain(c: _Converter, node, steps) -> None:
    """Element-wise steps from the node's input to its output, in the input's layout:
    (kind, None) or (kind, a scalar constant second operand)."""
    x, layout = c.values.get(node.input[0], (None, None))
    if x is None:
        raise _Unsupported(f"input {node.input[0]!r} is not computed by a supported node")
    out = c.output(node, layout)
    shape = c.tensors[out].shape
    for index, (kind, value) in enumerate(steps):
        result = out if index == len(steps) - 1 else c.define(f"{node.output[0]}/{index}", shape, "float32", layout)
        constant = np.full((1,) * len(shape), value, np.float32)
        operands = (x,) if value is None else (x, c.const_tensor(constant, f"{out}/{kind}"))
        c.emit(kind, operands, result, OPS[kind].attrs())
        x = result


def hard_sigmoid(c: _Converter, node, a: dict) -> None:
    """max(0, min(1, alpha x + beta)) as relu6(6 alpha x + 6 beta) / 6. PyTorch writes
    hardswish (opsets before 14) as x * HardSigmoid(x): that Mul becomes one hard_swish
    (_hard_swish) and this chain, then unread, is dropped by the passes."""
    alpha, beta = float(a.get("alpha", 0.2)), float(a.get("beta", 0.5))
    _chain(c, node, [("mul", 6 * alpha), ("add", 6 * beta), ("relu6", None), ("mul", 1 / 6)])
    out = c.values[node.output[0]][0]
    if np.isclose(alpha, 1 / 6) and beta == 0.5:
        c.hard_sigmoids[out] = c.values[node.input[0]][0]
    # In a QDQ model: relu6's input and output on 6 x the output's grid (clamping to it is the
    # relu6; the passes may fuse it into the add), the scaled input on that grid moved by -6 beta.
    c.derived[f"{node.output[0]}/1"] = c.derived[f"{node.output[0]}/2"] = (out, 6.0, 0.0)
    c.derived[f"{node.output[0]}/0"] = (out, 6.0, -6 * beta)


def _hard_swish(c: _Converter, node) -> bool:
    """x * HardSigmoid(x) (alpha 1/6, beta 1/2) is hardswish: emit it and say so."""
    if any(n not in c.values for n in node.input):
        return False
    left, right = (c.values[n][0] for n in node.input)
    x = left if c.hard_sigmoids.get(right) == left else right if c.hard_sigmoids.get(left) == right else None
    if x is None:
        return False
    source = node.input[0] if x == left else node.input[1]
    c.emit("hard_swish", (x,), c.output(node, c.layout(source)))
    return True


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
    elif low > high:
        raise _Unsupported(f"Clip to the empty range [{low:g}, {high:g}]")
    else:
        steps = [(kind, bound) for kind, bound in (("maximum", low), ("minimum", high)) if np.isfinite(bound)]
        _chain(c, node, steps)
        out = c.values[node.output[0]][0]  # QDQ: the output's grid, else (a float output) the input's
        c.derived[out] = (c.values[node.input[0]][0], 1.0, 0.0)
        if len(steps) == 2:
            c.derived[f"{node.output[0]}/0"] = (out, 1.0, 0.0)


def power(c: _Converter, node, a: dict) -> None:
    """x to a constant power that TFLite has an op for."""
    exponent = c.const(node.input[1], "the exponent")
    kinds = {2.0: "square", 0.5: "sqrt", -0.5: "rsqrt"}
    if exponent.size != 1 or float(exponent.ravel()[0]) not in kinds:
        raise _Unsupported(f"exponent {exponent.ravel()[:4].tolist()} (2, 0.5 and -0.5 are supported)")
    c.unary(node, kinds[float(exponent.ravel()[0])])


def reciprocal(c: _Converter, node, a: dict) -> None:
    x, layout = c.values.get(node.input[0], (None, None))
    if x is None:
        raise _Unsupported(f"input {node.input[0]!r} is not computed by a supported node")
    one = c.const_tensor(np.ones((1,) * len(c.tensors[x].shape), np.float32), f"{node.output[0]}/one")
    c.emit("div", (one, x), c.output(node, layout), ir.Binary())


def elu(c: _Converter, node, a: dict) -> None:
    if float(a.get("alpha", 1.0)) != 1.0:
        raise _Unsupported(f"alpha {a['alpha']:g} (TFLite's ELU has alpha 1)")
    c.unary(node, "elu")


def log_softmax(c: _Converter, node, a: dict) -> None:
    rank = len(c.shape(node.input[0]))
    if a.get("axis", -1 if c.opset >= 13 else 1) % rank != rank - 1:
        raise _Unsupported("an axis other than the last")
    c.emit("log_softmax", (c.plain(node.input[0]),), c.output(node, "plain"))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


RESIZE_RULES = {  # (mode, coordinate_transformation_mode, nearest_mode) -> TFLite's (align_corners, half_pixel_centers)
    ("nearest", "asymmetric", "floor"): (False, False),  # PyTorch's nearest
    ("nearest", "tf_half_pixel_for_nn", "floor"): (False, True),
    ("nearest", "half_pixel", "round_prefer_ceil"): (False, True),  # round((x + .5) s - .5) half up = floor((x + .5) s)
    ("nearest", "align_corners", "round_prefer_ceil"): (True, False),
    ("linear", "asymmetric", ""): (False, False),
    ("linear", "align_corners", ""): (True, False),
    ("linear", "half_pixel", ""): (False, True),
}


def resize(c: _Converter, node, a: dict) -> None:
    """Resize and Upsample of height and width: TFLite's nearest or bilinear resize, whose
    coordinate rules match these ONNX modes."""
    mode = _text(a.get("mode", "nearest"))
    coordinates = _text(a.get("coordinate_transformation_mode", "half_pixel" if c.opset >= 11 else "asymmetric"))
    if node.op_type == "Upsample":
        coordinates = "asymmetric"
    in_shape, out_shape = c.shape(node.input[0]), c.shape(node.output[0])
    if coordinates == "pytorch_half_pixel" and min(out_shape[2:]) > 1:
        coordinates = "half_pixel"  # the two differ only for an output of size 1
    if len(in_shape) != 4 or in_shape[:2] != out_shape[:2]:
        raise _Unsupported(f"resizing {list(in_shape)} to {list(out_shape)}; only height and width are resized")
    if a.get("antialias", 0) or a.get("exclude_outside", 0):
        raise _Unsupported("antialias or exclude_outside")
    mode = "linear" if mode == "bilinear" else mode  # Upsample's name
    key = (mode, coordinates, _text(a.get("nearest_mode", "round_prefer_floor")) if mode == "nearest" else "")
    if key == ("nearest", "half_pixel", "round_prefer_floor") and all(
        o % i == 0 for o, i in zip(out_shape[2:], in_shape[2:])
    ):  # ONNX's default: upsampling by whole factors k meets no tie ((x + .5) / k - .5 is never n + .5)
        key = ("nearest", "half_pixel", "round_prefer_ceil")
    matching = ", ".join(" ".join(filter(None, rule[1:])) for rule in RESIZE_RULES if rule[0] == mode)
    if not matching:
        raise _Unsupported(f"mode {mode} (TFLite resizes nearest and bilinear)")
    if key not in RESIZE_RULES:
        raise _Unsupported(f"{mode} resize with {' '.join(filter(None, key[1:]))} (TFLite's rules match {matching})")
    kind = "resize_nearest" if mode == "nearest" else "resize_bilinear"
    c.emit(kind, (c.nhwc(node.input[0]),), c.output(node, "nhwc"), ir.Resize(*RESIZE_RULES[key]))


def _normalize(c: _Converter, node, x: str, layout: str, axes: tuple[int, ...], scale, bias, epsilon: float) -> None:
    """(x - mean) / sqrt(variance + epsilon) * scale + bias over `axes` (IR axes), in element-wise pieces."""
    out = c.output(node, layout)
    shape = c.tensors[out].shape
    reduced = tuple(1 if i in axes else d for i, d in enumerate(shape))

    def value(name: str, kind: str, inputs, full: bool = True, attrs=None) -> str:
        result = c.define(f"{node.output[0]}/{name}", shape if full else reduced, "float32", layout)
        c.emit(kind, inputs, result, attrs if attrs is not None else OPS[kind].attrs())
        return result

    def constant(array, name: str) -> str:
        return c.const_tensor(np.asarray(array, np.float32), f"{out}/{name}")

    mean = value("mean", "mean", (x,), False, ir.Mean(axes, True))
    centered = value("centered", "sub", (x, mean))
    variance = value("variance", "mean", (value("squared", "square", (centered,)),), False, ir.Mean(axes, True))
    shifted = value("shifted", "add", (variance, constant(np.full((1,) * len(shape), epsilon), "epsilon")), False)
    inverse = value("inverse", "rsqrt", (shifted,), False)
    normalized = value("normalized", "mul", (centered, inverse))
    scaled = value("scaled", "mul", (normalized, constant(scale, "scale")))
    c.emit("add", (scaled, constant(bias, "bias")), out, ir.Binary())


def instance_norm(c: _Converter, node, a: dict) -> None:
    """Per sample and channel over the spatial axes (NHWC: height and width)."""
    if len(c.shape(node.input[0])) not in (3, 4):
        raise _Unsupported("a rank other than 3 (NCL) or 4 (NCHW)")
    scale, bias = c.const(node.input[1], "the scale"), c.const(node.input[2], "the bias")
    epsilon = float(a.get("epsilon", 1e-5))
    x = c.nhwc(node.input[0])
    _normalize(c, node, x, "nhwc", (1, 2), scale.reshape(1, 1, 1, -1), bias.reshape(1, 1, 1, -1), epsilon)


def layer_norm(c: _Converter, node, a: dict) -> None:
    """Over the axes from `axis` on, with their scale and (optional) bias."""
    if any(node.output[1:]):
        raise _Unsupported("the mean and inverse deviation outputs")
    shape = c.shape(node.input[0])
    axis = int(a.get("axis", -1)) % len(shape)
    scale = c.const(node.input[1], "the scale")
    bias = c.const(node.input[2], "the bias") if len(node.input) > 2 and node.input[2] else np.zeros_like(scale)
    lead = (1,) * (len(shape) - scale.ndim)
    scale, bias, epsilon = (
        scale.reshape(lead + scale.shape),
        bias.reshape(lead + bias.shape),
        float(a.get("epsilon", 1e-5)),
    )
    _normalize(c, node, c.plain(node.input[0]), "plain", tuple(range(axis, len(shape))), scale, bias, epsilon)


def transpose(c: _Converter, node, a: dict) -> None:
    source, layout = c.values.get(node.input[0], (None, None))
    if source is None:
        raise _Unsupported(f"input {node.input[0]!r} is not computed by a supported node")
    rank = len(c.shape(node.input[0]))
    if layout == "nhwc" and rank != 4:
        source, layout = c.plain(node.input[0]), "plain"
    perm = tuple(a.get("perm", tuple(reversed(range(rank)))))
    if layout == "plain" and perm == TO_NCHW:
        return c.alias(node, node.input[0], "nhwc")
    if layout == "nhwc" and perm == TO_NHWC:
        return c.alias(node, node.input[0], "plain")
    if layout == "nhwc":  # held y = x^T(0,2,3,1); x = y^T(0,3,1,2); out = x^T(perm)
        perm = tuple(TO_NCHW[p] for p in perm)
    if rank > 4:  # ShuffleNet's channel shuffle: [1, g, C/g, H, W] -> [1, C/g, g, H, W]
        shape, perm = _merged_transpose(c.tensors[source].shape, perm)
        if len(shape) > 4:
            raise _Unsupported(f"a rank-{rank} transpose that moves more than 4 groups of axes")
        source = c._reshaped(source, shape)
        moved = c.define(f"{node.output[0]}/merged", tuple(shape[p] for p in perm), c.tensors[source].dtype, "plain")
        c.emit("transpose", (source,), moved, ir.Transpose(perm))
        c.emit("reshape", (moved,), c.output(node, "plain"))
        return
    c.emit("transpose", (source,), c.output(node, "plain"), ir.Transpose(perm))


def _merged_transpose(shape: tuple[int, ...], perm: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The same transpose on fewer axes: unit axes dropped, axes that stay neighbours in order merged."""
    kept = [axis for axis in range(len(shape)) if shape[axis] != 1]
    groups: list[list[int]] = []  # runs of kept input axes, in output order
    for axis in (p for p in perm if shape[p] != 1):
        if groups and kept.index(axis) == kept.index(groups[-1][-1]) + 1:
            groups[-1].append(axis)
        else:
            groups.append([axis])
    by_input = sorted(range(len(groups)), key=lambda g: groups[g][0])
    merged = tuple(int(np.prod([shape[a] for a in groups[g]])) for g in by_input)
    return merged, tuple(by_input.index(g) for g in range(len(groups)))


def reshape(c: _Converter, node, a: dict) -> None:
    c.emit("reshape", (c.plain(node.input[0]),), c.output(node, "plain"))


def concat(c: _Converter, node, a: dict) -> None:
    rank = len(c.shape(node.output[0]))
    axis = a["axis"] % rank
    nhwc = rank == 4 and any(c.layout(n) == "nhwc" for n in node.input if n not in c.consts)
    inputs = []
    for index, n in enumerate(node.input):  # a constant (ViT's class token) joins as a constant tensor
        if n in c.consts:
            value = c.consts[n].transpose(TO_NHWC) if nhwc else c.consts[n]
            inputs.append(c.const_tensor(value, f"{node.output[0]}/{index}"))
        else:
            inputs.append(c.nhwc(n) if nhwc else c.plain(n))
    if nhwc:
        c.emit("concat", inputs, c.output(node, "nhwc"), ir.Concat(NCHW_AXIS_IN_NHWC[axis]))
    else:
        c.emit("concat", inputs, c.output(node, "plain"), ir.Concat(axis))


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


def reduce(c: _Converter, node, a: dict) -> None:
    """ReduceMean, ReduceMax, ReduceMin, ReduceSum: axes as an attribute or (opset 18, Sum 13) an input."""
    kind = REDUCTIONS[node.op_type]
    if a.get("noop_with_empty_axes", 0):
        raise _Unsupported("noop_with_empty_axes")
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
            kind,
            (c.nhwc(node.input[0]),),
            c.output(node, "nhwc"),
            ir.Mean(tuple(sorted(NCHW_AXIS_IN_NHWC[x] for x in axes)), True),
        )
    else:
        c.emit(kind, (c.plain(node.input[0]),), c.output(node, "plain"), ir.Mean(tuple(axes), keep))


REDUCTIONS = {"ReduceMean": "mean", "ReduceMax": "reduce_max", "ReduceMin": "reduce_min", "ReduceSum": "sum"}


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


def slice_(c: _Converter, node, a: dict) -> None:
    """Constant starts, ends, axes and steps (attributes before opset 10): a strided slice."""
    source, layout = _held(c, node.input[0])
    shape = c.shape(node.input[0])
    if c.opset < 10:
        starts, ends = list(a["starts"]), list(a["ends"])
        axes, steps = list(a.get("axes", range(len(starts)))), [1] * len(starts)
    else:
        operands = [c.consts.get(n) if n else None for n in [*node.input[1:], "", ""][:4]]
        if any(n and n not in c.consts for n in node.input[1:]):
            raise _Unsupported("starts, ends, axes and steps must be constants")
        starts, ends = operands[0].tolist(), operands[1].tolist()
        axes = operands[2].tolist() if operands[2] is not None else list(range(len(starts)))
        steps = operands[3].tolist() if operands[3] is not None else [1] * len(starts)
    begin, end, strides = [0] * len(shape), list(shape), [1] * len(shape)
    for start, stop, axis, step in zip(starts, ends, axes, steps):
        if step == 0:
            raise _Unsupported("a step of 0")
        axis = int(axis) % len(shape)
        begin[axis], end[axis], strides[axis] = slice(int(start), int(stop), int(step)).indices(shape[axis])
    if layout == "nhwc":
        begin, end, strides = ([values[i] for i in TO_NHWC] for values in (begin, end, strides))
    attrs = ir.StridedSlice(tuple(begin), tuple(end), tuple(strides))
    c.emit("strided_slice", (source,), c.output(node, layout), attrs)


def gather(c: _Converter, node, a: dict) -> None:
    """Constant indices (a Gather on a Shape is folded before it gets here)."""
    if node.input[1] not in c.consts:
        raise _Unsupported("indices must be a constant")
    shape = c.shape(node.input[0])
    axis = int(a.get("axis", 0)) % len(shape)
    indices = c.consts[node.input[1]].astype(np.int64)
    if indices.size and not (-shape[axis] <= indices.min() and indices.max() < shape[axis]):
        raise _Unsupported(f"indices outside -{shape[axis]}..{shape[axis] - 1}")
    indices = indices % shape[axis]
    attrs = ir.Gather(axis, tuple(int(i) for i in indices.ravel()), indices.shape)
    c.emit("gather", (c.plain(node.input[0]),), c.output(node, "plain"), attrs)


def gather_nd(c: _Converter, node, a: dict) -> None:
    """Constant indices (negative ones counted from the end of their axis), no batch_dims."""
    if int(a.get("batch_dims", 0)):
        raise _Unsupported("batch_dims")
    if node.input[1] not in c.consts:
        raise _Unsupported("indices must be a constant")
    shape, indices = c.shape(node.input[0]), c.consts[node.input[1]].astype(np.int64)
    depth = indices.shape[-1] if indices.ndim else 0
    sizes = np.array(shape[:depth], np.int64)
    if depth > len(shape) or (indices.size and np.any((indices < -sizes) | (indices >= sizes))):
        raise _Unsupported(f"indices {list(indices.shape)} outside the data {list(shape)}")
    table = c.const_tensor((indices % np.maximum(sizes, 1)).astype(np.int32), f"{node.output[0]}/indices")
    c.emit("gather_nd", (c.plain(node.input[0]), table), c.output(node, "plain"))


def expand(c: _Converter, node, a: dict) -> None:
    """Expand to a constant shape: TFLite's BROADCAST_TO, on a value of the output's rank."""
    x, out_shape = c.plain(node.input[0]), c.shape(node.output[0])
    shape = c.tensors[x].shape
    if len(shape) < len(out_shape):
        x = c._reshaped(x, (1,) * (len(out_shape) - len(shape)) + shape)
    c.emit("broadcast_to", (x,), c.output(node, "plain"))


def prelu(c: _Converter, node, a: dict) -> None:
    """A constant slope, broadcast as ONNX broadcasts it (per channel in NCHW)."""
    slope = c.const(node.input[1], "the slope")
    x, layout = _held(c, node.input[0])
    if layout == "nhwc":
        slope = slope.reshape((1,) * (4 - slope.ndim) + slope.shape).transpose(TO_NHWC)
    else:
        slope = slope.reshape((1,) * (len(c.shape(node.input[0])) - slope.ndim) + slope.shape)
    c.emit("prelu", (x, c.const_tensor(slope, f"{node.output[0]}/slope")), c.output(node, layout))


def _crd_as_dcr(c: _Converter, node, x: str, block: int) -> str:
    """PyTorch's PixelShuffle (DepthToSpace in CRD order: channel c * b * b + i * b + j) is the DCR
    order (channel (i * b + j) * C + c) after a gather of the channels."""
    shape = c.tensors[x].shape
    channels = shape[3] // (block * block)
    order = np.arange(shape[3]).reshape(channels, block * block).T.ravel()
    gathered = c.define(f"{node.output[0]}/dcr", shape, c.tensors[x].dtype, "nhwc")
    c.emit("gather", (x,), gathered, ir.Gather(3, tuple(int(i) for i in order), order.shape))
    return gathered


def sum_(c: _Converter, node, a: dict) -> None:
    """Sum of any number of inputs: a chain of adds."""
    if len(node.input) == 1:
        return identity(c, node, a)
    x, layout = _held(c, node.input[0])
    for index, name in enumerate(node.input[1:], start=2):
        if name in c.consts or c.shape(name) != c.shape(node.input[0]):
            raise _Unsupported("constant or broadcast operands")
        operand = c.nhwc(name) if layout == "nhwc" else c.plain(name)
        last = index == len(node.input)
        total = (
            c.output(node, layout)
            if last
            else c.define(f"{node.output[0]}/{index}", c.tensors[x].shape, "float32", layout)
        )
        c.emit("add", (x, operand), total, ir.Binary())
        x = total


def lp_normalization(c: _Converter, node, a: dict) -> None:
    """x / ||x||_2 over the last axis: TFLite's L2_NORMALIZATION."""
    rank = len(c.shape(node.input[0]))
    if int(a.get("p", 2)) != 2 or int(a.get("axis", -1)) % rank != rank - 1:
        raise _Unsupported("a norm other than L2 over the last axis")
    c.emit("l2_normalization", (c.plain(node.input[0]),), c.output(node, "plain"))


def cast(c: _Converter, node, a: dict) -> None:
    """Float to float (what exporters leave on activations) is the value itself."""
    source = c.values.get(node.input[0], (None,))[0]
    if int(a.get("to", 0)) != FLOAT or source is None or c.tensors[source].dtype != "float32":
        raise _Unsupported("a cast of a computed value other than float32 to float32")
    identity(c, node, a)


def depth_space(kind: str):
    """DepthToSpace's DCR order and SpaceToDepth are TFLite's on NHWC."""

    def convert(c: _Converter, node, a: dict) -> None:
        x, block = c.nhwc(node.input[0]), int(a["blocksize"])
        if kind == "depth_to_space" and _text(a.get("mode", "DCR")) == "CRD":
            x = _crd_as_dcr(c, node, x, block)
        c.emit(kind, (x,), c.output(node, "nhwc"), ir.BlockSize(block))

    return convert


class _Unroller:
    """An ONNX recurrent node (GRU, LSTM, RNN: forward, default activations) unrolled over its
    time steps into fully connected layers and elementwise ops. Step t's tensors are named
    `<output>@<t>/<role>`, which PTQ reads as one loop body (quantize/steps.py)."""

    def __init__(self, c: _Converter, node, a: dict, gates: int, activations: tuple[str, ...]):
        if a.get("direction", b"forward") not in (b"forward", "forward") or a.get("layout", 0):
            raise _Unsupported(
                f"direction {a.get('direction')!r}, layout {a.get('layout', 0)} (forward, layout 0 only)"
            )
        if tuple(_text(f) for f in a.get("activations", activations)) != activations or "clip" in a:
            raise _Unsupported("activations or clip other than the default")  # PyTorch names the defaults
        if len(node.input) > 4 and node.input[4]:
            raise _Unsupported("sequence_lens")
        self.c, self.node, self.hidden = c, node, int(a["hidden_size"])
        self.x = c.plain(node.input[0])
        self.steps, self.batches, self.features = c.tensors[self.x].shape
        self.w, self.r = c.const(node.input[1], "W")[0], c.const(node.input[2], "R")[0]
        has_bias = len(node.input) > 3 and node.input[3]
        self.b = c.const(node.input[3], "B")[0] if has_bias else np.zeros(2 * gates * self.hidden, np.float32)
        self.prefix = next(name for name in node.output if name)
        self.constants: dict[str, tuple[str, str | None]] = {}  # role -> its weights and bias, made once

    def gate(self, i: int) -> slice:
        return slice(i * self.hidden, (i + 1) * self.hidden)

    def initial(self, index: int, what: str) -> str:
        """Node input `index` (initial_h, initial_c), or zeros, as a constant [batch, hidden]."""
        node, shape = self.node, (self.batches, self.hidden)
        value = self.c.const(node.input[index], what)[0] if len(node.input) > index and node.input[index] else None
        return self.c.const_tensor(np.zeros(shape, np.float32) if value is None else value, f"{self.prefix}/{what}")

    def tensor(self, role: str, t: int, shape=None) -> str:
        name = f"{self.prefix}@{t}/{role}"
        self.c.tensors[name] = ir.Tensor(name, tuple(shape or (self.batches, self.hidden)), "float32")
        return name

    def step_input(self, t: int) -> str:
        step = self.tensor("x", t, (1, self.batches, self.features))
        begin, end = (t, 0, 0), (t + 1, self.batches, self.features)
        self.c.emit("strided_slice", (self.x,), step, ir.StridedSlice(begin, end, (1, 1, 1)))
        xt = self.tensor("xt", t, (self.batches, self.features))
        self.c.emit("reshape", (step,), xt)
        return xt

    def fc(self, source: str, weights: np.ndarray, bias: np.ndarray | None, role: str, t: int) -> str:
        c = self.c
        if c.tensors[source].is_const:  # the initial state: computed here (no activation for PTQ to calibrate)
            value = c.tensors[source].data @ weights.T + (0 if bias is None else bias)
            return c.const_tensor(value, f"{self.prefix}@{t}/{role}")
        if role not in self.constants:
            bias_name = None if bias is None else c.const_tensor(bias, f"{self.prefix}/{role}/bias")
            self.constants[role] = (c.const_tensor(weights, f"{self.prefix}/{role}/weights"), bias_name)
        out = self.tensor(role, t)
        c.emit("fully_connected", (source, *self.constants[role]), out, ir.FullyConnected())
        return out

    def gate_input(self, xt: str, h: str, i: int, role: str, t: int) -> str:
        """W_i x + R_i h + Wb_i + Rb_i, the biases folded into the input's layer."""
        gates = len(self.b) // (2 * self.hidden)
        bias = self.b[self.gate(i)] + self.b[gates * self.hidden :][self.gate(i)]
        recurrent = self.fc(h, self.r[self.gate(i)], None, f"h{role}", t)
        return self.op("add", (self.fc(xt, self.w[self.gate(i)], bias, f"x{role}", t), recurrent), f"{role}_in", t)

    def op(self, kind: str, inputs, role: str, t: int) -> str:
        out = self.tensor(role, t)
        self.c.emit(kind, inputs, out, ir.Binary() if kind in ("add", "sub", "mul") else None)
        return out

    def outputs(self, hidden: list[str], cell: str | None = None) -> None:
        """Y (every step's hidden state), Y_h (the last) and, for an LSTM, Y_c."""
        c, node = self.c, self.node
        if node.output[0]:
            packed = self.tensor("y", self.steps, (self.steps, self.batches, self.hidden))
            c.emit("pack", hidden, packed, ir.Pack(0))
            c.emit("reshape", (packed,), c.output(node, "plain", 0))
        for index, last in ((1, hidden[-1]), (2, cell)):
            if len(node.output) > index and node.output[index]:
                c.emit("reshape", (last,), c.output(node, "plain", index))


def gru(c: _Converter, node, a: dict) -> None:
    """A forward GRU (sigmoid and tanh, as PyTorch exports nn.GRU): per step
    z, r = sigmoid(W x + R h + b), n = tanh(W_n x + b_Wn + r (R_n h + b_Rn)) (linear_before_reset,
    else R_n (r h)), h = (1 - z) n + z h."""
    u = _Unroller(c, node, a, 3, ("Sigmoid", "Tanh"))
    h, hidden = u.initial(5, "initial_h"), []
    ones = c.const_tensor(np.ones((u.batches, u.hidden), np.float32), f"{u.prefix}/ones")
    n_bias = u.b[3 * u.hidden :][u.gate(2)]
    for t in range(u.steps):
        xt = u.step_input(t)
        z, rg = (u.op("logistic", (u.gate_input(xt, h, i, g, t),), g, t) for i, g in enumerate("zr"))
        if a.get("linear_before_reset", 0):
            recurrent = u.op("mul", (rg, u.fc(h, u.r[u.gate(2)], n_bias, "hn", t)), "r_hn", t)
        else:
            recurrent = u.fc(u.op("mul", (rg, h), "r_h", t), u.r[u.gate(2)], n_bias, "hn", t)
        n = u.op(
            "tanh", (u.op("add", (u.fc(xt, u.w[u.gate(2)], u.b[u.gate(2)], "xn", t), recurrent), "n_in", t),), "n", t
        )
        keep = u.op("mul", (u.op("sub", (ones, z), "1-z", t), n), "new", t)
        h = u.op("add", (keep, u.op("mul", (z, h), "old", t)), "h", t)
        hidden.append(h)
    u.outputs(hidden)


def lstm(c: _Converter, node, a: dict) -> None:
    """A forward LSTM without peepholes (as PyTorch exports nn.LSTM), gates in ONNX's order
    i, o, f, c: per step i, o, f = sigmoid(W x + R h + b), g = tanh(W_c x + R_c h + b_c),
    C = f C + i g, h = o tanh(C)."""
    if int(a.get("input_forget", 0)):
        raise _Unsupported("input_forget (coupled input and forget gates)")
    if len(node.input) > 7 and node.input[7]:
        raise _Unsupported("peephole weights P")
    u = _Unroller(c, node, a, 4, ("Sigmoid", "Tanh", "Tanh"))
    h, cell, hidden = u.initial(5, "initial_h"), u.initial(6, "initial_c"), []
    for t in range(u.steps):
        xt = u.step_input(t)
        i, o, f = (u.op("logistic", (u.gate_input(xt, h, k, g, t),), g, t) for k, g in enumerate("iof"))
        g = u.op("tanh", (u.gate_input(xt, h, 3, "c", t),), "g", t)
        cell = u.op("add", (u.op("mul", (f, cell), "kept", t), u.op("mul", (i, g), "new", t)), "cell", t)
        h = u.op("mul", (o, u.op("tanh", (cell,), "tanh_cell", t)), "h", t)
        hidden.append(h)
    u.outputs(hidden, cell)


def rnn(c: _Converter, node, a: dict) -> None:
    """A forward Elman RNN with tanh (nn.RNN's default): per step h = tanh(W x + R h + b)."""
    u = _Unroller(c, node, a, 1, ("Tanh",))
    h, hidden = u.initial(5, "initial_h"), []
    for t in range(u.steps):
        h = u.op("tanh", (u.gate_input(u.step_input(t), h, 0, "h", t),), "h", t)
        hidden.append(h)
    u.outputs(hidden)


CONVERTERS = {
    "Conv": conv,
    "ConvTranspose": conv_transpose,
    "Gelu": lambda c, n, a: c.unary(n, "gelu", ir.Gelu(a.get("approximate", b"none") in (b"tanh", "tanh"))),
    "MaxPool": pool,
    "AveragePool": pool,
    "GlobalAveragePool": global_pool,
    "GlobalMaxPool": global_pool,
    "BatchNormalization": batch_norm,
    "Gemm": gemm,
    "MatMul": matmul,
    **dict.fromkeys(BINARY, binary),
    "Relu": lambda c, n, a: c.unary(n, "relu"),
    "Clip": clip,
    "Sigmoid": lambda c, n, a: c.unary(n, "logistic"),
    "Tanh": lambda c, n, a: c.unary(n, "tanh"),
    "HardSwish": lambda c, n, a: c.unary(n, "hard_swish"),
    "HardSigmoid": hard_sigmoid,
    "Softplus": lambda c, n, a: _chain(c, n, [("exp", None), ("add", 1.0), ("log", None)]),
    "Elu": elu,
    "Not": lambda c, n, a: c.unary(n, "logical_not"),
    "Pow": power,
    "Reciprocal": reciprocal,
    "LogSoftmax": log_softmax,
    "Resize": resize,
    "Upsample": resize,
    "InstanceNormalization": instance_norm,
    "LayerNormalization": layer_norm,
    "PRelu": prelu,
    "LeakyRelu": lambda c, n, a: c.unary(n, "leaky_relu", ir.LeakyRelu(float(a.get("alpha", 0.01)))),
    "Transpose": transpose,
    "Reshape": reshape,
    "Flatten": reshape,
    "Squeeze": reshape,
    "Unsqueeze": reshape,
    "Concat": concat,
    "Softmax": softmax,
    "Pad": pad,
    **dict.fromkeys(REDUCTIONS, reduce),
    "Identity": identity,
    "Cast": cast,
    "Sum": sum_,
    "LpNormalization": lp_normalization,
    "Dropout": identity,
    "QuantizeLinear": quantize_linear,
    "DequantizeLinear": dequantize_linear,
    # data movement (issue 20)
    "Split": split,
    "GRU": gru,
    "LSTM": lstm,
    "RNN": rnn,
    "Tile": tile,
    "Slice": slice_,
    "Gather": gather,
    "GatherND": gather_nd,
    "Expand": expand,
    "DepthToSpace": depth_space("depth_to_space"),
    "SpaceToDepth": depth_space("space_to_depth"),
    # elementwise math (issue 20)
    **{kind.capitalize(): _unary(kind) for kind in ONNX_UNARY},
}
SUPPORTED_OPS = tuple(sorted(CONVERTERS))  # besides any op whose inputs are all constant: it is folded
