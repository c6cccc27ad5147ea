"""Hybrid ("dynamic-range") models: float32 activations, quantized weights, compiled as the
float model with the weights dequantized at compile time (aiotc/frontend/hybrid.py).

The Keras model's weights are multiples of a power of two 2^-e reaching 127 * 2^-e in every
output channel: the converter's int8 scales are then exactly 2^-e and float16 holds them exactly, so the
LiteRT output of the *float* conversion is an oracle independent of aiotc's own float copy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from aiotc import ir
from aiotc.driver import compile_model
from aiotc.errors import UnsupportedOpsError
from aiotc.frontend import load_model
from aiotc.frontend.hybrid import dequantize_weights
from aiotc.oracle import run_oracle
from aiotc.quantize import Calibration
from aiotc.samples import random_samples
from aiotc.verification import FLOAT_TOLERANCE, build_runner, verify

from .conftest import aiotc, shared_model, verify_folder

KWS = "mlperf_tiny/kws_ref_model_float32.tflite"


def _representable(shape: tuple[int, ...], channels: int, rng) -> np.ndarray:
    """Weights k * 2^-e, |k| <= 127, with 127 reached in each of the `channels` output channels
    (Keras's last axes: conv's filters, depthwise's channels x multipliers, dense's units)."""
    k = rng.integers(-126, 127, size=shape)
    k.reshape(-1, channels)[0] = 127
    scales = 0.5 ** (7 + np.arange(channels) % 3)  # a scale per channel: 2^-7, 2^-8, 2^-9
    return (k.reshape(-1, channels) * scales).reshape(shape).astype(np.float32)


def _bias(count: int, rng) -> np.ndarray:
    return (rng.integers(-64, 64, size=count) / 32.0).astype(np.float32)


def _keras_model():
    import tensorflow as tf

    rng = np.random.default_rng(3)
    image = tf.keras.Input((10, 10, 4), batch_size=1)
    conv = tf.keras.layers.Conv2D(36, 3, activation="relu")
    depthwise = tf.keras.layers.DepthwiseConv2D(3, depth_multiplier=4)  # 3*3*36*4 weights: over the 1024 threshold
    dense = tf.keras.layers.Dense(20)
    x = conv(image)
    x = depthwise(x)
    outputs = dense(tf.keras.layers.Flatten()(x))
    model = tf.keras.Model(image, outputs)
    conv.set_weights([_representable((3, 3, 4, 36), 36, rng), _bias(36, rng)])
    depthwise.set_weights([_representable((3, 3, 36, 4), 144, rng), _bias(144, rng)])
    dense.set_weights([_representable((36 * 144, 20), 20, rng) / 16, _bias(20, rng)])
    return model


def _convert(model, path: Path, optimize: bool = True, float16: bool = False) -> Path:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if optimize:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]  # no representative dataset: hybrid
    if float16:
        converter.target_spec.supported_types = [tf.float16]
    path.write_bytes(converter.convert())
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("tensorflow")
    folder = tmp_path_factory.mktemp("hybrid")
    model = _keras_model()
    return {
        "float": _convert(model, folder / "float.tflite", optimize=False),
        "int8": _convert(model, folder / "hybrid_int8.tflite"),
        "float16": _convert(model, folder / "hybrid_float16.tflite", float16=True),
    }


@pytest.mark.parametrize("kind, stored", [("int8", "int8"), ("float16", "float16")])
def test_hybrid_model_compiles_as_the_float_model(models, tmp_path, kind, stored):
    """Conv, depthwise and fully connected weights stored int8 per channel (or float16 behind
    DEQUANTIZE): the C matches LiteRT on the float conversion within the float tolerance."""
    graph = load_model(models[kind])
    assert {dtype for dtype, _ in graph.dequantized.values()} == {stored}
    assert len(graph.dequantized) == (3 if kind == "int8" else 6)  # float16: the biases too
    assert all(t.dtype in ("float32", "int32") for t in graph.tensors.values())
    assert all(op.kind != "dequantize" for op in graph.ops)
    result = compile_model(models[kind], board="host", out_dir=tmp_path / "out")
    runner = build_runner(result.out_dir, "host")
    worst = 0.0
    for sample in random_samples(runner.inputs, 3, seed=2):
        got = runner.invoke(sample)[0]
        want = run_oracle(models["float"], sample).outputs[0]
        span = float(want.max() - want.min())
        worst = max(worst, float(np.max(np.abs(got - want))) / span)
    assert worst <= FLOAT_TOLERANCE, worst
    checked = verify_folder(result.out_dir, samples=3)
    assert checked.ok and checked.oracle == "litert-ref" and checked.hybrid_max_abs_diff is not None, checked
    figures = result.report["dequantized"]
    assert figures["float32_bytes"] == figures["stored_bytes"] * (4 if kind == "int8" else 2)


def _onnx_float_model(path: Path, conv: np.ndarray, dense: np.ndarray) -> Path:
    """Conv (NCHW input) -> Relu -> Reshape -> MatMul with these weights."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    constants = [
        numpy_helper.from_array(conv, "W"),
        numpy_helper.from_array(np.linspace(-1, 1, 6, dtype=np.float32), "B"),
        numpy_helper.from_array(dense, "M"),
        numpy_helper.from_array(np.array([1, -1], np.int64), "S"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Reshape", ["r", "S"], ["f"]),
        helper.make_node("MatMul", ["f", "M"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        constants,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("weight_type, per_channel", [("QInt8", False), ("QUInt8", False), ("QInt8", True)])
def test_onnx_dynamic_quantized_model_compiles_as_the_float_model(tmp_path, weight_type, per_channel):
    """onnxruntime's quantize_dynamic (DynamicQuantizeLinear, ConvInteger, MatMulInteger; uint8
    weights with zero points, per-channel scales): the C matches onnxruntime on the float model whose weights
    are the dynamic model's, dequantized here, within the float tolerance."""
    import onnx
    from onnx import numpy_helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(4)
    conv, dense = rng.standard_normal((6, 3, 3, 3)), rng.standard_normal((216, 10)) / 8
    source = _onnx_float_model(tmp_path / "source.onnx", conv.astype(np.float32), dense.astype(np.float32))
    dynamic = tmp_path / "dynamic.onnx"
    quantize_dynamic(
        source,
        dynamic,
        weight_type=QuantType[weight_type],
        op_types_to_quantize=["Conv", "MatMul"],
        per_channel=per_channel,
    )
    stored = {t.name: numpy_helper.to_array(t) for t in onnx.load(dynamic).graph.initializer}
    w, m = (
        stored[f"{n}_scale"] * (stored[f"{n}_quantized"].astype(np.float64) - stored[f"{n}_zero_point"]) for n in "WM"
    )
    oracle = _onnx_float_model(tmp_path / "float.onnx", w.astype(np.float32), m.astype(np.float32))
    stored_as = "int8" if weight_type == "QInt8" else "uint8"
    assert load_model(dynamic).dequantized == {"W_quantized": (stored_as, 162), "M_quantized": (stored_as, 2160)}
    result = compile_model(dynamic, board="host", out_dir=tmp_path / "out")
    runner = build_runner(result.out_dir, "host")
    for sample in random_samples(runner.inputs, 3, seed=2):
        got = runner.invoke(sample)[0]
        want = run_oracle(oracle, [sample[0].transpose(0, 3, 1, 2)]).outputs[0]
        assert np.max(np.abs(got - want)) <= FLOAT_TOLERANCE * float(want.max() - want.min())
    checked = verify_folder(result.out_dir, samples=3)
    assert checked.ok and checked.hybrid_oracle == "onnxruntime" and checked.hybrid_max_abs_diff > 0, checked


def test_onnx_dynamic_quantized_input_read_elsewhere_stays(tmp_path):
    """A DynamicQuantizeLinear whose quantized output another op also reads (here a Cast, an
    extra model output) keeps its real scale: the graph is not rewritten, and the model is
    refused for its integer ops, never called corrupt."""
    import onnx
    from onnx import TensorProto, helper
    from onnxruntime.quantization import QuantType, quantize_dynamic

    rng = np.random.default_rng(4)
    conv, dense = rng.standard_normal((6, 3, 3, 3)), rng.standard_normal((216, 10)) / 8
    source = _onnx_float_model(tmp_path / "source.onnx", conv.astype(np.float32), dense.astype(np.float32))
    dynamic = tmp_path / "dynamic.onnx"
    quantize_dynamic(source, dynamic, weight_type=QuantType.QUInt8, op_types_to_quantize=["Conv"])
    model = onnx.load(dynamic)
    quantized_x = next(n for n in model.graph.node if n.op_type == "DynamicQuantizeLinear").output[0]
    model.graph.node.append(helper.make_node("Cast", [quantized_x], ["seen"], to=TensorProto.FLOAT))
    model.graph.output.append(helper.make_tensor_value_info("seen", TensorProto.FLOAT, [1, 3, 8, 8]))
    onnx.save(model, tmp_path / "shared.onnx")
    with pytest.raises(UnsupportedOpsError, match="ConvInteger"):
        load_model(tmp_path / "shared.onnx")
    assert load_model(dynamic).dequantized == {"W_quantized": ("uint8", 162)}


def test_dequantized_exactly_per_channel_with_zero_points():
    """w = scale * (q - zero_point) along the quantization's axis, for a float op's quantized
    constant; an int8 layer's weights are left alone."""
    q = np.array([[-128, 0, 127], [5, -5, 10]], dtype=np.int8)
    quant = ir.Quant(np.array([0.5, 0.25], np.float32), np.array([1, -2]), axis=0)
    tensors = {
        "x": ir.Tensor("x", (1, 3), "float32"),
        "w": ir.Tensor("w", (2, 3), "int8", quant, q),
        "y": ir.Tensor("y", (1, 2), "float32"),
    }
    fc = ir.Op("fc", "fully_connected", ("x", "w", None), ("y",), ir.FullyConnected())
    graph = dequantize_weights(ir.Graph("g", tensors, (fc,), ("x",), ("y",)))
    want = np.array([[-64.5, -0.5, 63.0], [1.75, -0.75, 3.0]], np.float32)
    assert graph["w"].dtype == "float32" and graph["w"].quant is None
    np.testing.assert_array_equal(graph["w"].data, want)
    assert graph.dequantized == {"w": ("int8", 6)}
    int8 = {
        n: ir.Tensor(n, t.shape, "int8", ir.Quant(np.array([0.1], np.float32), np.array([0])), t.data)
        for n, t in tensors.items()
    }
    assert dequantize_weights(ir.Graph("g", int8, (fc,), ("x",), ("y",))).dequantized == {}


def test_kws_hybrid_compiles_verifies_and_says_so(tmp_path):
    """The MLPerf Tiny KWS model as the converter left it (int8 conv weights per tensor, float
    activations): a note on compile, the float copy as verify's oracle, LiteRT's hybrid run
    reported beside it."""
    out = tmp_path / "kws"
    run = aiotc("compile", shared_model(KWS), "--board", "host", "-o", out, "-q")
    assert run.returncode == 0, run.stderr
    assert "hybrid (dynamic-range) model: its 5 quantized weight tensors were dequantized to float32" in run.stderr
    assert "18,944 B -> 75,776 B" in run.stderr and "--calib DATA" in run.stderr
    check = aiotc("verify", out, "--board", "host", "--samples", "4")
    assert check.returncode == 0, check.stderr
    assert "samples match litert-ref" in check.stdout and "hybrid model's float copy" in check.stdout
    result = verify_folder(out, samples=4)
    assert result.ok and 0 < result.hybrid_max_abs_diff < 0.1, result


def test_kws_hybrid_with_calibration_is_bit_exact_int8(tmp_path):
    """--calib on a hybrid model quantizes the dequantized float graph: an int8 model, bit-exact with tflite-micro."""
    result = compile_model(shared_model(KWS), board="host", out_dir=tmp_path / "out", calib=Calibration("random"))
    assert result.report["dequantized"]["tensors"] == 5 and "quantization" in result.report
    assert {result.graph[op.inputs[0]].dtype for op in result.graph.ops} == {"int8"}
    checked = verify_folder(result.out_dir, samples=4)
    assert checked.ok and checked.max_abs_diff == 0 and checked.oracle == "tflite-micro", checked
    assert checked.hybrid_max_abs_diff is None


@pytest.mark.qemu
def test_kws_hybrid_in_qemu(tmp_path):
    """The float build of the hybrid KWS on a Cortex-M4 in QEMU, against the float copy."""
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    out = compile_model(shared_model(KWS), board="cortex-m4", out_dir=tmp_path / "out").out_dir
    qemu = QemuModel.build(out, load_board("cortex-m4"))
    result = verify(out, "cortex-m4", random_samples(qemu.inputs, 2, seed=5), runner=qemu)
    assert result.ok and result.oracle == "litert-ref" and result.hybrid_max_abs_diff is not None, result
