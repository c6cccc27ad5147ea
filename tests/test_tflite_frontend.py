"""TFLite models as converters other than aiotc's writer produce them: shape subgraphs
evaluated at compile time, dynamic batch and placeholder shapes, tensors without names,
odd quantization fields; each compiled and compared with tflite-micro where it runs
the file, and the refusals that remain listed by op name."""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.driver import compile_model
from aiotc.errors import ModelError, UnsupportedOpsError
from aiotc.frontend import load_model
from aiotc.frontend import tflite as tflite_frontend
from aiotc.oracle import run_oracle
from aiotc.passes import run_passes
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .conftest import aiotc
from .tflite_raw import RawModel


def keras_flatten(dynamic_batch=False, placeholders=False, names=True) -> bytes:
    """x (1x4x4x2 int8) -> Flatten as Keras 3 writes it -> fully connected (5 units):
    the target shape is PACK(SHAPE(x)[0], SHAPE(x)[1] x 8). `dynamic_batch`
    writes -1 batches in the signatures; `placeholders` also declares the flattened and
    output tensors 1x1 with signature [-1, -1], as exports of dynamic graphs do."""
    rng = np.random.default_rng(7)
    m = RawModel()
    name = {} if names else {"name": None}
    batch = -1 if dynamic_batch else 1
    x = m.tensor((1, 4, 4, 2), "int8", quant=(0.05, -3), signature=(batch, 4, 4, 2), **name)
    shape, batch_size, rows, count, target = (m.tensor(s, "int32", **name) for s in [(4,), (), (), (), (2,)])
    m.op("SHAPE", [x], [shape], "ShapeOptions", OutType=2)
    m.op(
        "STRIDED_SLICE",
        [shape, m.const([0], **name), m.const([1], **name), m.const([1], **name)],
        [batch_size],
        "StridedSliceOptions",
        ShrinkAxisMask=1,
    )
    m.op(
        "STRIDED_SLICE",
        [shape, m.const([1], **name), m.const([2], **name), m.const([1], **name)],
        [rows],
        "StridedSliceOptions",
        ShrinkAxisMask=1,
    )
    m.op("MUL", [rows, m.const(8, **name)], [count], "MulOptions")
    m.op("PACK", [batch_size, count], [target], "PackOptions", ValuesCount=2, Axis=0)
    flat_shape, out_shape = ((1, 1), (1, 1)) if placeholders else ((1, 32), (1, 5))
    flat = m.tensor(flat_shape, "int8", quant=(0.05, -3), signature=(batch, -1 if placeholders else 32), **name)
    m.op("RESHAPE", [x, target], [flat])
    weights = m.const(rng.integers(-127, 128, (5, 32)), "int8", quant=(0.01, 0), **name)
    bias = m.const(rng.integers(-2000, 2000, 5), "int32", quant=(0.0005, 0), **name)
    y = m.tensor(out_shape, "int8", quant=(0.1, 2), signature=(batch, -1 if placeholders else 5), **name)
    m.op("FULLY_CONNECTED", [flat, weights, bias], [y], "FullyConnectedOptions")
    return m.build([x], [y])


def _write(tmp_path, data: bytes, stem: str = "model"):
    path = tmp_path / f"{stem}.tflite"
    path.write_bytes(data)
    return path


def _matches_tflite_micro(path, tmp_path, oracle_path=None) -> None:
    """Compile for the host; every output byte equals tflite-micro's on the (oracle) model."""
    out = compile_model(path, board="host", out_dir=tmp_path / f"out_{path.stem}").out_dir
    runner = HostModel.build(out)
    samples = random_samples(runner.inputs, 4, seed=1)
    if oracle_path is None:
        result = verify(out, "host", samples, runner=runner)
        assert result.oracle == "tflite-micro" and result.mismatches == 0, result
        return
    for sample in samples:
        expected = run_oracle(oracle_path, sample)
        assert expected.name == "tflite-micro"
        for got, want in zip(runner.invoke(sample), expected.outputs):
            np.testing.assert_array_equal(got.reshape(want.shape), want)


@pytest.mark.parametrize("dynamic_batch", [False, True], ids=["static", "dynamic batch"])
def test_keras_flatten_shape_subgraph_is_folded(dynamic_batch, tmp_path):
    path = _write(tmp_path, keras_flatten(dynamic_batch))
    graph = load_model(path)
    assert [op.kind for op in graph.ops] == ["reshape", "fully_connected"]
    assert graph[graph.ops[0].outputs[0]].shape == (1, 32)
    _matches_tflite_micro(path, tmp_path)


def test_placeholder_shapes_take_the_shapes_their_ops_compute(tmp_path):
    """Declared 1x1 with signature [-1, -1]: the reshape and the fully connected layer settle
    them to 1x32 and 1x5, and the C equals tflite-micro on the same model declared static."""
    path = _write(tmp_path, keras_flatten(True, placeholders=True))
    graph = load_model(path)
    assert [graph[op.outputs[0]].shape for op in graph.ops] == [(1, 32), (1, 5)]
    _matches_tflite_micro(path, tmp_path, oracle_path=_write(tmp_path, keras_flatten(True), "static"))


def dense_on_a_sequence(placeholders: bool) -> bytes:
    """x (1x6x4) -> reshape [-1, 4] -> fully connected (5 units) -> reshape [1, 6, 5], as
    Keras writes a Dense layer on 3-D inputs; with `placeholders` the two middle tensors
    are declared [1, 4] and [1, 5] with signatures [-1, 4] and [-1, 5], whose -1 is 6."""
    rng = np.random.default_rng(5)
    m = RawModel()
    x = m.tensor((1, 6, 4), "int8", quant=(0.05, 4))
    rows = m.tensor(
        (1, 4) if placeholders else (6, 4), "int8", quant=(0.05, 4), signature=(-1, 4) if placeholders else None
    )
    m.op("RESHAPE", [x, m.const([-1, 4])], [rows])
    weights = m.const(rng.integers(-127, 128, (5, 4)), "int8", quant=(0.02, 0))
    dense = m.tensor(
        (1, 5) if placeholders else (6, 5), "int8", quant=(0.08, -1), signature=(-1, 5) if placeholders else None
    )
    m.op("FULLY_CONNECTED", [rows, weights, -1], [dense], "FullyConnectedOptions")
    y = m.tensor((1, 6, 5), "int8", quant=(0.08, -1))
    m.op("RESHAPE", [dense, m.const([1, 6, 5])], [y])
    return m.build([x], [y])


def test_an_open_first_dimension_is_not_always_the_batch(tmp_path):
    path = _write(tmp_path, dense_on_a_sequence(placeholders=True))
    graph = load_model(path)
    assert [graph[op.outputs[0]].shape for op in graph.ops] == [(6, 4), (6, 5), (1, 6, 5)]
    _matches_tflite_micro(
        path, tmp_path, oracle_path=_write(tmp_path, dense_on_a_sequence(placeholders=False), "static")
    )


def conv_then_mean(placeholders: bool) -> bytes:
    """x (1x5x5x3) -> conv 3x3 SAME stride 2 (4 channels) -> mean over H, W; with
    `placeholders` the conv's and the mean's outputs are declared all 1 with signatures of -1."""
    rng = np.random.default_rng(6)
    m = RawModel()
    x = m.tensor((1, 5, 5, 3), "int8", quant=(0.05, 2))
    weights = m.const(rng.integers(-127, 128, (4, 3, 3, 3)), "int8", quant=(0.01, 0))
    bias = m.const(rng.integers(-500, 500, 4), "int32", quant=(0.0005, 0))
    conv = m.tensor(
        (1, 1, 1, 1) if placeholders else (1, 3, 3, 4),
        "int8",
        quant=(0.1, -4),
        signature=(-1, -1, -1, -1) if placeholders else None,
    )
    m.op(
        "CONV_2D",
        [x, weights, bias],
        [conv],
        "Conv2DOptions",
        Padding=0,
        StrideH=2,
        StrideW=2,
        DilationHFactor=1,
        DilationWFactor=1,
    )
    y = m.tensor(
        (1, 1) if placeholders else (1, 4), "int8", quant=(0.1, -4), signature=(-1, -1) if placeholders else None
    )
    m.op("MEAN", [conv, m.const([1, 2])], [y], "ReducerOptions", KeepDims=False)
    return m.build([x], [y])


def test_placeholders_settle_through_the_checks_shape_rules(tmp_path):
    path = _write(tmp_path, conv_then_mean(placeholders=True))
    graph = load_model(path)
    assert [graph[op.outputs[0]].shape for op in graph.ops] == [(1, 3, 3, 4), (1, 4)]
    _matches_tflite_micro(path, tmp_path, oracle_path=_write(tmp_path, conv_then_mean(placeholders=False), "static"))


def test_tensors_without_names(tmp_path):
    path = _write(tmp_path, keras_flatten(names=False))
    graph = load_model(path)
    assert graph.inputs == ("tensor0",) and len(set(graph.tensors)) == len(graph.tensors)
    _matches_tflite_micro(path, tmp_path)


def softmax_after_a_shape_subgraph() -> bytes:
    """x (free batch, int8) -> Keras' reshape to [batch, 10] through SHAPE/PACK -> SOFTMAX
    whose input scale is tiny (7.8e-9, a classifier of random weights): tflite-micro and
    LiteRT's reference kernels abort in the softmax's prepare (a multiplier below one), and
    LiteRT runs that prepare only when invoked, the reshape's shape being computed."""
    m = RawModel()
    tiny = 7.84313680668447e-09
    x = m.tensor((1, 1, 1, 10), "int8", quant=(tiny, 0), signature=(-1, 1, 1, 10))
    shape, batch, target = m.tensor((4,), "int32"), m.tensor((), "int32"), m.tensor((2,), "int32")
    m.op("SHAPE", [x], [shape], "ShapeOptions", OutType=2)
    ends = [m.const([0]), m.const([1]), m.const([1])]
    m.op("STRIDED_SLICE", [shape, *ends], [batch], "StridedSliceOptions", ShrinkAxisMask=1)
    m.op("PACK", [batch, m.const(10)], [target], "PackOptions", ValuesCount=2, Axis=0)
    flat = m.tensor((1, 10), "int8", quant=(tiny, 0), signature=(-1, 10))
    m.op("RESHAPE", [x, target], [flat])
    y = m.tensor((1, 10), "int8", quant=(1 / 256, -128), signature=(-1, 10))
    m.op("SOFTMAX", [flat], [y], "SoftmaxOptions", Beta=1.0)
    return m.build([x], [y])


def test_an_oracle_that_aborts_when_invoked_is_passed_over(tmp_path):
    """verify asks LiteRT's optimized kernels (which take the tiny scale), not an oracle
    that loads the model and then takes the process down on the first invoke."""
    out = compile_model(
        _write(tmp_path, softmax_after_a_shape_subgraph()), board="host", out_dir=tmp_path / "o"
    ).out_dir
    result = verify(out, "host", random_samples(HostModel.build(out).inputs, 8, seed=1))
    assert result.oracle == "litert" and result.samples == 8 and result.mismatches == 0, result


def tiled_then_dense() -> bytes:
    """x (int8) -> RESHAPE -> TILE -> RESHAPE (UpSampling2D as Keras writes it; tflite-micro
    has no TILE) -> FULLY_CONNECTED, which LiteRT's reference kernels round apart from
    tflite-micro's (once, not twice)."""
    rng = np.random.default_rng(3)
    m = RawModel()
    x = m.tensor((1, 2, 2, 3), "int8", quant=(0.05, -3))
    view = m.tensor((1, 2, 1, 2, 1, 3), "int8", quant=(0.05, -3))
    m.op("RESHAPE", [x, m.const([1, 2, 1, 2, 1, 3])], [view])
    tiled = m.tensor((1, 2, 2, 2, 2, 3), "int8", quant=(0.05, -3))
    m.op("TILE", [view, m.const([1, 1, 2, 1, 2, 1])], [tiled])
    rows = m.tensor((16, 3), "int8", quant=(0.05, -3))
    m.op("RESHAPE", [tiled, m.const([16, 3])], [rows])
    weights = m.const(rng.integers(-127, 128, (5, 3)), "int8", quant=(0.013, 0))
    bias = m.const(rng.integers(-500, 500, 5), "int32", quant=(0.05 * 0.013, 0))
    y = m.tensor((16, 5), "int8", quant=(0.021, 4))
    m.op("FULLY_CONNECTED", [rows, weights, bias], [y], "FullyConnectedOptions")
    return m.build([x], [y])


def test_an_op_tflite_micro_lacks_leaves_it_the_oracle_op_by_op(tmp_path):
    """The TILE runs in LiteRT, the reshapes and the fully connected layer in tflite-micro:
    every output byte equals (LiteRT alone differs by one on some inputs)."""
    out = compile_model(_write(tmp_path, tiled_then_dense()), board="host", out_dir=tmp_path / "o").out_dir
    result = verify(out, "host", random_samples(HostModel.build(out).inputs, 20, seed=1))
    assert result.oracle == "tflite-micro op by op" and result.mismatches == 0 and result.max_abs_diff == 0, result


def test_expand_dims_and_squeeze_become_reshapes(tmp_path):
    m = RawModel()
    x = m.tensor((1, 6), "int8", quant=(0.05, 1))
    wide = m.tensor((1, 1, 6), "int8", quant=(0.05, 1))
    m.op("EXPAND_DIMS", [x, m.const(-2)], [wide])
    y = m.tensor((1, 6), "int8", quant=(0.05, 1))
    m.op("SQUEEZE", [wide], [y], "SqueezeOptions", SqueezeDims=[1])
    z = m.tensor((1, 6), "int8", quant=(0.05, 1))
    m.op("RELU", [y], [z])
    path = _write(tmp_path, m.build([x], [z]))
    assert [op.kind for op in load_model(path).ops] == ["reshape", "reshape", "relu"]
    _matches_tflite_micro(path, tmp_path)


def test_bias_scales_with_a_quantized_dimension_outside_its_shape(tmp_path):
    """An older converter's per-channel bias says quantized_dimension 3 on its one axis;
    tflite-micro never reads it, so aiotc takes the scales per element too."""
    rng = np.random.default_rng(3)
    m = RawModel()
    x = m.tensor((1, 5, 5, 3), "int8", quant=(0.04, -10))
    w_scales = rng.uniform(0.005, 0.02, 4)
    weights = m.const(rng.integers(-127, 128, (4, 3, 3, 3)), "int8", quant=(w_scales, 0, 0))
    bias = m.const(rng.integers(-3000, 3000, 4), "int32", quant=(0.04 * w_scales, 0, 3))
    y = m.tensor((1, 5, 5, 4), "int8", quant=(0.2, 5))
    m.op(
        "CONV_2D",
        [x, weights, bias],
        [y],
        "Conv2DOptions",
        Padding=0,
        StrideH=1,
        StrideW=1,
        DilationHFactor=1,
        DilationWFactor=1,
    )
    path = _write(tmp_path, m.build([x], [y]))
    _matches_tflite_micro(path, tmp_path)


def test_unsupported_ops_are_named_with_options_or_unknown_codes(tmp_path):
    """SVDF (options aiotc never reads), a builtin code newer than the schema and a custom
    op without its name are listed."""
    m = RawModel()
    x, y, z, w = (m.tensor((1, 4), "float32") for _ in range(4))
    m.op(
        "SVDF",
        [x, m.const(np.ones((4, 4)), "float32"), m.const(np.ones((4, 1)), "float32")],
        [y],
        "SVDFOptions",
        Rank=1,
    )
    m.op(400, [y], [z])
    m.op("CUSTOM", [z], [w])
    with pytest.raises(UnsupportedOpsError) as info:
        load_model(_write(tmp_path, m.build([x], [w])))
    assert [p.split(" (")[0] for p in info.value.problems] == [
        "SVDF at op 0",
        "BUILTIN_400 at op 1",
        "CUSTOM:? at op 2",
    ]


def test_uint32_constants_are_folded(tmp_path):
    """A UINT32 shape cast to INT32 (as the signal library's models write them) is a constant like any other."""
    m = RawModel()
    x, target, y = m.tensor((1, 6), "float32"), m.tensor((2,), "int32"), m.tensor((2, 3), "float32")
    m.op("CAST", [m.const([2, 3], "uint32")], [target])
    m.op("RESHAPE", [x, target], [y])
    graph = load_model(_write(tmp_path, m.build([x], [y])))
    assert [op.kind for op in graph.ops] == ["reshape"] and graph[graph.outputs[0]].shape == (2, 3)


def test_uint32_computed_at_run_time_is_refused(tmp_path):
    m = RawModel()
    x, energy, y = m.tensor((4,), "int32"), m.tensor((4,), "uint32", name="energy"), m.tensor((4,), "int32")
    m.op("CAST", [x], [energy])
    m.op("CAST", [energy], [y])
    run = aiotc("compile", _write(tmp_path, m.build([x], [y])), "-o", tmp_path / "out")
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "'energy' has type UINT32 and is computed at run time" in run.stderr


def test_ops_making_values_of_unknown_types_are_named_first(tmp_path):
    """A UINT64 value between custom signal ops: the refusal lists the ops, not the type."""
    m = RawModel()
    x, bank, y = m.tensor((4,), "int16"), m.tensor((4,), "uint64"), m.tensor((4,), "uint32")
    m.op("CUSTOM", [x], [bank])
    m.op("CUSTOM", [bank], [y])
    with pytest.raises(UnsupportedOpsError) as info:
        load_model(_write(tmp_path, m.build([x], [y])))
    assert [p.split(" (")[0] for p in info.value.problems] == ["CUSTOM:? at op 0", "CUSTOM:? at op 1"]


def test_a_shape_computed_from_a_dynamic_tensor_is_refused_by_name(tmp_path):
    """SHAPE of a tensor whose shape stays dynamic (no op settles a graph input's)."""
    m = RawModel()
    x = m.tensor((1, 1), "float32", signature=(1, -1))
    shape = m.tensor((2,), "int32")
    m.op("SHAPE", [x], [shape], "ShapeOptions", OutType=2)
    with pytest.raises(UnsupportedOpsError, match="SHAPE at op 0 .*only on constants"):
        load_model(_write(tmp_path, m.build([x], [shape])))


def test_a_reading_failure_on_a_valid_file_is_an_internal_error(tmp_path, monkeypatch):
    """A bug in a converter is reported as aiotc's (the CLI says: please report it), not as a corrupt file."""

    def broken(*args):
        raise AttributeError("'NoneType' object has no attribute 'decode'")

    monkeypatch.setitem(tflite_frontend._CONVERTERS, "FULLY_CONNECTED", broken)
    with pytest.raises(RuntimeError, match="failed to read this valid TFLite model"):
        load_model(_write(tmp_path, keras_flatten()))


def test_an_op_without_the_operands_it_reads_is_a_model_error(tmp_path):
    m = RawModel()
    x = m.tensor((1, 4, 4, 1), "float32")
    y = m.tensor((1, 4, 4, 1), "float32")
    m.op("CONV_2D", [x], [y], "Conv2DOptions", StrideH=1, StrideW=1)
    with pytest.raises(ModelError, match=r"CONV_2D at op 0 .* needs 2 input\(s\)"):
        load_model(_write(tmp_path, m.build([x], [y])))


def test_constants_an_evaluator_cannot_combine_are_a_model_error(tmp_path):
    m = RawModel()
    x = m.tensor((1, 4), "float32")
    packed = m.tensor((2, 2), "int32")
    m.op("PACK", [m.const([1, 2]), m.const([1, 2, 3])], [packed], "PackOptions", ValuesCount=2, Axis=0)
    y = m.tensor((1, 4), "float32")
    m.op("RESHAPE", [x, packed], [y])
    with pytest.raises(ModelError, match="PACK at op 0 .* cannot be evaluated on its constants"):
        load_model(_write(tmp_path, m.build([x], [y])))


def test_a_shape_that_contradicts_its_signature_is_a_model_error(tmp_path):
    """Only the signature's -1 dimensions are open: a static one must match the shape."""
    m = RawModel()
    x = m.tensor((1, 4), "float32", signature=(-1, 4))
    y = m.tensor((1, 7), "float32", signature=(-1, 4))
    m.op("RELU", [x], [y])
    with pytest.raises(ModelError, match=r"has shape \[1, 7\] but signature \[-1, 4\]"):
        load_model(_write(tmp_path, m.build([x], [y])))


FOLDED = {
    "FILL": (lambda m: _op(m, "FILL", [m.const([2, 3]), m.const(7)], (2, 3)), [[7, 7, 7], [7, 7, 7]]),
    "TILE": (lambda m: _op(m, "TILE", [m.const([[1, 2]]), m.const([2, 2])], (2, 4)), [[1, 2, 1, 2], [1, 2, 1, 2]]),
    "CONCATENATION relu6": (
        lambda m: _op(
            m,
            "CONCATENATION",
            [m.const([-3, 9]), m.const([4])],
            (3,),
            "ConcatenationOptions",
            Axis=0,
            FusedActivationFunction=3,
        ),
        [0, 6, 4],
    ),
    "GATHER": (
        lambda m: _op(m, "GATHER", [m.const([5, 6, 7, 8]), m.const([3, 0, 1])], (3,), "GatherOptions", Axis=0),
        [8, 5, 6],
    ),
    "STRIDED_SLICE ::-2": (
        lambda m: _op(
            m,
            "STRIDED_SLICE",
            [m.const([0, 1, 2, 3, 4]), m.const([-1]), m.const([0]), m.const([-2])],
            (3,),
            "StridedSliceOptions",
            EndMask=1,
        ),
        [4, 2, 0],
    ),
    "FLOOR_DIV": (lambda m: _op(m, "FLOOR_DIV", [m.const([-7, 7]), m.const([2, 2])], (2,)), [-4, 3]),
    "TRANSPOSE": (lambda m: _op(m, "TRANSPOSE", [m.const([[1, 2, 3]]), m.const([1, 0])], (3, 1)), [[1], [2], [3]]),
    "SUM keepdims": (
        lambda m: _op(m, "SUM", [m.const([[1, 2], [3, 4]]), m.const([0])], (1, 2), "ReducerOptions", KeepDims=True),
        [[4, 6]],
    ),
    "SUB relu": (
        lambda m: _op(m, "SUB", [m.const([1, 5]), m.const([3, 3])], (2,), "SubOptions", FusedActivationFunction=1),
        [0, 2],
    ),
    "PACK axis 1": (
        lambda m: _op(m, "PACK", [m.const([1, 2]), m.const([3, 4])], (2, 2), "PackOptions", ValuesCount=2, Axis=1),
        [[1, 3], [2, 4]],
    ),
}


def _op(m, opname, inputs, shape, options=None, **fields):
    out = m.tensor(shape, "int32")
    m.op(opname, inputs, [out], options, **fields)
    return out


@pytest.mark.parametrize("case", FOLDED, ids=list(FOLDED))
def test_ops_on_constants_evaluate_as_tflite_defines_them(case, tmp_path):
    """Each evaluator's value, read where an ADD uses it (load_tflite: no dtype checks)."""
    build, expected = FOLDED[case]
    m = RawModel()
    value = build(m)
    shape = np.asarray(expected).shape
    x, y = m.tensor(shape, "int32"), m.tensor(shape, "int32")
    m.op("ADD", [x, value], [y], "AddOptions")
    graph = tflite_frontend.load_tflite(_write(tmp_path, m.build([x], [y])))
    assert [op.kind for op in graph.ops] == ["add"]
    np.testing.assert_array_equal(graph[graph.ops[0].inputs[1]].data, expected)


def keras_upsampling(int8: bool, twin: bool) -> bytes:
    """conv -> UpSampling2D((2, 3)) -> conv as the TFLite converter writes it (RESHAPE ->
    TILE -> RESHAPE through rank 5, per image axis); the `twin` resizes with
    tf.image.resize(nearest) instead: RESIZE_NEAREST_NEIGHBOR, which tflite-micro runs
    (it has no TILE), with the same weights and the same quantization."""
    import keras
    import tensorflow as tf
    from keras import layers

    keras.utils.set_random_seed(4)
    x = inp = keras.Input((6, 5, 3), batch_size=1)
    x = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
    if twin:
        x = layers.Lambda(lambda t: tf.image.resize(t, (12, 15), method="nearest"))(x)
    else:
        x = layers.UpSampling2D((2, 3))(x)
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inp, layers.Conv2D(2, 3)(x)))
    if int8:
        rng = np.random.default_rng(0)
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: (
            [rng.normal(0, 1, (1, 6, 5, 3)).astype(np.float32)] for _ in range(8)
        )
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = converter.inference_output_type = tf.int8
    return converter.convert()


@pytest.mark.parametrize("int8", [True, False], ids=["int8", "float"])
def test_keras_upsampling_runs_as_a_nearest_resize(int8, tmp_path):
    """The rank-5 tiles become resize_nearest: int8 equals tflite-micro on the resizing
    twin, float is within tolerance of LiteRT on the model itself."""
    path = _write(tmp_path, keras_upsampling(int8, twin=False))
    kinds = [op.kind for op in run_passes(load_model(path)).ops]
    assert kinds == ["conv2d", "resize_nearest", "resize_nearest", "conv2d"], kinds
    if int8:
        _matches_tflite_micro(path, tmp_path, oracle_path=_write(tmp_path, keras_upsampling(True, twin=True), "twin"))
        return
    out = compile_model(path, board="host", out_dir=tmp_path / "out").out_dir
    result = verify(out, "host", random_samples(HostModel.build(out).inputs, 3, seed=1))
    assert result.oracle == "litert-ref" and result.samples == 3 and result.mismatches == 0, result
