"""Lowerings of the conv family: conv2d, depthwise_conv2d, transpose_conv, fully_connected and pooling.

Multipliers follow TFLite Micro's Prepare exactly: conv and depthwise (and per-channel
fully connected) compute input_scale * filter_scale / output_scale in double from the
float32 scales; per-tensor fully connected multiplies the two float32 scales in
float32 first (GetQuantizedConvolutionMultipler). A different rounding of one
multiplier changes outputs, so these details matter.
"""

from __future__ import annotations

import numpy as np

from ..fixedpoint import quantize_multiplier_array
from ..ir import Op, pack_int4
from ..kernels import (
    folded_bias,
    padded_row,
    padded_row8,
    padded_row16,
    row_pairs,
    s16_groups,
    transpose_phases,
    weight_rows,
)
from .lowering import LayerCode, LowerContext, activation_limits, dims, lowers, scale, suffix, zero_point

# The fast kernels that take right shifts under a clamp above -128 (right_shifts 2): the
# depthwise ones (the _s4 ones run them), whose every path clamps to act_min, and the int8
# gemm ones (pair and quad drivers; an expansion conv's ReLU floor on a zero point above -128).
_CLAMPED_RIGHT_SHIFTS = (
    "aiotc_depthwise_conv_3x3_",
    "aiotc_depthwise_conv_opt_",
    "aiotc_depthwise_conv_pairs_",
    "aiotc_convolve_1x1_s8",
    "aiotc_convolve_1x1_quad_s8",
    "aiotc_convolve_1x1_few_s8",
    "aiotc_convolve_im2col_s8",
    "aiotc_convolve_im2col_few_s8",
    "aiotc_convolve_im2col_quad_s8",
    "aiotc_convolve_grouped_s8",
)

# The kernels that read a channel's (multiplier, shift) as one pair (one LDRD).
_PAIRED_REQUANTIZATION = ("aiotc_convolve_1x1_few_s8", "aiotc_convolve_im2col_few_s8", "aiotc_depthwise_conv_pairs_s8")


def _requantization(op: Op, ctx: LowerContext, channels: int, kernel: str | None) -> dict:
    """Per-output-channel multiplier and shift arrays (a per-tensor filter repeats its one).
    For a fast kernel where every channel shifts right by 2 or more and the clamp is the
    whole int8 range, the shifts go as the right shifts -shift - 2 with `right_shifts`
    set (aiotc_per_channel_quant_params): the kernels then requantize with no test; the
    depthwise and int8 gemm kernels take them under a ReLU's clamp too (right_shifts 2)."""
    graph = ctx.graph
    inp, filt, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    filter_scales = filt.quant.scale.astype(np.float64)
    if filter_scales.size == 1:
        filter_scales = np.repeat(filter_scales, channels)
    if op.kind == "fully_connected" and filt.quant.scale.size == 1:
        product = np.float64(np.float32(scale(inp)) * np.float32(filt.quant.scale[0]))
        reals = np.full(channels, product / np.float64(scale(out)))
    else:
        reals = np.float64(scale(inp)) * filter_scales / np.float64(scale(out))
    multipliers, shifts = quantize_multiplier_array(reals)
    if inp.dtype == "int16":
        reduced, total = reduced_multipliers(multipliers, shifts)
        has_bias = len(op.inputs) > 2 and op.inputs[2] is not None
        bias = graph[op.inputs[2]].data if has_bias else np.zeros(channels, np.int64)
        return {
            "multiplier": ctx.const(reduced, "multiplier16"),
            "shift": ctx.const(total, "total_shift"),
            "right_shifts": 0,
            "bias": ctx.const(scaled_bias(bias, reduced, total), "bias_scaled"),
        }
    act_min, act_max = activation_limits(op, graph)
    if kernel is None or act_max != 127:
        mode = 0
    elif act_min == -128:
        mode = 1
    else:
        mode = 2 if kernel.startswith(_CLAMPED_RIGHT_SHIFTS) else 0
    return int8_requantization(ctx, multipliers, shifts, mode, pairs=kernel in _PAIRED_REQUANTIZATION)


def int8_requantization(
    ctx: LowerContext, multipliers: np.ndarray, shifts: np.ndarray, mode: int, pairs: bool = False
) -> dict:
    """The int8 arrays of `_requantization`; right shifts in `mode` (1: a fast kernel whose
    clamp is the whole int8 range; 2: a depthwise or gemm one clamped above -128) where every
    channel shifts right by 2 or more. With `pairs` one array of (multiplier, shift) per
    channel, `shift` pointing at its second word: the few and depthwise pair kernels load a
    channel's two with one LDRD."""
    right = mode != 0 and bool(np.all(shifts <= -2))
    shifts = -shifts - 2 if right else shifts
    if pairs:
        both = ctx.const(np.stack([multipliers, shifts], axis=1).astype(np.int32).ravel(), "multiplier_shift")
        return {"multiplier": both, "shift": f"{both} + 1", "right_shifts": mode if right else 0}
    return {
        "multiplier": ctx.const(multipliers, "multiplier"),
        "shift": ctx.const(shifts, "right_shift" if right else "shift"),
        "right_shifts": mode if right else 0,
    }


def reduced_multipliers(multipliers: np.ndarray, shifts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...) derives from a multiplier
    and shift on every call (common.cc), once at compile time for the _s16 kernels: the
    multiplier rounded to 16 bits (0x7FFF at the top, where rounding would overflow) and
    the total right shift 15 - shift."""
    m = multipliers.astype(np.int64)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    return reduced.astype(np.int32), (15 - shifts.astype(np.int64)).astype(np.int32)


def scaled_bias(bias: np.ndarray, reduced: np.ndarray, total: np.ndarray) -> np.ndarray:
    """The _s16 kernels' bias: bias * reduced multiplier + 2^(total shift - 1), so that
    TFLite's (acc * m + round) >> shift becomes (sum * m + scaled) >> shift, one SMLAL
    where the sum fits an int32 (exact: TFLite keeps acc within 2^47, m below 2^15)."""
    return np.array([int(b) * int(m) + (1 << (int(t) - 1)) for b, m, t in zip(bias, reduced, total)], dtype=np.int64)


def pack_s16_weights(op: Op, graph) -> np.ndarray:
    """aiotc_convolve_s16 / aiotc_fully_connected_s16's weights (kernel selection checked
    that byte pairs hold them): each group's rows as channel pairs of byte pairs
    (`_byte_pairs`; an odd last channel of a group paired with zeros), rows zero padded to
    a multiple of 8 inputs, groups one after the other."""
    width = padded_row8(weight_rows(op, graph).shape[1])
    return np.concatenate([_byte_pairs(*row_pairs(g, 2, width), False).ravel() for g in s16_groups(op, graph)])


def _bias(op: Op, ctx: LowerContext) -> str:
    return ctx.ptr(op.inputs[2]) if len(op.inputs) > 2 and op.inputs[2] is not None else "0"


def _common(op: Op, ctx: LowerContext) -> dict:
    graph = ctx.graph
    inp, out = graph[op.inputs[0]], graph[op.outputs[0]]
    lo, hi = activation_limits(op, graph)
    return {
        "input": ctx.ptr(op.inputs[0]),
        "output": ctx.ptr(op.outputs[0]),
        "input_dims": dims(inp.shape),
        "output_dims": dims(out.shape),
        "input_offset": -zero_point(inp),
        "output_offset": zero_point(out),
        "act_min": lo,
        "act_max": hi,
        "quantized": inp.dtype != "float32",
    }


def fast_values(op: Op, ctx: LowerContext, kernel: str) -> dict:
    """Weights packed for the kernel, the folded bias and the scratch context."""
    rows = weight_rows(op, ctx.graph)
    if kernel in ("aiotc_convolve_1x1_few_s8", "aiotc_convolve_im2col_few_s8"):
        # int16 over rows padded to whole words, channels and biases to blocks of 8; im2col: a window's scratch
        channels = -(-rows.shape[0] // 8) * 8
        padded = np.zeros((channels, padded_row(rows.shape[1])), rows.dtype)
        padded[: rows.shape[0], : rows.shape[1]] = rows
        folded = np.zeros(channels, np.int32)
        folded[: rows.shape[0]] = folded_bias(op, ctx.graph)
        values = {"filter": ctx.const(pack_few_weights(padded), "filter_words")}
        values["bias"] = ctx.const(folded, "bias_folded")
        return values | ({"context": ctx.scratch()} if kernel == "aiotc_convolve_im2col_few_s8" else {})
    bias = ctx.const(folded_bias(op, ctx.graph), "bias_folded")
    if kernel == "aiotc_depthwise_conv_opt_s8":
        return {
            "filter": ctx.const(pack_depthwise_groups(rows), "filter_groups"),
            "bias": bias,
            "context": ctx.scratch(),
        }
    if kernel == "aiotc_depthwise_conv_pairs_s8":
        return {
            "filter": ctx.const(pack_depthwise_pairs(rows), "filter_pairs"),
            "bias": bias,
            "context": ctx.scratch(),
        }
    if kernel == "aiotc_depthwise_conv_3x3_s8":
        planes = ctx.graph[op.inputs[1]].data[0].transpose(2, 0, 1)  # C x 3 x 3: a channel's 9 weights together
        return {
            "filter": ctx.const(np.ascontiguousarray(planes), "filter_planes"),
            "bias": bias,
            "context": ctx.scratch(),
        }
    if kernel == "aiotc_convolve_rows_s8":  # TFLite's order, no scratch
        return {"filter": _filter(op, ctx), "bias": bias}
    if kernel == "aiotc_convolve_rows_im2col_s8":  # TFLite's order, the windows gathered in the scratch
        return {"filter": _filter(op, ctx), "bias": bias, "context": ctx.scratch()}
    if kernel.startswith("aiotc_depthwise_conv"):  # _s4: TFLite's packed order, unpacked by the kernel
        return {"filter": _filter(op, ctx), "bias": bias, "context": ctx.scratch()}
    if kernel.endswith("_s4"):
        return {
            "filter": ctx.const(pack_gemm_s4_weights(rows), "filter_s4_words"),
            "bias": bias,
            "context": ctx.scratch(),
        }
    if kernel == "aiotc_convolve_grouped_s8":  # each group's rows in the gemm's layout, whole pairs each
        packed = [_byte_pairs(*row_pairs(rows), ctx.plain_pairs).ravel() for rows in s16_groups(op, ctx.graph)]
        packed.append(np.zeros(-sum(w.size for w in packed) % 32 + 32, np.int8))
        return {"filter": ctx.const(np.concatenate(packed), "filter_groups"), "bias": bias, "context": ctx.scratch()}
    # 32 zero bytes after: the M55's short-row path (aiotc_gemm_mve4_short) loads 32 bytes
    # from its last channel quad's start, up to 24 past a layer's last pair (4 inputs, 8 channels)
    weights = np.concatenate([pack_gemm_weights(rows, ctx.plain_pairs), np.zeros(32, np.int8)])
    return {"filter": ctx.const(weights, "filter_pairs"), "bias": bias, "context": ctx.scratch()}


def pack_depthwise_groups(rows: np.ndarray) -> np.ndarray:
    """aiotc_depthwise_conv_opt_s8's layout: int16, groups of 8 channels (zero padded),
    each group's taps in order, so the kernel reads a group's weights with one pointer
    (the M55 a tap's 8 weights with one load)."""
    channels, taps = rows.shape
    padded = np.zeros((-(-channels // 8) * 8, taps), np.int16)
    padded[:channels] = rows
    return np.ascontiguousarray(padded.reshape(-1, 8, taps).transpose(0, 2, 1)).ravel()


def pack_few_weights(rows: np.ndarray) -> np.ndarray:
    """aiotc_convolve_1x1_few_s8's layout: int16, blocks of 8 channels, per 4 inputs
    i0..i3 and channel (i0, i2, i1, i3), the words SMLAD takes against SXTB16 of the
    inputs' word and of it rotated by a byte."""
    out_c, depth = rows.shape
    words = rows.reshape(out_c // 8, 8, depth // 4, 4)[..., [0, 2, 1, 3]]
    return np.ascontiguousarray(words.transpose(0, 2, 1, 3)).astype(np.int16).ravel()


def pack_depthwise_pairs(rows: np.ndarray) -> np.ndarray:
    """aiotc_depthwise_conv_pairs_s8's layout: int16, groups of 4 channels (zero padded),
    each group's taps two by two (per pair, channel by channel, tap t then t + 1: the
    operand of one SMLAD), an odd last tap's 4 weights after them."""
    channels, taps = rows.shape
    padded = np.zeros((-(-channels // 4) * 4, taps), np.int16)
    padded[:channels] = rows
    groups = padded.reshape(-1, 4, taps)
    paired = taps & ~1
    pairs = groups[:, :, :paired].reshape(groups.shape[0], 4, -1, 2).transpose(0, 2, 1, 3).reshape(groups.shape[0], -1)
    return np.ascontiguousarray(np.concatenate([pairs, groups[:, :, paired:].reshape(groups.shape[0], -1)], 1)).ravel()


def _byte_pairs(a: np.ndarray, b: np.ndarray, plain: bool) -> np.ndarray:
    """Per input, a's byte then b - [a < 0]: read as an int16 the two make 256 * b + a
    (aiotc_nn_gemm.h), SXTB16 of them a alone; or (`plain`, the int8 kernels on an MVE
    board: LowerContext.plain_pairs) b itself. The 16x8 kernels always read the former."""
    return np.stack([a, b if plain else b - (a < 0)], axis=-1).astype(np.int8)


def pack_gemm_weights(rows: np.ndarray, plain: bool) -> np.ndarray:
    """The shared gemm's layout (aiotc_nn_gemm.h): channel pairs of byte pairs (`plain`:
    _byte_pairs'), an odd last row paired with zeros, padded to a multiple of 32 bytes so
    the M55's 32-byte loads stay inside."""
    pairs = _byte_pairs(*row_pairs(rows), plain).ravel()
    return np.concatenate([pairs, np.zeros(-pairs.size % 32, np.int8)])


# Per word of 8 inputs: the inputs whose weights bytes 0-3 hold in their low nibbles
# (their high nibbles: these + 4); aiotc_nn_gemm_s4.h says why.
_S4_LOW_NIBBLES = np.array([0, 2, 1, 3])


def pack_gemm_s4_weights(rows: np.ndarray) -> np.ndarray:
    """aiotc_gemm_s4's layout: each channel's row zero padded to a multiple of 8 inputs,
    one word per 8 inputs w0..w7 as bytes (w0 | w4 << 4), (w2 | w6 << 4), (w1 | w5 << 4),
    (w3 | w7 << 4); 16 zero bytes after (the M55's 16-byte loads stay inside)."""
    out_c, depth = rows.shape
    words = np.zeros((out_c, -(-depth // 8) * 8), np.int64)
    words[:, :depth] = rows
    words = words.reshape(out_c, -1, 8) & 0x0F
    packed = words[..., _S4_LOW_NIBBLES] | (words[..., _S4_LOW_NIBBLES + 4] << 4)
    return np.concatenate([packed.astype(np.uint8).view(np.int8).ravel(), np.zeros(16, np.int8)])


# The depthwise kernels that take a layer pixel by pixel along its rows (aiotc_nn_dw_channels.h).
_CHANNEL_DEPTHWISE = ("aiotc_depthwise_conv_opt_s8", "aiotc_depthwise_conv_opt_s4", "aiotc_depthwise_conv_pairs_s8")


def _on_its_side(values: dict) -> bool:
    """Whether a depthwise layer is 1-D down one column (image, kernel and output one pixel
    wide: how the lowering puts a Conv1D), of depth multiplier 1 (above 1 the channel
    kernels keep copies of whole input rows in their scratch)."""
    return (
        values["ch_mult"] == 1
        and values["input_dims"][1] > 1
        and values["input_dims"][2] == values["filter_dims"][2] == values["output_dims"][2] == 1
    )


def _along_a_row(values: dict) -> dict:
    """The same layer along one row (the bytes are the same): the channel kernels run its
    pixels in one loop across the row, not a row loop each (imu_gesture's 64x1x16, 5 taps,
    stride 2, on the M55: 13.1k instructions against 11.0k)."""

    def swap(pair: tuple[int, ...]) -> tuple[int, ...]:
        return (pair[1], pair[0])

    def across(shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[0], shape[2], shape[1], shape[3])

    return {
        "input_dims": across(values["input_dims"]),
        "filter_dims": across(values["filter_dims"]),
        "output_dims": across(values["output_dims"]),
        "stride": swap(values["stride"]),
        "padding": swap(values["padding"]),
        "dilation": swap(values["dilation"]),
    }


@lowers("conv2d", "depthwise_conv2d", dtypes=("int8", "int16", "float32"))
def lower_conv(op: Op, ctx: LowerContext) -> LayerCode:
    graph = ctx.graph
    filt, out = graph[op.inputs[1]], graph[op.outputs[0]]
    a = op.attrs
    values = _common(op, ctx) | {
        "filter_dims": filt.shape,  # OHWI, or 1HW(C*M)
        "stride": a.stride,
        "padding": (a.padding.top, a.padding.left),
        "dilation": a.dilation,
        "ch_mult": getattr(a, "depth_multiplier", 1),
        "context": None,
    }
    kernel = ctx.kernels[op.name].name
    if values["quantized"]:
        values |= _requantization(op, ctx, out.shape[-1], kernel)
    if kernel == "aiotc_convolve_s16":
        values |= {"filter": ctx.const(pack_s16_weights(op, graph), "filter_pairs"), "context": ctx.scratch()}
    elif kernel == "aiotc_convolve_ref_s16":
        values["filter"] = _filter(op, ctx)
    elif kernel is not None:
        values |= fast_values(op, ctx, kernel)
    else:
        values["filter"] = _filter(op, ctx)
        if "bias" not in values:  # int16 layers have theirs scaled (_requantization)
            values["bias"] = _bias(op, ctx)
        kernel = f"aiotc_{'convolve' if op.kind == 'conv2d' else 'depthwise_conv'}_{_kernel_suffix(op, graph)}"
    if kernel in _CHANNEL_DEPTHWISE and _on_its_side(values):
        values |= _along_a_row(values)
    runs = (
        (kernel, kernel.replace("_s4", "_s8"))
        if kernel.startswith("aiotc_depthwise_conv_") and kernel.endswith("_s4") and values["context"]
        else (kernel,)
    )
    return LayerCode(op.kind, values | {"kernel": kernel}, runs)  # an _s4 depthwise kernel runs the _s8 one


@lowers("transpose_conv", dtypes=("int8", "int16", "float32"))
def lower_transpose_conv(op: Op, ctx: LowerContext) -> LayerCode:
    """The conv's call and quantization (TFLite's PopulateConvolutionQuantizationParams)
    with a transposed convolution's kernel."""
    graph = ctx.graph
    values = _common(op, ctx) | {
        "filter_dims": graph[op.inputs[1]].shape,  # OHWI
        "stride": op.attrs.stride,
        "padding": op.attrs.padding,
        "dilation": (1, 1),
        "context": None,
    }
    kernel = ctx.kernels[op.name].name
    if values["quantized"]:
        values |= _requantization(op, ctx, graph[op.outputs[0]].shape[-1], kernel)
    phases = transpose_phases(op, graph) if kernel is not None else []
    if kernel == "aiotc_transpose_conv_gemm_s8":  # each phase's weights packed, its bias folded
        # 32 zero bytes after the last phase: the M55 still loads 32 bytes for a phase without taps
        weights = [pack_gemm_weights(rows, ctx.plain_pairs) for rows in phases] + [np.zeros(32, np.int8)]
        biases = [folded_bias(op, graph, rows) for rows in phases]
        values |= {
            "filter": ctx.const(np.concatenate(weights), "filter_phases"),
            "bias": ctx.const(np.concatenate(biases), "bias_folded"),
            "context": ctx.scratch(),
        }
    elif kernel == "aiotc_transpose_conv_gemm_s16":  # aiotc_convolve_s16's channel pairs, phase by phase
        weights = [_byte_pairs(*row_pairs(rows, 2, padded_row8(rows.shape[1])), False).ravel() for rows in phases]
        values |= {"filter": ctx.const(np.concatenate(weights), "filter_phases"), "context": ctx.scratch()}
    else:  # the reference kernels read the weights as they are
        values["filter"] = ctx.ptr(op.inputs[1])
        if "bias" not in values:  # int16 layers have theirs scaled (_requantization)
            values["bias"] = _bias(op, ctx)
    kernel = kernel or f"aiotc_transpose_conv_{suffix(graph[op.inputs[0]].dtype)}"
    return LayerCode("conv2d", values | {"kernel": kernel}, (kernel,))


def _kernel_suffix(op: Op, graph) -> str:
    """s8/s16/f32 by the activations; s4 for int4 weights, which stay packed in flash."""
    return "s4" if graph[op.inputs[1]].dtype == "int4" else suffix(graph[op.inputs[0]].dtype)


def _filter(op: Op, ctx: LowerContext) -> str:
    filt = ctx.graph[op.inputs[1]]
    return ctx.const(pack_int4(filt.data), "filter_s4") if filt.dtype == "int4" else ctx.ptr(op.inputs[1])


def pack_fc_weights(rows: np.ndarray, plain: bool) -> np.ndarray:
    """The packed kernel's layout: blocks of 4 rows (zero rows pad the last), each row zero
    padded to a multiple of 16 inputs; per run of inputs, rows 0 and 1 as byte pairs (the
    gemm's, `_byte_pairs`), then rows 2 and 3. Runs of 16 for an MVE core (`plain`: one
    VLD2 per row pair), of 8 for the DSP path (one LDM of 16 bytes per row pair)."""
    run = 16 if plain else 8
    a, b = row_pairs(rows, 4, padded_row16(rows.shape[1]))
    pairs = _byte_pairs(a, b, plain)  # (block * 2 + pair, inputs, 2)
    blocks = pairs.reshape(-1, 2, pairs.shape[1] // run, run, 2)  # block, pair, run, input, byte
    return np.ascontiguousarray(blocks.transpose(0, 2, 1, 3, 4)).ravel()


def pack_fc_rows(rows: np.ndarray) -> np.ndarray:
    """aiotc_fully_connected_rows_s8's layout: blocks of 4 rows while 3 or more are left
    (a zero row pads a last 3), then a block of the 1 or 2 rows left; each row zero padded
    to a multiple of 16 inputs; per 4 inputs the block's rows' words."""
    out_c, depth = rows.shape
    padded = np.zeros((-(-out_c // 4) * 4, padded_row16(depth)), np.int8)
    padded[:out_c, :depth] = rows
    blocks, start = [], 0
    while start < out_c:
        n = 4 if out_c - start >= 3 else out_c - start
        words = padded[start : start + n].reshape(n, -1, 4)  # row, word, byte
        blocks.append(words.transpose(1, 0, 2).ravel())
        start += n
    return np.concatenate(blocks)


def packed_fc_values(op: Op, ctx: LowerContext) -> dict:
    """aiotc_fully_connected_packed_s8's weights, its folded bias (zero padded to whole
    blocks of 4 rows) and its scratch."""
    rows = weight_rows(op, ctx.graph)
    bias = np.zeros(-(-rows.shape[0] // 4) * 4, np.int32)
    bias[: rows.shape[0]] = folded_bias(op, ctx.graph)
    return {
        "filter": ctx.const(pack_fc_weights(rows, ctx.plain_pairs), "filter_packed"),
        "bias": ctx.const(bias, "bias_folded"),
        "context": ctx.scratch(),
    }


@lowers("fully_connected", dtypes=("int8", "int16", "float32"))
def lower_fully_connected(op: Op, ctx: LowerContext) -> LayerCode:
    """Each kernel gets only the weights and bias it reads: a constant emitted and not
    referenced would still count in weights_bytes (the host's flash figure)."""
    graph = ctx.graph
    inp, filt, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    out_c, depth = filt.shape
    values = _common(op, ctx) | {
        "input_dims": (inp.size // depth, 1, 1, depth),
        "filter_dims": (out_c, 1, 1, depth),
        "output_dims": (out.size // out_c, 1, 1, out_c),
        "filter_offset": -zero_point(filt),
        "context": None,
    }
    kernel = ctx.kernels[op.name].name
    if values["quantized"]:
        values |= _requantization(op, ctx, out_c, kernel)  # int16: with the scaled bias
    one_by_one = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1)}  # a 1x1 convolution over the batches
    if kernel == "aiotc_convolve_1x1_s4":
        values |= one_by_one | {
            "filter": ctx.const(pack_gemm_s4_weights(filt.data.astype(np.int64)), "filter_s4_words"),
            "bias": ctx.const(folded_bias(op, graph), "bias_folded"),
            "context": ctx.scratch(),
        }
        return LayerCode("conv2d", values | {"kernel": kernel}, (kernel,))
    if kernel == "aiotc_convolve_ref_s16":  # weights the byte pairs cannot hold (kernels.py)
        values |= one_by_one | {"filter": ctx.ptr(op.inputs[1])}
        return LayerCode("conv2d", values | {"kernel": kernel}, (kernel,))
    kernel = kernel or f"aiotc_fully_connected_{_kernel_suffix(op, graph)}"
    if kernel == "aiotc_fully_connected_packed_s8":
        values |= packed_fc_values(op, ctx)
    elif kernel == "aiotc_fully_connected_rows_s8":
        rows = weight_rows(op, graph)
        values |= {
            "filter": ctx.const(pack_fc_rows(rows), "filter_rows"),
            "bias": ctx.const(folded_bias(op, graph), "bias_folded"),
        }
    elif inp.dtype == "int16":
        values["filter"] = ctx.const(pack_s16_weights(op, graph), "filter_pairs")
    else:
        values |= {"filter": _filter(op, ctx), "bias": _bias(op, ctx)}
    return LayerCode("fully_connected", values | {"kernel": kernel}, (kernel,))


@lowers("avg_pool2d", "max_pool2d")
def lower_pool(op: Op, ctx: LowerContext) -> LayerCode:
    a = op.attrs
    values = _common(op, ctx) | {"kernel_hw": a.kernel, "stride": a.stride, "padding": (a.padding.top, a.padding.left)}
    dtype = suffix(ctx.graph[op.inputs[0]].dtype)
    kernel = f"aiotc_{op.kind.split('_')[0]}pool_{dtype}"
    source = "aiotc_pool_f32" if dtype == "f32" else kernel  # one file holds the three float pools
    return LayerCode("pool", values | {"kernel": kernel}, (source,))
