"""BATCH_MATMUL, ADD_N and CUMSUM against tflite-micro, bit for bit (float: 1e-5 of range)."""

from __future__ import annotations

import numpy as np
import pytest

from .oplib import OpGraph, assert_matches_oracle

DTYPES = ["int8", "float32"]

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
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES)
def test_batch_matmul_of_two_activations(case, dtype, tmp_path):
    kwargs = dict(CASES[case])
    g = OpGraph(seed=21, dtype=dtype)
    a = g.input(kwargs.pop("lhs"), scale=0.05, zero_point=-5)
    b = g.input(kwargs.pop("rhs"), scale=0.04, zero_point=9)
    assert_matches_oracle(g.build(g.batch_matmul(a, b, **kwargs, out_zp=-3)), tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("adj_y", [False, True])
def test_batch_matmul_by_a_constant(adj_y, dtype, tmp_path):
    g = OpGraph(seed=22, dtype=dtype)
    a = g.input((2, 3, 8), scale=0.05, zero_point=4)
    shape = (5, 8) if adj_y else (8, 5)
    w = (
        g.const(g.rng.normal(0, 0.5, shape).astype(np.float32))
        if dtype == "float32"
        else g.weights(shape, None, zero_point=-2)
    )
    assert_matches_oracle(g.build(g.batch_matmul(a, w, adj_y=adj_y)), tmp_path)


@pytest.mark.parametrize("lhs_zp, rhs_zp, out_zp", [(-128, 127, -128), (127, -128, 127)])
def test_batch_matmul_int8_extremes(lhs_zp, rhs_zp, out_zp, tmp_path):
    """Zero points at the ends, inputs at -128 / 127: the products and the clamp at their limits."""
    g = OpGraph(seed=23)
    a = g.input((2, 4, 16), scale=0.05, zero_point=lhs_zp)
    b = g.input((2, 16, 3), scale=0.05, zero_point=rhs_zp)
    inputs = [
        [np.full((2, 4, 16), v, np.int8), np.full((2, 16, 3), w, np.int8)]
        for v, w in ((-128, 127), (127, 127), (-128, -128))
    ]
    assert_matches_oracle(g.build(g.batch_matmul(a, b, out_zp=out_zp)), tmp_path, inputs=inputs)


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
