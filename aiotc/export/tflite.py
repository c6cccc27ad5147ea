"""IR -> .tflite: the writer behind `aiotc export`, per-op test models and the demo.

The inverse of frontend/tflite.py: explicit padding goes back to SAME/VALID, and
attribute values that TFLite keeps as constant operands (mean axes, pad amounts,
permutations, slice bounds, reshape shapes) become int32 constant tensors again.
"""

from __future__ import annotations

import importlib
from dataclasses import replace

import flatbuffers
import numpy as np
import tflite

from .. import ir
from ..errors import ModelError
from ..frontend.tflite import SAME, VALID, same_padding, transpose_same_padding
from ..ops import OPS

TYPE_CODES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "bool": 6, "int16": 7, "int8": 9, "int4": 17}
# Builtins whose first version is not 1: LiteRT refuses an op code below what it registers.
FIRST_VERSIONS = {tflite.BuiltinOperator.BROADCAST_TO: 2}
ACTIVATION_CODES = {"none": 0, "relu": 1, "relu_n1_to_1": 2, "relu6": 3}


def _schema(table: str):
    """The generated module of one schema table (its builder functions live there)."""
    return importlib.import_module(f"tflite.{table}")


def _vector(builder: flatbuffers.Builder, values, kind: str = "int32") -> int:
    array = np.asarray(
        values, dtype={"int32": np.int32, "int64": np.int64, "float32": np.float32, "uint8": np.uint8}[kind]
    )
    return builder.CreateNumpyVector(array)


def _raw_bytes(tensor: ir.Tensor) -> bytes:
    if tensor.dtype == "int4":
        return ir.pack_int4(tensor.data).tobytes()
    return np.ascontiguousarray(tensor.data).tobytes()


def _padding_mode(op: ir.Op, graph: ir.Graph, kernel: tuple[int, ...]) -> int:
    """SAME or VALID for the op's explicit padding; anything else TFLite cannot say."""
    a = op.attrs
    if a.padding == ir.Padding():
        in_shape, out_shape = graph[op.inputs[0]].shape, graph[op.outputs[0]].shape
        valid_h = (in_shape[1] - ((kernel[0] - 1) * getattr(a, "dilation", (1, 1))[0] + 1)) // a.stride[0] + 1
        if valid_h == out_shape[1]:
            return VALID
    in_shape, out_shape = graph[op.inputs[0]].shape, graph[op.outputs[0]].shape
    dilation = getattr(a, "dilation", (1, 1))
    same = ir.Padding(
        *same_padding(in_shape[1], kernel[0], a.stride[0], dilation[0], out_shape[1]),
        *same_padding(in_shape[2], kernel[1], a.stride[1], dilation[1], out_shape[2]),
    )
    if a.padding == same:
        return SAME
    raise ModelError(
        f"layer {op.name!r}: {op.kind} padding {a.padding} is neither SAME nor VALID and no pad in front"
        " stands for it (an average over the valid pixels only): its int8 model has no TFLite form"
    )


def _transpose_padding_mode(op: ir.Op, graph: ir.Graph) -> int:
    """SAME where its padding and output size are SAME's (LiteRT checks the input height
    it implies), else VALID for no padding: tflite-micro reads only the padding."""
    a, kernel = op.attrs, graph[op.inputs[1]].shape[1:3]
    in_hw, out_hw = graph[op.inputs[0]].shape[1:3], graph[op.outputs[0]].shape[1:3]
    same_size = all(-(-o // s) == i for o, s, i in zip(out_hw, a.stride, in_hw))
    if same_size and a.padding == transpose_same_padding(out_hw, kernel, a.stride):
        return SAME
    if a.padding == (0, 0):
        return VALID
    raise ValueError(f"layer {op.name!r}: transposed padding {a.padding} is neither SAME nor VALID for TFLite")


class _Writer:
    def __init__(self, graph: ir.Graph):
        self.graph = graph
        self.b = flatbuffers.Builder(1024 + sum(t.nbytes for t in graph.tensors.values() if t.is_const))
        self.tensors: list[ir.Tensor] = []
        self.index: dict[str, int] = {}
        self.opcodes: list[int] = []

    def tensor_index(self, name: str | None) -> int:
        if name is None:
            return -1
        if name not in self.index:
            self.index[name] = len(self.tensors)
            self.tensors.append(self.graph[name])
        return self.index[name]

    def constant(self, hint: str, values, dtype: str = "int32") -> int:
        """A new int32 constant operand (for attributes TFLite keeps as tensors)."""
        data = np.asarray(values, dtype={"int32": np.int32}[dtype])
        name = hint
        while name in self.index or name in self.graph.tensors:
            name += "'"
        self.index[name] = len(self.tensors)
        self.tensors.append(ir.Tensor(name, data.shape, dtype, None, data))
        return self.index[name]

    def opcode(self, opname: str) -> int:
        code = getattr(tflite.BuiltinOperator, opname)
        if code not in self.opcodes:
            self.opcodes.append(code)
        return self.opcodes.index(code)

    # --- options tables -------------------------------------------------------------

    def options(self, table: str, **fields) -> tuple[int, int]:
        """Write an options table; returns (BuiltinOptions type, offset)."""
        module = _schema(table)
        getattr(module, f"{table}Start")(self.b)
        for field, value in fields.items():
            getattr(module, f"{table}Add{field}")(self.b, value)
        return getattr(tflite.BuiltinOptions, table), getattr(module, f"{table}End")(self.b)

    def op_parts(self, op: ir.Op) -> tuple[list[int], int, int]:
        """(input tensor indices, options type, options offset) of one op."""
        g, a, k = self.graph, op.attrs, op.kind
        data = [self.tensor_index(t) for t in op.inputs]
        act = ACTIVATION_CODES.get(getattr(a, "activation", "none"))
        if k == "conv2d":
            kernel = g[op.inputs[1]].shape[1:3]
            return data, *self.options(
                "Conv2DOptions",
                Padding=_padding_mode(op, g, kernel),
                StrideH=a.stride[0],
                StrideW=a.stride[1],
                DilationHFactor=a.dilation[0],
                DilationWFactor=a.dilation[1],
                FusedActivationFunction=act,
            )
        if k == "depthwise_conv2d":
            kernel = g[op.inputs[1]].shape[1:3]
            return data, *self.options(
                "DepthwiseConv2DOptions",
                Padding=_padding_mode(op, g, kernel),
                StrideH=a.stride[0],
                StrideW=a.stride[1],
                DepthMultiplier=a.depth_multiplier,
                DilationHFactor=a.dilation[0],
                DilationWFactor=a.dilation[1],
                FusedActivationFunction=act,
            )
        if k == "fully_connected":
            return data, *self.options(
                "FullyConnectedOptions", FusedActivationFunction=act, KeepNumDims=a.keep_num_dims
            )
        if isinstance(a, ir.Pool2D):
            return data, *self.options(
                "Pool2DOptions",
                Padding=_padding_mode(op, g, a.kernel),
                StrideH=a.stride[0],
                StrideW=a.stride[1],
                FilterHeight=a.kernel[0],
                FilterWidth=a.kernel[1],
                FusedActivationFunction=act,
            )
        if isinstance(a, ir.Binary):
            return data, *self.options(f"{k.capitalize()}Options", FusedActivationFunction=act)
        if k in ("mean", "sum", "reduce_max", "reduce_min", "reduce_all"):
            return data + [self.constant(f"{op.name}/axes", a.axes)], *self.options(
                "ReducerOptions", KeepDims=a.keepdims
            )
        if k == "pad":
            return data + [self.constant(f"{op.name}/paddings", a.paddings)], *self.options("PadOptions")
        if k == "concat":
            return data, *self.options("ConcatenationOptions", Axis=a.axis, FusedActivationFunction=act)
        if k == "reshape":
            return data + [self.constant(f"{op.name}/shape", g[op.outputs[0]].shape)], *self.options("ReshapeOptions")
        if k == "softmax":
            return data, *self.options("SoftmaxOptions", Beta=a.beta)
        if k == "leaky_relu":
            return data, *self.options("LeakyReluOptions", Alpha=a.alpha)
        if k == "transpose":
            return data + [self.constant(f"{op.name}/perm", a.perm)], *self.options("TransposeOptions")
        if k == "strided_slice":
            # Resolved bounds: an end of -1 under a negative stride means "through index 0",
            # which TFLite can only say with the end mask (-1 would be the last index).
            end_mask = sum(1 << i for i, (e, s) in enumerate(zip(a.end, a.strides)) if e == -1 and s < 0)
            bounds = [self.constant(f"{op.name}/{part}", getattr(a, part)) for part in ("begin", "end", "strides")]
            return data + bounds, *self.options(
                "StridedSliceOptions", EndMask=end_mask, ShrinkAxisMask=_shrink_mask(a, g[op.outputs[0]].shape)
            )
        if k == "lstm":
            return data, *self.options(
                "UnidirectionalSequenceLSTMOptions",
                FusedActivationFunction=4,
                CellClip=a.cell_clip,
                TimeMajor=a.time_major,
            )  # 4: TANH
        if k == "svdf":
            return data, *self.options("SVDFOptions", Rank=a.rank, FusedActivationFunction=act)
        # data movement (issue 20)
        if k == "pack":
            return data, *self.options("PackOptions", ValuesCount=len(op.inputs), Axis=a.axis)
        if k == "tile":
            return data + [self.constant(f"{op.name}/multiples", a.multiples)], *self.options("TileOptions")
        if k == "broadcast_to":
            return data + [self.constant(f"{op.name}/shape", g[op.outputs[0]].shape)], *self.options(
                "BroadcastToOptions"
            )
        if k in ("resize_nearest", "resize_bilinear"):
            size = self.constant(f"{op.name}/size", g[op.outputs[0]].shape[1:3])
            table = "ResizeNearestNeighborOptions" if k == "resize_nearest" else "ResizeBilinearOptions"
            return data + [size], *self.options(
                table, AlignCorners=a.align_corners, HalfPixelCenters=a.half_pixel_centers
            )
        if k == "reverse":
            return data + [self.constant(f"{op.name}/axes", a.axes)], *self.options("ReverseV2Options")
        if k == "gather":
            indices = self.constant(f"{op.name}/indices", np.reshape(a.indices, a.indices_shape))
            return data + [indices], *self.options("GatherOptions", Axis=a.axis)
        if k == "mirror_pad":
            mode = tflite.MirrorPadMode.REFLECT if a.reflect else tflite.MirrorPadMode.SYMMETRIC
            return data + [self.constant(f"{op.name}/paddings", a.paddings)], *self.options(
                "MirrorPadOptions", Mode=mode
            )
        if k in ("batch_to_space", "space_to_batch"):
            spatial = len(g[op.inputs[0]].shape) - 2  # 1 for NHC
            block, crops = (
                self.constant(f"{op.name}/block", a.block[:spatial]),
                self.constant(f"{op.name}/crops", a.crops[:spatial]),
            )
            return data + [block, crops], *self.options(
                "BatchToSpaceNDOptions" if k == "batch_to_space" else "SpaceToBatchNDOptions"
            )
        if k in ("depth_to_space", "space_to_depth"):
            return data, *self.options(
                "DepthToSpaceOptions" if k == "depth_to_space" else "SpaceToDepthOptions", BlockSize=a.block_size
            )
        if k == "cumsum":  # issue 20
            return data + [self.constant(f"{op.name}/axis", [a.axis])], *self.options(
                "CumsumOptions", Exclusive=a.exclusive, Reverse=a.reverse
            )
        if k == "batch_matmul":  # issue 20
            return data, *self.options("BatchMatMulOptions", AdjX=a.adj_x, AdjY=a.adj_y)
        if k == "l2_normalization":  # issue 20
            return data, *self.options("L2NormOptions", FusedActivationFunction=ACTIVATION_CODES["none"])
        if k in ("arg_max", "arg_min"):  # reductions (issue 20)
            table = "ArgMaxOptions" if k == "arg_max" else "ArgMinOptions"
            return data + [self.constant(f"{op.name}/axis", [a.axis])], *self.options(
                table, OutputType=tflite.TensorType.INT32
            )
        if k == "gather_nd":  # issue 20
            return data, *self.options("GatherNdOptions")
        if k == "embedding_lookup":  # issue 20: TFLite's operands are (ids, values)
            return [data[1], data[0]], 0, 0
        if k == "dynamic_update_slice":  # issue 20
            return data, *self.options("DynamicUpdateSliceOptions")
        if k == "gelu":  # issue 20
            return data, *self.options("GeluOptions", Approximate=a.approximate)
        if k == "transpose_conv":  # issue 20: TFLite's operands are (output_shape, filter, input[, bias])
            shape = self.constant(f"{op.name}/output_shape", g[op.outputs[0]].shape)
            operands = [shape, data[1], data[0], *(i for i in data[2:3] if i != -1)]  # no bias: three
            return operands, *self.options(
                "TransposeConvOptions",
                Padding=_transpose_padding_mode(op, g),
                StrideH=a.stride[0],
                StrideW=a.stride[1],
                FusedActivationFunction=act,
            )
        return data, 0, 0

    # --- the model ------------------------------------------------------------------

    def write(self) -> bytes:
        b, g = self.b, self.graph
        for name in g.inputs:
            self.tensor_index(name)
        operators = []
        for op in g.ops:
            inputs, options_type, options = self.op_parts(op)
            outputs = [self.tensor_index(t) for t in op.outputs]
            operators.append((self.opcode(OPS[op.kind].tflite[0]), inputs, outputs, options_type, options))
        for name in g.outputs:
            self.tensor_index(name)

        buffers = [self._buffer(None)] + [self._buffer(t) for t in self.tensors]
        tensors = [self._tensor(t, i + 1) for i, t in enumerate(self.tensors)]
        ops = [self._operator(*parts) for parts in operators]
        sg = _schema("SubGraph")
        tensors_vec = self._offsets(sg.SubGraphStartTensorsVector, tensors)
        ops_vec = self._offsets(sg.SubGraphStartOperatorsVector, ops)
        inputs_vec = _vector(b, [self.index[n] for n in g.inputs])
        outputs_vec = _vector(b, [self.index[n] for n in g.outputs])
        name = b.CreateString(g.name)
        sg.SubGraphStart(b)
        sg.SubGraphAddTensors(b, tensors_vec)
        sg.SubGraphAddOperators(b, ops_vec)
        sg.SubGraphAddInputs(b, inputs_vec)
        sg.SubGraphAddOutputs(b, outputs_vec)
        sg.SubGraphAddName(b, name)
        subgraph = sg.SubGraphEnd(b)

        oc = _schema("OperatorCode")
        codes = []
        for code in self.opcodes:
            oc.OperatorCodeStart(b)
            oc.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            oc.OperatorCodeAddBuiltinCode(b, code)
            oc.OperatorCodeAddVersion(b, FIRST_VERSIONS.get(code, 1))
            codes.append(oc.OperatorCodeEnd(b))
        m = _schema("Model")
        codes_vec = self._offsets(m.ModelStartOperatorCodesVector, codes)
        subgraphs_vec = self._offsets(m.ModelStartSubgraphsVector, [subgraph])
        buffers_vec = self._offsets(m.ModelStartBuffersVector, buffers)
        description = b.CreateString("aiotc")
        m.ModelStart(b)
        m.ModelAddVersion(b, 3)
        m.ModelAddOperatorCodes(b, codes_vec)
        m.ModelAddSubgraphs(b, subgraphs_vec)
        m.ModelAddDescription(b, description)
        m.ModelAddBuffers(b, buffers_vec)
        b.Finish(m.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    def _offsets(self, start_vector, offsets: list[int]) -> int:
        start_vector(self.b, len(offsets))
        for offset in reversed(offsets):
            self.b.PrependUOffsetTRelative(offset)
        return self.b.EndVector()

    def _buffer(self, tensor: ir.Tensor | None) -> int:
        mod = _schema("Buffer")
        data = None
        if tensor is not None and tensor.is_const:
            raw = _raw_bytes(tensor)
            self.b.StartVector(1, len(raw), 16)  # weights 16-byte aligned, as the converter writes them
            self.b.head -= len(raw)
            self.b.Bytes[self.b.head : self.b.head + len(raw)] = raw
            data = self.b.EndVector()
        mod.BufferStart(self.b)
        if data is not None:
            mod.BufferAddData(self.b, data)
        return mod.BufferEnd(self.b)

    def _tensor(self, tensor: ir.Tensor, buffer: int) -> int:
        b = self.b
        mod = _schema("Tensor")
        quant = None
        if tensor.quant is not None:
            q = _schema("QuantizationParameters")
            scale = _vector(b, tensor.quant.scale.ravel(), "float32")
            zero_point = _vector(b, tensor.quant.zero_point.ravel(), "int64")
            q.QuantizationParametersStart(b)
            q.QuantizationParametersAddScale(b, scale)
            q.QuantizationParametersAddZeroPoint(b, zero_point)
            q.QuantizationParametersAddQuantizedDimension(b, tensor.quant.axis or 0)
            quant = q.QuantizationParametersEnd(b)
        shape = _vector(b, tensor.shape)
        name = b.CreateString(tensor.name)
        mod.TensorStart(b)
        mod.TensorAddShape(b, shape)
        mod.TensorAddType(b, TYPE_CODES[tensor.dtype])
        mod.TensorAddBuffer(b, buffer if tensor.is_const else 0)
        mod.TensorAddName(b, name)
        mod.TensorAddIsVariable(b, tensor.name in self.graph.state)
        if quant is not None:
            mod.TensorAddQuantization(b, quant)
        return mod.TensorEnd(b)

    def _operator(self, opcode: int, inputs: list[int], outputs: list[int], options_type: int, options: int) -> int:
        b = self.b
        mod = _schema("Operator")
        inputs_vec, outputs_vec = _vector(b, inputs), _vector(b, outputs)
        mod.OperatorStart(b)
        mod.OperatorAddOpcodeIndex(b, opcode)
        mod.OperatorAddInputs(b, inputs_vec)
        mod.OperatorAddOutputs(b, outputs_vec)
        if options_type:
            mod.OperatorAddBuiltinOptionsType(b, options_type)
            mod.OperatorAddBuiltinOptions(b, options)
        return mod.OperatorEnd(b)


def _shrink_mask(a: ir.StridedSlice, shape: tuple[int, ...]) -> int:
    """The size-1 axes a slice's output drops (UNPACK's pieces), matched left to right."""
    mask, kept = 0, 0
    for axis, (b, e, s) in enumerate(zip(a.begin, a.end, a.strides)):
        size = max(0, -(-(e - b) // s))
        if kept < len(shape) and shape[kept] == size:
            kept += 1
        elif size == 1:
            mask |= 1 << axis
    return mask


def write_tflite(graph: ir.Graph) -> bytes:
    """Serialize an IR graph as a TFLite flatbuffer that tflite-micro can run."""
    graph = zero_biases(explicit_pads(graph))
    graph.validate()
    return _Writer(graph).write()


def explicit_pads(graph: ir.Graph) -> ir.Graph:
    """Convolutions and max pools whose padding is neither SAME nor VALID (PyTorch's symmetric
    stride-2 padding) become a pad + VALID layer with the same numbers. A convolution's padded
    tap adds zero in float and the zero point in int8, which is what PAD writes. A max pool
    must not see a value its window lacks: MIRROR_PAD in SYMMETRIC mode repeats the edge
    pixels, and every window that holds a padded pixel also holds the pixel it copies when
    each pad is at most half the window (PyTorch's rule: a window from row -p reaches row
    k - 1 - p >= p - 1). Transposed convolutions become VALID ones and a crop
    (_cropped_transpose_conv)."""
    tensors, ops = dict(graph.tensors), []
    for op in graph.ops:
        if op.kind == "transpose_conv" and not _expressible_transposed(op, graph):
            ops += _cropped_transpose_conv(op, graph, tensors)
            continue
        pads_with = "pad" if OPS[op.kind].convolves else "mirror_pad" if _mirrors(op) else None
        if pads_with and not _expressible(op, graph):
            x, p = graph[op.inputs[0]], op.attrs.padding
            padded = ir.Tensor(
                f"{op.name}/padded",
                (x.shape[0], x.shape[1] + p.top + p.bottom, x.shape[2] + p.left + p.right, x.shape[3]),
                x.dtype,
                x.quant,
            )
            tensors[padded.name] = padded
            paddings = ((0, 0), (p.top, p.bottom), (p.left, p.right), (0, 0))
            attrs = ir.Pad(paddings) if pads_with == "pad" else ir.MirrorPad(paddings, reflect=False)
            ops.append(ir.Op(f"{op.name}/pad", pads_with, (x.name,), (padded.name,), attrs))
            op = replace(op, inputs=(padded.name, *op.inputs[1:]), attrs=replace(op.attrs, padding=ir.Padding()))
        ops.append(op)
    return graph.with_ops(ops, tensors)


def _expressible_transposed(op: ir.Op, graph: ir.Graph) -> bool:
    try:
        _transpose_padding_mode(op, graph)
        return True
    except ValueError:
        return False


def _cropped_transpose_conv(op: ir.Op, graph: ir.Graph, tensors: dict[str, ir.Tensor]) -> list[ir.Op]:
    """A transposed conv whose padding TFLite cannot say (PyTorch's kernel 3, stride 2,
    padding 1, output_padding 1) as a VALID one into a larger output, then the slice of it
    that is the layer's output: the same numbers (bias and activation are per pixel). The
    larger output may pass VALID's size by less than a stride, as TFLite allows."""
    out, (top, left) = graph[op.outputs[0]], op.attrs.padding
    n, h, w, _ = graph[op.inputs[0]].shape
    kernel, stride = graph[op.inputs[1]].shape[1:3], op.attrs.stride
    valid = ((h - 1) * stride[0] + kernel[0], (w - 1) * stride[1] + kernel[1])
    full_h, full_w = max(valid[0], top + out.shape[1]), max(valid[1], left + out.shape[2])
    if full_h - valid[0] >= stride[0] or full_w - valid[1] >= stride[1]:
        raise ValueError(f"layer {op.name!r}: transposed output {list(out.shape)} is beyond what TFLite can write")
    full = ir.Tensor(f"{op.name}/uncropped", (n, full_h, full_w, out.shape[3]), out.dtype, out.quant)
    tensors[full.name] = full
    crop = ir.StridedSlice((0, top, left, 0), (n, top + out.shape[1], left + out.shape[2], out.shape[3]), (1, 1, 1, 1))
    return [
        replace(op, outputs=(full.name,), attrs=replace(op.attrs, padding=(0, 0))),
        ir.Op(f"{op.name}/crop", "strided_slice", (full.name,), op.outputs, crop),
    ]


def zero_biases(graph: ir.Graph) -> ir.Graph:
    """Convolutions without a bias get one of zeros, as TFLite's converter writes them: LiteRT's
    conv kernel requires it. int8 (int16) layers take int32 (int64) zeros on the scales of input x filter."""
    tensors, ops = dict(graph.tensors), []
    for op in graph.ops:
        if OPS[op.kind].convolves and (len(op.inputs) < 3 or op.inputs[2] is None):
            x, w = graph[op.inputs[0]], graph[op.inputs[1]]
            channels = w.shape[OPS[op.kind].weight_axis]
            if x.quant is None:
                bias = ir.Tensor(f"{op.name}/bias", (channels,), "float32", None, np.zeros(channels, np.float32))
            else:
                scale = (x.quant.scale[0] * np.broadcast_to(w.quant.scale, (channels,))).astype(np.float32)
                dtype = "int64" if x.dtype == "int16" else "int32"
                quant = ir.Quant(scale, np.zeros(channels, np.int64), 0)
                bias = ir.Tensor(f"{op.name}/bias", (channels,), dtype, quant, np.zeros(channels, dtype))
            tensors[bias.name] = bias
            op = replace(op, inputs=(*op.inputs[:2], bias.name))
        ops.append(op)
    return graph.with_ops(ops, tensors)


def _mirrors(op: ir.Op) -> bool:
    """A max pool whose pads are at most half its window (explicit_pads)."""
    if op.kind != "max_pool2d":
        return False
    p, (kh, kw) = op.attrs.padding, op.attrs.kernel
    return 2 * max(p.top, p.bottom) <= kh and 2 * max(p.left, p.right) <= kw


def _expressible(op: ir.Op, graph: ir.Graph) -> bool:
    try:
        _padding_mode(op, graph, op.attrs.kernel if op.kind == "max_pool2d" else graph[op.inputs[1]].shape[1:3])
        return True
    except ModelError:
        return False
