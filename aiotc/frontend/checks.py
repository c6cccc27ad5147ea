"""What every frontend's graph must satisfy before later stages trust it.

A model file may declare anything: shapes that disagree with their op, zero strides,
a quantization array shorter than its channels, a tensor of 2^31 elements. Later
stages and the generated C index buffers by these numbers, so each op's declared
shapes are checked against what the op computes, here, once. Each rule raises a
ModelError naming the layer and the problem in one line; sizes are refused before
anything is allocated for them.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..fixedpoint import INT_RANGE
from ..ir import ITEMSIZE, Graph, Op, Tensor
from ..ops import OPS
from .recurrent import lstm_output_shape, svdf_output_shape

MAX_TENSOR_BYTES = 64 << 20  # no microcontroller model comes near; refusing early keeps memory bounded
MAX_MODEL_BYTES = 256 << 20
MAX_RANK = 6
MAX_FILE_BYTES = 512 << 20  # read whole: the largest model file aiotc reads into memory
MAX_OPS = 10_000  # per graph, as the file declares them (the largest shared model has about 100)
MAX_TENSORS = 50_000
MAX_SUBGRAPH_DEPTH = 8  # ONNX graphs nested in node attributes (If, Loop, Scan bodies)
QUANTIZED = ("int8", "uint8", "int16")


def check_size(model: str, label: str, shape: tuple[int, ...], dtype: str) -> None:
    """A tensor's declared size must be sane, checked on the declaration before any allocation."""
    if len(shape) > MAX_RANK:
        raise ModelError(f"{model}: tensor {label!r} has rank {len(shape)}; aiotc handles rank <= {MAX_RANK}")
    count = 1
    for d in shape:
        count *= int(d)
    if count * ITEMSIZE.get(dtype, 8) > MAX_TENSOR_BYTES:
        raise ModelError(
            f"{model}: tensor {label!r} of shape {list(shape)} would take "
            f"{count * ITEMSIZE.get(dtype, 8):,.0f} B; aiotc refuses tensors over {MAX_TENSOR_BYTES:,} B"
        )


def check_counts(model: str, ops: int, tensors: int) -> None:
    """The numbers of ops and tensors a file declares, checked before any is read."""
    if ops > MAX_OPS:
        raise ModelError(f"{model}: declares {ops:,} ops; aiotc refuses models over {MAX_OPS:,}")
    if tensors > MAX_TENSORS:
        raise ModelError(f"{model}: declares {tensors:,} tensors; aiotc refuses models over {MAX_TENSORS:,}")


def check_graph(graph: Graph) -> None:
    """Raise ModelError for the first tensor or op whose declaration is inconsistent."""
    total = sum(t.nbytes for t in graph.tensors.values())
    if total > MAX_MODEL_BYTES:
        raise ModelError(f"{graph.name}: tensors total {total:,} B; aiotc refuses models over {MAX_MODEL_BYTES:,} B")
    for tensor in graph.tensors.values():
        check_size(graph.name, tensor.name, tensor.shape, tensor.dtype)
        check_quant(graph.name, tensor)
    _check_io(graph)
    for op in graph.ops:
        problem = _op_problem(op, graph)
        if problem:
            raise ModelError(f"{graph.name}: {op.kind} {op.name!r}: {problem}")


def _check_io(graph: Graph) -> None:
    """Inputs are distinct activations, outputs distinct results of ops: the caller's buffers."""
    produced = {name for op in graph.ops for name in op.outputs}
    if not graph.ops or not graph.inputs or not graph.outputs:
        raise ModelError(
            f"{graph.name}: the model needs operators, inputs and outputs ({len(graph.ops)}, {len(graph.inputs)}, {len(graph.outputs)})"
        )
    if len(set(graph.inputs)) != len(graph.inputs) or len(set(graph.outputs)) != len(graph.outputs):
        raise ModelError(f"{graph.name}: a tensor is listed twice among the model's inputs or outputs")
    for name in graph.inputs:
        if graph[name].is_const or name in produced:
            raise ModelError(f"{graph.name}: model input {name!r} is a constant or computed by an op")
    for name in graph.outputs:
        if name not in produced:
            raise ModelError(f"{graph.name}: model output {name!r} is not computed by any op")


def check_quant(model: str, t: Tensor) -> None:
    """A tensor's scales must match an axis of its shape, its zero points its dtype's range."""
    where = f"{model}: tensor {t.name!r}"
    if t.dtype in QUANTIZED and t.quant is None and not t.is_const:
        raise ModelError(f"{where} is {t.dtype} without quantization parameters")
    if t.quant is None:
        return
    q = t.quant
    if q.scale.size > 1 and (q.axis is None or not 0 <= q.axis < len(t.shape) or t.shape[q.axis] != q.scale.size):
        raise ModelError(f"{where} has {q.scale.size} scales, which match no axis of its shape {list(t.shape)}")
    low, high = INT_RANGE.get(t.dtype, (-(2**31), 2**31 - 1))
    if np.any(q.zero_point < low) or np.any(q.zero_point > high):
        raise ModelError(f"{where} has a zero point outside the {t.dtype} range")


def _op_problem(op: Op, graph: Graph) -> str | None:
    """Why the op's declared operands are inconsistent, or None."""
    facts = OPS[op.kind]
    need = facts.min_inputs
    absent = [
        i
        for i, name in enumerate(op.inputs)
        if name is None and not (i == 2 and facts.weighted) and not facts.optional_inputs
    ]
    if len(op.inputs) < need or len(op.outputs) != 1:
        return f"needs {need} input(s) and one output, has {len(op.inputs)} and {len(op.outputs)}"
    if absent:
        return f"input {absent[0]} is absent (only a bias may be)"
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    if out.is_const:
        return "its output is a constant"
    if out.size == 0 or inp.size == 0:
        return f"empty tensor (input {list(inp.shape)}, output {list(out.shape)})"
    values = tuple(name for i, name in enumerate(op.inputs) if i not in facts.index_inputs)
    same_type = values[:1] if facts.weighted or facts.optional_inputs else () if facts.converts_dtype else values
    mixed = [graph[name].dtype for name in same_type if graph[name].dtype != out.dtype]
    if mixed:
        return f"input is {mixed[0]} but output is {out.dtype}"
    indices = [graph[op.inputs[i]].dtype for i in facts.index_inputs if graph[op.inputs[i]].dtype != "int32"]
    if indices:
        return f"indices are {indices[0]}, not int32"
    check = SHAPE_RULES.get(op.kind, _same_shape if facts.elementwise else None)
    expected = check(op, graph) if check else None
    if isinstance(expected, str):
        return expected
    if expected is not None and tuple(expected) != out.shape:
        return f"output shape {list(out.shape)} disagrees with the {list(expected)} its operands give"
    return None


def _window(size: int, kernel: int, stride: int, dilation: int, before: int, after: int) -> int:
    return (size + before + after - ((kernel - 1) * dilation + 1)) // stride + 1


def _spatial(op: Op, graph: Graph, kernel: tuple[int, int], channels: int):
    """The NHWC output of a windowed op, or the reason there is none."""
    inp = graph[op.inputs[0]]
    a = op.attrs
    dilation = getattr(a, "dilation", (1, 1))
    if len(inp.shape) != 4:
        return f"input must be NHWC (rank 4), has shape {list(inp.shape)}"
    if min(*a.stride, *dilation, *kernel) < 1:
        return f"stride {list(a.stride)}, dilation {list(dilation)} and window {list(kernel)} must be positive"
    p = a.padding
    if min(p.top, p.bottom, p.left, p.right) < 0:
        return "negative padding"
    n, h, w, _ = inp.shape
    oh = _window(h, kernel[0], a.stride[0], dilation[0], p.top, p.bottom)
    ow = _window(w, kernel[1], a.stride[1], dilation[1], p.left, p.right)
    if oh < 1 or ow < 1:
        return f"the window {list(kernel)} does not fit the input {list(inp.shape)}"
    return (n, oh, ow, channels)


def _filter(op: Op, graph: Graph, rank: int):
    filt = graph[op.inputs[1]]
    if not filt.is_const or len(filt.shape) != rank:
        return None, f"filter must be a constant of rank {rank}, has shape {list(filt.shape)}"
    return filt, None


def _bias_problem(op: Op, graph: Graph, channels: int) -> str | None:
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    if bias is None:
        return None
    dtype = BIAS_DTYPE.get(graph[op.inputs[0]].dtype)
    if not graph[bias].is_const or graph[bias].size != channels or graph[bias].dtype != dtype:
        return (
            f"bias must be a constant of {channels} {dtype} values, has {graph[bias].dtype} {list(graph[bias].shape)}"
        )
    return None


def _quant_problem(op: Op, graph: Graph, filt: Tensor, channels: int) -> str | None:
    """Per-channel filter scales must cover the output channels (TFLite's weights are symmetric)."""
    if graph[op.inputs[0]].dtype == "float32":
        return None
    if filt.quant is None or filt.quant.scale.size not in (1, channels):
        return f"filter needs 1 or {channels} quantization scales"
    if not OPS[op.kind].weight_zero_points and np.any(filt.quant.zero_point != 0):
        return "filter zero points must be 0 (symmetric weights)"
    return None


def _accumulator_problem(op: Op, graph: Graph, filt: Tensor, channels: int) -> str | None:
    """The int32 accumulator must hold every channel's worst case: sum |w| x 255 (+ |bias|), as the kernels do not saturate it."""
    if graph[op.inputs[0]].dtype != "int8":
        return None
    weights = (
        np.abs(filt.data.astype(np.int64)) + np.abs(filt.quant.zero_point.astype(np.int64)).max()
    )  # zero unless the kind takes weight zero points
    per_channel = np.moveaxis(weights, OPS[op.kind].weight_axis, 0).reshape(channels, -1).sum(axis=1)
    bias = op.inputs[2] if len(op.inputs) > 2 else None
    worst = per_channel * 255 + (np.abs(graph[bias].data.astype(np.int64)) if bias is not None else 0)
    return f"its int32 accumulator can overflow (worst case {int(worst.max()):,})" if worst.max() > 2**31 - 1 else None


def _conv_like(op: Op, graph: Graph):
    """conv2d (OHWI filter, channels in groups) and depthwise (1HW(C*M) filter): filter, bias, scales, window."""
    filt, problem = _filter(op, graph, 4)
    if problem:
        return problem
    shape = graph[op.inputs[0]].shape
    if len(shape) != 4:
        return f"input must be NHWC (rank 4), has shape {list(shape)}"
    channels = shape[3]
    if op.kind == "conv2d":
        out_c, kh, kw, in_c = filt.shape
        if in_c < 1 or channels % in_c or out_c % (channels // in_c):
            return f"filter {list(filt.shape)} does not divide the input's {channels} channels into groups"
    else:
        _, kh, kw, out_c = filt.shape
        if filt.shape[0] != 1 or channels * op.attrs.depth_multiplier != out_c:
            return f"filter {list(filt.shape)} is not 1 x H x W x (channels {channels} x multiplier)"
    problem = (
        _bias_problem(op, graph, out_c)
        or _quant_problem(op, graph, filt, out_c)
        or _accumulator_problem(op, graph, filt, out_c)
    )
    return problem or _spatial(op, graph, (kh, kw), out_c)


def _fully_connected(op: Op, graph: Graph):
    filt, problem = _filter(op, graph, 2)
    if problem:
        return problem
    units, depth = filt.shape
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    if depth < 1 or inp.size % depth or out.size != inp.size // depth * units:
        return f"input {list(inp.shape)} and filter {list(filt.shape)} do not give output {list(out.shape)}"
    return (
        _bias_problem(op, graph, units)
        or _quant_problem(op, graph, filt, units)
        or _accumulator_problem(op, graph, filt, units)
    )


def _pool(op: Op, graph: Graph):
    return _spatial(op, graph, op.attrs.kernel, graph[op.inputs[0]].shape[-1] if graph[op.inputs[0]].shape else 0)


def _binary(op: Op, graph: Graph):
    a, b = graph[op.inputs[0]].shape, graph[op.inputs[1]].shape
    if max(len(a), len(b)) > 4:
        return "operands of rank > 4"
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        return f"operands {list(a)} and {list(b)} do not broadcast"


def _same_shape(op: Op, graph: Graph):
    return graph[op.inputs[0]].shape


def _same_size(op: Op, graph: Graph):
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    return f"reshapes {inp.size} elements into {out.size}" if inp.size != out.size else None


def _mean(op: Op, graph: Graph):
    shape = graph[op.inputs[0]].shape
    if len(shape) > 4 or not op.attrs.axes or not all(0 <= a < len(shape) for a in op.attrs.axes):
        return f"axes {list(op.attrs.axes)} do not fit the input {list(shape)} (rank <= 4)"
    kept = int(np.prod([d for i, d in enumerate(shape) if i not in op.attrs.axes], dtype=np.int64))
    return (
        f"averaging {list(shape)} over axes {list(op.attrs.axes)} leaves {kept} values, not {graph[op.outputs[0]].size}"
        if kept != graph[op.outputs[0]].size
        else None
    )


def _arg_min_max(op: Op, graph: Graph):
    shape = graph[op.inputs[0]].shape
    if not 0 <= op.attrs.axis < len(shape) <= 4:
        return f"axis {op.attrs.axis} does not fit the input {list(shape)} (rank <= 4)"
    return shape[: op.attrs.axis] + shape[op.attrs.axis + 1 :]


def _batch_matmul(op: Op, graph: Graph):
    a, b = graph[op.inputs[0]].shape, graph[op.inputs[1]].shape
    if not (2 <= len(a) <= 4 and 2 <= len(b) <= 4):
        return f"operands {list(a)} and {list(b)} (ranks 2 to 4)"
    rows, depth = a[-1:-3:-1] if op.attrs.adj_x else a[-2:]
    depth_b, cols = b[-1:-3:-1] if op.attrs.adj_y else b[-2:]
    try:
        batch = np.broadcast_shapes(a[:-2], b[:-2])
    except ValueError:
        batch = None
    if batch is None or depth != depth_b:
        return f"operands {list(a)} and {list(b)} do not multiply (adj_x {op.attrs.adj_x}, adj_y {op.attrs.adj_y})"
    return (*batch, rows, cols)


def _add_n(op: Op, graph: Graph):
    shapes = {graph[name].shape for name in op.inputs}
    return shapes.pop() if len(shapes) == 1 else f"inputs of shapes {sorted(map(list, shapes))} (ADD_N needs one shape)"


def _axis_kept(op: Op, graph: Graph):
    """CUMSUM: one axis of the input, its shape kept."""
    shape = graph[op.inputs[0]].shape
    return shape if 0 <= op.attrs.axis < len(shape) else f"axis {op.attrs.axis} does not fit the input {list(shape)}"


def _pad(op: Op, graph: Graph):
    shape = graph[op.inputs[0]].shape
    pads = op.attrs.paddings
    if len(shape) > 4 or len(pads) != len(shape) or any(p < 0 for pair in pads for p in pair):
        return f"paddings {list(pads)} do not fit the input {list(shape)} (rank <= 4, non-negative)"
    return tuple(d + before + after for d, (before, after) in zip(shape, pads))


def _concat(op: Op, graph: Graph):
    shapes = [graph[name].shape for name in op.inputs if name is not None]
    axis, rank = op.attrs.axis, len(shapes[0])
    if not 0 <= axis < rank or any(
        len(s) != rank or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :] for s in shapes
    ):
        return f"inputs {[list(s) for s in shapes]} do not concatenate along axis {axis}"
    return shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1 :]


def _softmax(op: Op, graph: Graph):
    return "a scalar input" if not graph[op.inputs[0]].shape else graph[op.inputs[0]].shape


def _transpose(op: Op, graph: Graph):
    shape, perm = graph[op.inputs[0]].shape, op.attrs.perm
    if sorted(perm) != list(range(len(shape))):
        return f"permutation {list(perm)} does not fit the input {list(shape)}"
    return tuple(shape[p] for p in perm)


def _strided_slice(op: Op, graph: Graph):
    a = op.attrs
    shape = graph[op.inputs[0]].shape
    if len(shape) > 4 or not len(a.begin) == len(a.end) == len(a.strides) == len(shape) or 0 in a.strides:
        return f"slice {list(a.begin)}:{list(a.end)}:{list(a.strides)} does not fit the input {list(shape)}"
    sizes = [max(0, -(-(e - b) // s)) for b, e, s in zip(a.begin, a.end, a.strides)]
    count = int(np.prod(sizes, dtype=np.int64))
    if count != graph[op.outputs[0]].size:
        return f"the slice has {count} elements, the output {graph[op.outputs[0]].size}"
    return None


def _broadcast_all(op: Op, graph: Graph):
    """SELECT_V2: the condition and both values broadcast together (issue 20)."""
    shapes = [graph[t].shape for t in op.inputs]
    if max(len(s) for s in shapes) > 4:
        return "operands of rank > 4"
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return f"operands {', '.join(str(list(s)) for s in shapes)} do not broadcast"


BIAS_DTYPE = {"int8": "int32", "int16": "int64", "float32": "float32"}
SHAPE_RULES = {  # an elementwise op without a rule here keeps its input's shape
    "conv2d": _conv_like,
    "depthwise_conv2d": _conv_like,
    "fully_connected": _fully_connected,
    "avg_pool2d": _pool,
    "max_pool2d": _pool,
    "add": _binary,
    "sub": _binary,
    "mul": _binary,
    "mean": _mean,
    "pad": _pad,
    "concat": _concat,
    "reshape": _same_size,
    "softmax": _softmax,
    "transpose": _transpose,
    "strided_slice": _strided_slice,
    "lstm": lstm_output_shape,
    "svdf": svdf_output_shape,
}


# --- data movement (issue 20): the indexed copies read only inside their input --------


def _pack(op: Op, graph: Graph):
    shapes = {graph[name].shape for name in op.inputs}
    shape, axis = graph[op.inputs[0]].shape, op.attrs.axis
    if len(shapes) > 1 or not 0 <= axis <= len(shape):
        return f"inputs {[list(s) for s in shapes]} do not stack along axis {axis}"
    return shape[:axis] + (len(op.inputs),) + shape[axis:]


def _tile(op: Op, graph: Graph):
    shape, multiples = graph[op.inputs[0]].shape, op.attrs.multiples
    if len(multiples) != len(shape) or any(m < 1 for m in multiples):
        return f"multiples {list(multiples)} do not fit the input {list(shape)}"
    return tuple(d * m for d, m in zip(shape, multiples))


def _broadcast_to(op: Op, graph: Graph):
    shape, target = graph[op.inputs[0]].shape, graph[op.outputs[0]].shape
    padded = (1,) * (len(target) - len(shape)) + shape
    if len(padded) != len(target) or any(d not in (1, t) for d, t in zip(padded, target)):
        return f"{list(shape)} does not broadcast to {list(target)}"
    return target


def _resize(op: Op, graph: Graph):
    shape, out = graph[op.inputs[0]].shape, graph[op.outputs[0]].shape
    if len(shape) != 4 or len(out) != 4 or min(shape) < 1 or min(out) < 1:
        return f"resizing {list(shape)} to {list(out)} (NHWC, non-empty)"
    return (shape[0], out[1], out[2], shape[3])


def _reverse(op: Op, graph: Graph):
    shape = graph[op.inputs[0]].shape
    return (
        shape
        if all(0 <= a < len(shape) for a in op.attrs.axes)
        else f"axes {list(op.attrs.axes)} do not fit the input {list(shape)}"
    )


def _gather(op: Op, graph: Graph):
    shape, a = graph[op.inputs[0]].shape, op.attrs
    if (
        not 0 <= a.axis < len(shape)
        or any(not 0 <= i < shape[a.axis] for i in a.indices)
        or len(a.indices) != int(np.prod(a.indices_shape, dtype=np.int64))
    ):
        return f"indices {list(a.indices)} along axis {a.axis} do not fit the input {list(shape)}"
    return shape[: a.axis] + a.indices_shape + shape[a.axis + 1 :]


def _mirror_pad(op: Op, graph: Graph):
    shape, pads, edge = graph[op.inputs[0]].shape, op.attrs.paddings, int(op.attrs.reflect)
    if (
        len(shape) > 4
        or len(pads) != len(shape)
        or any(not 0 <= p <= d - edge for d, pair in zip(shape, pads) for p in pair)
    ):
        return f"mirror paddings {list(pads)} do not fit the input {list(shape)}"
    return tuple(d + before + after for d, (before, after) in zip(shape, pads))


def _depth_to_space(op: Op, graph: Graph):
    shape, b = graph[op.inputs[0]].shape, op.attrs.block_size
    if len(shape) != 4 or b < 1 or shape[3] % (b * b):
        return f"block size {b} does not fit the input {list(shape)}"
    return (shape[0], shape[1] * b, shape[2] * b, shape[3] // (b * b))


def _space_to_depth(op: Op, graph: Graph):
    shape, b = graph[op.inputs[0]].shape, op.attrs.block_size
    if len(shape) != 4 or b < 1 or shape[1] % b or shape[2] % b:
        return f"block size {b} does not fit the input {list(shape)}"
    return (shape[0], shape[1] // b, shape[2] // b, shape[3] * b * b)


def _batch_space(op: Op, graph: Graph):
    shape, a = graph[op.inputs[0]].shape, op.attrs
    (bh, bw), ((top, bottom), (left, right)) = a.block, a.crops
    n, h, w, c = (*shape[:2], 1, shape[2]) if len(shape) == 3 else (shape + (0, 0, 0, 0))[:4]
    if op.kind == "space_to_batch":
        fits = len(shape) in (3, 4) and a.crops == ((0, 0), (0, 0)) and min(bh, bw) >= 1 and h % bh == 0 and w % bw == 0
        out = (n * bh * bw, h // bh, w // bw, c)
    else:
        fits = (
            len(shape) in (3, 4)
            and min(bh, bw) >= 1
            and n % (bh * bw) == 0
            and 0 <= top + bottom < h * bh
            and 0 <= left + right < w * bw
            and min(top, bottom, left, right) >= 0
        )
        out = (n // max(bh * bw, 1), h * bh - top - bottom, w * bw - left - right, c)
    if not fits:
        return f"block {list(a.block)} with crops or paddings {list(a.crops)} does not fit the input {list(shape)}"
    return out if len(shape) == 4 else (out[0], out[1], out[3])


SHAPE_RULES |= {
    "cast": _same_shape,
    "batch_to_space": _batch_space,
    "space_to_batch": _batch_space,
    "pack": _pack,
    "tile": _tile,
    "broadcast_to": _broadcast_to,
    "resize_nearest": _resize,
    "resize_bilinear": _resize,
    "reverse": _reverse,
    "gather": _gather,
    "mirror_pad": _mirror_pad,
    "depth_to_space": _depth_to_space,
    "space_to_depth": _space_to_depth,
    # issue 20: reductions, activations, matrix products
    **dict.fromkeys(("sum", "reduce_max", "reduce_min"), _mean),
    "arg_max": _arg_min_max,
    "arg_min": _arg_min_max,
    "prelu": _binary,
    "l2_normalization": _softmax,  # a shape kept, normalized over its last axis
    "l2_pool2d": _pool,
    "log_softmax": _softmax,
    "batch_matmul": _batch_matmul,
    "add_n": _add_n,
    "cumsum": _axis_kept,
    **dict.fromkeys(
        (
            "maximum",
            "minimum",
            "div",
            "squared_difference",
            "floor_div",
            "floor_mod",
            "equal",
            "not_equal",
            "greater",
            "greater_equal",
            "less",
            "less_equal",
            "logical_and",
            "logical_or",
        ),
        _binary,
    ),  # issue 20
    "select_v2": _broadcast_all,
}


def _transpose_conv(op: Op, graph: Graph):
    """OHWI filter over the input's channels, bias and scales as a conv's; the output's
    height and width are declared (any size: the products that land outside are dropped)."""
    filt, problem = _filter(op, graph, 4)
    if problem:
        return problem
    shape, out = graph[op.inputs[0]].shape, graph[op.outputs[0]].shape
    if len(shape) != 4 or len(out) != 4:
        return f"input and output must be NHWC (rank 4), have shapes {list(shape)} and {list(out)}"
    out_c = filt.shape[0]
    if filt.shape[3] != shape[3]:
        return f"filter {list(filt.shape)} does not take the input's {shape[3]} channels"
    if min(*op.attrs.stride, *filt.shape[1:3]) < 1 or min(op.attrs.padding) < 0:
        return f"stride {list(op.attrs.stride)} and padding {list(op.attrs.padding)} must be positive and not negative"
    problem = (
        _bias_problem(op, graph, out_c)
        or _quant_problem(op, graph, filt, out_c)
        or _accumulator_problem(op, graph, filt, out_c)
    )
    return problem or (shape[0], out[1], out[2], out_c)


SHAPE_RULES["transpose_conv"] = _transpose_conv


# --- issue 20: indexed reads and writes; constant indices are checked as the kernels check them at run time


def _gather_nd(op: Op, graph: Graph):
    """Each index row of `indices` [..., depth] picks a slice params[i0, .., i(depth-1)]; tflite-micro
    takes depth <= 5 and checks only that the slice lies inside params, as a flat offset."""
    params, indices = graph[op.inputs[0]], graph[op.inputs[1]]
    shape, depth = params.shape, indices.shape[-1] if indices.shape else 0
    if not shape or not indices.shape or depth > min(len(shape), 5):
        return f"indices {list(indices.shape)} do not index the params {list(shape)} (a last axis of at most 5, the params' rank)"
    if indices.is_const:
        strides = [int(np.prod(shape[i + 1 :], dtype=np.int64)) for i in range(depth)]
        start = indices.data.reshape(-1, depth).astype(np.int64) @ np.array(strides, np.int64)
        slice_size = int(np.prod(shape[depth:], dtype=np.int64))
        if start.size and (start.min() < 0 or start.max() + slice_size > params.size):
            return f"constant indices read outside the params {list(shape)} (tflite-micro fails at invoke)"
    return indices.shape[:-1] + shape[depth:]


def _embedding_lookup(op: Op, graph: Graph):
    values, ids, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    if len(values.shape) < 2 or len(ids.shape) != 1:
        return f"values {list(values.shape)} (rank >= 2) and ids {list(ids.shape)} (rank 1)"
    if (values.dtype, out.dtype) not in (("float32", "float32"), ("int8", "int8"), ("int8", "float32")):
        return f"{values.dtype} values give {out.dtype} rows (tflite-micro: float32, int8, or int8 to float32)"
    if ids.is_const and ids.size and not (0 <= ids.data.min() and ids.data.max() < values.shape[0]):
        return f"constant ids outside 0..{values.shape[0] - 1} (tflite-micro fails at invoke)"
    return ids.shape + values.shape[1:]


def _dynamic_update_slice(op: Op, graph: Graph):
    operand, update, start = (graph[name] for name in op.inputs[:3])
    if (
        len(update.shape) != len(operand.shape)
        or any(u > o for u, o in zip(update.shape, operand.shape))
        or start.shape != (len(operand.shape),)
    ):
        return f"update {list(update.shape)} and start {list(start.shape)} do not fit the operand {list(operand.shape)}"
    return operand.shape


SHAPE_RULES |= {
    "gather_nd": _gather_nd,
    "embedding_lookup": _embedding_lookup,
    "dynamic_update_slice": _dynamic_update_slice,
    "reduce_all": _mean,
}
