"""BATCH_MATMUL, ADD_N and CUMSUM against tflite-micro, bit for bit (float: 1e-5 of range)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from .oplib import FAST, OpGraph, assert_matches_oracle, assert_matches_oracle_in_qemu, extreme_samples, quant

DTYPES = ["int8", "float32"]
PACKED = "aiotc_batch_matmul_packed_s8"  # two activations, or a constant fully connected does not take
GEMM = "aiotc_convolve_1x1_s8"  # a constant symmetric rhs matrix, the lhs rows as pixels
AS_FC = "aiotc_fully_connected_packed_s8"  # the same with one lhs row


CASES = {
    "rank 2": dict(lhs=(3, 5), rhs=(5, 4)),
    "rank 3 batches": dict(lhs=(2, 3, 7), rhs=(2, 7, 5)),
    "rank 4": dict(lhs=(2, 3, 4, 6), rhs=(2, 3, 6, 2)),
    "broadcast batch": dict(lhs=(2, 1, 3, 4), rhs=(1, 3, 4, 5)),
    "rank 3 x rank 2": dict(lhs=(3, 4, 6), rhs=(6, 5)),
    "adj_x": dict(lhs=(2, 6, 3), rhs=(2, 6, 4), adj_x=True),
    "adj_y": dict(lhs=(2, 3, 6), rhs=(2, 4, 6), adj_y=True),
    "adj_x and adj_y": dict(lhs=(5, 3), rhs=(4, 5), adj_x=True, adj_y=True),
    "single row, odd depth": dict(lhs=(1, 1, 9), rhs=(1, 9, 1)),
    "depth 1": dict(lhs=(3, 1), rhs=(1, 4)),
    "depth 3, one column": dict(lhs=(2, 5, 3), rhs=(2, 3, 1)),
    "depth 17, one row": dict(lhs=(1, 17), rhs=(17, 6)),
    "adj_x, broadcast lhs": dict(lhs=(1, 17, 3), rhs=(3, 17, 5), adj_x=True),
    "adj_y, broadcast rhs (attention)": dict(lhs=(2, 2, 5, 16), rhs=(2, 1, 7, 16), adj_y=True),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_batch_matmul_of_two_activations(case, dtype, tmp_path):
    kwargs = dict(CASES[case])
    g = OpGraph(seed=21, dtype=dtype)
    a = g.input(kwargs.pop("lhs"), scale=0.05, zero_point=-5)
    b = g.input(kwargs.pop("rhs"), scale=0.04, zero_point=9)
    compiled = assert_matches_oracle(g.build(g.batch_matmul(a, b, **kwargs, out_zp=-3)), tmp_path, **FAST)
    assert dtype == "float32" or PACKED in compiled.report["kernels"]


CONST_CASES = {  # lhs, rhs, keyword arguments, rhs zero point, the int8 kernel
    "weights": ((2, 3, 8), (8, 5), {}, 0, GEMM),
    "weights, adj_y, depth 17": ((1, 2, 4, 17), (6, 17), dict(adj_y=True), 0, GEMM),
    "weights, odd rows, depth 1": ((3, 1), (1, 4), {}, 0, GEMM),
    "weights, one row, depth 1": ((1, 1), (1, 3), {}, 0, AS_FC),
    "weights, one row, adj_y": ((1, 1, 19), (7, 19), dict(adj_y=True), 0, AS_FC),
    "rhs zero point": ((2, 3, 8), (8, 5), {}, -2, PACKED),
    "rhs zero point, adj_y": ((2, 3, 8), (5, 8), dict(adj_y=True), -2, PACKED),
    "batched rhs": ((2, 3, 8), (2, 8, 5), {}, 0, PACKED),
    "adj_x": ((2, 8, 3), (8, 5), dict(adj_x=True), 0, PACKED),
    "broadcast lhs": ((1, 3, 8), (2, 8, 5), {}, 0, PACKED),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CONST_CASES)
def test_batch_matmul_by_a_constant(case, dtype, tmp_path):
    lhs, shape, kwargs, zp, kernel = CONST_CASES[case]
    g = OpGraph(seed=22, dtype=dtype)
    a = g.input(lhs, scale=0.05, zero_point=4)
    w = (
        g.const(g.rng.normal(0, 0.5, shape).astype(np.float32))
        if dtype == "float32"
        else g.weights(shape, None, zero_point=zp)
    )
    compiled = assert_matches_oracle(g.build(g.batch_matmul(a, w, **kwargs)), tmp_path, **FAST)
    assert dtype == "float32" or kernel in compiled.report["kernels"]


def test_constant_rhs_byte_pairs_cannot_hold(tmp_path):
    """A -128 beside a negative weight in the same pair of rhs columns: the gemm's byte
    pairs cannot hold it, the copying kernel runs."""
    g = OpGraph(seed=28)
    a = g.input((4, 6), scale=0.05, zero_point=-7)
    out = g.unpackable(g.batch_matmul(a, g.weights((6, 4), None)), axis=1, value=-3)  # columns are the channels
    assert PACKED in assert_matches_oracle(g.build(out), tmp_path, **FAST).report["kernels"]


@pytest.mark.parametrize("lhs_zp, rhs_zp, out_zp", [(-128, 127, -128), (127, -128, 127)])
def test_batch_matmul_int8_extremes(lhs_zp, rhs_zp, out_zp, tmp_path):
    """Zero points at the ends, inputs at -128 / 127: the products, the row and column sums
    and the clamp at their limits; a constant rhs of -127 / 127 (the gemm, the fully
    connected layer)."""
    g = OpGraph(seed=23)
    a = g.input((2, 4, 16), scale=0.05, zero_point=lhs_zp)
    b = g.input((2, 16, 3), scale=0.05, zero_point=rhs_zp)
    w = g.weights((16, 5), None)
    g.tensors[w].data[:] = np.resize([127, -127, 127], (16, 5))
    inputs = [
        [np.full((2, 4, 16), u, np.int8), np.full((2, 16, 3), v, np.int8)]
        for u, v in ((-128, 127), (127, 127), (-128, -128))
    ]
    c = g.input((1, 16), scale=0.05, zero_point=lhs_zp)
    outs = g.batch_matmul(a, b, out_zp=out_zp), g.batch_matmul(a, w, out_zp=out_zp), g.batch_matmul(c, w, out_zp=out_zp)
    inputs = [[*x, np.full((1, 16), x[0].flat[0], np.int8)] for x in inputs]
    compiled = assert_matches_oracle(g.build(*outs), tmp_path, inputs=inputs, **FAST)
    assert {PACKED, GEMM, AS_FC} <= set(compiled.report["kernels"])


S16_CASES = ["rank 2", "broadcast batch", "adj_x and adj_y", "depth 1", "depth 3, one column", "adj_x, broadcast lhs"]


def int16_matmul(g: OpGraph, lhs, rhs, constant: bool, **kwargs) -> str:
    """An int16 BATCH_MATMUL (zero points 0, as tflite-micro requires), the rhs an input or a constant."""
    a = g.input(lhs, scale=0.05 / 200)
    b = (
        g.const(g.rng.integers(-32768, 32768, rhs).astype(np.int16), quant(0.04 / 200))
        if constant
        else g.input(rhs, 0.04 / 200)
    )
    return g.batch_matmul(a, b, **kwargs)


@pytest.mark.parametrize("constant", [False, True], ids=["activations", "constant rhs"])
@pytest.mark.parametrize("case", S16_CASES)
def test_batch_matmul_int16(case, constant, tmp_path):
    kwargs = dict(CASES[case])
    g = OpGraph(seed=30, dtype="int16")
    graph = g.build(int16_matmul(g, kwargs.pop("lhs"), kwargs.pop("rhs"), constant, **kwargs))
    compiled = assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, random=3, seed=30))
    assert "aiotc_batch_matmul_packed_s16" in compiled.report["kernels"]


def matmul_kernel_graph():
    """The fast BATCH_MATMUL paths at their edges: odd rows, columns and depths (a lone last
    row or column, rows padded to 16 inputs), adj flags, broadcast batches, zero points at
    the ends; constant rhs through the gemm, the packed fully connected kernel and the
    copying one."""
    g = OpGraph(seed=29)
    q = g.input((1, 2, 7, 17), scale=0.05, zero_point=-128)
    k = g.input((1, 2, 5, 17), scale=0.04, zero_point=127)
    t = g.input((2, 33, 3), scale=0.05, zero_point=6)
    x = g.input((3, 40), scale=0.05, zero_point=-9)
    outs = [
        g.batch_matmul(q, k, adj_y=True, out_zp=-128),  # Q.K^T: attention scores
        g.batch_matmul(t, t, adj_x=True, out_zp=5),  # T^T.T: a Gram matrix, depth 33
        g.batch_matmul(x, g.weights((40, 9), None)),  # the gemm: 3 rows as pixels, 9 channels
        g.batch_matmul(g.input((1, 1, 40), scale=0.05, zero_point=100), g.weights((7, 40), None), adj_y=True),
        g.batch_matmul(x, g.weights((40, 6), None, zero_point=3), out_zp=127),  # copied from flash
    ]
    # a multiplier of 1.5 (the requantization's left shift) over sums small enough not to clamp
    small = g.const(g.rng.integers(0, 3, (1, 5)).astype(np.int8), quant(0.02, 1))
    outs.append(g.batch_matmul(g.input((2, 3, 1), scale=0.05, zero_point=-1), small))
    g.tensors[outs[-1]] = dataclasses.replace(g.tensors[outs[-1]], quant=quant(0.05 * 0.02 / 1.5))
    return g.build(*outs)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_matmul_kernel_paths_match_the_oracle_in_qemu(board, tmp_path):
    graph = matmul_kernel_graph()
    inputs = extreme_samples(graph, random=3, seed=3)
    assert_matches_oracle_in_qemu(graph, board, tmp_path, {PACKED, GEMM, AS_FC}, inputs=inputs, **FAST)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("count, shape", [(2, (1, 4, 5, 3)), (3, (7,)), (5, (2, 9))])
def test_add_n(count, shape, dtype, tmp_path):
    g = OpGraph(seed=24, dtype=dtype)
    xs = [g.input(shape, scale=0.05, zero_point=-6) for _ in range(count)]
    assert_matches_oracle(g.build(g.add_n(xs, out_zp=4)), tmp_path)


@pytest.mark.parametrize("in_zp, out_scale, out_zp", [(-128, 0.05, 127), (127, 0.2, -128), (0, 0.03, 0)])
def test_add_n_int8_extremes(in_zp, out_scale, out_zp, tmp_path):
    """All inputs at -128 or 127, zero points at the ends; a constant operand among them."""
    g = OpGraph(seed=25)
    xs = [g.input((4, 8), scale=0.05, zero_point=in_zp) for _ in range(2)]
    xs.append(g.const(np.resize(np.array([-128, 127, 0, in_zp], np.int8), (4, 8)), g.tensors[xs[0]].quant))
    inputs = [
        [np.full((4, 8), v, np.int8), np.full((4, 8), w, np.int8)] for v, w in ((-128, -128), (127, 127), (-128, 127))
    ]
    assert_matches_oracle(g.build(g.add_n(xs, out_scale, out_zp)), tmp_path, inputs=inputs)


CUMSUM_CASES = {
    "last axis": dict(shape=(2, 3, 8), axis=2),
    "middle axis, exclusive": dict(shape=(2, 5, 3), axis=1, exclusive=True),
    "first axis, reverse": dict(shape=(4, 3, 2), axis=0, reverse=True),
    "exclusive and reverse, rank 4": dict(shape=(1, 3, 4, 5), axis=2, exclusive=True, reverse=True),
    "rank 1": dict(shape=(11,), axis=0),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CUMSUM_CASES)
def test_cumsum(case, dtype, tmp_path):
    kwargs = dict(CUMSUM_CASES[case])
    g = OpGraph(seed=26, dtype=dtype)
    x = g.input(kwargs.pop("shape"), scale=0.05, zero_point=-12)
    assert_matches_oracle(g.build(g.cumsum(x, **kwargs, out_zp=-20)), tmp_path)


@pytest.mark.parametrize("in_zp, out_scale, out_zp", [(-128, 0.05, 127), (127, 0.3, -128)])
def test_cumsum_int8_extremes(in_zp, out_scale, out_zp, tmp_path):
    g = OpGraph(seed=27)
    x = g.input((3, 16), scale=0.05, zero_point=in_zp)
    inputs = [[np.stack([np.full(16, -128), np.full(16, 127), np.resize([127, -128], 16)]).astype(np.int8)]]
    assert_matches_oracle(g.build(g.cumsum(x, 1, out_scale=out_scale, out_zp=out_zp)), tmp_path, inputs=inputs)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_int16_matmul_paths_match_the_oracle_in_qemu(board, tmp_path):
    """aiotc_batch_matmul_packed_s16's SMLALD (M4) and VMLALDAVA (M55) loops: odd rows,
    columns and depths (rows padded to 8 inputs), adj flags, broadcasts, a constant rhs."""
    g = OpGraph(seed=31, dtype="int16")
    outs = [
        int16_matmul(g, (2, 7, 17), (2, 5, 17), False, adj_y=True),
        int16_matmul(g, (1, 9, 3), (2, 9, 4), False, adj_x=True),
        int16_matmul(g, (3, 24), (24, 6), True),
    ]
    graph = g.build(*outs)
    inputs = extreme_samples(graph, random=3, seed=31)
    assert_matches_oracle_in_qemu(graph, board, tmp_path, {"aiotc_batch_matmul_packed_s16"}, inputs=inputs)
