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
        raise ModelError(f"{model}: tensor {label!r} of shape {list(shape)} would take {count * ITEMSIZE.get(dtype, 8):,.0f} B; aiotc refuses tensors over {MAX_TENSOR_BYTES:,} B")


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
        _check_quant(graph.name, tensor)
    _check_io(graph)
    for op in graph.ops:
        problem = _op_problem(op, graph)
        if problem:
            raise ModelError(f"{graph.name}: {op.kind} {op.name!r}: {problem}")


def _check_io(graph: Graph) -> None:
    """Inputs are distinct activations, outputs distinct results of ops: the caller's buffers."""
    produced = {name for op in graph.ops for name in op.outputs}
    if not graph.ops or not graph.inputs or not graph.outputs:
        raise ModelError(f"{graph.name}: the model needs operators, inputs and outputs ({len(graph.ops)}, {len(graph.inputs)}, {len(graph.outputs)})")
    if len(set(graph.inputs)) != len(graph.inputs) or len(set(graph.outputs)) != len(graph.outputs):
        raise ModelError(f"{graph.name}: a tensor is listed twice among the model's inputs or outputs")
    for name in graph.inputs:
        if graph[name].is_const or name in produced:
            raise ModelError(f"{graph.name}: model input {name!r} is a constant or computed by an op")
    for name in graph.outputs:
        if name not in produced:
            raise ModelError(f"{graph.name}: model output {name!r} is not computed by any op")


def _check_quant(model: str, t: Tensor) -> None:
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
    absent = [i for i, name in enumerate(op.inputs) if name is None and not (i == 2 and facts.weighted)]
    if len(op.inputs) < need or len(op.outputs) != 1:
        return f"needs {need} input(s) and one output, has {len(op.inputs)} and {len(op.outputs)}"
    if absent:
        return f"input {absent[0]} is absent (only a bias may be)"
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    if out.is_const:
        return "its output is a constant"
    if out.size == 0 or inp.size == 0:
        return f"empty tensor (input {list(inp.shape)}, output {list(out.shape)})"
    same_type = op.inputs[:1] if facts.weighted else () if facts.converts_dtype else op.inputs
    mixed = [graph[name].dtype for name in same_type if graph[name].dtype != out.dtype]
    if mixed:
        return f"input is {mixed[0]} but output is {out.dtype}"
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
        return f"bias must be a constant of {channels} {dtype} values, has {graph[bias].dtype} {list(graph[bias].shape)}"
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
    weights = np.abs(filt.data.astype(np.int64)) + np.abs(filt.quant.zero_point.astype(np.int64)).max()  # zero unless the kind takes weight zero points
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
    problem = _bias_problem(op, graph, out_c) or _quant_problem(op, graph, filt, out_c) or _accumulator_problem(op, graph, filt, out_c)
    return problem or _spatial(op, graph, (kh, kw), out_c)


def _fully_connected(op: Op, graph: Graph):
    filt, problem = _filter(op, graph, 2)
    if problem:
        return problem
    units, depth = filt.shape
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    if depth < 1 or inp.size % depth or out.size != inp.size // depth * units:
        return f"input {list(inp.shape)} and filter {list(filt.shape)} do not give output {list(out.shape)}"
    return _bias_problem(op, graph, units) or _quant_problem(op, graph, filt, units) or _accumulator_problem(op, graph, filt, units)


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
    return f"averaging {list(shape)} over axes {list(op.attrs.axes)} leaves {kept} values, not {graph[op.outputs[0]].size}" if kept != graph[op.outputs[0]].size else None


def _pad(op: Op, graph: Graph):
    shape = graph[op.inputs[0]].shape
    pads = op.attrs.paddings
    if len(shape) > 4 or len(pads) != len(shape) or any(p < 0 for pair in pads for p in pair):
        return f"paddings {list(pads)} do not fit the input {list(shape)} (rank <= 4, non-negative)"
    return tuple(d + before + after for d, (before, after) in zip(shape, pads))


def _concat(op: Op, graph: Graph):
    shapes = [graph[name].shape for name in op.inputs if name is not None]
    axis, rank = op.attrs.axis, len(shapes[0])
    if not 0 <= axis < rank or any(len(s) != rank or s[:axis] + s[axis + 1 :] != shapes[0][:axis] + shapes[0][axis + 1 :] for s in shapes):
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
    **dict.fromkeys(("maximum", "minimum", "div", "squared_difference", "floor_div", "floor_mod", "equal", "not_equal", "greater", "greater_equal", "less", "less_equal", "logical_and", "logical_or"), _binary),  # issue 20
    "select_v2": _broadcast_all,
}
