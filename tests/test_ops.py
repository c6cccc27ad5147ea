"""Per-op tests: single-op models against tflite-micro, edge shapes included.

Each case builds a graph with tests/oplib.py, writes it as .tflite, and requires the
C that aiotc generates to reproduce tflite-micro bit for bit (float: 1e-5 of range).
"""

from __future__ import annotations

import numpy as np
import pytest

from aiotc import ir

from .oplib import OpGraph, assert_matches_oracle, assert_matches_oracle_in_qemu, extreme_samples

DTYPES = ["int8", "float32"]


def _sweep_input(g: OpGraph, scale=0.05, zero_point=0):
    """One input holding all 256 int8 values, for unary ops."""
    return g.input((1, 16, 16, 1), scale=scale, zero_point=zero_point)


def _all_int8_values():
    return [[np.arange(-128, 128, dtype=np.int8).reshape(1, 16, 16, 1)]]


CONV_CASES = {
    "3x3 same": dict(shape=(1, 8, 8, 3), out_channels=4),
    "1x1": dict(shape=(1, 5, 7, 6), out_channels=5, kernel=(1, 1)),
    "odd sizes, stride 2 same": dict(shape=(1, 9, 7, 3), out_channels=5, stride=(2, 2)),
    "stride 2 valid": dict(shape=(1, 9, 9, 2), out_channels=3, stride=(2, 2), padding="valid"),
    "dilation 2": dict(shape=(1, 11, 10, 3), out_channels=4, dilation=(2, 2)),
    "groups 2": dict(shape=(1, 6, 6, 4), out_channels=6, groups=2),
    "groups 2, 3 rows a group": dict(shape=(1, 8, 8, 8), out_channels=6, groups=2),  # the gemm's pair and lone row
    "groups 4, stride 2, dilation, batch 2": dict(
        shape=(2, 9, 8, 12), out_channels=8, groups=4, stride=(2, 1), dilation=(1, 2), activation="relu"
    ),
    "channels not multiple of 4": dict(shape=(1, 6, 5, 7), out_channels=9, kernel=(3, 2)),
    "per-tensor weights": dict(shape=(1, 6, 6, 3), out_channels=4, per_channel=False),
    "fused relu": dict(shape=(1, 6, 6, 3), out_channels=4, activation="relu"),
    "fused relu6": dict(shape=(1, 6, 6, 3), out_channels=4, activation="relu6"),
    "1x1 image 1x1 kernel": dict(shape=(1, 1, 1, 8), out_channels=3, kernel=(1, 1)),
    "5x5 kernel on 3x3 image": dict(shape=(1, 3, 3, 2), out_channels=2, kernel=(5, 5)),
    "windows of whole rows, stride 2": dict(
        shape=(1, 9, 3, 3), out_channels=4, kernel=(4, 3), stride=(2, 1), padding="valid"
    ),  # a Conv1D on its side (width 1) reads its taps as one run; here 3 wide
    "whole rows, top and bottom padding": dict(
        shape=(1, 7, 1, 5), out_channels=3, kernel=(5, 1), padding="same"
    ),  # clipped at the borders
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv2d(case, dtype, tmp_path):
    kwargs = dict(CONV_CASES[case])
    g = OpGraph(seed=1, dtype=dtype)
    x = g.input(kwargs.pop("shape"), scale=0.05, zero_point=-3)
    assert_matches_oracle(g.build(g.conv2d(x, **kwargs)), tmp_path)


def test_gemm_byte_pairs_read_as_halfwords_are_256_b_plus_a():
    """The gemm's weight layout (aiotc_nn_gemm.h): per channel pair and input, a's byte
    and b's, which read together as an int16 give 256 * b + a, the sign of a included;
    packed plain (for MVE) the bytes are a and b themselves."""
    from aiotc.codegen.ops_conv import pack_gemm_weights

    rows = np.random.default_rng(0).integers(-127, 128, (5, 13))
    rows[0, :3] = [-128, -1, 0]
    packed, plain = pack_gemm_weights(rows, False), pack_gemm_weights(rows, True)
    assert packed.size % 32 == 0 and plain.size == packed.size
    halfwords = packed.view("<i2")[: 3 * 16].reshape(3, 16).astype(np.int64)  # 3 pairs, 13 inputs padded to 16
    padded = np.zeros((6, 16), np.int64)
    padded[:5, :13] = rows
    assert np.array_equal(halfwords, 256 * padded[1::2] + padded[0::2])
    assert np.array_equal(packed.reshape(-1, 2)[: 3 * 16, 0].reshape(3, 16), padded[0::2])  # SXTB16 reads a alone
    assert np.array_equal(plain.reshape(-1, 2)[: 3 * 16].reshape(3, 16, 2).transpose(0, 2, 1), padded.reshape(3, 2, 16))


@pytest.mark.parametrize("beside, fast", [(-5, False), (5, True)])
def test_conv2d_weights_the_byte_pairs_cannot_hold_take_the_reference_kernel(beside, fast, tmp_path):
    """A -128 in channel b beside a negative weight of channel a has no byte in the gemm's
    layout: that layer runs the reference kernel instead, still exact; beside a positive
    weight the fast kernel holds it."""
    from aiotc.kernels import select_kernel

    g = OpGraph(seed=3)
    x = g.input((1, 4, 4, 8), zero_point=-3)
    y = g.conv2d(x, 4, kernel=(1, 1))
    weights = g.tensors[g.ops[-1].inputs[1]].data
    weights[0, 0, 0, 0], weights[1, 0, 0, 0] = beside, -128
    graph = g.build(y)
    assert (select_kernel(graph.ops[0], graph).name is not None) == fast
    assert_matches_oracle(graph, tmp_path)


@pytest.mark.parametrize("in_zp, out_zp", [(-128, 127), (127, -128)])
def test_conv2d_extreme_zero_points(in_zp, out_zp, tmp_path):
    g = OpGraph(seed=2)
    x = g.input((1, 7, 7, 3), zero_point=in_zp)
    assert_matches_oracle(g.build(g.conv2d(x, 4, stride=(2, 2), out_zp=out_zp)), tmp_path)


DEPTHWISE_CASES = {
    "3x3 same": dict(shape=(1, 8, 8, 4)),
    "3x3 planes, odd width, 5 channels": dict(shape=(1, 7, 17, 5), activation="relu"),
    "3x3 planes, stride 2 valid": dict(shape=(1, 11, 20, 3), stride=(2, 2), padding="valid"),
    "3x3 planes, stride 2x1": dict(shape=(1, 9, 9, 1), stride=(2, 1)),
    "multiplier 2": dict(shape=(1, 6, 6, 3), multiplier=2),
    "stride 2 same odd": dict(shape=(1, 9, 7, 5), stride=(2, 2)),
    "dilation 2": dict(shape=(1, 10, 10, 3), dilation=(2, 2)),
    "relu6 valid 5x5": dict(shape=(1, 9, 9, 6), kernel=(5, 5), padding="valid", activation="relu6"),
    "zero point -128 out 127": dict(shape=(1, 5, 5, 2), out_zp=127),
    "1-D 10x1 valid": dict(shape=(1, 24, 1, 9), kernel=(10, 1), padding="valid"),
    "2x4 same, stride 1x2": dict(shape=(1, 7, 9, 7), kernel=(2, 4), stride=(1, 2)),
    "one channel, multiplier 8 (run as a conv)": dict(
        shape=(1, 49, 10, 1), multiplier=8, kernel=(10, 4), stride=(2, 2), activation="relu"
    ),
    "one channel, multiplier 3, dilation 2": dict(shape=(1, 9, 8, 1), multiplier=3, dilation=(2, 2)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", DEPTHWISE_CASES)
def test_depthwise_conv2d(case, dtype, tmp_path):
    kwargs = dict(DEPTHWISE_CASES[case])
    g = OpGraph(seed=3, dtype=dtype)
    x = g.input(kwargs.pop("shape"), zero_point=-128)
    assert_matches_oracle(g.build(g.depthwise(x, **kwargs)), tmp_path)


FC_CASES = {
    "per tensor": dict(shape=(1, 20), units=7),
    "per channel": dict(shape=(1, 13), units=5, per_channel=True),
    "rank 4 input": dict(shape=(1, 2, 3, 4), units=6),
    "keep_num_dims": dict(shape=(1, 3, 8), units=5, keep_num_dims=True),
    "relu, no bias": dict(shape=(2, 9), units=4, activation="relu", bias=False),
    "depth 1": dict(shape=(1, 1), units=5),
    "depth 3, batch 3": dict(shape=(3, 3), units=9, per_channel=True),
    "depth 33, 4 rows": dict(shape=(1, 33), units=4),
    "weight zero point": dict(shape=(1, 10), units=3, weight_zp=-4),
    # A Keras attention projection: tflite-micro rounds twice; LiteRT's reference kernel
    # (the oracle where tflite-micro lacks an op, e.g. GELU) differs by 1 on some rows.
    "per channel, rank 3, no bias": dict(shape=(1, 16, 32), units=32, per_channel=True, keep_num_dims=True, bias=False),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", FC_CASES)
def test_fully_connected(case, dtype, tmp_path):
    kwargs = dict(FC_CASES[case])
    g = OpGraph(seed=4, dtype=dtype)
    x = g.input(kwargs.pop("shape"), zero_point=5)
    assert_matches_oracle(g.build(g.fully_connected(x, **kwargs)), tmp_path)


POOL_CASES = {
    "2x2 stride 2": dict(shape=(1, 8, 8, 3)),
    "3x3 stride 2 same odd": dict(shape=(1, 9, 7, 5), kernel=(3, 3), padding="same"),
    "global": dict(shape=(1, 5, 5, 4), kernel=(5, 5), stride=(1, 1)),
    "relu6": dict(shape=(1, 6, 6, 2), kernel=(3, 3), stride=(1, 1), padding="same", activation="relu6"),
    "windows of whole rows": dict(shape=(1, 9, 2, 6), kernel=(3, 2), stride=(2, 1), padding="same"),
    "one column, padded": dict(shape=(1, 11, 1, 5), kernel=(3, 1), stride=(2, 1), padding="same"),  # read as one row
    "1x4 runs": dict(shape=(1, 2, 13, 3), kernel=(1, 4), stride=(1, 3)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["avg_pool2d", "max_pool2d"])
@pytest.mark.parametrize("case", POOL_CASES)
def test_pooling(case, kind, dtype, tmp_path):
    kwargs = dict(POOL_CASES[case])
    g = OpGraph(seed=5, dtype=dtype)
    x = g.input(kwargs.pop("shape"), scale=0.1, zero_point=-20)
    assert_matches_oracle(g.build(g.pool(kind, x, **kwargs)), tmp_path)


BINARY_SHAPES = {
    "same shape": ((1, 4, 4, 3), (1, 4, 4, 3)),
    "channel broadcast": ((1, 4, 5, 3), (1, 1, 1, 3)),
    "spatial broadcast": ((1, 4, 5, 3), (1, 4, 5, 1)),
    "both broadcast": ((1, 1, 5, 3), (1, 4, 1, 3)),
    "rank 2": ((3, 7), (1, 7)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["add", "sub", "mul"])
@pytest.mark.parametrize("case", BINARY_SHAPES)
def test_binary(case, kind, dtype, tmp_path):
    a_shape, b_shape = BINARY_SHAPES[case]
    g = OpGraph(seed=6, dtype=dtype)
    a = g.input(a_shape, scale=0.04, zero_point=-128)
    b = g.input(b_shape, scale=0.07, zero_point=127)
    assert_matches_oracle(g.build(g.binary(kind, a, b, out_scale=0.12 if kind != "mul" else 1.5, out_zp=-5)), tmp_path)


def mul_rows_graph():
    """int8 MUL in the kernel's row loops: the same shape (105 elements: a tail after 4-element
    steps), a scalar constant on either side (MobileNetV3's input rescaling), a per-channel
    operand (rows of 7), a scalar input, a multiplier above 1/4 and a fused relu (the
    general requantization), outputs saturating at both ends."""
    g = OpGraph(seed=8)
    a = g.input((1, 5, 7, 3), scale=0.04, zero_point=-128)
    b = g.input((1, 5, 7, 3), scale=0.07, zero_point=127)
    x7 = g.input((1, 3, 5, 7), scale=0.05, zero_point=3)
    channel = g.input((1, 1, 1, 7), scale=0.03, zero_point=-9)
    scalar = g.input((1, 1, 1, 1), scale=0.06, zero_point=5)
    c = g.const(np.array(127, np.int8), ir.Quant(np.array([3.0757e-5], np.float32), np.array([-128])))
    outs = [
        g.binary("mul", a, b, out_scale=1.5, out_zp=-5),
        g.binary("mul", a, b, out_scale=0.005, out_zp=10),  # multiplier 0.56: shift 0, saturating
        g.binary("mul", a, c, out_scale=0.0042, out_zp=118),
        g.binary("mul", c, x7, out_scale=0.0001, out_zp=-3),  # the constant first; saturating
        g.binary("mul", x7, channel, out_scale=0.05, out_zp=2, activation="relu"),
        g.binary("mul", channel, x7, out_scale=0.02, out_zp=-1),
        g.binary("mul", x7, scalar, out_scale=0.04),
    ]
    return g.build(*outs)


def test_mul_rows_match_the_oracle(tmp_path):
    graph = mul_rows_graph()
    assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, random=4, seed=3))


@pytest.mark.parametrize("activation", ["relu", "relu6"])
def test_add_fused_activation_and_constant_operand(activation, tmp_path):
    g = OpGraph(seed=7)
    a = g.input((1, 3, 3, 4), scale=0.05, zero_point=10)
    c = g.const(np.arange(-4, 4, 2, dtype=np.int8).reshape(1, 1, 1, 4), g.tensors[a].quant)
    assert_matches_oracle(g.build(g.binary("add", a, c, out_scale=0.03, out_zp=-100, activation=activation)), tmp_path)


MEAN_CASES = {
    "spatial keepdims": dict(shape=(1, 5, 6, 3), axes=(1, 2)),
    "spatial squeezed, requantized": dict(shape=(1, 4, 4, 8), axes=(1, 2), keepdims=False, out_scale=0.02, out_zp=3),
    "channels": dict(shape=(1, 3, 3, 7), axes=(3,)),
    "height only": dict(shape=(1, 6, 2, 3), axes=(1,), keepdims=False),
    "spatial, 2 batches": dict(shape=(2, 3, 5, 4), axes=(1, 2)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", MEAN_CASES)
def test_mean(case, dtype, tmp_path):
    kwargs = dict(MEAN_CASES[case])
    g = OpGraph(seed=8, dtype=dtype)
    x = g.input(kwargs.pop("shape"), scale=0.05, zero_point=-7)
    assert_matches_oracle(g.build(g.mean(x, **kwargs)), tmp_path)


@pytest.mark.qemu
def test_int8_means_in_qemu(tmp_path):
    """aiotc_mean_s8 on the M4: the spatial means' pixel walk and the general loops."""
    g = OpGraph(seed=8)
    outs = []
    for case in MEAN_CASES.values():
        kwargs = dict(case)
        outs.append(g.mean(g.input(kwargs.pop("shape"), scale=0.05, zero_point=-7), **kwargs))
    assert_matches_oracle_in_qemu(g.build(*outs), "cortex-m4", tmp_path, {"aiotc_mean_s8"})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("beta, in_scale", [(1.0, 0.1), (1.0, 0.02), (0.5, 0.25)])
def test_softmax(beta, in_scale, dtype, tmp_path):
    g = OpGraph(seed=9, dtype=dtype)
    x = g.input((2, 10), scale=in_scale, zero_point=4)
    assert_matches_oracle(g.build(g.unary("softmax", x, 1 / 256, -128, ir.Softmax(beta))), tmp_path)


@pytest.mark.parametrize("depth", [16, 17, 40])
def test_softmax_rows_around_the_kept_exps(depth, tmp_path):
    """Rows of up to 16 reuse the sum's exps for the outputs, deeper ones compute them
    again (aiotc_nn_softmax.h); a wide input scale puts some differences below diff_min."""
    g = OpGraph(seed=10)
    x = g.input((3, depth), scale=0.4, zero_point=-2)
    assert_matches_oracle(g.build(g.unary("softmax", x, 1 / 256, -128, ir.Softmax(1.0))), tmp_path)


@pytest.mark.parametrize("in_scale", [0.1, 0.02])
def test_softmax_int8_to_int16(in_scale, tmp_path):
    """tflite-micro's int8 softmax with an int16 output (the SVDF keyword models end so)."""
    g = OpGraph(seed=9)
    x = g.input((2, 10), scale=in_scale, zero_point=4)
    assert_matches_oracle(g.build(g.unary("softmax", x, 1 / 65536, -32768, ir.Softmax(1.0), "int16")), tmp_path)


def test_requantize_to_int32(tmp_path):
    """QUANTIZE int8 -> int32 and int16 -> int32, every int8 value."""
    g = OpGraph(seed=13)
    x = _sweep_input(g, 0.05, 7)
    wide = g.quantize(x, "int16", 0.0007, -300)
    outputs = [g.unary("quantize", t, 0.013, -60, out_dtype="int32") for t in (x, wide)]
    assert_matches_oracle(g.build(*outputs), tmp_path, inputs=_all_int8_values())


UNARY_INT8 = {
    "relu": dict(out_scale=0.03, out_zp=-128),
    "relu6": dict(),
    "logistic": dict(out_scale=1 / 256, out_zp=-128),
    "tanh": dict(out_scale=1 / 128, out_zp=0),
    "hard_swish": dict(out_scale=0.04, out_zp=-40),
    "leaky_relu": dict(out_scale=0.04, out_zp=-20, attrs=ir.LeakyRelu(0.2)),
}


@pytest.mark.parametrize("in_scale, in_zp", [(0.05, 0), (0.11, -100)])
@pytest.mark.parametrize("kind", UNARY_INT8)
def test_unary_int8_all_values(kind, in_scale, in_zp, tmp_path):
    g = OpGraph(seed=10)
    x = _sweep_input(g, in_scale, in_zp)
    assert_matches_oracle(g.build(g.unary(kind, x, **UNARY_INT8[kind])), tmp_path, inputs=_all_int8_values())


@pytest.mark.parametrize("kind", UNARY_INT8)
def test_unary_float(kind, tmp_path):
    g = OpGraph(seed=11, dtype="float32")
    x = g.input((1, 4, 5, 6))
    assert_matches_oracle(g.build(g.unary(kind, x, attrs=UNARY_INT8[kind].get("attrs"))), tmp_path)


def test_quantize_float_to_int8_and_dequantize(tmp_path):
    g = OpGraph(seed=12)
    x = g.input((1, 30), dtype="float32")
    q = g.unary("quantize", x, out_scale=0.02, out_zp=-3, out_dtype="int8")
    d = g.unary("dequantize", q, out_dtype="float32")
    assert_matches_oracle(g.build(d), tmp_path)


@pytest.mark.parametrize(
    "in_scale, out_scale, kernel",
    [(0.05, 0.13, "aiotc_lookup_s8"), (1.0, 1e-7, "aiotc_requantize_s8")],  # a scale ratio past the table's shifts
)
def test_requantize_int8(in_scale, out_scale, kernel, tmp_path):
    g = OpGraph(seed=13)
    x = _sweep_input(g, in_scale, 7)
    result = assert_matches_oracle(
        g.build(g.unary("quantize", x, out_scale=out_scale, out_zp=-60)), tmp_path, inputs=_all_int8_values()
    )
    assert result.report["kernels"] == [kernel]


def quantize_graph() -> ir.Graph:
    """QUANTIZE float32 -> int8 past both ends of int8 (N(0, 1) inputs at scale 0.005: the
    SSAT clamp), int8 -> int8 and int16 -> int32 (aiotc_requantize_loop)."""
    g = OpGraph(seed=12)
    f = g.input((1, 64), dtype="float32")
    x = g.input((1, 64), scale=0.05, zero_point=7)
    wide = g.quantize(x, "int16", 0.0007)
    return g.build(
        g.unary("quantize", f, out_scale=0.005, out_zp=-3, out_dtype="int8"),
        g.unary("quantize", x, out_scale=0.13, out_zp=-60),
        g.unary("quantize", wide, out_scale=0.013, out_zp=-60, out_dtype="int32"),
    )


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_quantize_kernels_in_qemu(board, tmp_path):
    kernels = {"aiotc_quantize_f32_s8", "aiotc_lookup_s8", "aiotc_requantize_s16_s32"}
    assert_matches_oracle_in_qemu(quantize_graph(), board, tmp_path, kernels)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", [0, 1, 2, 3])
def test_concat(axis, dtype, tmp_path):
    g = OpGraph(seed=14, dtype=dtype)
    shapes = [list((1, 3, 4, 2)) for _ in range(3)]
    for i, s in enumerate(shapes):
        s[axis] += i
    xs = [g.input(s, scale=0.05, zero_point=1) for s in shapes]
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    assert_matches_oracle(g.build(g.movement("concat", xs, out, ir.Concat(axis))), tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
def test_reshape_pad_transpose(dtype, tmp_path):
    g = OpGraph(seed=15, dtype=dtype)
    x = g.input((1, 3, 5, 2), zero_point=9)
    p = g.movement("pad", [x], (1, 6, 6, 3), ir.Pad(((0, 0), (1, 2), (0, 1), (1, 0))))
    t = g.movement("transpose", [p], (1, 3, 6, 6), ir.Transpose((0, 3, 1, 2)))
    r = g.movement("reshape", [t], (18, 6), ir.NoAttrs())
    assert_matches_oracle(g.build(r), tmp_path)


@pytest.mark.parametrize("perm", [(1, 0), (2, 0, 1), (0, 2, 3, 1), (3, 2, 1, 0)])
def test_transpose_ranks(perm, tmp_path):
    shape = (2, 3, 4, 5)[: len(perm)]
    g = OpGraph(seed=16)
    x = g.input(shape)
    out = tuple(shape[p] for p in perm)
    assert_matches_oracle(g.build(g.movement("transpose", [x], out, ir.Transpose(perm))), tmp_path)


SLICES = {
    "crop": ((1, 6, 7, 3), (0, 1, 2, 0), (1, 5, 7, 2), (1, 1, 1, 1)),
    "stride 2": ((1, 8, 8, 4), (0, 0, 1, 0), (1, 8, 8, 4), (1, 2, 3, 2)),
    "negative strides": ((1, 5, 6, 2), (0, 4, 5, 1), (1, -1, 0, -1), (1, -1, -2, -1)),
    "rank 2": ((5, 9), (1, 2), (4, 9), (2, 3)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SLICES)
def test_strided_slice(case, dtype, tmp_path):
    shape, begin, end, strides = SLICES[case]
    g = OpGraph(seed=17, dtype=dtype)
    x = g.input(shape)
    out = tuple(len(range(b, e, s)) for b, e, s in zip(begin, end, strides))  # resolved bounds: range semantics
    attrs = ir.StridedSlice(begin, end, strides)
    assert_matches_oracle(g.build(g.movement("strided_slice", [x], out, attrs)), tmp_path)
