"""Data-movement ops of issue 20 against tflite-micro, bit for bit.

SPLIT, SPLIT_V, SLICE and UNPACK are read as strided slices (one per output), so their
models are written raw (tests/tflite_raw.py) to reach the oracle as the real builtins;
the others round-trip through aiotc's own writer from OpGraph.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from onnx import helper

from aiotc import ir
from aiotc.errors import ModelError
from aiotc.export.tflite import write_tflite

from .oplib import (
    HostModel,
    OpGraph,
    assert_matches_oracle,
    assert_matches_oracle_in_qemu,
    compile_model,
    random_samples,
    verify,
)
from .tflite_raw import RawModel

DTYPES = ["int8", "float32"]


def _assert_raw_matches_oracle(data: bytes, tmp_path) -> None:
    model = tmp_path / "model.tflite"
    model.write_bytes(data)
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    runner = HostModel.build(out)
    result = verify(out, "host", random_samples(runner.inputs, 5, 0), runner=runner)
    assert result.mismatches == 0, (
        f"{result.mismatches}/{result.samples} samples differ, max abs diff {result.max_abs_diff}"
    )


def _raw_op(opname, dtype, shape, out_shapes, operands=(), operands_first=False, options=None, **fields) -> bytes:
    """A one-op raw model: input `shape`, int32 constant operands, one output per shape."""
    m = RawModel()
    q = (0.05, -3) if dtype == "int8" else None
    x = m.tensor(shape, dtype, quant=q)
    consts = [m.const(np.asarray(v, np.int32)) for v in operands]
    outs = [m.tensor(s, dtype, quant=q) for s in out_shapes]
    m.op(opname, consts + [x] if operands_first else [x] + consts, outs, options, **fields)
    return m.build([x], outs)


SPLIT_CASES = {  # shape, axis, pieces
    "channels": ((1, 4, 5, 6), 3, 3),
    "rows, negative axis": ((1, 6, 3, 2), -3, 2),
    "rank 2": ((4, 10), 1, 5),
    "rank 1": ((9,), 0, 3),
    "one piece": ((2, 3, 5), -1, 1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SPLIT_CASES)
def test_split(case, dtype, tmp_path):
    shape, axis, pieces = SPLIT_CASES[case]
    out = list(shape)
    out[axis] //= pieces
    _assert_raw_matches_oracle(
        _raw_op(
            "SPLIT", dtype, shape, [out] * pieces, [axis], operands_first=True, options="SplitOptions", NumSplits=pieces
        ),
        tmp_path,
    )


SPLIT_V_CASES = {  # shape, axis, size_splits
    "channels": ((1, 3, 4, 7), 3, [2, 4, 1]),
    "inferred piece, negative axis": ((2, 9, 3), -2, [3, -1, 1]),
    "rank 1": ((7,), 0, [5, 2]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SPLIT_V_CASES)
def test_split_v(case, dtype, tmp_path):
    shape, axis, sizes = SPLIT_V_CASES[case]
    resolved = [shape[axis] - sum(s for s in sizes if s != -1) if s == -1 else s for s in sizes]
    outs = [tuple(s if i == axis % len(shape) else d for i, d in enumerate(shape)) for s in resolved]
    data = _raw_op("SPLIT_V", dtype, shape, outs, [sizes, axis], options="SplitVOptions", NumSplits=len(sizes))
    _assert_raw_matches_oracle(data, tmp_path)


SLICE_CASES = {  # shape, begin, size
    "4-D": ((1, 7, 6, 5), [0, 2, 1, 1], [1, 3, 4, 3]),
    "to the end": ((1, 5, 5, 3), [0, 1, 2, 0], [-1, -1, 2, -1]),
    "rank 2": ((6, 9), [2, 3], [3, -1]),
    "rank 1": ((11,), [4], [5]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", SLICE_CASES)
def test_slice(case, dtype, tmp_path):
    shape, begin, size = SLICE_CASES[case]
    out = [d - b if s == -1 else s for d, b, s in zip(shape, begin, size)]
    _assert_raw_matches_oracle(_raw_op("SLICE", dtype, shape, [out], [begin, size], options="SliceOptions"), tmp_path)


UNPACK_CASES = {  # shape, axis
    "time steps": ((1, 4, 6), 1),
    "last axis": ((2, 3, 3), -1),
    "first axis": ((3, 5), 0),
    "4-D": ((1, 2, 3, 4), 2),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", UNPACK_CASES)
def test_unpack(case, dtype, tmp_path):
    shape, axis = UNPACK_CASES[case]
    out = shape[: axis % len(shape)] + shape[axis % len(shape) + 1 :]
    num = shape[axis]
    _assert_raw_matches_oracle(
        _raw_op("UNPACK", dtype, shape, [out] * num, options="UnpackOptions", Num=num, Axis=axis), tmp_path
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, axis, count", [((4, 6), 1, 3), ((5,), 0, 2), ((1, 3, 4), 3, 2), ((2, 3, 5), 0, 4), ((3, 2, 2), 2, 1)]
)
def test_pack(shape, axis, count, dtype, tmp_path):
    g = OpGraph(seed=2, dtype=dtype)
    xs = [g.input(shape, zero_point=-3) for _ in range(count)]
    out = shape[:axis] + (count,) + shape[axis:]
    assert_matches_oracle(g.build(g.movement("pack", xs, out, ir.Pack(axis))), tmp_path)


def _copy_case(kind, shape, out_shape, attrs, dtype, tmp_path):
    g = OpGraph(seed=3, dtype=dtype)
    x = g.input(shape, zero_point=-3)
    assert_matches_oracle(g.build(g.movement(kind, [x], out_shape, attrs)), tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, multiples", [((1, 3, 2, 5), (1, 2, 3, 1)), ((2, 3), (3, 2)), ((4,), (3,)), ((1, 1, 3), (2, 5, 1))]
)
def test_tile(shape, multiples, dtype, tmp_path):
    out = tuple(d * m for d, m in zip(shape, multiples))
    _copy_case("tile", shape, out, ir.Tile(multiples), dtype, tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, target", [((1, 1, 3), (2, 4, 3)), ((3, 1), (1, 2, 3, 5)), ((1,), (7,)), ((1, 4, 1, 2), (3, 4, 5, 2))]
)
def test_broadcast_to(shape, target, dtype, tmp_path):
    _copy_case("broadcast_to", shape, target, ir.NoAttrs(), dtype, tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners, half_pixel", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize(
    "shape, size", [((1, 3, 5, 2), (6, 10)), ((1, 7, 5, 3), (4, 9)), ((2, 4, 4, 1), (3, 3)), ((1, 1, 1, 3), (2, 1))]
)
def test_resize_nearest(shape, size, align_corners, half_pixel, dtype, tmp_path):
    _copy_case(
        "resize_nearest", shape, (shape[0], *size, shape[3]), ir.Resize(align_corners, half_pixel), dtype, tmp_path
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, axes", [((1, 4, 5, 3), (1,)), ((1, 4, 5, 3), (2, 3)), ((6, 7), (0, 1)), ((9,), (0,))])
def test_reverse(shape, axes, dtype, tmp_path):
    _copy_case("reverse", shape, shape, ir.Reverse(axes), dtype, tmp_path)


@pytest.mark.parametrize(
    "kind, out_shape, attrs",
    [
        ("reverse", (1, 4, 5, 3), ir.Reverse((1,))),  # a Keras Bidirectional LSTM's backward sequence
        ("transpose", (1, 5, 4, 3), ir.Transpose((0, 2, 1, 3))),
        ("depth_to_space", (1, 4, 6, 3), ir.BlockSize(2)),
    ],
)
def test_a_copy_to_an_output_of_its_own_scale_copies_the_bytes(kind, out_shape, attrs, tmp_path):
    """The TFLite converter may give a moved tensor a scale and zero point of its own (a
    REVERSE_V2 of a Bidirectional LSTM did): TFLite Micro copies the int8 bytes regardless,
    and so does aiotc, bit for bit."""
    g = OpGraph(seed=3, dtype="int8")
    shape = (1, 2, 3, 12) if kind == "depth_to_space" else (1, 4, 5, 3)
    x = g.input(shape, zero_point=-3)
    y = g.movement(kind, [x], out_shape, attrs)
    graph = g.build(y)
    own = ir.Quant(np.array([0.37], np.float32), np.array([11]))
    graph = graph.with_ops(graph.ops, {**graph.tensors, y: replace(graph[y], quant=own)})
    assert_matches_oracle(graph, tmp_path)


def test_int8_concatenation_of_other_scales_is_refused(tmp_path):
    """TFLite Micro's CONCATENATION would have to requantize, which it refuses; so does aiotc."""
    g = OpGraph(seed=3, dtype="int8")
    a, b = g.input((1, 2, 3, 4), zero_point=-3), g.input((1, 2, 3, 4), zero_point=5)
    model = tmp_path / "concat.tflite"
    model.write_bytes(write_tflite(g.build(g.movement("concat", [a, b], (1, 2, 3, 8), ir.Concat(3)))))
    with pytest.raises(ModelError, match="must share the output's scale and zero point"):
        compile_model(model, board="host", out_dir=tmp_path / "out")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "shape, axis, indices",
    [((5, 4), 0, [[4, 0], [2, 2]]), ((1, 6, 3), 1, [5, 1, 1, 0]), ((2, 3, 4, 5), 3, [2]), ((7,), 0, 3)],
)
def test_gather(shape, axis, indices, dtype, tmp_path):
    indices = np.asarray(indices)
    out = shape[:axis] + indices.shape + shape[axis + 1 :]
    _copy_case(
        "gather", shape, out, ir.Gather(axis, tuple(int(i) for i in indices.ravel()), indices.shape), dtype, tmp_path
    )


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reflect", [True, False])
@pytest.mark.parametrize(
    "shape, paddings", [((1, 4, 5, 3), ((0, 0), (1, 2), (2, 0), (0, 1))), ((3, 4), ((2, 1), (0, 3))), ((5,), ((4, 3),))]
)
def test_mirror_pad(shape, paddings, reflect, dtype, tmp_path):
    if not reflect:  # SYMMETRIC may repeat the whole axis; REFLECT one less
        paddings = tuple((min(a, d), min(b, d)) for (a, b), d in zip(paddings, shape))
    out = tuple(d + a + b for d, (a, b) in zip(shape, paddings))
    _copy_case("mirror_pad", shape, out, ir.MirrorPad(paddings, reflect), dtype, tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, block", [((1, 3, 2, 8), 2), ((2, 2, 3, 18), 3), ((1, 1, 1, 4), 2)])
def test_depth_to_space(shape, block, dtype, tmp_path):
    n, h, w, c = shape
    _copy_case("depth_to_space", shape, (n, h * block, w * block, c // block**2), ir.BlockSize(block), dtype, tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, block", [((1, 4, 6, 3), 2), ((2, 6, 3, 2), 3), ((1, 2, 2, 1), 2)])
def test_space_to_depth(shape, block, dtype, tmp_path):
    n, h, w, c = shape
    _copy_case("space_to_depth", shape, (n, h // block, w // block, c * block**2), ir.BlockSize(block), dtype, tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("align_corners, half_pixel", [(False, False), (True, False), (False, True)])
@pytest.mark.parametrize(
    "shape, size", [((1, 3, 5, 2), (6, 10)), ((1, 7, 5, 3), (4, 9)), ((2, 4, 4, 1), (3, 3)), ((1, 1, 2, 3), (2, 1))]
)
def test_resize_bilinear(shape, size, align_corners, half_pixel, dtype, tmp_path):
    _copy_case(
        "resize_bilinear", shape, (shape[0], *size, shape[3]), ir.Resize(align_corners, half_pixel), dtype, tmp_path
    )


BATCH_SPACE_CASES = {  # input shape, block, crops: BATCH_TO_SPACE_ND
    "2x2": ((4, 3, 2, 5), (2, 2), ((0, 0), (0, 0))),
    "cropped, more batches": ((12, 2, 3, 2), (2, 3), ((1, 0), (2, 1))),
    "3-D": ((6, 4, 3), (3,), ((0, 2),)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", BATCH_SPACE_CASES)
def test_batch_to_space(case, dtype, tmp_path):
    shape, block, crops = BATCH_SPACE_CASES[case]
    spatial = tuple(d * b - top - bottom for d, b, (top, bottom) in zip(shape[1:], block, crops))
    out = (shape[0] // int(np.prod(block)), *spatial, shape[-1])
    attrs = ir.BatchSpace((block + (1,))[:2], (crops + ((0, 0),))[:2])
    _copy_case("batch_to_space", shape, out, attrs, dtype, tmp_path)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, block", [((1, 4, 6, 3), (2, 3)), ((2, 6, 2, 1), (3, 1)), ((1, 8, 5), (4,))])
def test_space_to_batch(shape, block, dtype, tmp_path):
    spatial = tuple(d // b for d, b in zip(shape[1:], block))
    out = (shape[0] * int(np.prod(block)), *spatial, shape[-1])
    _copy_case("space_to_batch", shape, out, ir.BatchSpace((block + (1,))[:2]), dtype, tmp_path)


CAST_PAIRS = [
    ("int8", "float32"),
    ("float32", "int8"),
    ("int8", "int16"),
    ("int16", "int8"),
    ("float32", "int32"),
    ("int32", "float32"),
    ("int32", "int8"),
    ("int16", "float32"),
]


@pytest.mark.parametrize("source, target", CAST_PAIRS)
def test_cast(source, target, tmp_path):
    """Values in every range the source holds (floats within int8's); CAST ignores the
    quantization integers carry."""
    m = RawModel()
    q = {"int8": (0.5, -3), "int16": (0.25, 0)}
    x, y = m.tensor((1, 5, 7, 3), source, quant=q.get(source)), m.tensor((1, 5, 7, 3), target, quant=q.get(target))
    m.op("CAST", [x], [y])
    model = tmp_path / "model.tflite"
    model.write_bytes(m.build([x], [y]))
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    runner = HostModel.build(out)
    rng = np.random.default_rng(4)
    info = np.iinfo(source) if source != "float32" else None
    values = (
        rng.integers(info.min, info.max, (1, 5, 7, 3), endpoint=True) if info else rng.uniform(-128, 127, (1, 5, 7, 3))
    )
    result = verify(out, "host", [[values.astype(source)]], runner=runner)
    assert result.mismatches == 0, f"max abs diff {result.max_abs_diff}"


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_zeros_like(dtype, tmp_path):
    """Raw zeros, not the zero point, written into the arena over earlier data (the
    reversals around it keep its output off the caller's zeroed buffer)."""
    m = RawModel()
    q = (0.05, -3) if dtype == "int8" else None
    x, y, w, z, out = (m.tensor((2, 3, 5), dtype, quant=q) for _ in range(5))
    axis = m.const([1])
    m.op("REVERSE_V2", [x, axis], [y])
    m.op("REVERSE_V2", [y, axis], [w])
    m.op("ZEROS_LIKE", [w], [z])
    m.op("REVERSE_V2", [z, axis], [out])
    _assert_raw_matches_oracle(m.build([x], [out]), tmp_path)


# --- ONNX counterparts, against onnxruntime ---------------------------------------------


def _onnx_after_conv(tmp_path, nodes, consts=(), channels=4, shape=(1, 2, 6, 4)):
    """x -> Conv (so the value is held NHWC) -> `nodes` -> y; `consts` are (name, int64 values)."""
    from .test_onnx import _check, _model, _w

    conv = helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1])
    inits = [("W", _w(channels, shape[1], 3, 3))] + [(name, np.array(v, np.int64)) for name, v in consts]
    _check(_model(tmp_path, [conv, *nodes], [("x", list(shape))], None, inits), tmp_path)


@pytest.mark.parametrize("axis, sizes", [(1, [1, 3]), (2, [4, 2]), (-1, [3, 1])])
def test_onnx_split(axis, sizes, tmp_path):
    nodes = [
        helper.make_node("Split", ["c", "sizes"], ["a", "b"], axis=axis),
        helper.make_node("Concat", ["b", "a"], ["y"], axis=axis),
    ]
    _onnx_after_conv(tmp_path, nodes, [("sizes", sizes)])


def test_onnx_tile(tmp_path):
    _onnx_after_conv(tmp_path, [helper.make_node("Tile", ["c", "repeats"], ["y"])], [("repeats", [1, 2, 1, 3])])


@pytest.mark.parametrize("op", ["DepthToSpace", "SpaceToDepth"])
def test_onnx_depth_space(op, tmp_path):
    _onnx_after_conv(tmp_path, [helper.make_node(op, ["c"], ["y"], blocksize=2)], channels=8)


@pytest.mark.parametrize("opname", ["SLICE", "RESIZE_NEAREST_NEIGHBOR"])
def test_int16_bytes_move_too(opname, tmp_path):
    """The byte movers are dtype-agnostic: int16 (16x8 models) as tflite-micro moves it."""
    m = RawModel()
    q = (0.001, 0)
    x, y = (
        m.tensor((1, 4, 5, 3), "int16", quant=q),
        m.tensor((1, 3, 7, 3) if opname == "RESIZE_NEAREST_NEIGHBOR" else (1, 2, 3, 2), "int16", quant=q),
    )
    if opname == "SLICE":
        m.op("SLICE", [x, m.const([0, 1, 2, 1]), m.const([1, 2, 3, 2])], [y], "SliceOptions")
    else:
        m.op(
            "RESIZE_NEAREST_NEIGHBOR", [x, m.const([3, 7])], [y], "ResizeNearestNeighborOptions", HalfPixelCenters=True
        )
    _assert_raw_matches_oracle(m.build([x], [y]), tmp_path)


def test_int16_mirror_pad_after_tile_runs_op_by_op(tmp_path):
    """tflite-micro lacks TILE and refuses an int16 MIRROR_PAD only when it invokes it: op
    by op, the pad then runs in LiteRT's reference kernels too (a failed probe before)."""
    g = OpGraph(seed=3, dtype="int16")
    x = g.input((1, 2, 3, 2), zero_point=0)
    tiled = g.movement("tile", [x], (1, 4, 3, 2), ir.Tile((1, 2, 1, 1)))
    padded = g.movement("mirror_pad", [tiled], (1, 5, 4, 2), ir.MirrorPad(((0, 0), (1, 0), (0, 1), (0, 0)), True))
    assert_matches_oracle(g.build(padded), tmp_path, oracle="tflite-micro op by op")


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_channel_shuffle_transposes_rank_5(dtype, tmp_path):
    """ShuffleNet's channel shuffle as Keras converts it: 1 x H x W x C to 1 x H x W x G x C/G,
    the last two axes swapped, back to 1 x H x W x C. The rank-5 transpose's leading axes
    merge: H*W rows of a G x C/G transpose."""
    g = OpGraph(seed=3, dtype=dtype)
    x = g.input((1, 3, 4, 6), zero_point=-3)
    grouped = g.movement("reshape", [x], (1, 3, 4, 2, 3), ir.NoAttrs())
    swapped = g.movement("transpose", [grouped], (1, 3, 4, 3, 2), ir.Transpose((0, 1, 2, 4, 3)))
    assert_matches_oracle(g.build(g.movement("reshape", [swapped], (1, 3, 4, 6), ir.NoAttrs())), tmp_path)


def test_a_transpose_of_five_axes_that_do_not_merge_is_refused(tmp_path):
    g = OpGraph(seed=3, dtype="int8")
    x = g.input((2, 3, 2, 3, 2), zero_point=-3)
    model = tmp_path / "transpose.tflite"
    model.write_bytes(
        write_tflite(g.build(g.movement("transpose", [x], (2, 3, 2, 3, 2), ir.Transpose((4, 3, 2, 1, 0)))))
    )
    with pytest.raises(ModelError, match="more than 4 axes that do not merge"):
        compile_model(model, board="host", out_dir=tmp_path / "out")


def copy_runs_graph(dtype: str) -> ir.Graph:
    """PADs, STRIDED_SLICEs and TRANSPOSEs whose copies the lowering merges into runs of
    every length: padding of the leading, an inner and the innermost axis (an int8 zero
    point away from 0 fills the border), slices of whole rows, of unit-stride rows and
    with strides above 1 or negative on the innermost axis; CONCATENATIONs of short and long
    rows; MIRROR_PADs with whole rows (aiotc_index_copy's copy) and with the innermost axis
    padded (its gather)."""
    g = OpGraph(seed=23, dtype=dtype)
    zp = -51 if dtype == "int8" else 0
    x = g.input((2, 5, 6, 3), zero_point=zp)
    seq = g.input((1, 16, 4), zero_point=zp)

    def pad(t, pads, kind="pad"):
        shape = tuple(d + a + b for d, (a, b) in zip(g.tensors[t].shape, pads))
        return g.movement(kind, [t], shape, ir.MirrorPad(pads, True) if kind == "mirror_pad" else ir.Pad(pads))

    def strided_slice(begin, end, strides):
        out = tuple(len(range(b, e, s)) for b, e, s in zip(begin, end, strides))
        return g.movement("strided_slice", [x], out, ir.StridedSlice(begin, end, strides))

    outs = [
        pad(x, ((1, 2), (0, 0), (0, 0), (0, 0))),  # whole images: one run
        pad(x, ((0, 0), (2, 1), (0, 0), (0, 0))),  # rows of 6x3
        pad(x, ((0, 0), (0, 0), (1, 2), (0, 0))),  # pixels of 3
        pad(x, ((0, 0), (0, 0), (0, 0), (2, 1))),  # the innermost axis
        pad(x, ((1, 0), (1, 2), (2, 1), (1, 1))),  # every axis
        pad(seq, ((0, 0), (3, 0), (0, 0))),  # a causal Conv1D's
        strided_slice((0, 2, 0, 0), (2, 5, 6, 3), (1, 1, 1, 1)),  # whole rows
        strided_slice((1, 1, 1, 0), (2, 5, 6, 3), (1, 2, 1, 1)),  # unit stride: pixels merged
        strided_slice((0, 0, 0, 0), (2, 5, 6, 3), (1, 1, 2, 2)),  # stride 2 innermost
        strided_slice((1, 4, 5, 2), (-1, -1, -1, -1), (-1, -1, -1, -1)),  # every axis reversed
        g.movement("transpose", [x], (2, 6, 5, 3), ir.Transpose((0, 2, 1, 3))),  # pixels stay whole
        g.movement("transpose", [x], (2, 3, 5, 6), ir.Transpose((0, 3, 1, 2))),
        g.movement("concat", [x, x], (2, 5, 6, 6), ir.Concat(3)),  # rows of 3 elements
    ]
    outs.append(g.movement("concat", [x, outs[6]], (2, 8, 6, 3), ir.Concat(1)))  # images of 90 and 54
    eight = g.input((2, 3, 2, 10), zero_point=zp)
    outs.append(g.movement("concat", [eight, eight], (2, 3, 2, 20), ir.Concat(3)))  # short runs: words and a tail
    outs.append(g.movement("concat", [eight, eight, eight], (2, 3, 2, 30), ir.Concat(3)))  # three inputs
    if dtype != "int16":  # tflite-micro's MIRROR_PAD has no int16
        outs += [
            pad(x, ((0, 0), (2, 1), (1, 2), (0, 0)), "mirror_pad"),
            pad(x, ((0, 0), (0, 0), (1, 0), (2, 1)), "mirror_pad"),
        ]
    return g.build(*outs)


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_copy_runs_match_the_oracle(dtype, tmp_path):
    assert_matches_oracle(copy_runs_graph(dtype), tmp_path)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_copy_runs_match_the_oracle_in_qemu(dtype, board, tmp_path):
    """The MVE copies (vector loops of 64 bytes and a predicated tail) and newlib's."""
    kernels = {"aiotc_pad", "aiotc_strided_copy", "aiotc_concat"} | (
        {"aiotc_index_copy"} if dtype != "int16" else set()
    )
    assert_matches_oracle_in_qemu(copy_runs_graph(dtype), board, tmp_path, kernels)
