"""The scratch sizes the planner reserves equal what the C kernels ask for.

Python's `select_kernel(...).scratch_bytes` (the arena plan) and each kernel's C
`*_get_buffer_size` are two formulas for one number; here both are evaluated on
several shapes: the kernels built into a small host library and called through cffi.
"""

from __future__ import annotations

import subprocess

import cffi
import pytest

from aiotc.kernels import select_kernel
from aiotc.resources import data_dir

from .oplib import OpGraph
from .test_lstm import lstm_graph
from .test_svdf import svdf_graph

RUNTIME = data_dir("runtime_c")
KERNELS = (
    "aiotc_convolve_1x1_s8",
    "aiotc_convolve_im2col_s8",
    "aiotc_convolve_grouped_s8",
    "aiotc_convolve_rows_im2col_s8",
    "aiotc_convolve_im2col_few_s8",
    "aiotc_convolve_1x1_quad_s8",
    "aiotc_convolve_im2col_quad_s8",
    "aiotc_depthwise_conv_opt_s8",
    "aiotc_depthwise_conv_pairs_s8",
    "aiotc_depthwise_conv_3x3_s8",
    "aiotc_fully_connected_packed_s8",
    "aiotc_convolve_1x1_s4",
    "aiotc_convolve_im2col_s4",
    "aiotc_depthwise_conv_opt_s4",
    "aiotc_depthwise_conv_3x3_s4",
    "aiotc_convolve_s16",
    "aiotc_lstm_packed_s8",
    "aiotc_lstm_wide_s8",
    "aiotc_svdf_packed_s8",
    "aiotc_batch_matmul_packed_s8",
    "aiotc_batch_matmul_packed_s16",
    "aiotc_transpose_conv_gemm_s8",
    "aiotc_transpose_conv_gemm_s16",
)
CDEF = """
typedef struct { int32_t n, h, w, c; } aiotc_dims;
typedef struct { int32_t w, h; } aiotc_tile;
typedef struct { int32_t min, max; } aiotc_activation;
typedef struct { int32_t input_offset, output_offset; aiotc_tile stride, padding, dilation; aiotc_activation activation; } aiotc_conv_params;
int32_t aiotc_transpose_conv_gemm_s8_get_buffer_size(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                     const aiotc_dims *filter_dims);
int32_t aiotc_transpose_conv_gemm_s16_get_buffer_size(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                      const aiotc_dims *filter_dims);
typedef struct { int32_t input_offset, output_offset, ch_mult; aiotc_tile stride, padding, dilation; aiotc_activation activation; } aiotc_dw_conv_params;
int32_t aiotc_depthwise_conv_3x3_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *output_dims);
int32_t aiotc_convolve_1x1_s8_get_buffer_size(const aiotc_dims *input_dims);
int32_t aiotc_convolve_im2col_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);
int32_t aiotc_convolve_grouped_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);
int32_t aiotc_convolve_rows_im2col_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);
int32_t aiotc_convolve_im2col_few_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);
int32_t aiotc_convolve_1x1_quad_s8_get_buffer_size(const aiotc_dims *input_dims);
int32_t aiotc_convolve_im2col_quad_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);
int32_t aiotc_depthwise_conv_opt_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
    const aiotc_dims *filter_dims);
int32_t aiotc_depthwise_conv_pairs_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
    const aiotc_dims *filter_dims);
int32_t aiotc_fully_connected_packed_s8_get_buffer_size(const aiotc_dims *filter_dims);
int32_t aiotc_convolve_s16_get_buffer_size(const aiotc_dims *filter_dims);
int32_t aiotc_convolve_1x1_s4_get_buffer_size(const aiotc_dims *input_dims);
int32_t aiotc_convolve_im2col_s4_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);
int32_t aiotc_depthwise_conv_opt_s4_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
    const aiotc_dims *filter_dims);
int32_t aiotc_depthwise_conv_3x3_s4_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *output_dims);
typedef struct { int32_t batches, time_steps, input_size, state_size, time_major; } aiotc_lstm_dims;
int32_t aiotc_lstm_packed_s8_get_buffer_size(const aiotc_lstm_dims *dims);
int32_t aiotc_lstm_wide_s8_get_buffer_size(const aiotc_lstm_dims *dims);
typedef struct { int32_t batches, input_size, filters, memory, rank; } aiotc_svdf_dims;
int32_t aiotc_svdf_packed_s8_get_buffer_size(const aiotc_svdf_dims *dims);
typedef struct { int32_t batch[2], lhs_batch_stride[2], rhs_batch_stride[2], rows, cols, depth, lhs_row_stride,
    lhs_depth_stride, rhs_depth_stride, rhs_col_stride; } aiotc_matmul_shape;
int32_t aiotc_batch_matmul_packed_s8_get_buffer_size(const aiotc_matmul_shape *shape);
int32_t aiotc_batch_matmul_packed_s16_get_buffer_size(const aiotc_matmul_shape *shape);
typedef struct { void *buf; int32_t size; } aiotc_context;
typedef struct { const int32_t *multiplier, *shift; int32_t right_shifts; } aiotc_per_channel_quant_params;
int32_t aiotc_depthwise_conv_3x3_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
"""


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    so = tmp_path_factory.mktemp("sizes") / "libsizes.so"
    sources = [str(RUNTIME / "src" / f"{k}.c") for k in KERNELS]
    subprocess.run(
        ["gcc", "-std=c99", "-O1", "-shared", "-fPIC", "-I", str(RUNTIME / "include"), *sources, "-o", str(so)],
        check=True,
    )
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    return ffi, ffi.dlopen(str(so))


CASES = [
    ("conv2d", (1, 9, 7, 5), dict(out_channels=7, kernel=(1, 1))),
    ("conv2d", (1, 9, 7, 64), dict(out_channels=3, kernel=(1, 1), stride=(2, 2))),
    ("conv2d", (1, 8, 8, 3), dict(out_channels=8, kernel=(3, 3))),
    ("conv2d", (1, 49, 10, 1), dict(out_channels=4, kernel=(10, 4), stride=(2, 2))),
    ("conv2d", (1, 6, 5, 7), dict(out_channels=9, kernel=(3, 2), dilation=(2, 1))),
    ("depthwise", (1, 6, 6, 13), dict()),
    ("depthwise", (1, 5, 5, 64), dict(stride=(2, 2))),
    ("depthwise", (1, 9, 17, 5), dict(stride=(1, 2))),
    ("depthwise", (1, 12, 12, 13), dict()),
    ("depthwise", (1, 48, 48, 8), dict(stride=(2, 2), padding="valid")),
    ("depthwise", (1, 6, 6, 16), dict(kernel=(5, 1))),
    ("depthwise", (1, 6, 6, 16), dict(dilation=(2, 2))),
    ("depthwise", (1, 9, 7, 6), dict(multiplier=2, dilation=(2, 1))),
]


def dw_params(ffi, op):
    """The params a depthwise kernel's scratch depends on: its dilation (the rows it widens)."""
    return ffi.new("aiotc_dw_conv_params *", {"dilation": dict(zip("hw", op.attrs.dilation))})


def test_grouped_scratch_size_equals_c(lib):
    """A grouped conv's kernel gathers one group's window: its C size and the planner's agree."""
    ffi, c = lib
    g = OpGraph(seed=5)
    shape = (1, 8, 8, 12)
    graph = g.build(g.conv2d(g.input(shape, zero_point=-7), 8, kernel=(3, 2), groups=4))
    op = graph.ops[0]
    kernel = select_kernel(op, graph)
    assert kernel.name == "aiotc_convolve_grouped_s8"
    dims = ffi.new("aiotc_dims *", shape), ffi.new("aiotc_dims *", graph[op.inputs[1]].shape)
    assert kernel.scratch_bytes == c.aiotc_convolve_grouped_s8_get_buffer_size(*dims)


@pytest.mark.parametrize("weights", ["int8", "int4"])
@pytest.mark.parametrize("kind, shape, kwargs", CASES, ids=[f"{k} {s} {a}" for k, s, a in CASES])
def test_python_scratch_size_equals_c(lib, kind, shape, kwargs, weights):
    """int4 weights (w4a8) take the *_s4 kernels: the gemm's ask for the int8 ones'
    scratch, the depthwise ones for that plus their unpacked weights."""
    ffi, c = lib
    g = OpGraph(seed=5)
    x = g.input(shape, zero_point=-7)
    out = (g.conv2d if kind == "conv2d" else g.depthwise)(x, **kwargs)
    graph = g.build(g.int4(out) if weights == "int4" else out)
    op = graph.ops[0]
    kernel = select_kernel(op, graph).name
    assert kernel.endswith("_s4" if weights == "int4" else "_s8")
    in_dims = ffi.new("aiotc_dims *", shape)
    filter_dims = ffi.new("aiotc_dims *", graph[op.inputs[1]].shape)
    args = (in_dims, filter_dims) if kernel[:-3] == "aiotc_convolve_im2col" else (in_dims,)
    if kernel[:-3] == "aiotc_depthwise_conv_opt":
        args = (dw_params(ffi, op), in_dims, filter_dims)
    if kernel[:-3] == "aiotc_depthwise_conv_3x3":
        stride_h, stride_w = op.attrs.stride
        args = (
            ffi.new("aiotc_dw_conv_params *", {"stride": {"w": stride_w, "h": stride_h}}),
            ffi.new("aiotc_dims *", graph[op.outputs[0]].shape),
        )
    assert select_kernel(op, graph).scratch_bytes == getattr(c, f"{kernel}_get_buffer_size")(*args) > 0


WINDOW_CASES = [
    ((1, 8, 8, 16), 3, (3, 3), "mve", "aiotc_convolve_rows_im2col_s8"),
    ((1, 6, 9, 5), 1, (2, 4), "mve", "aiotc_convolve_rows_im2col_s8"),
    ((1, 8, 8, 3), 16, (3, 3), "dsp", "aiotc_convolve_im2col_few_s8"),
    ((1, 49, 10, 1), 64, (10, 4), "dsp", "aiotc_convolve_im2col_few_s8"),
]


@pytest.mark.parametrize("shape, channels, kernel, core, name", WINDOW_CASES)
def test_window_kernels_scratch_size_equals_c(lib, shape, channels, kernel, core, name):
    """The kernels of few channels over gathered windows: the M55's (aiotc_convolve_rows_im2col_s8,
    4 windows) and the DSP cores' first layers (aiotc_convolve_im2col_few_s8, one window)."""
    ffi, c = lib
    g = OpGraph(seed=5)
    graph = g.build(g.conv2d(g.input(shape, zero_point=-7), channels, kernel=kernel))
    op = graph.ops[0]
    chosen = select_kernel(op, graph, **{core: True})
    assert chosen.name == name
    dims = (ffi.new("aiotc_dims *", shape), ffi.new("aiotc_dims *", graph[op.inputs[1]].shape))
    assert chosen.scratch_bytes == getattr(c, f"{name}_get_buffer_size")(*dims) > 0


QUAD_CASES = [
    ((1, 4, 5, 128), dict(out_channels=6, kernel=(1, 1))),
    ((1, 3, 5, 130), dict(out_channels=9, kernel=(1, 1))),
    ((1, 7, 5, 16), dict(out_channels=5)),
    ((1, 7, 7, 20), dict(out_channels=3, dilation=(2, 2))),
    ((1, 7, 5, 8), dict(out_channels=5)),  # 72 taps
]


@pytest.mark.parametrize("shape, kwargs", QUAD_CASES, ids=[f"{s} {a}" for s, a in QUAD_CASES])
def test_quad_scratch_size_equals_c(lib, shape, kwargs):
    """On a DSP core rows of 64 inputs and more take the quad kernels, whose 4 columns of
    scratch the planner reserves as their C asks; elsewhere the pair kernels."""
    ffi, c = lib
    g = OpGraph(seed=5)
    graph = g.build(g.conv2d(g.input(shape, zero_point=-7), **kwargs))
    op = graph.ops[0]
    kernel = select_kernel(op, graph, dsp=True)
    assert kernel.name.endswith("_quad_s8")
    assert "_quad" not in select_kernel(op, graph, mve=True, dsp=True).name
    assert select_kernel(op, graph).name == kernel.name.replace("_quad", "")
    in_dims = ffi.new("aiotc_dims *", shape)
    filter_dims = ffi.new("aiotc_dims *", graph[op.inputs[1]].shape)
    args = (in_dims, filter_dims) if "im2col" in kernel.name else (in_dims,)
    assert kernel.scratch_bytes == getattr(c, f"{kernel.name}_get_buffer_size")(*args) > 0


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((1, 25, 5, 64), {}),
        ((1, 24, 24, 32), dict(stride=(2, 2))),
        ((1, 10, 10, 96), {}),
        ((1, 6, 6, 13), dict(kernel=(5, 1))),
    ],
)
def test_tap_pairs_scratch_size_equals_c(lib, shape, kwargs):
    """On a DSP core the depthwise layers the bands do not run (rows under 8 outputs) or
    lose (stride 2 of 32 channels and more, narrow rows of many channels) take the kernel
    of tap pairs; on an MVE core the channel kernel."""
    ffi, c = lib
    g = OpGraph(seed=5)
    graph = g.build(g.depthwise(g.input(shape, zero_point=-7), **kwargs))
    op = graph.ops[0]
    kernel = select_kernel(op, graph, dsp=True)
    assert kernel.name == "aiotc_depthwise_conv_pairs_s8"
    assert select_kernel(op, graph, mve=True, dsp=True).name != kernel.name
    dims = (dw_params(ffi, op), ffi.new("aiotc_dims *", shape), ffi.new("aiotc_dims *", graph[op.inputs[1]].shape))
    assert kernel.scratch_bytes == c.aiotc_depthwise_conv_pairs_s8_get_buffer_size(*dims) > 0


@pytest.mark.parametrize(
    "multiplier, kwargs", [(2, {}), (3, dict(stride=(2, 2), kernel=(5, 3))), (2, dict(dilation=(3, 2)))]
)
def test_depth_multiplier_scratch_size_equals_c(lib, multiplier, kwargs):
    """A depth multiplier over 1 runs the channel kernels (tap pairs on a DSP core), whose
    scratch also holds the input rows a (dilated) kernel tall with each channel repeated."""
    ffi, c = lib
    g = OpGraph(seed=5)
    shape = (1, 11, 7, 10)
    graph = g.build(g.depthwise(g.input(shape, zero_point=-7), multiplier=multiplier, **kwargs))
    op = graph.ops[0]
    dims = (dw_params(ffi, op), ffi.new("aiotc_dims *", shape), ffi.new("aiotc_dims *", graph[op.inputs[1]].shape))
    for kernel in (select_kernel(op, graph, dsp=True), select_kernel(op, graph, mve=True)):
        size = getattr(c, f"{kernel.name}_get_buffer_size")(*dims)
        held = (graph[op.inputs[1]].shape[1] - 1) * op.attrs.dilation[0] + 1
        assert kernel.scratch_bytes == size > held * 7 * 10 * multiplier  # the rows
    assert select_kernel(op, graph, dsp=True).name == "aiotc_depthwise_conv_pairs_s8"
    assert select_kernel(op, graph, mve=True).name == "aiotc_depthwise_conv_opt_s8"


def test_depthwise_3x3_refuses_a_width_of_0(lib):
    """Its DSP row loop takes one step of 2 columns before it tests the width: with none,
    that step would write past the scratch (one int for a band of width 0)."""
    ffi, c = lib
    params = ffi.new("aiotc_dw_conv_params *", {"ch_mult": 1, "stride": {"w": 1, "h": 1}, "dilation": {"w": 1, "h": 1}})
    in_dims, out_dims = ffi.new("aiotc_dims *", (1, 4, 0, 2)), ffi.new("aiotc_dims *", (1, 4, 0, 2))
    size = c.aiotc_depthwise_conv_3x3_s8_get_buffer_size(params, out_dims)
    scratch = ffi.new("int8_t[]", size)
    ctx = ffi.new("aiotc_context *", {"buf": scratch, "size": size})
    zeros = ffi.new("int32_t[]", 2)
    quant = ffi.new("aiotc_per_channel_quant_params *", {"multiplier": zeros, "shift": zeros})
    data = ffi.new("int8_t[]", 18)
    status = c.aiotc_depthwise_conv_3x3_s8(
        ctx, params, quant, in_dims, data, ffi.new("aiotc_dims *", (1, 3, 3, 2)), data, zeros, out_dims, data
    )
    assert status == -1  # AIOTC_ARG_ERROR


@pytest.mark.parametrize("weights", ["int8", "int4"])
@pytest.mark.parametrize("depth", [1, 3, 16, 37, 640])
def test_fully_connected_scratch_size_equals_c(lib, depth, weights):
    ffi, c = lib
    g = OpGraph(seed=5)
    x = g.input((2, depth), zero_point=-7)
    out = g.fully_connected(x, 13)  # more rows than aiotc_fully_connected_rows_s8 (no scratch) takes
    graph = g.build(g.int4(out) if weights == "int4" else out)
    op = graph.ops[0]
    filter_dims = ffi.new("aiotc_dims *", (13, 1, 1, depth))
    if weights == "int4":  # a 1x1 convolution over the batches
        assert (
            select_kernel(op, graph).scratch_bytes
            == c.aiotc_convolve_1x1_s4_get_buffer_size(ffi.new("aiotc_dims *", (2, 1, 1, depth)))
            > 0
        )
    else:
        assert (
            select_kernel(op, graph).scratch_bytes == c.aiotc_fully_connected_packed_s8_get_buffer_size(filter_dims) > 0
        )


@pytest.mark.parametrize("kernel, channels, groups", [((1, 1), 5, 1), ((3, 3), 7, 1), ((10, 4), 1, 1), ((3, 3), 6, 2)])
def test_convolve_s16_scratch_size_equals_c(lib, kernel, channels, groups):
    ffi, c = lib
    g = OpGraph(seed=5, dtype="int16")
    x = g.input((1, 12, 12, channels), dtype="int16")
    graph = g.build(g.conv2d(x, 4, kernel=kernel, groups=groups))
    op = graph.ops[0]
    filter_dims = ffi.new("aiotc_dims *", graph[op.inputs[1]].shape)
    assert select_kernel(op, graph).scratch_bytes == c.aiotc_convolve_s16_get_buffer_size(filter_dims) > 0


@pytest.mark.parametrize("features, units", [(5, 4), (13, 6), (257, 80)])
def test_lstm_scratch_size_equals_c(lib, features, units):
    ffi, c = lib
    graph = lstm_graph("int8", batches=2, time_steps=3, features=features, units=units)
    dims = ffi.new("aiotc_lstm_dims *", (2, 3, features, units, 0))
    assert select_kernel(graph.ops[0], graph).scratch_bytes == c.aiotc_lstm_packed_s8_get_buffer_size(dims) > 0
    wide = select_kernel(graph.ops[0], graph, dsp=True)
    assert wide.name == "aiotc_lstm_wide_s8"
    assert wide.scratch_bytes == c.aiotc_lstm_wide_s8_get_buffer_size(dims) > 0


@pytest.mark.parametrize("features", [5, 16, 96])
def test_svdf_scratch_size_equals_c(lib, features):
    ffi, c = lib
    graph = svdf_graph("int8", batches=2, features=features, units=3, rank=2, memory=4)
    dims = ffi.new("aiotc_svdf_dims *", (2, features, 6, 4, 2))
    assert select_kernel(graph.ops[0], graph).scratch_bytes == c.aiotc_svdf_packed_s8_get_buffer_size(dims) > 0


@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("rows, cols, depth", [(1, 1, 1), (3, 5, 17), (32, 32, 16), (4, 7, 64)])
@pytest.mark.parametrize("adj_x", [False, True])
def test_batch_matmul_scratch_size_equals_c(lib, rows, cols, depth, adj_x, dtype):
    """adj_x reaches only the Python side, which must read the depth off the lhs's rows
    (C takes rows, cols and depth as given)."""
    ffi, c = lib
    g = OpGraph(seed=5, dtype=dtype)
    a = g.input((2, depth, rows) if adj_x else (2, rows, depth))
    graph = g.build(g.batch_matmul(a, g.input((2, depth, cols)), adj_x=adj_x))
    kernel = select_kernel(graph.ops[0], graph)
    shape = ffi.new("aiotc_matmul_shape *", {"rows": rows, "cols": cols, "depth": depth})
    assert kernel.scratch_bytes == getattr(c, f"{kernel.name}_get_buffer_size")(shape) > 0


@pytest.mark.parametrize("rows, depth", [(1, 3), (5, 17), (128, 64)])
def test_batch_matmul_by_weights_scratch_size_equals_c(lib, rows, depth):
    """A constant rhs: the gemm's two columns (rows as pixels), or the packed fully connected layer's input."""
    ffi, c = lib
    g = OpGraph(seed=5)
    graph = g.build(g.batch_matmul(g.input((rows, depth), zero_point=-7), g.weights((depth, 6), None)))
    kernel = select_kernel(graph.ops[0], graph)
    if rows == 1:
        expected = c.aiotc_fully_connected_packed_s8_get_buffer_size(ffi.new("aiotc_dims *", (6, 1, 1, depth)))
    else:
        expected = c.aiotc_convolve_1x1_s8_get_buffer_size(ffi.new("aiotc_dims *", (1, 1, rows, depth)))
    assert kernel.scratch_bytes == expected > 0


@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize(
    "channels, kernel, stride", [(1, (2, 2), (3, 3)), (3, (3, 3), (2, 2)), (17, (5, 1), (1, 1)), (8, (4, 4), (2, 3))]
)
def test_transpose_conv_scratch_size_equals_c(lib, channels, kernel, stride, dtype):
    ffi, c = lib
    g = OpGraph(seed=5, dtype=dtype)
    x = g.input((1, 5, 7, channels), zero_point=-7 if dtype == "int8" else 0, dtype=dtype)
    graph = g.build(g.transpose_conv(x, 3, kernel, stride))
    op = graph.ops[0]
    params = ffi.new("aiotc_conv_params *", {"stride": {"w": stride[1], "h": stride[0]}})
    in_dims = ffi.new("aiotc_dims *", graph[op.inputs[0]].shape)
    filter_dims = ffi.new("aiotc_dims *", graph[op.inputs[1]].shape)
    kernel_name = select_kernel(op, graph).name
    assert kernel_name == f"aiotc_transpose_conv_gemm_{'s8' if dtype == 'int8' else 's16'}"
    size = getattr(c, f"{kernel_name}_get_buffer_size")(params, in_dims, filter_dims)
    assert select_kernel(op, graph).scratch_bytes == size > 0
