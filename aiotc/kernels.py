"""Kernel selection: which C kernel runs each layer, and what that kernel asks of memory.

Decided once, before memory planning, as TFLite Micro's Prepare and CMSIS-NN's
`*_get_buffer_size` do: the memory planner reads each layer's scratch bytes and how
its kernel writes its output (whether it may overwrite its input, `write_group`),
and codegen calls the same kernel. Everything here is a function of the shapes,
the weights, the options and the target core, never of a layer's rows, so the row
bands of a streamed layer run the kernel chosen for the whole layer and fit its scratch.

The core (`mve`, from the board) only ranks kernels: each kernel is portable C whose DSP
and MVE paths are chosen by #if, so the generated C is right on any core and fastest on
the board's. The choice is made here, not by #if in the generated C, because the
kernels differ in weight layout and scratch, which the flash and the arena plan hold.

The specialized int8 kernels need the input offset folded into an int32 bias
(`folded_bias`) and weights their packed layouts hold. With `compact_int4`, int4
weights run the reference loops instead of the fast `_s4` kernels: less code,
about 10x the instructions (--precision auto takes it when a flash budget asks).
The kernels whose weights are widened to int16 at compile time (WIDE_KERNELS: twice the
weights' flash) give way to their int8 ones where the image would outgrow the flash
(`_fit_wide_weights`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .ir import Graph, Op, zero_point
from .ops import OPS

# The write-order contract of runtime_c/include/aiotc_nn.h, kept by the kernels of the
# op table's in-place kinds: output pixels (elements, for flat kernels) in increasing order, at most
# GROUP at a time (DW_BAND whole rows for the 3x3 depthwise kernel), each group reading
# only input rows at or after the first row it needs.
GROUP = 4  # output pixels (or elements) a kernel may compute at once
DW_BAND = 2  # output rows aiotc_depthwise_conv_3x3_s8 computes at once (all channels of them)
DW_MIN_WIDTH = 8  # the narrowest output rows it runs on


@dataclass(frozen=True)
class Kernel:
    """How one layer runs: what codegen calls and what the memory plan gives it."""

    name: str | None  # the specialized kernel (aiotc_convolve_1x1_s8, ...); None: the op's reference kernel
    scratch_bytes: int  # its *_get_buffer_size, the same on every target
    write_group: int | None  # output pixels (elements) it computes at once; None: it cannot write over its input
    why: str = field(default="", compare=False)  # why this kernel runs the layer, for the report


def select_kernels(
    graph: Graph, compact_int4: bool = False, *, mve: bool = False, dsp: bool = False, flash: int | None = None
) -> dict[str, Kernel]:
    """The kernel of every layer of `graph`, by op name; `mve`: for a core with the M-profile
    vector extension (the board's `mve`); `dsp`: with the DSP extension (the board's `dsp`:
    without MVE, the C's AIOTC_DSP path, Cortex-M4, M7, M33); `flash`: the bytes the image
    may take (the flash budget or the board's flash), which widened weights must fit."""
    kernels = {op.name: select_kernel(op, graph, compact_int4, mve=mve, dsp=dsp) for op in graph.ops}
    if flash is None:
        return kernels
    return _fit_wide_weights(graph, kernels, flash, lambda op: select_kernel(op, graph, compact_int4, mve=mve))


def select_kernel(op: Op, graph: Graph, compact_int4: bool = False, *, mve: bool = False, dsp: bool = False) -> Kernel:
    """One layer's kernel; `dsp` also admits the DSP cores' kernels of widened weights."""
    if OPS[op.kind].convolves:
        name = _conv_kernel(op, graph, compact_int4, mve, dsp and not mve)
        scratch = _conv_scratch_bytes(op, graph, name)
    elif op.kind == "fully_connected":
        name = _fc_kernel(op, graph, compact_int4, fc_rows_max(mve, dsp))
        scratch = _fc_scratch_bytes(op, graph, name)
    elif op.kind == "batch_matmul":
        name = _batch_matmul_kernel(op, graph)
        scratch = _batch_matmul_scratch_bytes(op, graph, name)
    elif op.kind == "transpose_conv":
        name = _transpose_conv_kernel(op, graph)
        scratch = _transpose_conv_scratch_bytes(op, graph, name) if name else 0
    elif op.kind == "lstm":
        name = _lstm_kernel(op, graph, dsp and not mve)
        scratch = _lstm_scratch_bytes(op, graph, name) if name else 0
    elif op.kind == "svdf":
        name = _svdf_kernel(op, graph)
        scratch = 2 * padded_row16(graph[op.inputs[0]].shape[-1]) if name == "aiotc_svdf_packed_s8" else 0  # widened
    else:
        return Kernel(None, 0, _write_group(op, graph), "the op's kernel")
    if name is not None:
        why = "fastest kernel for the shape and weights"
    elif compact_int4 and graph[op.inputs[1]].dtype == "int4":
        why = "reference loops: compact int4 code for the flash budget"
    else:
        why = "reference kernel: no specialized kernel takes these types or weights"
    return Kernel(name, scratch, _write_group(op, graph), why)


# The quad kernels' pair twins: the same weights, less scratch (aiotc_nn_gemm_quad.h).
QUAD_KERNELS = {
    "aiotc_convolve_1x1_quad_s8": "aiotc_convolve_1x1_s8",
    "aiotc_convolve_im2col_quad_s8": "aiotc_convolve_im2col_s8",
}
# The packed kernels' scratch-free twins: the same products over the weights as they are (any int8 weights).
ROWS_KERNELS = {
    "aiotc_fully_connected_packed_s8": "aiotc_fully_connected_rows_s8",
    "aiotc_svdf_packed_s8": "aiotc_svdf_rows_s8",
}


def scratch_free_kernel(op: Op, graph: Graph, kernel: Kernel) -> Kernel | None:
    """The reference kernel of a layer whose specialized kernel takes scratch, when it takes
    less (none, for int8 and int4 weights), or for the packed fully connected and SVDF
    layers the rows kernel (scratch-free, as fast on a few rows), for the quad kernels their pair
    twin (less scratch); None when there is nothing lighter."""
    if kernel.name is None or kernel.scratch_bytes == 0 or kernel.name == "aiotc_batch_matmul_packed_s16":
        return None  # the int16 matmul has no reference kernel
    if kernel.name in QUAD_KERNELS:
        pair = QUAD_KERNELS[kernel.name]
        return Kernel(pair, _conv_scratch_bytes(op, graph, pair), kernel.write_group)
    if op.kind == "transpose_conv":  # the reference kernels, scratch-free
        return Kernel(None, 0, kernel.write_group)
    if kernel.name in ROWS_KERNELS:  # the same weights
        return Kernel(ROWS_KERNELS[kernel.name], 0, kernel.write_group)
    if graph[op.inputs[0]].dtype == "int16":  # 16x8: the plain loops of aiotc_convolve_ref_s16 (_s16_kernel)
        return Kernel("aiotc_convolve_ref_s16", 0, kernel.write_group)
    scratch = _conv_scratch_bytes(op, graph, None) if OPS[op.kind].convolves else 0  # the other reference loops: none
    return Kernel(None, scratch, kernel.write_group) if scratch < kernel.scratch_bytes else None


def _write_group(op: Op, graph: Graph) -> int | None:
    """The layer's group under the write-order contract (a 3x3 depthwise shape counts in
    bands of DW_BAND rows whichever kernel runs it)."""
    if not OPS[op.kind].in_place:
        return None
    return DW_BAND * graph[op.outputs[0]].shape[2] if banded_depthwise(op, graph) else GROUP


def banded_depthwise(op: Op, graph: Graph) -> bool:
    """Whether a depthwise layer has the shape of aiotc_depthwise_conv_3x3_s8, which works in
    bands of DW_BAND whole rows: 3x3, no dilation, strides 1 or 2, and rows of at least
    DW_MIN_WIDTH outputs (on narrower rows its per-row work costs more than it saves)."""
    if op.kind != "depthwise_conv2d":
        return False
    a = op.attrs
    kernel = tuple(graph[op.inputs[1]].shape[1:3])
    return (
        kernel == (3, 3)
        and tuple(a.dilation) == (1, 1)
        and set(a.stride) <= {1, 2}
        and graph[op.outputs[0]].shape[2] >= DW_MIN_WIDTH
    )


def _channels_win_on_mve(op: Op, graph: Graph) -> bool:
    """Whether aiotc_depthwise_conv_opt_s8 beats the banded kernel on an MVE core. There its
    vectors run along the channels (the per-pixel work is shared by them) and the banded
    kernel's along a row's output columns (the per-channel work shared by them): measured on
    the M55 (issue 22), it is faster from 1.25 channels per output column (24x24x32 stride 2:
    90k instructions against 152k; 10x10x160: 236k against 397k), slower below (48x48x8:
    627k against 302k; 40x40x48: 1.31M against 1.26M)."""
    _, _, out_w, channels = graph[op.outputs[0]].shape
    return 4 * channels >= 5 * out_w


def _pairs_win(op: Op, graph: Graph) -> bool:
    """Whether aiotc_depthwise_conv_pairs_s8 beats the banded kernel on a DSP core: its
    work per output pixel is shared by the pixel's channels, the banded kernel's per row
    by the row's columns, and at stride 2 the bands widen 2.5 input rows per output row.
    Measured on the M4 (issue 22), pairs against bands: stride 2 from 16 channels on
    (24x24x32: 165k instructions against 200k; 32x32x64: 542k against 672k; 48x48x16 in
    the streamed first stage of vww_96 and person_detect, which calls it a row or two at a
    time: 380k against 416k, though 374k against 357k as a whole layer); stride 1 on rows
    of up to 32 outputs of 64 channels and more (8x8x256: 512k against 629k; 10x10x96:
    311k against 344k; 12x12x64: 306k against 313k; in mobilenet_v1_a050_128, since the
    pairs' (multiplier, shift) by one LDRD, 16x16x128: 990k against 1,257k and 32x32x64:
    2.06M against 2.17M; not 24x24x32: 657k against 543k, 64x64x16: 2.56M against
    2.01M)."""
    channels, width = graph[op.outputs[0]].shape[3], graph[op.outputs[0]].shape[2]
    if tuple(op.attrs.stride) == (2, 2):
        return channels >= 16
    return tuple(op.attrs.stride) == (1, 1) and width <= 32 and channels >= 64


def _rows_win(op: Op, graph: Graph, mve: bool) -> bool:
    """Whether aiotc_convolve_rows_s8 (one dot product per output) beats the gemm's tiles
    of channel pairs: for one output channel on any core (1x64x64x8 -> 1: 180k instructions
    on the M4 and 33k on the M55, against 795k and 678k), on an MVE core up to 24, where the
    gemm's tiles of 4 channels x 2 pixels spend as much on interleaving the pixels, set-up
    and requantization as on MACs. Measured on the M55 (issue 22): 36x36x48 -> 8, 190k
    against 272k; 72x72x16 -> 8, 373k against 656k; 9x9x144 -> 24, 67k against 69k; from
    32 channels on it ties or loses (9x9x192 -> 32: 109k both; 6x6x128 -> 128: 141k
    against 134k). Below MVE_ROWS_MIN_PIXELS output pixels the gemm wins on even channels;
    an odd number it does not, its lone last channel on the scalar path (M55, 1x1, rows
    against gemm: 3x3x96 -> 9, 3.0k against 3.8k, CMSIS-NN 3.4k: a detector head; 3x3x48 -> 9,
    2.2k against 3.1k; 2x4x64 -> 5, 1.1k against 2.5k; 1x1x256 -> 11, 3.0k against 18.7k)."""
    channels = graph[op.inputs[1]].shape[0]
    if channels == 1:
        return True
    few_pixels = _output_pixels(op, graph) < MVE_ROWS_MIN_PIXELS
    return mve and channels <= 24 and (channels % 2 == 1 or not few_pixels)


def _few_win(op: Op, graph: Graph) -> bool:
    """Whether aiotc_convolve_1x1_few_s8 (one pixel, 8 channels per pass, int16 weights:
    0.89 instructions per MAC, no widened columns, little per channel) beats the gemm's
    channel pairs (0.81 per MAC, plus each pixel widened and each channel pair's set-up and
    requantization) on a DSP core: 1x1 layers of channels in blocks of 8 over depths in
    whole words, up to 16 channels, rows up to 32 inputs, up to FEW_WEIGHTS weights, or
    rows up to 64 inputs of up to 128 channels. Measured on the M4 (issue 22), few against
    the gemm: 36x36x48 -> 8, 642k against 833k; 72x72x16 -> 8, 1.38M against 1.88M;
    36x36x8 -> 48, 1.43M against 1.77M; 9x9x144 -> 24, 281k against 301k (quads); 9x9x32
    -> 192, 728k against 798k; 16x16x64 -> 128, 2.28M against 2.46M, and 6x6x64 -> 128,
    318k against 344k (mobilenet_v1_a050_128, vww_96: +8 KB each). Larger layers gain a
    few percent at most for their weights' doubled flash (5x5x56 -> 336: 572k against
    602k, +19 KB; 5x5x192 -> 56, 261k against 266k) or lose (10x10x320 -> 64: 1.92M
    against 1.90M). An odd number of channels, which the gemm runs as pairs and a lone last
    one at a pair's cost, takes the few kernel too, its last block zero padded to 8, where
    the padding at most doubles the channels or the rows are up to 32 inputs. Measured on
    the M4, few against the gemm: 48x48x8 -> 5 (a segmentation head), 482k against 722k;
    12x12x64 -> 21, 246k against 274k; 16x16x16 -> 9, 111k against 130k; 12x12x256 -> 5,
    278k against 312k; 24x24x32 -> 3, 200k against 233k; not 12x12x128 -> 3, 146k against
    138k. Even channels lose (12x12x32 -> 18, 144k against 140k; 24x24x8 -> 2, 98k against
    81k)."""
    real, depth = graph[op.inputs[1]].shape[0], graph[op.inputs[0]].shape[-1]
    channels = -(-real // 8) * 8  # a last partial block zero padded
    blocks = real % 8 == 0 or (real % 2 == 1 and (channels <= 2 * real or depth <= 32))
    shapes = channels <= 16 or depth <= 32 or channels * depth <= FEW_WEIGHTS or (depth <= 64 and channels <= 128)
    return _pointwise(op, graph) and depth % 4 == 0 and blocks and shapes


# Weights up to which aiotc_convolve_1x1_few_s8 runs a 1x1 layer of any depth (above).
FEW_WEIGHTS = 4608


def _few_window_win(op: Op, graph: Graph) -> bool:
    """Whether aiotc_convolve_im2col_few_s8 (a pixel's window gathered, then 8 channels per
    pass as aiotc_convolve_1x1_few_s8) beats the gemm on a DSP core: the first layers of 1-3
    input channels (whose taps the gemm cannot widen straight from the image) of channels
    in blocks of 8, on the few kernel's shapes over the window's taps. Measured on the M4
    (issue 22), few against the gemm: person_detect's 96x96x1 -> 48x48x8, 3x3 stride 2,
    835k instructions against 1.118M; vww_96's 96x96x3 -> 8, 1.111M against 1.462M;
    mobilenet_v1_a050_128's 128x128x3 -> 16, 3.21M against 3.98M; kws's 49x10x1 -> 64,
    10x4 stride 2, 472k against 527k."""
    filt = graph[op.inputs[1]]
    channels, taps, depth = filt.shape[0], padded_row(int(np.prod(filt.shape[1:]))), filt.shape[-1]
    shapes = channels <= 16 or taps <= 32 or channels * taps <= FEW_WEIGHTS
    grouped = op.kind != "conv2d" or depth != graph[op.inputs[0]].shape[-1]
    return not grouped and depth < 4 and channels % 8 == 0 and shapes


# Below this many output pixels the M55's rows kernels (4 pixels a pass) lose to the gemm:
# measured on 1x1 convs (issue 22), rows against gemm: 1 pixel 256 -> 10, 2,781 against 1,125
# instructions (CMSIS-NN 1,656: MobileNets' classifier, SE blocks); 9 pixels 48 -> 8, 2,000
# against 1,844; 16 pixels 64 -> 8, 2,875 against 3,188; 36 pixels 48 -> 8, 5,469 against 6,156.
MVE_ROWS_MIN_PIXELS = 16


def _output_pixels(op: Op, graph: Graph) -> int:
    return int(np.prod(graph[op.outputs[0]].shape[:3]))  # batches too


def _gathered_rows_win(op: Op, graph: Graph, mve: bool) -> bool:
    """Whether aiotc_convolve_rows_im2col_s8 (windows of 4 pixels gathered, one dot product
    per output) beats the gemm on a layer with groups 1, on an MVE core: below 4 channels,
    which leave the gemm's tiles of 4 channels x 2 pixels mostly empty, and the Conv1Ds
    (padded or dilated, along a row or on their side) of up to 24, as for the windows of
    one run. Measured on the M55 (issue 22): 1x32x32x16 -> 3, 3x3 same: 305k instructions
    against the gemm's 524k (CMSIS-NN 427k); tcn_causal's causal 128x4 -> 16, kernel 3:
    25.0k against 38.3k, and 128x16 -> 16 dilated: 55.8k against 68.2k (CMSIS-NN 36.4k,
    67.7k). Not on the M4: its scalar dot products lose (1.54M against 1.33M)."""
    filt = graph[op.inputs[1]]
    conv1d = filt.shape[1] == 1 or filt.shape[2] == graph[op.inputs[0]].shape[2]  # along rows or on its side
    few = filt.shape[0] < 4 or (conv1d and filt.shape[0] <= 24)
    enough = _output_pixels(op, graph) >= MVE_ROWS_MIN_PIXELS
    return mve and op.kind == "conv2d" and filt.shape[-1] == graph[op.inputs[0]].shape[-1] and few and enough


def _conv_kernel(op: Op, graph: Graph, compact_int4: bool, mve: bool, dsp: bool) -> str | None:
    """The specialized int8 kernel for a conv or depthwise layer, or None for the reference one.

    Int4 weights (w4a8) take the `_s4` versions: the gemm's (`gemm_s4_fits`), and the
    depthwise ones, which unpack the weights into their scratch and run the int8 kernel.
    """
    inp, filt = graph[op.inputs[0]], graph[op.inputs[1]]
    if inp.dtype == "int16":
        return _s16_kernel(op, graph)
    if inp.dtype != "int8" or filt.dtype not in ("int8", "int4") or not filt.is_const or folded_bias(op, graph) is None:
        return None
    if filt.dtype == "int4" and compact_int4:
        return None
    if op.kind == "depthwise_conv2d" and op.attrs.depth_multiplier == 1:
        pairs = dsp and filt.dtype == "int8"
        channels_win = _channels_win_on_mve(op, graph) if mve else pairs and _pairs_win(op, graph)
        banded = banded_depthwise(op, graph) and not channels_win
        kernel = "aiotc_depthwise_conv_3x3_s8" if banded else "aiotc_depthwise_conv_opt_s8"
        if pairs and not banded:
            kernel = "aiotc_depthwise_conv_pairs_s8"
    elif op.kind == "depthwise_conv2d":
        # a depth multiplier over 1: the channel kernels over input rows with each channel repeated
        pairs = dsp and filt.dtype == "int8"
        kernel = "aiotc_depthwise_conv_pairs_s8" if pairs else "aiotc_depthwise_conv_opt_s8"
    elif filt.dtype == "int8" and _one_run(op, graph) and _rows_win(op, graph, mve):
        kernel = "aiotc_convolve_rows_s8"
    elif filt.dtype == "int8" and dsp and _few_win(op, graph):
        kernel = "aiotc_convolve_1x1_few_s8"
    elif filt.dtype == "int8" and dsp and _few_window_win(op, graph):
        kernel = "aiotc_convolve_im2col_few_s8"
    elif filt.dtype == "int8" and _gathered_rows_win(op, graph, mve):
        kernel = "aiotc_convolve_rows_im2col_s8"
    elif filt.dtype == "int8" and op.kind == "conv2d" and filt.shape[-1] != inp.shape[-1]:
        kernel = "aiotc_convolve_grouped_s8" if s16_packable(op, graph) else None
    elif filt.dtype == "int4":
        kernel = _gemm_kernel(op, graph, gemm_s4_fits(weight_rows(op, graph)))
    else:
        kernel = _gemm_kernel(op, graph, gemm_packable(weight_rows(op, graph)))
        if kernel and dsp and _quads_win(op, graph):
            kernel = kernel.replace("_s8", "_quad_s8")
    return kernel.replace("_s8", "_s4") if kernel and filt.dtype == "int4" else kernel


def _s16_kernel(op: Op, graph: Graph) -> str | None:
    """16x8 conv and fully connected layers run the byte-pair gemm (aiotc_convolve_s16,
    aiotc_fully_connected_s16) where its byte pairs hold the weights, else the plain
    loops of aiotc_convolve_ref_s16 (a fully connected layer as a 1x1 convolution): a
    weight of -128 is valid int8, if not TFLite's symmetric range. Depthwise: None, its
    reference kernel reads the weights as they are."""
    if op.kind == "depthwise_conv2d":
        return None
    if s16_packable(op, graph):
        return "aiotc_convolve_s16" if op.kind == "conv2d" else "aiotc_fully_connected_s16"
    return "aiotc_convolve_ref_s16"


def s16_groups(op: Op, graph: Graph) -> list[np.ndarray]:
    """The weight rows of each group of a conv (one group for fully connected)."""
    rows = weight_rows(op, graph)
    groups = graph[op.inputs[0]].shape[-1] // graph[op.inputs[1]].shape[-1] if op.kind == "conv2d" else 1
    return np.split(rows, groups)


def s16_packable(op: Op, graph: Graph) -> bool:
    """Whether the byte pairs of the gemm (16x8, or int8 grouped) hold the layer's weights, group by group."""
    return all(gemm_packable(rows) for rows in s16_groups(op, graph))


def _pointwise(op: Op, graph: Graph) -> bool:
    """A 1x1 conv with groups 1 and no padding: each output pixel reads one input pixel."""
    return _one_run(op, graph) and graph[op.inputs[1]].shape[2] == 1


def _one_run(op: Op, graph: Graph) -> bool:
    """A conv with groups 1 and no padding whose window is one run of input bytes, as
    aiotc_convolve_rows_s8 reads it: 1x1, or 1xK with no dilation (a Conv1D: its K taps of
    all channels lie together in the image as in the weight row)."""
    a = op.attrs
    _, kh, kw, fc = graph[op.inputs[1]].shape
    return (
        op.kind == "conv2d"
        and kh == 1
        and (kw == 1 or a.dilation[1] == 1)
        and fc == graph[op.inputs[0]].shape[-1]
        and not any((a.padding.top, a.padding.bottom, a.padding.left, a.padding.right))
    )


def _gemm_kernel(op: Op, graph: Graph, packable: bool) -> str | None:
    """The gemm kernel (int8 name) of a conv layer with groups 1 whose weights pack."""
    if op.kind != "conv2d" or graph[op.inputs[1]].shape[-1] != graph[op.inputs[0]].shape[-1] or not packable:
        return None
    return "aiotc_convolve_1x1_s8" if _pointwise(op, graph) else "aiotc_convolve_im2col_s8"


# Padded inputs per output from which the quad kernels run (aiotc_nn_gemm_quad.h): over
# shorter rows their sums' set-up and requantization cost about what the fewer loads of
# weights save (vww's layers of 8-32 inputs: more instructions). From 32 since their
# channel pairs run in one asm (64 before, 128 before the quads requantized from
# registers): Cortex-M4, micronet_kws_49x10's 40-input first layer 1.015M -> 0.918M
# instructions, conv1d_dilated_256 3.200M -> 3.177M in all, pretrainedResnet_quant
# 13.418M -> 13.428M (its general requantization: the C loop).
QUAD_ROW = 32


def _quads_win(op: Op, graph: Graph) -> bool:
    """Whether a gemm layer (int8 `kernel`) runs 4 pixels per pass over its weights on a DSP
    core: rows of QUAD_ROW inputs and more, and pixels whose last partial quad costs less
    than the quads save (the im2col kernel gathers channels that are not whole words as
    bytes first, as the pair kernel does: Cortex-M4, a 7x7 stride-2 stem 48x48x3 -> 20,
    2.149M -> 2.072M instructions). A quad column costs 24/25 of a pair's (Cortex-M4, QEMU: mcunet_like_160_int8's
    1x1 layers over 10x10 pixels take 4% fewer instructions as quads); a last quad of 3
    pixels does a whole quad's work, the last 1 or 2 run as a pair (AIOTC_QUAD_TAIL)."""
    filt, pixels = graph[op.inputs[1]], _output_pixels(op, graph)
    tail = {0: 0, 1: 2 * 25, 2: 2 * 25, 3: 4 * 24}[pixels % 4]
    return (
        padded_row(int(np.prod(filt.shape[1:]))) >= QUAD_ROW and pixels // 4 * 4 * 24 + tail < -(-pixels // 2) * 2 * 25
    )


def _conv_scratch_bytes(op: Op, graph: Graph, kernel: str | None) -> int:
    """Scratch of a conv layer's kernel: its C *_get_buffer_size."""
    filt = graph[op.inputs[1]]
    if kernel == "aiotc_convolve_s16":
        return 4 * padded_row8(int(np.prod(filt.shape[1:])))  # aiotc_convolve_s16_get_buffer_size: two int16 columns
    if kernel in ("aiotc_depthwise_conv_opt_s4", "aiotc_depthwise_conv_3x3_s4"):  # + the weights unpacked
        taps = filt.shape[1] * filt.shape[2]
        unpacked = (
            2 * taps * padded_row8(filt.shape[-1]) if kernel.endswith("opt_s4") else padded_row(9 * filt.shape[-1])
        )
        return unpacked + _conv_scratch_bytes(op, graph, kernel.replace("_s4", "_s8"))
    if kernel in ("aiotc_convolve_1x1_s8", "aiotc_convolve_1x1_s4"):
        return 2 * col_bytes(filt.shape[-1])
    if kernel in ("aiotc_depthwise_conv_opt_s8", "aiotc_depthwise_conv_pairs_s8"):
        held = (filt.shape[1] - 1) * op.attrs.dilation[0] + 1  # AIOTC_DW_REPEAT_ROWS
        rows = held * graph[op.inputs[0]].shape[2] * filt.shape[-1] if op.attrs.depth_multiplier > 1 else 0
        return padded_row(filt.shape[-1]) + 8 * filt.shape[1] * filt.shape[2] + rows
    if kernel == "aiotc_depthwise_conv_3x3_s8":
        stride_h, stride_w = op.attrs.stride
        out_w = graph[op.outputs[0]].shape[2]
        plane_rows, plane_width = (DW_BAND - 1) * stride_h + 3, -(-out_w // 4) * 4 * stride_w + 4
        return 2 * plane_rows * plane_width * 2 + (DW_BAND * out_w + 1) * 4
    if kernel == "aiotc_convolve_im2col_few_s8":  # its *_get_buffer_size: one window, whole words
        return padded_row(int(np.prod(filt.shape[1:])))
    if kernel == "aiotc_convolve_rows_im2col_s8":  # its *_get_buffer_size: 4 windows
        return 4 * int(np.prod(filt.shape[1:]))
    if kernel in QUAD_KERNELS:  # AIOTC_CONV_QUAD_BUFFER: 4 prepared columns (+ the taps as bytes, channels not words)
        k = int(np.prod(filt.shape[1:]))
        gathered = kernel == "aiotc_convolve_im2col_quad_s8" and graph[op.inputs[0]].shape[-1] % 4
        return 4 * col_bytes(k) + (padded_row(k) if gathered else 0)
    if kernel in ("aiotc_convolve_im2col_s8", "aiotc_convolve_im2col_s4", "aiotc_convolve_grouped_s8"):
        return 2 * padded_row(int(np.prod(filt.shape[1:]))) + 2 * col_bytes(int(np.prod(filt.shape[1:])))
    return 0


def _transpose_conv_kernel(op: Op, graph: Graph) -> str | None:
    """The gemm kernels (one stride phase at a time: aiotc_transpose_conv_gemm_s8, _s16) for
    constant int8 weights that byte pairs hold; for int8, where every phase's folded bias
    fits an int32 (16x8 has no input offset to fold)."""
    inp, filt = graph[op.inputs[0]], graph[op.inputs[1]]
    if filt.dtype != "int8" or not filt.is_const or not gemm_packable(weight_rows(op, graph)):
        return None
    if inp.dtype == "int16":
        return "aiotc_transpose_conv_gemm_s16"
    fits = all(folded_bias(op, graph, rows) is not None for rows in transpose_phases(op, graph))
    return "aiotc_transpose_conv_gemm_s8" if inp.dtype == "int8" and fits else None


def _transpose_conv_scratch_bytes(op: Op, graph: Graph, kernel: str) -> int:
    """aiotc_transpose_conv_gemm_s8's scratch: the im2col conv's for the largest phase; _s16's:
    two int16 columns of it."""
    depth = transpose_depth(op, graph)
    return 4 * padded_row8(depth) if kernel.endswith("_s16") else 2 * padded_row(depth) + 2 * col_bytes(depth)


def transpose_phases(op: Op, graph: Graph) -> list[np.ndarray]:
    """The weight rows of each stride phase of a transposed conv, as aiotc_transpose_conv_gemm_s8
    reads them: phases (oy + top) mod stride_h, then (ox + left) mod stride_w; a phase's taps
    are ky = phase + j * stride_h (kx alike), taken j descending (the input rows ascending)."""
    filt = graph[op.inputs[1]].data.astype(np.int64)  # OHWI
    s_h, s_w = op.attrs.stride
    return [
        filt[:, ry::s_h][:, ::-1][:, :, rx::s_w][:, :, ::-1].reshape(filt.shape[0], -1)
        for ry in range(s_h)
        for rx in range(s_w)
    ]


def transpose_depth(op: Op, graph: Graph) -> int:
    """Inputs per output of a transposed conv's largest phase: ceil(kh / s_h) x ceil(kw / s_w) x channels."""
    _, k_h, k_w, channels = graph[op.inputs[1]].shape
    s_h, s_w = op.attrs.stride
    return -(-k_h // s_h) * -(-k_w // s_w) * channels


# Outputs up to which aiotc_fully_connected_rows_s8 (the input read as it is) beats the
# packed kernel, whose int16 copy of the input pays for itself over more rows. The DSP
# (M4, 256 inputs): 4 rows 1,840 instructions against 1,800 (100 inputs: 880 against 960),
# 6 rows 2,840 against 2,440. MVE reads the input as it is in both, the rows kernel's VLD4
# cheaper than the byte pairs' VLD2 and sign fix up to about 12 rows; so is portable C
# (M3, 8 rows of 256 inputs: 8,600 against 29,120).
FC_ROWS_MAX_DSP = 4
FC_ROWS_MAX = 12


def fc_rows_max(mve: bool, dsp: bool) -> int:
    """FC_ROWS_MAX_DSP on a DSP core without MVE, else FC_ROWS_MAX."""
    return FC_ROWS_MAX_DSP if dsp and not mve else FC_ROWS_MAX


def _fc_kernel(op: Op, graph: Graph, compact_int4: bool, rows_max: int) -> str | None:
    """For int8, constant symmetric weights the packed kernel over more than `rows_max` rows
    where byte pairs hold them, else the rows kernel (any int8 weights); for
    int4 weights, a 1x1 convolution over the batches (aiotc_convolve_1x1_s4: one int4
    gemm in flash for both); both need an input offset that folds into an int32 bias."""
    inp, filt = graph[op.inputs[0]], graph[op.inputs[1]]
    if inp.dtype == "int16":
        return _s16_kernel(op, graph)
    if inp.dtype != "int8" or not filt.is_const or zero_point(filt) != 0 or folded_bias(op, graph) is None:
        return None
    if filt.dtype == "int8" and filt.shape[0] > rows_max and gemm_packable(filt.data):
        return "aiotc_fully_connected_packed_s8"
    if filt.dtype == "int8":
        return "aiotc_fully_connected_rows_s8"
    if filt.dtype == "int4" and not compact_int4 and gemm_s4_fits(filt.data):
        return "aiotc_convolve_1x1_s4"
    return None


def _fc_scratch_bytes(op: Op, graph: Graph, kernel: str | None) -> int:
    """aiotc_fully_connected_packed_s8_get_buffer_size: the input widened to int16;
    aiotc_convolve_1x1_s4's: two columns."""
    depth = graph[op.inputs[1]].shape[1]
    if kernel == "aiotc_convolve_1x1_s4":
        return 2 * col_bytes(depth)
    return 2 * padded_row16(depth) if kernel == "aiotc_fully_connected_packed_s8" else 0


def _batch_matmul_kernel(op: Op, graph: Graph) -> str | None:
    """int8 by a constant matrix the gemm's byte pairs hold (`matmul_by_weights`): the
    1x1 convolution's gemm over the lhs rows as pixels (two rows at a time; 1x4x32x64 @
    64x32: 336k instructions on the M4, 94k on the M55, against 396k and 163k as a packed
    fully connected layer), which a single row runs; otherwise
    aiotc_batch_matmul_packed_s8, which copies each rhs batch into scratch. int16: the
    same copying kernel over int64 sums (tflite-micro has no other), float: None."""
    dtype = graph[op.inputs[0]].dtype
    if dtype == "int16":
        return "aiotc_batch_matmul_packed_s16"
    if dtype != "int8":
        return None
    if not matmul_by_weights(op, graph):
        return "aiotc_batch_matmul_packed_s8"
    rows = graph[op.inputs[0]].size // graph[op.inputs[0]].shape[-1]
    return "aiotc_convolve_1x1_s8" if rows > 1 else "aiotc_fully_connected_packed_s8"


def matmul_by_weights(op: Op, graph: Graph) -> bool:
    """Whether a BATCH_MATMUL is a layer of weights over the lhs rows: the rhs one constant
    symmetric matrix (batch dims 1) whose columns byte pairs hold, the lhs rows in order
    (no adj_x, no broadcast lhs batch) and its offset foldable into an int32 bias."""
    lhs, rhs, out = graph[op.inputs[0]], graph[op.inputs[1]], graph[op.outputs[0]]
    if not rhs.is_const or zero_point(rhs) != 0 or rhs.size != rhs.shape[-1] * rhs.shape[-2] or op.attrs.adj_x:
        return False
    lhs_rows = lhs.size // lhs.shape[-1]
    return (
        lhs_rows == out.size // out.shape[-1]
        and gemm_packable(weight_rows(op, graph))
        and folded_bias(op, graph) is not None
    )


def _batch_matmul_scratch_bytes(op: Op, graph: Graph, kernel: str | None) -> int:
    """The C *_get_buffer_size of the kernels: the gemm's two columns, the packed fully
    connected's input widened; aiotc_batch_matmul_packed_s8's rhs columns and two lhs rows
    as int16 (rows padded to 16 inputs, an even number of columns), per column an int32
    correction and two int32 sums."""
    lhs, out = graph[op.inputs[0]], graph[op.outputs[0]]
    depth = lhs.shape[-2] if op.attrs.adj_x else lhs.shape[-1]
    if kernel == "aiotc_convolve_1x1_s8":
        return 2 * col_bytes(depth)
    if kernel == "aiotc_fully_connected_packed_s8":
        return 2 * padded_row16(depth)
    cols = -(-out.shape[-1] // 2) * 2
    if kernel == "aiotc_batch_matmul_packed_s8":
        return 2 * (cols + 2) * padded_row16(depth) + 3 * 4 * cols
    if kernel == "aiotc_batch_matmul_packed_s16":  # int16 rows padded to 8 inputs, an int64 per column
        return 2 * (cols + 2) * padded_row8(depth) + 8 * cols
    return 0


# The int8 LSTM's gate weights among its TFLite inputs: input and recurrent weights of the input,
# forget, cell and output gates (ops_recurrent.GATES).
LSTM_GATE_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8)


def _lstm_kernel(op: Op, graph: Graph, dsp: bool) -> str | None:
    """The int8 LSTM on a DSP core without MVE: its weights widened to int16 at compile
    time (any int8 weights); elsewhere its gate products as packed fully connected layers,
    when byte pairs hold every gate's weights."""
    if graph[op.inputs[0]].dtype != "int8":
        return None
    weights = [graph[op.inputs[i]] for i in LSTM_GATE_WEIGHTS]
    if not all(w.is_const and w.dtype == "int8" for w in weights):
        return None
    if dsp:
        return "aiotc_lstm_wide_s8"
    return "aiotc_lstm_packed_s8" if all(gemm_packable(w.data) for w in weights) else None


# What a linked image holds beside the weights (graph code, kernels, start-up), at most:
# IMAGE_CODE_BYTES and CODE_BYTES_PER_OP a layer. Measured on the Cortex-M4 (nrf52840dk):
# tflm_micro_speech_lstm 8,252 B (4 layers), tflm_dtln_noise_suppression 10,968 B (4),
# vww_96_int8 47,344 B (31), mbv2_w035_144_int8 59,572 B (65: its streamed stage's unrolled steps).
IMAGE_CODE_BYTES = 16 * 1024
CODE_BYTES_PER_OP = 1024


def _fit_wide_weights(
    graph: Graph, kernels: dict[str, Kernel], flash: int, narrow_kernel: Callable[[Op], Kernel]
) -> dict[str, Kernel]:
    """The kernels of WIDE_KERNELS hold their weights as int16, twice the int8 bytes: where
    the image would then outgrow `flash` (estimated as the model's constants as stored, the
    requantization arrays, the widening and the code), the layers that widen most
    take the kernel the core would run without them (`narrow_kernel(op)`), until it fits."""
    ops = {op.name: op for op in graph.ops}
    extra = {
        name: WIDE_KERNELS[kernel.name](ops[name], graph)
        for name, kernel in kernels.items()
        if kernel.name in WIDE_KERNELS
    }
    consts = sum(t.nbytes for t in graph.tensors.values() if t.is_const)
    requantization = sum(  # an int32 multiplier and shift per output channel
        8 * graph[op.outputs[0]].shape[-1] for op in graph.ops if OPS[op.kind].convolves or op.kind == "fully_connected"
    )
    code = IMAGE_CODE_BYTES + CODE_BYTES_PER_OP * len(graph.ops)
    image = consts + requantization + sum(extra.values()) + code
    for name in sorted(extra, key=lambda n: -extra[n]):
        if image <= flash:
            why = f"fastest kernel: its int16 weights (+{extra[name]:,} B) fit the {flash:,} B of flash (image ~{image:,} B)"
            kernels = kernels | {name: replace(kernels[name], why=why)}
            continue
        narrow = narrow_kernel(ops[name])
        why = (
            f"{narrow.name or 'reference'} kernel: {kernels[name].name}'s int16 weights (+{extra[name]:,} B) "
            f"would take the image to ~{image:,} B, over the {flash:,} B of flash"
        )
        kernels = kernels | {name: replace(narrow, why=why)}
        image -= extra[name]
    return kernels


def _lstm_widening(op: Op, graph: Graph) -> int:
    return _lstm_wide_bytes(op, graph) - sum(graph[op.inputs[i]].nbytes for i in LSTM_GATE_WEIGHTS)


def _few_widening(op: Op, graph: Graph) -> int:
    """pack_few_weights over rows padded to whole words and channels (and biases) to blocks of 8: int16."""
    filt = graph[op.inputs[1]]
    channels = -(-filt.shape[0] // 8) * 8
    return (2 * padded_row(int(np.prod(filt.shape[1:]))) + 4) * channels - filt.nbytes - 4 * filt.shape[0]


def _depthwise_pairs_widening(op: Op, graph: Graph) -> int:
    """pack_depthwise_pairs: int16, channels padded to groups of 4."""
    _, kh, kw, channels = graph[op.inputs[1]].shape
    return 2 * kh * kw * -(-channels // 4) * 4 - graph[op.inputs[1]].nbytes


# Kernel -> the flash its int16 weights take beyond the int8 ones (codegen's packing).
WIDE_KERNELS = {
    "aiotc_lstm_wide_s8": _lstm_widening,
    "aiotc_convolve_1x1_few_s8": _few_widening,
    "aiotc_convolve_im2col_few_s8": _few_widening,
    "aiotc_depthwise_conv_pairs_s8": _depthwise_pairs_widening,
}


def _lstm_wide_bytes(op: Op, graph: Graph) -> int:
    """The bytes of aiotc_lstm_wide_s8's int16 weights (codegen's pack_lstm_wide): per unit,
    for its input and its recurrent rows, two row pairs of 8-padded rows and 2 int32 biases."""
    input_size, units = graph[op.inputs[0]].shape[-1], graph[op.inputs[LSTM_GATE_WEIGHTS[-1]]].shape[0]
    return 2 * units * 2 * sum(4 + 2 * padded_row8(depth) for depth in (input_size, units))


def _lstm_scratch_bytes(op: Op, graph: Graph, kernel: str) -> int:
    """The C *_get_buffer_size: the input step and hidden state widened (to 8 inputs for
    aiotc_lstm_wide_s8, to 16 and the 4 gates' int16 pre-activations for aiotc_lstm_packed_s8)."""
    input_size, units = graph[op.inputs[0]].shape[-1], graph[op.inputs[LSTM_GATE_WEIGHTS[-1]]].shape[0]
    if kernel == "aiotc_lstm_wide_s8":
        return 2 * padded_row8(input_size) + 2 * padded_row8(units)
    return 2 * padded_row16(input_size) + 2 * padded_row16(units) + 4 * 2 * units


def _svdf_kernel(op: Op, graph: Graph) -> str | None:
    """The int8 SVDF whose feature product runs as a packed fully connected layer when byte
    pairs hold its feature weights, else as the rows kernel (the input offset folds into an
    int32 bias: |zp x row sum| < 2^31 for any row TFLite writes)."""
    features = graph[op.inputs[1]]
    if graph[op.inputs[0]].dtype != "int8":
        return None
    return "aiotc_svdf_packed_s8" if gemm_packable(features.data) else "aiotc_svdf_rows_s8"


def padded_row(k: int) -> int:
    """AIOTC_ROW: weight rows padded to whole words."""
    return -(-k // 4) * 4


def padded_row8(k: int) -> int:
    """AIOTC_ROW_S16: the 16x8 kernels' rows and columns, padded to one MVE vector of 8 inputs."""
    return -(-k // 8) * 8


def padded_row16(k: int) -> int:
    """The packed fully connected kernel's rows: blocks of 16 inputs."""
    return -(-k // 16) * 16


def col_bytes(k: int) -> int:
    """AIOTC_COL_BYTES: one column widened to int16 pairs."""
    return 2 * padded_row(k)


def weight_rows(op: Op, graph: Graph) -> np.ndarray:
    """The weights as one row per output channel, int64 (a constant matmul rhs: its columns)."""
    data = graph[op.inputs[1]].data.astype(np.int64)
    if op.kind == "batch_matmul":
        matrix = data.reshape(data.shape[-2:])
        return matrix if op.attrs.adj_y else matrix.T
    return data.reshape(data.shape[0], -1) if op.kind != "depthwise_conv2d" else data.reshape(-1, data.shape[-1]).T


def folded_bias(op: Op, graph: Graph, rows: np.ndarray | None = None) -> np.ndarray | None:
    """bias + input_offset * sum(weights) per channel: the kernels then multiply raw inputs
    (exact: the sums are the same integers regrouped). None when it leaves int32. `rows`:
    the weights a kernel multiplies, if not the whole rows (a transposed conv's phase)."""
    rows = weight_rows(op, graph) if rows is None else rows
    has_bias = len(op.inputs) > 2 and op.inputs[2] is not None
    bias = graph[op.inputs[2]].data.astype(np.int64) if has_bias else np.zeros(rows.shape[0], np.int64)
    folded = bias - zero_point(graph[op.inputs[0]]) * rows.sum(axis=1)
    return folded.astype(np.int32) if np.all(np.abs(folded) < 2**31 - 1) else None


def row_pairs(rows: np.ndarray, row_multiple: int = 2, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows a (even) and b (odd) of each pair as int64, zero rows appended to a multiple
    of `row_multiple` and zero inputs to `width` (default: whole words)."""
    out_c, depth = rows.shape
    padded = np.zeros((-(-out_c // row_multiple) * row_multiple, width or padded_row(depth)), np.int64)
    padded[:out_c, :depth] = rows
    return padded[0::2], padded[1::2]


def gemm_packable(rows: np.ndarray) -> bool:
    """Whether byte pairs hold these weights: b - [a < 0] must fit a byte (it does for
    TFLite's symmetric [-127, 127] weights)."""
    a, b = row_pairs(rows)
    return bool(np.all(b - (a < 0) >= -128))


def gemm_s4_fits(rows: np.ndarray) -> bool:
    """Whether aiotc_gemm_s4's DSP sums of 16 * w * x (|.| <= 2^14 per input) stay exact
    in an int32: rows shorter than 2^17 inputs."""
    return rows.shape[1] < 2**17
