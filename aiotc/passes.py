"""Graph passes: pure functions Graph -> Graph, applied in the order of PASSES.

The layout passes clean up what a frontend's edge conversions leave (transposes
that cancel or only move unit axes, chains of reshapes); the float passes fold
what ONNX spells as separate nodes (bias Add, BatchNorm's Mul and Add, ReLU) into
the layer before, as TFLite models already have them, so float graphs quantize
like the TFLite converter's and run as fewer kernels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .ir import Conv2D, Graph, Mean, NoAttrs, Op, Padding, Quant, Resize, Tensor, Transpose, zero_point
from .ops import OPS


def _rewrite(
    graph: Graph, step: Callable[[Op, dict[str, str]], Op | str | None], tensors: dict[str, Tensor] | None = None
) -> Graph:
    """Apply `step` to every op, reads renamed: it returns the op to keep, or a tensor name
    that replaces the op's output (the op is dropped), or None to drop the op."""
    renamed: dict[str, str] = {}
    ops: list[Op] = []
    for op in graph.ops:
        op = replace(op, inputs=tuple(renamed.get(t, t) if t else t for t in op.inputs))
        result = step(op, renamed)
        if isinstance(result, str):
            renamed[op.outputs[0]] = result
        elif result is not None:
            ops.append(result)
    return graph.with_ops(ops, tensors)


def _single_use(graph: Graph, tensor: str) -> bool:
    return len(graph.consumers.get(tensor, ())) == 1 and tensor not in graph.kept


def remove_identity_reshapes(graph: Graph) -> Graph:
    """A reshape to the same shape is a no-op: its readers read its input instead."""

    def step(op: Op, renamed) -> Op | str:
        if (
            op.kind == "reshape"
            and graph[op.inputs[0]].shape == graph[op.outputs[0]].shape
            and op.outputs[0] not in graph.kept
        ):
            return op.inputs[0]
        return op

    return _rewrite(graph, step)


def simplify_transposes(graph: Graph) -> Graph:
    """Compose transposes of transposes; one that is the identity goes, one that only moves
    axes of size 1 is a reshape (the bytes do not move)."""
    perm_of: dict[str, tuple[tuple[int, ...], str]] = {}  # output -> (perm from source, source)

    def step(op: Op, renamed) -> Op | str:
        if op.kind != "transpose":
            return op
        perm, source = op.attrs.perm, op.inputs[0]
        if source in perm_of:
            first, source = perm_of[source]
            perm = tuple(first[p] for p in perm)
        perm_of[op.outputs[0]] = (perm, source)
        if perm == tuple(range(len(perm))) and op.outputs[0] not in graph.kept:
            return source
        shape = graph[source].shape
        if [p for p in perm if shape[p] != 1] == [a for a in range(len(shape)) if shape[a] != 1]:
            return replace(op, kind="reshape", inputs=(source,), attrs=NoAttrs())
        return replace(op, inputs=(source,), attrs=Transpose(perm))

    return remove_dead_ops(_rewrite(graph, step))


def merge_reshapes(graph: Graph) -> Graph:
    """A reshape of a reshape reads the first one's input."""
    source_of: dict[str, str] = {}

    def step(op: Op, renamed) -> Op:
        if op.kind != "reshape":
            return op
        source = source_of.get(op.inputs[0], op.inputs[0])
        source_of[op.outputs[0]] = source
        return replace(op, inputs=(source,))

    return remove_dead_ops(_rewrite(graph, step))


def _upsampling(image: tuple[int, ...], repeated: tuple[int, ...], out: tuple[int, ...]) -> tuple[int, int] | None:
    """(rows, columns) factors if `repeated` is the NHWC `image` with a unit axis after H
    and/or W and `out` repeats only those axes: the bytes of a nearest resize by them."""
    if len(image) != 4:
        return None
    n, h, w, c = image
    for rows_axis, cols_axis, shape in (
        (2, None, (n, h, 1, w, c)),
        (None, 3, (n, h, w, 1, c)),
        (2, 4, (n, h, 1, w, 1, c)),
    ):
        repeats = [a for a in (rows_axis, cols_axis) if a is not None]
        if repeated != shape or len(out) != len(shape):
            continue
        if all(o == s for axis, (o, s) in enumerate(zip(out, shape)) if axis not in repeats):
            return (out[rows_axis] if rows_axis else 1), (out[cols_axis] if cols_axis else 1)
    return None


def repeats_as_resize_nearest(graph: Graph) -> Graph:
    """Keras' UpSampling2D converts to RESHAPE -> TILE (or BROADCAST_TO) -> RESHAPE through
    a rank-5 or rank-6 view, one repeated unit axis per image axis: that is a nearest resize
    by integer factors (floor(y / f) reads row y / f), which the rank-4 kernels run. The
    tile becomes the resize plus a reshape, which merge_reshapes then folds away."""
    tensors = dict(graph.tensors)
    source_of: dict[str, str] = {}  # reshape output -> the tensor its bytes are
    ops: list[Op] = []
    for op in graph.ops:
        if op.kind == "reshape":
            source_of[op.outputs[0]] = source_of.get(op.inputs[0], op.inputs[0])
        image = source_of.get(op.inputs[0]) if op.kind in ("tile", "broadcast_to") else None
        factors = image and _upsampling(tensors[image].shape, tensors[op.inputs[0]].shape, tensors[op.outputs[0]].shape)
        if not image or not factors or tensors[image].quant != tensors[op.outputs[0]].quant:
            ops.append(op)
            continue
        n, h, w, c = tensors[image].shape
        resized = f"{op.name}/resize_nearest"
        tensors[resized] = Tensor(
            resized, (n, h * factors[0], w * factors[1], c), tensors[image].dtype, tensors[image].quant
        )
        ops.append(Op(resized, "resize_nearest", (image,), (resized,), Resize()))
        ops.append(Op(op.name, "reshape", (resized,), op.outputs))
        source_of[op.outputs[0]] = resized
    return graph.with_ops(ops, tensors)


_MOVES_OF_CONSTANTS: dict[str, Callable[[Op, np.ndarray, tuple[int, ...]], np.ndarray]] = {
    "strided_slice": lambda op, value, shape: value[
        tuple(slice(b, e if e >= 0 else None, s) for b, e, s in zip(op.attrs.begin, op.attrs.end, op.attrs.strides))
    ].reshape(shape),  # stop -1: past index 0
    "reshape": lambda op, value, shape: value.reshape(shape),
    "transpose": lambda op, value, shape: value.transpose(op.attrs.perm),
}


def fold_moves_of_constants(graph: Graph) -> Graph:
    """A slice, reshape or transpose of a constant is a constant: an unrolled WHILE leaves
    such ops behind (a Keras LSTM slices its constant initial TensorList), and no layer
    should run them, nor should PTQ look for their input among the activations. They only
    move bytes, so the folded value is exact when input and output share a quantization."""
    tensors = dict(graph.tensors)

    def step(op: Op, renamed) -> Op | None:
        move = _MOVES_OF_CONSTANTS.get(op.kind)
        source, out = tensors[op.inputs[0]], tensors[op.outputs[0]]
        if move is None or not source.is_const or source.quant != out.quant or op.outputs[0] in graph.kept:
            return op
        tensors[out.name] = replace(out, data=move(op, source.data, out.shape))
        return None

    return _rewrite(graph, step, tensors)


def remove_dead_ops(graph: Graph) -> Graph:
    """Ops whose outputs nobody reads (left behind by other passes) go."""
    needed = graph.kept
    keep = []
    for op in reversed(graph.ops):
        if needed.intersection(op.outputs):
            keep.append(op)
            needed.update(t for t in op.inputs if t)
    return graph.with_ops(keep[::-1])


def fold_affine(graph: Graph) -> Graph:
    """Float `layer -> mul/add by a per-channel constant` becomes the layer's weights and bias."""
    tensors = dict(graph.tensors)
    layers: dict[str, Op] = {}  # output -> weighted float op that may still absorb

    def step(op: Op, renamed) -> Op | str:
        if OPS[op.kind].weighted and graph[op.outputs[0]].dtype == "float32" and op.attrs.activation == "none":
            layers[op.outputs[0]] = op
            return op
        if op.kind not in ("add", "mul") or op.attrs.activation != "none":
            return op
        src, const = _variable_and_constant(op, tensors)
        layer = layers.pop(src, None)
        channels = tensors[op.outputs[0]].shape[-1]
        if layer is None or not _single_use(graph, src) or not _per_channel(tensors[const], channels):
            return op
        values = np.broadcast_to(tensors[const].data.reshape(-1), (channels,)).astype(np.float32)
        folded = (
            _scale_layer(layer, values, tensors) if op.kind == "mul" else _add_bias(layer, values, tensors, op.name)
        )
        folded = replace(folded, outputs=op.outputs)
        layers[op.outputs[0]] = folded
        return folded

    # The folded layer takes the mul/add's place; its earlier self is left unread.
    return remove_dead_ops(_rewrite(graph, step, tensors))


def _variable_and_constant(op: Op, tensors) -> tuple[str | None, str | None]:
    a, b = op.inputs
    if tensors[b].is_const and not tensors[a].is_const:
        return a, b
    if tensors[a].is_const and not tensors[b].is_const:
        return b, a
    return None, None


def _per_channel(t: Tensor | None, channels: int) -> bool:
    """A constant that broadcasts along the last axis only (a scalar or [..., C] of ones then C)."""
    return t is not None and t.dtype == "float32" and all(d == 1 for d in t.shape[:-1]) and t.size in (1, channels)


def _scale_layer(layer: Op, scale: np.ndarray, tensors: dict[str, Tensor]) -> Op:
    filt = tensors[layer.inputs[1]]
    axis = OPS[layer.kind].weight_axis
    shape = [1] * filt.data.ndim
    shape[axis] = -1
    name = f"{layer.inputs[1]}*"
    tensors[name] = replace(filt, name=name, data=(filt.data * scale.reshape(shape)).astype(np.float32))
    inputs = [layer.inputs[0], name, *layer.inputs[2:]]
    if len(inputs) > 2 and inputs[2]:
        bias = tensors[inputs[2]]
        inputs[2] = f"{bias.name}*"
        tensors[inputs[2]] = replace(bias, name=inputs[2], data=(bias.data * scale).astype(np.float32))
    return replace(layer, inputs=tuple(inputs))


def _add_bias(layer: Op, shift: np.ndarray, tensors: dict[str, Tensor], hint: str) -> Op:
    inputs = list(layer.inputs) + [None] * (3 - len(layer.inputs))
    old = tensors[inputs[2]].data if inputs[2] else np.zeros_like(shift)
    inputs[2] = f"{hint}/bias"
    tensors[inputs[2]] = Tensor(inputs[2], shift.shape, "float32", None, (old + shift).astype(np.float32))
    return replace(layer, inputs=tuple(inputs))


def fuse_activations(graph: Graph) -> Graph:
    """Float `layer -> relu/relu6` becomes the layer with a fused activation, as in TFLite."""
    producers: dict[str, Op] = {}

    def step(op: Op, renamed) -> Op | str:
        source = producers.get(op.inputs[0]) if op.inputs else None
        activation = OPS[op.kind].fusable_as
        if activation and source is not None and _single_use(graph, op.inputs[0]) and source.attrs.activation == "none":
            fused = replace(source, outputs=op.outputs, attrs=replace(source.attrs, activation=activation))
            producers[op.outputs[0]] = fused
            return fused
        if OPS[op.kind].fuses_activation and graph[op.outputs[0]].dtype == "float32":
            producers[op.outputs[0]] = op
        return op

    return remove_dead_ops(_rewrite(graph, step))


def depthwise_over_one_channel_as_conv(graph: Graph) -> Graph:
    """A depthwise conv over a single input channel with a depth multiplier M is a conv with
    M filters of one channel: the same sums, so the same integers to the bit, and the conv
    gemm runs it where the depthwise kernels would take their generic per-multiplier loop
    (a keyword model's first layer: 16 instructions per MAC on the M4)."""
    tensors = dict(graph.tensors)

    def step(op: Op, renamed) -> Op:
        filt = tensors[op.inputs[1]] if op.kind == "depthwise_conv2d" else None
        if filt is None or not filt.is_const or graph[op.inputs[0]].shape[-1] != 1 or op.attrs.depth_multiplier == 1:
            return op
        if graph[op.inputs[0]].dtype not in ("int8", "float32") or filt.dtype not in ("int8", "float32"):
            return op
        name = f"{op.name}/filter"
        quant = filt.quant and Quant(
            filt.quant.scale, filt.quant.zero_point, 0 if filt.quant.axis is not None else None
        )
        data = np.ascontiguousarray(filt.data.transpose(3, 1, 2, 0))  # [1, kh, kw, M] -> [M, kh, kw, 1]
        tensors[name] = Tensor(name, data.shape, filt.dtype, quant, data)
        a = op.attrs
        return replace(
            op,
            kind="conv2d",
            inputs=(op.inputs[0], name, *op.inputs[2:]),
            attrs=Conv2D(a.stride, a.dilation, a.padding, a.activation),
        )

    return _rewrite(graph, step, tensors)


def fold_pads_into_windows(graph: Graph) -> Graph:
    """A PAD of the rows and columns only (Keras' ZeroPadding2D, a conv's explicit PAD, a
    Conv1D's causal PAD of a 1 x L x C sequence before the reshape to a one-row image)
    becomes the padding of the windowed layers reading it, so the padded copy is never
    stored and the first layers can stream. The PAD writes the zero point: a conv's own
    padding adds zero point * weight too, the same sums; a max pool skips its padding,
    which is the same when no input is below the zero point (a fused relu before it) or
    the zero point is the type's least value. Each window keeps a real pixel (padding
    below the kernel's extent), as every kernel expects."""
    tensors = dict(graph.tensors)
    folded: dict[str, Op] = {}  # op name -> the op rewritten

    def neutral_for_max(pad: Op) -> bool:
        t = graph[pad.inputs[0]]
        source = graph.producers.get(pad.inputs[0])
        if source is not None and getattr(source.attrs, "activation", "none") in ("relu", "relu6"):
            return True
        return t.quant is not None and t.dtype in ("int8", "int16") and zero_point(t) == np.iinfo(t.dtype).min

    def padded_readers(pad: Op, image: str, source: str, pads: tuple[int, int, int, int]) -> dict[str, Op] | None:
        """The readers of `image` (the padded map) reading `source` with `pads` more padding; None if one cannot."""
        changed = {}
        for op in graph.consumers[image]:
            d = OPS[op.kind]
            if (
                op.inputs[0] != image
                or image in op.inputs[1:]
                or not (d.convolves or (d.max_of_window and neutral_for_max(pad)))
            ):
                return None
            p = op.attrs.padding
            padding = Padding(p.top + pads[0], p.bottom + pads[1], p.left + pads[2], p.right + pads[3])
            kh, kw = graph[op.inputs[1]].shape[1:3] if d.convolves else op.attrs.kernel
            dh, dw = op.attrs.dilation if d.convolves else (1, 1)
            # a pool's pads at most half its window: export.tflite.explicit_pads can write it back
            reach = ((kh - 1) * dh, (kw - 1) * dw) if d.convolves else (kh // 2, kw // 2)
            if max(padding.top, padding.bottom) > reach[0] or max(padding.left, padding.right) > reach[1]:
                return None
            changed[op.name] = replace(op, inputs=(source, *op.inputs[1:]), attrs=replace(op.attrs, padding=padding))
        return changed

    for pad in graph.ops:
        x, out = graph[pad.inputs[0]], graph[pad.outputs[0]]
        if pad.kind != "pad" or out.name in graph.kept or x.quant != out.quant or x.shape[0] != 1:
            continue
        readers = graph.consumers[out.name]
        if len(x.shape) == 4 and pad.attrs.paddings[::3] == ((0, 0), (0, 0)):
            (top, bottom), (left, right) = pad.attrs.paddings[1:3]
            changed = padded_readers(pad, out.name, x.name, (top, bottom, left, right))
        elif len(x.shape) == 3 and pad.attrs.paddings[::2] == ((0, 0), (0, 0)) and len(readers) == 1:
            reshape, (before, after) = readers[0], pad.attrs.paddings[1]
            image = graph[reshape.outputs[0]]
            if reshape.kind != "reshape" or image.shape != (1, 1, *out.shape[1:]) or image.name in graph.kept:
                continue
            changed = padded_readers(pad, image.name, image.name, (0, 0, before, after))
            if changed is not None:
                tensors[image.name] = replace(image, shape=(1, 1, *x.shape[1:]))
                changed[reshape.name] = replace(reshape, inputs=(x.name, *reshape.inputs[1:]))
        else:
            continue
        folded.update(changed or {})
    if not folded:
        return graph
    return remove_dead_ops(graph.with_ops([folded.get(op.name, op) for op in graph.ops], tensors))


def global_pools_as_means(graph: Graph) -> Graph:
    """A float average pool over the whole H x W (no padding, no fused activation) is a MEAN
    over the rows and columns, the same sums in the same order. As a mean it streams as a row
    sum (memory/streaming.py), so the map it pools is never whole: micronet_kws_49x10 float
    streams all its layers into the mean (arena 143,632 B -> 71,584 B; tflite-micro 254,760 B).
    Quantized, a MEAN requantizes where TFLite's int8 AVERAGE_POOL_2D keeps its input's
    scale: the pooled range is much smaller, so its own, finer scale is worth about 1.5 points
    of top-1 agreement and 0.7 dB of output SQNR on pretrainedResnet. A QDQ model's pools
    keep the scales the model gives them."""
    if graph.quant_hints:
        return graph

    def step(op: Op, renamed) -> Op:
        source = graph[op.inputs[0]]
        if (
            op.kind == "avg_pool2d"
            and source.dtype == "float32"
            and op.attrs.kernel == tuple(source.shape[1:3])
            and op.attrs.padding == Padding()
            and op.attrs.activation == "none"
        ):
            return Op(op.name, "mean", op.inputs, op.outputs, Mean((1, 2), keepdims=True))
        return op

    return _rewrite(graph, step)


PASSES: list[Callable[[Graph], Graph]] = [
    fold_moves_of_constants,
    simplify_transposes,
    repeats_as_resize_nearest,
    merge_reshapes,
    remove_identity_reshapes,
    fold_affine,
    fuse_activations,
    depthwise_over_one_channel_as_conv,
    fold_pads_into_windows,
    global_pools_as_means,
]


def run_passes(graph: Graph) -> Graph:
    for apply in PASSES:
        graph = apply(graph)
        graph.validate()
    return graph
