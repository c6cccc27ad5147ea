"""The op table: what the pipeline knows about each op kind, one entry per kind.

Stages ask the table (`OPS[op.kind].windowed`) instead of listing kinds, so adding
an op is one entry here, a frontend converter, a lowering and a kernel
(docs/adding-an-op.md); tests/unit/test_op_table.py keeps the frontends, the lowerings
and the table in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from . import ir, resample
from .ir import Graph, Op


class Fixed(NamedTuple):
    """Output parameters tflite-micro requires whatever the data (softmax, logistic, tanh)."""

    scale: float
    zero_point: int


CALIBRATED = "calibrated"  # the output gets its own range from calibration
SAME_AS_INPUT = "same as input"  # the kernel moves or clamps bytes without rescaling
SHARED = "shared"  # the inputs and the output share one range (concat: a plain copy)


def never(op: Op) -> bool:
    return False


def always(op: Op) -> bool:
    return True


def no_macs(op: Op, graph: Graph) -> int:
    return 0


def conv_macs(op: Op, graph: Graph) -> int:
    """Output elements x the filter's taps per output (OHWI: H x W x I)."""
    return graph[op.outputs[0]].size * int(np.prod(graph[op.inputs[1]].shape[1:]))


def depthwise_macs(op: Op, graph: Graph) -> int:
    """Output elements x the filter's H x W (1HW(C*M))."""
    filt = graph[op.inputs[1]]
    return graph[op.outputs[0]].size * filt.shape[1] * filt.shape[2]


def pad_lead(op: Op, graph: Graph) -> int | None:
    """Bytes aiotc_pad's output runs ahead of its input: it copies the input's elements front
    to back and each row's padding only widens the lead, so the last element's is the largest."""
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    if inp.size == 0 or min(min(p) for p in op.attrs.paddings) < 0:
        return None
    last = tuple(size - 1 + before for size, (before, _) in zip(inp.shape, op.attrs.paddings))
    return (int(np.ravel_multi_index(last, out.shape)) - (inp.size - 1)) * (out.nbytes // out.size)


def slice_lead(op: Op, graph: Graph) -> int | None:
    """A slice of unit strides copies runs front to back, each from at or after its own offset: no lead."""
    return 0 if all(s == 1 for s in op.attrs.strides) else None


def transpose_conv_macs(op: Op, graph: Graph) -> int:
    """Input elements x the filter's taps per input channel (OHWI: O x H x W), clipped taps included."""
    filt = graph[op.inputs[1]]
    return graph[op.inputs[0]].size * filt.shape[0] * filt.shape[1] * filt.shape[2]


def transpose_conv_rows(op: Op, graph: Graph) -> tuple[resample.Rows, resample.Rows]:
    """Per output row, the first and last input row whose taps reach it (input row y's tap
    ky lands on output row y * stride - top + ky): nondecreasing, as a resize's."""
    kernel, height = graph[op.inputs[1]].shape[1], graph[op.inputs[0]].shape[1]
    return _transpose_rows(kernel, op.attrs.stride[0], op.attrs.padding[0], height, graph[op.outputs[0]].shape[1])


@lru_cache(maxsize=256)  # the streaming planner asks at every band of every candidate stage
def _transpose_rows(
    kernel: int, stride: int, top: int, in_rows: int, out_rows: int
) -> tuple[resample.Rows, resample.Rows]:
    first = tuple(max(0, -(-(r + top - kernel + 1) // stride)) for r in range(out_rows))
    last = tuple(min(in_rows - 1, (r + top) // stride) for r in range(out_rows))
    return first, last


def transpose_conv_band(op: Op, graph: Graph, first: int, first_in: int) -> ir.TransposeConv:
    """A band of output rows from `first`, its input's from `first_in`: the same transposed
    conv on the smaller images, its top padding shifted (taps outside the band fall outside
    the image)."""
    top, left = op.attrs.padding
    return replace(op.attrs, padding=(top + first - first_in * op.attrs.stride[0], left))


def global_mean(op: Op, graph: Graph) -> bool:
    """A float32 mean over the rows and columns of a 1 x H x W x C map (a global average
    pool): it adds each pixel to its channel's sum in row order, so a streamed stage can
    hand it its input band by band, the sums kept in its output, divided at the last band."""
    inp = graph[op.inputs[0]]
    return (
        inp.dtype == "float32"
        and len(inp.shape) == 4
        and inp.shape[0] == 1
        and sorted(a % 4 for a in op.attrs.axes) == [1, 2]
    )


def mean_band(op: Op, graph: Graph, first: int, first_in: int) -> ir.Mean:
    """A band call of a row sum: its input's rows from `first_in`, of the whole input's."""
    return replace(op.attrs, rows=(first_in, graph[op.inputs[0]].shape[1]))


def lstm_macs(op: Op, graph: Graph) -> int:
    """Four gates per step, each a matmul of the input and one of the hidden state."""
    units, features = graph[op.inputs[1]].shape
    return (graph[op.outputs[0]].size // units) * 4 * units * (features + units)


def svdf_macs(op: Op, graph: Graph) -> int:
    """Per batch row, the feature matmul (filters x input) and the time one (filters x memory)."""
    filters, features = graph[op.inputs[1]].shape
    memory = graph[op.inputs[2]].shape[1]
    return graph[op.inputs[0]].shape[0] * filters * (features + memory)


def fully_connected_macs(op: Op, graph: Graph) -> int:
    """Rows x outputs x inputs of the [out, in] weights."""
    filt = graph[op.inputs[1]]
    return (graph[op.outputs[0]].size // filt.shape[0]) * filt.shape[0] * filt.shape[1]


def batch_matmul_macs(op: Op, graph: Graph) -> int:
    """Output elements x the depth each sums over."""
    lhs = graph[op.inputs[0]].shape
    return graph[op.outputs[0]].size * lhs[-2 if op.attrs.adj_x else -1]


@dataclass(frozen=True)
class OpDef:
    """The facts stages check about one op kind; the defaults fit a plain one-input op."""

    attrs: type = ir.NoAttrs  # the attribute dataclass ir.Op takes
    tflite: tuple[str, ...] = ()  # TFLite builtins read as this kind; export writes the first
    onnx: tuple[str, ...] = ()  # ONNX ops whose converter emits this kind
    min_inputs: int = 1  # inputs the kernel needs (a weighted op's bias, input 2, may be absent)
    weight_axis: int | None = None  # weighted layers: the output-channel axis of the filter (input 1)
    dense: bool = False  # weights multiply whole input rows (im2col): GPTQ and refitting apply
    weight_zero_points: bool = (
        False  # int8 filters may have zero points (else symmetric, as TFLite's conv kernels need)
    )
    int4_per_tensor: bool = False  # tflite-micro takes its int4 weights with one scale only
    windowed: bool = False  # slides a kernel window over the rows: streams with a halo, runs in place a few rows behind
    rowwise: Callable[[Op], bool] = never  # output row r reads only row r of each input: streams band by band
    # output row r reads input rows lo[r]..hi[r], both nondecreasing (a resize): streams band by band
    row_map: Callable[[Op, Graph], tuple[resample.Rows, resample.Rows]] | None = None
    # the output sums the input's rows (a float global mean): streams, each band call adding a band of rows
    row_sum: Callable[[Op, Graph], bool] | None = None
    # with a row_map or row_sum: the attributes of a band call, its output rows from `first`, its input's from `first_in`
    band: Callable[[Op, Graph, int, int], object] | None = None
    elementwise: bool = (
        False  # output element i reads only element i of each input (or a broadcast operand): runs in place
    )
    alias: bool = False  # the output is the input's bytes: both names may be one buffer
    converts_dtype: bool = False  # the output's dtype differs from the input's
    fuses_activation: bool = False  # a following relu / relu6 folds into its `activation`
    fusable_as: str | None = None  # a standalone activation the layer before may absorb (its ir.ACTIVATIONS name)
    output_quant: Fixed | str = CALIBRATED  # how PTQ quantizes the output
    macs: Callable[[Op, Graph], int] = no_macs  # multiply-accumulates, as MLPerf Tiny counts them
    optional_inputs: bool = (
        False  # any input but the first may be absent (the LSTM's optional gates: its converter checks them)
    )
    float_only: bool = False  # tflite-micro runs it on float32 only: PTQ keeps it float between DEQUANTIZE and QUANTIZE
    index_inputs: tuple[int, ...] = ()  # inputs holding int32 indices, not values: no dtype or range to share
    updates_input: bool = False  # the output is input 0 with some elements overwritten: it may take input 0's buffer
    joins_rows: bool = False  # the output is its inputs' rows side by side, copied in order: it may end on one of them
    # copies input 0's elements front to back, each at most this many bytes further into the output than
    # into the input (None: it cannot): the output may start that far below its input
    copy_lead: Callable[[Op, Graph], int | None] | None = None
    max_of_window: bool = False  # its window's largest value, padding skipped: a PAD below no input is moot
    litert_int8: bool = True  # LiteRT runs its int8 export (its integer LSTM wants the converter's intermediates)

    @property
    def weighted(self) -> bool:
        """Conv, depthwise, fully connected: a constant filter (input 1), an optional bias (input 2)."""
        return self.weight_axis is not None

    @property
    def convolves(self) -> bool:
        """A filter slid over the image: its window is the filter's H x W, its padding zeros."""
        return self.weighted and self.windowed

    @property
    def in_place(self) -> bool:
        """Its kernels keep the write-order contract of runtime_c/include/aiotc_nn.h."""
        return self.windowed or self.elementwise or self.updates_input or self.joins_rows or self.copy_lead is not None


def _elementwise(tflite: str, onnx: tuple[str, ...] = (), **facts) -> OpDef:
    """An op whose output element i reads element i of its inputs (streams rows, runs in place)."""
    return OpDef(tflite=(tflite,), onnx=onnx, elementwise=True, rowwise=always, **facts)


ONNX_UNARY = (
    "abs",
    "neg",
    "sqrt",
    "exp",
    "log",
    "sin",
    "cos",
    "ceil",
    "floor",
    "round",
)  # elementwise math with an ONNX namesake
ONNX_ALSO = {"square": ("Pow",), "sqrt": ("Pow",), "rsqrt": ("Pow",), "exp": ("Softplus",), "log": ("Softplus",)}
ONNX_COMPARISONS = {
    "equal": ("Equal",),
    "greater": ("Greater",),
    "greater_equal": ("GreaterOrEqual",),
    "less": ("Less",),
    "less_equal": ("LessOrEqual",),
}

OPS: dict[str, OpDef] = {
    "conv2d": OpDef(
        ir.Conv2D,
        ("CONV_2D",),
        ("Conv",),
        min_inputs=2,
        weight_axis=0,
        dense=True,
        windowed=True,
        fuses_activation=True,
        macs=conv_macs,
    ),
    "depthwise_conv2d": OpDef(
        ir.DepthwiseConv2D,
        ("DEPTHWISE_CONV_2D",),
        ("Conv",),
        min_inputs=2,
        weight_axis=3,
        windowed=True,
        fuses_activation=True,
        macs=depthwise_macs,
    ),
    "fully_connected": OpDef(
        ir.FullyConnected,
        ("FULLY_CONNECTED",),
        ("Gemm", "MatMul"),
        min_inputs=2,
        weight_axis=0,
        dense=True,
        weight_zero_points=True,
        int4_per_tensor=True,
        fuses_activation=True,
        macs=fully_connected_macs,
    ),
    "avg_pool2d": OpDef(
        ir.Pool2D,
        ("AVERAGE_POOL_2D",),
        ("AveragePool",),
        windowed=True,
        fuses_activation=True,
        output_quant=SAME_AS_INPUT,
    ),
    "max_pool2d": OpDef(
        ir.Pool2D,
        ("MAX_POOL_2D",),
        ("MaxPool", "GlobalMaxPool"),
        windowed=True,
        max_of_window=True,
        fuses_activation=True,
        output_quant=SAME_AS_INPUT,
    ),
    "add": _elementwise(
        "ADD",
        ("Add", "BatchNormalization", "HardSigmoid", "Softplus", "Sum"),
        attrs=ir.Binary,
        min_inputs=2,
        fuses_activation=True,
    ),
    "sub": _elementwise("SUB", ("Sub",), attrs=ir.Binary, min_inputs=2, fuses_activation=True),
    "mul": _elementwise(
        "MUL", ("Mul", "BatchNormalization", "HardSigmoid"), attrs=ir.Binary, min_inputs=2, fuses_activation=True
    ),
    "mean": OpDef(
        ir.Mean,
        ("MEAN",),
        ("ReduceMean", "GlobalAveragePool", "InstanceNormalization", "LayerNormalization"),
        row_sum=global_mean,
        band=mean_band,
    ),
    "pad": OpDef(ir.Pad, ("PAD", "PADV2"), ("Pad",), output_quant=SAME_AS_INPUT, copy_lead=pad_lead),
    "concat": OpDef(
        ir.Concat,
        ("CONCATENATION",),
        ("Concat",),
        rowwise=lambda op: op.attrs.axis == 3,
        joins_rows=True,
        output_quant=SHARED,
    ),  # rows join along channels
    "reshape": OpDef(
        ir.NoAttrs,
        ("RESHAPE", "SQUEEZE", "EXPAND_DIMS"),
        ("Reshape", "Flatten", "Squeeze", "Unsqueeze"),
        alias=True,
        rowwise=always,  # where the first two dims stay (streaming.streamable): row r is the same bytes
        output_quant=SAME_AS_INPUT,
    ),
    "softmax": OpDef(
        ir.Softmax, ("SOFTMAX",), ("Softmax",), converts_dtype=True, output_quant=Fixed(1 / 256, -128)
    ),  # int8 in, int8 or int16 out (the frontend checks the pair)
    "logistic": _elementwise("LOGISTIC", ("Sigmoid",), output_quant=Fixed(1 / 256, -128)),
    "tanh": _elementwise("TANH", ("Tanh",), output_quant=Fixed(1 / 128, 0)),
    "relu": _elementwise("RELU", ("Relu", "Clip"), fusable_as="relu"),
    "relu6": _elementwise("RELU6", ("Clip", "HardSigmoid"), fusable_as="relu6", output_quant=SAME_AS_INPUT),
    "hard_swish": _elementwise("HARD_SWISH", ("HardSwish", "Mul")),  # Mul: x * HardSigmoid(x)
    "leaky_relu": _elementwise("LEAKY_RELU", ("LeakyRelu",), attrs=ir.LeakyRelu),
    "quantize": _elementwise("QUANTIZE", converts_dtype=True),
    "dequantize": OpDef(
        ir.NoAttrs, ("DEQUANTIZE",), elementwise=True, converts_dtype=True
    ),  # elementwise, but never streamed
    "transpose": OpDef(ir.Transpose, ("TRANSPOSE",), ("Transpose",), output_quant=SAME_AS_INPUT),
    "strided_slice": OpDef(
        ir.StridedSlice,
        ("STRIDED_SLICE", "SLICE", "SPLIT", "SPLIT_V", "UNPACK"),
        ("Split", "Slice"),
        output_quant=SAME_AS_INPUT,
        copy_lead=slice_lead,
    ),  # each output of a split is a slice
    "lstm": OpDef(ir.Lstm, ("UNIDIRECTIONAL_SEQUENCE_LSTM",), optional_inputs=True, macs=lstm_macs, litert_int8=False),
    "svdf": OpDef(ir.Svdf, ("SVDF",), min_inputs=5, optional_inputs=True, macs=svdf_macs),  # the bias may be absent
    # data movement (issue 20): packing, and copies whose input index is a sum of per-axis tables
    "pack": OpDef(ir.Pack, ("PACK",), output_quant=SHARED),
    "tile": OpDef(ir.Tile, ("TILE",), ("Tile",), output_quant=SAME_AS_INPUT),
    "broadcast_to": OpDef(ir.NoAttrs, ("BROADCAST_TO",), ("Expand",), output_quant=SAME_AS_INPUT),
    "resize_nearest": OpDef(
        ir.Resize,
        ("RESIZE_NEAREST_NEIGHBOR",),
        ("Resize", "Upsample"),
        row_map=resample.nearest_rows,
        band=resample.band_attrs,
        output_quant=SAME_AS_INPUT,
    ),
    "resize_bilinear": OpDef(
        ir.Resize,
        ("RESIZE_BILINEAR",),
        ("Resize", "Upsample"),
        row_map=resample.bilinear_rows,
        band=resample.band_attrs,
        output_quant=SAME_AS_INPUT,
    ),
    "reverse": OpDef(ir.Reverse, ("REVERSE_V2",), output_quant=SAME_AS_INPUT),
    "gather": OpDef(ir.Gather, ("GATHER",), ("Gather", "DepthToSpace"), output_quant=SAME_AS_INPUT),
    "mirror_pad": OpDef(ir.MirrorPad, ("MIRROR_PAD",), output_quant=SAME_AS_INPUT),
    "depth_to_space": OpDef(ir.BlockSize, ("DEPTH_TO_SPACE",), ("DepthToSpace",), output_quant=SAME_AS_INPUT),
    "space_to_depth": OpDef(ir.BlockSize, ("SPACE_TO_DEPTH",), ("SpaceToDepth",), output_quant=SAME_AS_INPUT),
    "batch_to_space": OpDef(ir.BatchSpace, ("BATCH_TO_SPACE_ND",), output_quant=SAME_AS_INPUT),
    "space_to_batch": OpDef(ir.BatchSpace, ("SPACE_TO_BATCH_ND",), output_quant=SAME_AS_INPUT),
    "cast": OpDef(ir.NoAttrs, ("CAST",), converts_dtype=True),  # not in place: the element size may grow
    "zeros_like": OpDef(ir.NoAttrs, ("ZEROS_LIKE",), elementwise=True, output_quant=SAME_AS_INPUT),
    # reductions (issue 20): axes and keepdims as mean's; max and min pick input values
    "reduce_max": OpDef(ir.Mean, ("REDUCE_MAX",), ("ReduceMax",), output_quant=SAME_AS_INPUT),
    "reduce_min": OpDef(ir.Mean, ("REDUCE_MIN",), ("ReduceMin",), output_quant=SAME_AS_INPUT),
    "sum": OpDef(ir.Mean, ("SUM",), ("ReduceSum",)),
    "arg_max": OpDef(ir.ArgMinMax, ("ARG_MAX",), converts_dtype=True),
    "arg_min": OpDef(ir.ArgMinMax, ("ARG_MIN",), converts_dtype=True),
    # activations (issue 20)
    "prelu": _elementwise("PRELU", ("PRelu",), min_inputs=2),  # alpha broadcasts, as a binary op's operand
    "elu": _elementwise("ELU", ("Elu",)),
    "l2_normalization": OpDef(
        tflite=("L2_NORMALIZATION",), onnx=("LpNormalization",), output_quant=Fixed(1 / 128, 0)
    ),  # over the last axis
    "l2_pool2d": OpDef(ir.Pool2D, ("L2_POOL_2D",), fuses_activation=True),  # float32 only, planned layer by layer
    "log_softmax": OpDef(
        tflite=("LOG_SOFTMAX",), onnx=("LogSoftmax",), output_quant=Fixed(16 / 256, 127)
    ),  # over the last axis
    # matrix products (issue 20): a constant operand is an input like any other, not "weighted"
    "batch_matmul": OpDef(ir.BatchMatMul, ("BATCH_MATMUL",), ("MatMul",), min_inputs=2, macs=batch_matmul_macs),
    "add_n": OpDef(tflite=("ADD_N",), min_inputs=2),  # any number of same-shaped inputs
    "cumsum": OpDef(ir.CumSum, ("CUMSUM",)),
    # elementwise math (issue 20); int8 MAXIMUM/MINIMUM compare raw values: one shared range
    "maximum": _elementwise("MAXIMUM", ("Max", "Clip"), min_inputs=2, output_quant=SHARED),
    "minimum": _elementwise("MINIMUM", ("Min", "Clip"), min_inputs=2, output_quant=SHARED),
    "div": _elementwise("DIV", ("Div", "Reciprocal"), attrs=ir.Binary, min_inputs=2, fuses_activation=True),
    "squared_difference": _elementwise("SQUARED_DIFFERENCE", min_inputs=2),
    "floor_div": _elementwise("FLOOR_DIV", min_inputs=2),
    "floor_mod": _elementwise("FLOOR_MOD", min_inputs=2),
    **{
        kind: _elementwise(kind.upper(), ((kind.capitalize(),) if kind in ONNX_UNARY else ()) + ONNX_ALSO.get(kind, ()))
        for kind in ("abs", "sqrt", "rsqrt", "square", "exp", "log", "sin", "cos", "ceil", "floor", "round")
    },
    "neg": _elementwise("NEG", ("Neg",), float_only=True),  # tflite-micro's neg.cc: float32 only
    **{
        kind: _elementwise(kind.upper(), ONNX_COMPARISONS.get(kind, ()), min_inputs=2, converts_dtype=True)
        for kind in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal")
    },  # -> bool
    "logical_and": _elementwise("LOGICAL_AND", ("And",), min_inputs=2),
    "logical_or": _elementwise("LOGICAL_OR", ("Or",), min_inputs=2),
    "logical_not": _elementwise("LOGICAL_NOT", ("Not",)),
    "select_v2": _elementwise(
        "SELECT_V2", ("Where",), min_inputs=3, converts_dtype=True
    ),  # bool condition, values of any type
    # issue 20: a conv's transpose (OHWI filter; TFLite's output_shape operand is the output's shape)
    "transpose_conv": OpDef(
        ir.TransposeConv,
        ("TRANSPOSE_CONV",),
        ("ConvTranspose",),
        min_inputs=2,
        weight_axis=0,
        fuses_activation=True,
        macs=transpose_conv_macs,
        row_map=transpose_conv_rows,
        band=transpose_conv_band,
    ),
    "gelu": _elementwise("GELU", ("Gelu",), attrs=ir.Gelu),
    # issue 20: indexed reads and writes; the indices (constant or computed) are read at run time
    "gather_nd": OpDef(
        tflite=("GATHER_ND",), onnx=("GatherND",), min_inputs=2, output_quant=SAME_AS_INPUT, index_inputs=(1,)
    ),  # params, indices
    "embedding_lookup": OpDef(
        tflite=("EMBEDDING_LOOKUP",), min_inputs=2, converts_dtype=True, output_quant=SAME_AS_INPUT, index_inputs=(1,)
    ),  # values, ids (TFLite's order swapped: the values' dtype is the op's); int8 values may give float32 rows
    "dynamic_update_slice": OpDef(
        tflite=("DYNAMIC_UPDATE_SLICE",), min_inputs=3, output_quant=SHARED, index_inputs=(2,), updates_input=True
    ),  # operand, update, start
    "reduce_all": OpDef(ir.Mean, ("REDUCE_ALL",)),  # bool
}
