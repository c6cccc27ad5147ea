"""Hybrid ("dynamic-range") models: float32 activations, quantized weights, compiled as the
float model with the weights dequantized at compile time (aiotc/frontend/hybrid.py).

The models are written as the TFLite converter writes a Keras conv -> depthwise -> dense
model with `Optimize.DEFAULT` and no representative dataset: int8 weights with per-channel
scales in the layers, or float16 constants (biases too) behind DEQUANTIZE. Their weights
are k * 2^-e, |k| <= 127, so int8 with scale 2^-e and float16 hold them exactly: LiteRT on
the float model, written beside them, is an oracle independent of aiotc's dequantization.
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
from aiotc.frontend.tflite import VALID
from aiotc.oracle import run_oracle
from aiotc.quantize import Calibration
from aiotc.samples import random_samples
from aiotc.verification import FLOAT_TOLERANCE, build_runner, verify

from .conftest import aiotc, shared_model, verify_folder
from .tflite_raw import RawModel

KWS = "mlperf_tiny/kws_ref_model_float32.tflite"
RELU = 1  # TFLite's fused activation code


def hybrid_model(stored: str) -> bytes:
    """Conv 3x3 (4 -> 36 channels, relu), depthwise 3x3 (x4: 3*3*144 weights, over the
    converter's 1024 threshold), reshape and dense (5184 -> 20) on a 10x10x4 image, the
    weights stored as `stored`: float32 (the float model), int8 (a scale 2^-e per output
    channel, e cycling over three values) or float16 behind DEQUANTIZE. The same values in
    every form."""
    rng = np.random.default_rng(3)
    m = RawModel()

    def constant(values: np.ndarray) -> int:
        if stored != "float16":
            return m.const(values, "float32")
        dequantized = m.tensor(values.shape, "float32")
        m.op("DEQUANTIZE", [m.const(values, "float16")], [dequantized])
        return dequantized

    def layer(shape, axis: int, first: int) -> tuple[int, int]:
        """Weights k * 2^-e reaching |k| = 127 in each output channel (along `axis`), and a bias."""
        k = rng.integers(-126, 127, size=shape)
        k[tuple(slice(None) if i == axis else 0 for i in range(len(shape)))] = 127
        scales = 0.5 ** (first + np.arange(shape[axis]) % 3)
        bias = constant((rng.integers(-64, 64, size=shape[axis]) / 32.0).astype(np.float32))
        if stored == "int8":
            return m.const(k, "int8", quant=(scales, 0, axis)), bias
        per_channel = scales.reshape([-1 if i == axis else 1 for i in range(len(shape))])
        return constant((k * per_channel).astype(np.float32)), bias

    image = m.tensor((1, 10, 10, 4), "float32")
    conv, depthwise, flat, out = (m.tensor(s, "float32") for s in ((1, 8, 8, 36), (1, 6, 6, 144), (1, 5184), (1, 20)))
    m.op(
        "CONV_2D",
        [image, *layer((36, 3, 3, 4), 0, 7)],
        [conv],
        "Conv2DOptions",
        Padding=VALID,
        StrideW=1,
        StrideH=1,
        FusedActivationFunction=RELU,
    )
    m.op(
        "DEPTHWISE_CONV_2D",
        [conv, *layer((1, 3, 3, 144), 3, 7)],
        [depthwise],
        "DepthwiseConv2DOptions",
        Padding=VALID,
        StrideW=1,
        StrideH=1,
        DepthMultiplier=4,
    )
    m.op("RESHAPE", [depthwise, m.const([1, 5184])], [flat])
    m.op("FULLY_CONNECTED", [flat, *layer((20, 5184), 0, 11)], [out], "FullyConnectedOptions")
    return m.build([image], [out])


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hybrid")
    paths = {stored: folder / f"{stored}.tflite" for stored in ("float32", "int8", "float16")}
    for stored, path in paths.items():
        path.write_bytes(hybrid_model(stored))
    return paths


@pytest.mark.parametrize("kind", ["int8", "float16"])
def test_hybrid_model_compiles_as_the_float_model(models, tmp_path, kind):
    """Conv, depthwise and fully connected weights stored int8 per channel (or float16 behind
    DEQUANTIZE): the C matches LiteRT on the float model within the float tolerance."""
    graph = load_model(models[kind])
    assert {dtype for dtype, _ in graph.dequantized.values()} == {kind}
    assert len(graph.dequantized) == (3 if kind == "int8" else 6)  # float16: the biases too
    assert all(t.dtype in ("float32", "int32") for t in graph.tensors.values())
    assert all(op.kind != "dequantize" for op in graph.ops)
    result = compile_model(models[kind], board="host", out_dir=tmp_path / "out")
    runner = build_runner(result.out_dir, "host")
    worst = 0.0
    for sample in random_samples(runner.inputs, 3, seed=2):
        got = runner.invoke(sample)[0]
        want = run_oracle(models["float32"], sample).outputs[0]
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
