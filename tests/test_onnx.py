"""ONNX frontend: shared models and single-op models against onnxruntime, and clear refusals.

Float outputs must be within 1e-5 of the oracle output's range (docs/architecture.md: the numeric contract); the
single-op models are built with onnx.helper so every converter and layout rule
(NCHW inputs, tf2onnx transposes, broadcast constants) is exercised on its own.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from aiotc.driver import compile_model
from aiotc.errors import ModelError, UnsupportedOpsError
from aiotc.frontend import load_model
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .conftest import aiotc, shared_model

SHARED = [
    "tinycnn_28",
    "dscnn_kws",
    "kws_ref_model_float32",
    "ad01_fp32",
    "pretrainedResnet",
    "vww_96_float",
    "mbv2_w035_144",
]


def _check(model_path, tmp_path, samples: int = 3):
    out = compile_model(model_path, board="host", out_dir=tmp_path / "out").out_dir
    runner = HostModel.build(out)
    result = verify(out, "host", random_samples(runner.inputs, samples, seed=1), runner=runner)
    assert result.oracle == "onnxruntime"
    assert result.mismatches == 0, f"{result.mismatches}/{result.samples} differ, max abs diff {result.max_abs_diff}"
    return result


@pytest.mark.parametrize("name", SHARED)
def test_shared_onnx_model_matches_onnxruntime(name, tmp_path):
    _check(shared_model(f"onnx/{name}.onnx"), tmp_path)


def test_nchw_input_becomes_nhwc_and_the_graph_keeps_no_transpose():
    graph = load_model(shared_model("onnx/mbv2_w035_144.onnx"))
    from aiotc.passes import run_passes

    graph = run_passes(graph)
    assert graph[graph.inputs[0]].shape == (1, 144, 144, 3)
    assert graph.layouts == {graph.inputs[0]: "NCHW"}
    assert not [op for op in graph.ops if op.kind == "transpose"]
    assert {op.attrs.activation for op in graph.ops if op.kind == "depthwise_conv2d"} == {"relu6"}  # Clip(0, 6) fused


# --- single-op models --------------------------------------------------------------


def _model(tmp_path, nodes, inputs, output_shape, initializers=(), name="single"):
    """A float model of `nodes` with random initializers; its output is named 'y'."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(
            np.asarray(v, dtype=np.float32) if np.asarray(v).dtype.kind == "f" else np.asarray(v), k
        )
        for k, v in initializers
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(k, TensorProto.FLOAT, s) for k, s in inputs],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, output_shape)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / f"{name}.onnx"
    onnx.save(model, path)
    del rng
    return path


def _w(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 0.3


CONV_CASES = {
    "3x3_same": dict(w=(8, 3, 3, 3), pads=[1, 1, 1, 1], strides=[1, 1]),
    "stride2_symmetric_pads": dict(w=(8, 3, 3, 3), pads=[1, 1, 1, 1], strides=[2, 2]),
    "asymmetric_pads": dict(w=(4, 3, 3, 2), pads=[0, 1, 2, 0], strides=[1, 2]),
    "auto_pad_same_upper": dict(w=(4, 3, 3, 3), auto_pad="SAME_UPPER", strides=[2, 2]),
    "dilated": dict(w=(4, 3, 3, 3), pads=[2, 2, 2, 2], dilations=[2, 2]),
    "depthwise": dict(w=(3, 1, 3, 3), pads=[1, 1, 1, 1], group=3),
    "depthwise_multiplier_2": dict(w=(6, 1, 5, 5), pads=[2, 2, 2, 2], group=3, strides=[2, 2]),
    "pointwise_no_bias": dict(w=(5, 3, 1, 1), bias=False),
}


@pytest.mark.parametrize("case", CONV_CASES, ids=str)
def test_conv(case, tmp_path):
    spec = dict(CONV_CASES[case])
    shape, bias = spec.pop("w"), spec.pop("bias", True)
    inits = [("W", _w(*shape))] + ([("B", _w(shape[0], seed=1))] if bias else [])
    node = helper.make_node("Conv", ["x", "W"] + (["B"] if bias else []), ["y"], **spec)
    path = _model(tmp_path, [node], [("x", [1, 3, 11, 10])], None, inits)
    _check(path, tmp_path)


UNARY = {
    "Relu": {},
    "Sigmoid": {},
    "Tanh": {},
    "HardSwish": {},
    "LeakyRelu": {"alpha": 0.2},
}


@pytest.mark.parametrize("op", UNARY)
def test_activation_after_conv(op, tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node(op, ["c"], ["y"], **UNARY[op]),
    ]
    path = _model(tmp_path, nodes, [("x", [1, 2, 6, 7])], None, [("W", _w(4, 2, 3, 3)), ("B", _w(4))])
    _check(path, tmp_path)


def test_clip_relu6_and_batchnorm_fold_into_the_conv(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["n"], epsilon=1e-3),
        helper.make_node("Clip", ["n", "lo", "hi"], ["y"]),
    ]
    inits = [
        ("W", _w(4, 2, 3, 3)),
        ("g", _w(4) + 1),
        ("b", _w(4, seed=2)),
        ("m", _w(4, seed=3)),
        ("v", np.abs(_w(4, seed=4)) + 0.5),
        ("lo", np.float32(0)),
        ("hi", np.float32(6)),
    ]
    path = _model(tmp_path, nodes, [("x", [1, 2, 8, 8])], None, inits)
    from aiotc.passes import run_passes

    graph = run_passes(load_model(path))
    assert [(op.kind, getattr(op.attrs, "activation", None)) for op in graph.ops] == [
        ("conv2d", "relu6"),
        ("transpose", None),
    ]  # the output stays NCHW
    _check(path, tmp_path)


@pytest.mark.parametrize("pool", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("pads", [[0, 0, 0, 0], [1, 1, 1, 1]], ids=["valid", "padded"])
def test_pool(pool, pads, tmp_path):
    node = helper.make_node(pool, ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=pads)
    _check(_model(tmp_path, [node], [("x", [1, 4, 9, 8])], None), tmp_path)


def test_global_pool_flatten_gemm_softmax(tmp_path):
    nodes = [
        helper.make_node("GlobalAveragePool", ["x"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "W", "B"], ["g"], transB=1, alpha=0.5, beta=2.0),
        helper.make_node("Softmax", ["g"], ["y"]),
    ]
    _check(_model(tmp_path, nodes, [("x", [1, 6, 5, 5])], None, [("W", _w(3, 6)), ("B", _w(3))]), tmp_path)


def test_flatten_of_a_spatial_tensor_keeps_nchw_order(tmp_path):
    """Flatten must see NCHW order, so the NHWC tensor is transposed back first."""
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("Flatten", ["c"], ["f"]),
        helper.make_node("MatMul", ["f", "M"], ["m"]),
        helper.make_node("Add", ["m", "B"], ["y"]),
    ]
    _check(
        _model(tmp_path, nodes, [("x", [1, 2, 4, 3])], None, [("W", _w(3, 2, 1, 1)), ("M", _w(36, 5)), ("B", _w(5))]),
        tmp_path,
    )


def test_concat_add_mul_with_broadcast_constants(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W1"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Conv", ["x", "W2"], ["b"]),
        helper.make_node("Concat", ["a", "b"], ["c"], axis=1),
        helper.make_node("Mul", ["c", "S"], ["m"]),
        helper.make_node("Add", ["m", "x2"], ["y"]),
    ]
    inits = [("W1", _w(3, 2, 3, 3)), ("W2", _w(2, 2, 1, 1)), ("S", _w(5, 1, 1))]
    path = _model(tmp_path, nodes, [("x", [1, 2, 5, 6]), ("x2", [1, 5, 5, 6])], None, inits)
    _check(path, tmp_path)


def test_tf2onnx_transposes_vanish(tmp_path):
    """NHWC input -> Transpose -> Conv -> Transpose back: no transpose is left in the IR."""
    nodes = [
        helper.make_node("Transpose", ["x"], ["t"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["t", "W"], ["c"], pads=[0, 0, 1, 1], strides=[2, 2]),
        helper.make_node("Transpose", ["c"], ["y"], perm=[0, 2, 3, 1]),
    ]
    path = _model(tmp_path, nodes, [("x", [1, 8, 8, 3])], None, [("W", _w(4, 3, 3, 3))])
    from aiotc.passes import run_passes

    graph = run_passes(load_model(path))
    assert [op.kind for op in graph.ops] == ["conv2d"] and graph.layouts == {}
    _check(path, tmp_path)


def test_pad_reduce_mean_and_dequantized_weights(tmp_path):
    nodes = [
        helper.make_node("DequantizeLinear", ["Wq", "s", "z"], ["W"], axis=0),
        helper.make_node("Pad", ["x", "p"], ["px"]),
        helper.make_node("Conv", ["px", "W"], ["c"]),
        helper.make_node("ReduceMean", ["c"], ["y"], axes=[2, 3], keepdims=1),
    ]
    inits = [
        ("Wq", np.arange(-27, 27, dtype=np.int8).reshape(2, 3, 3, 3)),
        ("s", np.array([0.01, 0.02], np.float32)),
        ("z", np.zeros(2, np.int8)),
        ("p", np.array([0, 0, 1, 2, 0, 0, 1, 0], np.int64)),
    ]
    _check(_model(tmp_path, nodes, [("x", [1, 3, 6, 6])], None, inits), tmp_path)


# --- refusals ----------------------------------------------------------------------


def test_unsupported_ops_are_all_listed(tmp_path):
    nodes = [
        helper.make_node("Erf", ["x"], ["e"]),
        helper.make_node("Relu", ["e"], ["r"]),
        helper.make_node("Acos", ["r"], ["y"]),
    ]
    path = _model(tmp_path, nodes, [("x", [1, 4])], [1, 4])
    with pytest.raises(UnsupportedOpsError) as error:
        load_model(path)
    assert "Erf at node 0" in str(error.value) and "Acos at node 2" in str(error.value)
    assert "Relu" not in "; ".join(error.value.problems)  # a consequence, not a cause
    run = aiotc("compile", path, "-o", tmp_path / "out")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "Erf" in run.stderr and "Acos" in run.stderr
    assert not (tmp_path / "out").exists()


def test_dynamic_shapes_are_refused(tmp_path):
    path = _model(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [("x", [1, "height", 4])], None)
    with pytest.raises(ModelError, match="dynamic shape"):
        load_model(path)


def test_symbolic_batch_is_fixed_to_one(tmp_path):
    path = _model(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], [("x", ["batch", 4])], None)
    graph = load_model(path)
    assert graph[graph.inputs[0]].shape == (1, 4)


def test_not_an_onnx_file(tmp_path):
    path = tmp_path / "junk.onnx"
    path.write_bytes(b"\x08\x07\x12\xff\xff garbage")
    with pytest.raises(ModelError, match="junk.onnx"):
        load_model(path)


def _qdq_model(source, path, per_channel: bool, activations: str):
    """`source` quantized by onnxruntime.quantization into a QDQ model (QuantizeLinear/DequantizeLinear pairs)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    graph_input = onnx.load(source).graph.input[0]
    shape = [d.dim_value or 1 for d in graph_input.type.tensor_type.shape.dim]
    data = iter(
        [{graph_input.name: np.random.default_rng(i).uniform(0, 1, shape).astype(np.float32)} for i in range(8)]
    )

    class Reader(CalibrationDataReader):
        def get_next(self):
            return next(data, None)

    activation_type = QuantType.QInt8 if activations == "int8" else QuantType.QUInt8
    quantize_static(
        str(source),
        str(path),
        Reader(),
        quant_format=QuantFormat.QDQ,
        per_channel=per_channel,
        activation_type=activation_type,
        weight_type=QuantType.QInt8,
    )
    return path


@pytest.mark.parametrize("per_channel, activations", [(True, "int8"), (False, "uint8")])
def test_qdq_model_keeps_its_own_scales_and_is_bit_exact(per_channel, activations, tmp_path):
    """A model quantized by onnxruntime compiles without calibration: its activation scales and zero
    points (uint8 ones moved to int8) are the int8 graph's, the C is bit-exact with tflite-micro on the
    exported model, and it stays within a few output steps of onnxruntime running the QDQ model."""
    import onnxruntime as ort

    from aiotc.samples import dequantize_output, quantize_input

    model = _qdq_model(shared_model("onnx/tinycnn_28.onnx"), tmp_path / "qdq.onnx", per_channel, activations)
    result = compile_model(model, out_dir=tmp_path / "out")
    hints = load_model(model).quant_hints
    conv = next(op.outputs[0] for op in result.graph.ops if op.kind == "conv2d" and op.outputs[0] in hints)
    scale, zero_point = hints[conv]
    assert (np.float32(result.graph[conv].quant.scale[0]), int(result.graph[conv].quant.zero_point[0])) == (
        np.float32(scale),
        zero_point,
    )
    source = onnx.load(model)
    quantize = next(n for n in source.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == conv)
    onnx_zero_point = int(
        next(numpy_helper.to_array(t) for t in source.graph.initializer if t.name == quantize.input[2])
    )
    assert zero_point == onnx_zero_point - (128 if activations == "uint8" else 0)
    assert result.report["quantization"]["method"].startswith("the model's own")
    runner = HostModel.build(result.out_dir)
    exact = verify(result.out_dir, "host", random_samples(runner.inputs, 3, seed=2), runner=runner)
    assert exact.oracle == "tflite-micro" and exact.mismatches == 0 and exact.max_abs_diff == 0, exact
    session = ort.InferenceSession(str(model))
    x = np.random.default_rng(5).uniform(0, 1, (1, 1, 28, 28)).astype(np.float32)
    want = session.run(None, {session.get_inputs()[0].name: x})[0]
    got = runner.invoke([quantize_input(x.transpose(0, 2, 3, 1), runner.inputs[0])])[0]
    step = float(runner.outputs[0].scale)
    assert np.max(np.abs(dequantize_output(got, runner.outputs[0]).reshape(want.shape) - want)) <= 4 * step


def test_qdq_model_missing_a_quantize_asks_for_calibration(tmp_path):
    model = onnx.load(_qdq_model(shared_model("onnx/tinycnn_28.onnx"), tmp_path / "qdq.onnx", True, "int8"))
    first_q = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] != "input")
    consumer = next(n for n in model.graph.node if n.op_type == "DequantizeLinear" and n.input[0] == first_q.output[0])
    for node in model.graph.node:  # the float value feeds its readers directly, unquantized
        node.input[:] = [first_q.input[0] if i == consumer.output[0] else i for i in node.input]
    model.graph.node.remove(consumer)
    model.graph.node.remove(first_q)
    onnx.save(model, tmp_path / "partial.onnx")
    with pytest.raises(ModelError, match="pass --calib"):
        compile_model(tmp_path / "partial.onnx", out_dir=tmp_path / "out")


# --- recurrent: GRU, LSTM and RNN unrolled into fully connected and elementwise layers ---


@pytest.mark.parametrize("linear_before_reset", [1, 0])
@pytest.mark.parametrize("output", ["Y", "Y_h"])
def test_gru_node(linear_before_reset, output, tmp_path):
    steps, batches, features, hidden = 5, 2, 4, 6
    outputs = ["y", ""] if output == "Y" else ["", "y"]
    node = helper.make_node(
        "GRU",
        ["x", "W", "R", "B", "", "h0"],
        outputs,
        hidden_size=hidden,
        linear_before_reset=linear_before_reset,
    )
    shape = [steps, 1, batches, hidden] if output == "Y" else [1, batches, hidden]
    initializers = [
        ("W", _w(1, 3 * hidden, features, seed=1)),
        ("R", _w(1, 3 * hidden, hidden, seed=2)),
        ("B", _w(1, 6 * hidden, seed=3)),
        ("h0", _w(1, batches, hidden, seed=4)),
    ]
    path = _model(tmp_path, [node], [("x", [steps, batches, features])], shape, initializers, name=f"gru_{output}")
    _check(path, tmp_path)


@pytest.mark.parametrize("output", ["Y", "Y_h", "Y_c"])
def test_lstm_node(output, tmp_path):
    steps, batches, features, hidden = 4, 2, 3, 5
    outputs = {"Y": ["y"], "Y_h": ["", "y"], "Y_c": ["", "", "y"]}[output]
    node = helper.make_node("LSTM", ["x", "W", "R", "B", "", "h0", "c0"], outputs, hidden_size=hidden)
    shape = [steps, 1, batches, hidden] if output == "Y" else [1, batches, hidden]
    initializers = [
        ("W", _w(1, 4 * hidden, features, seed=1)),
        ("R", _w(1, 4 * hidden, hidden, seed=2)),
        ("B", _w(1, 8 * hidden, seed=3)),
        ("h0", _w(1, batches, hidden, seed=4)),
        ("c0", _w(1, batches, hidden, seed=5)),
    ]
    path = _model(tmp_path, [node], [("x", [steps, batches, features])], shape, initializers, name=f"lstm_{output}")
    _check(path, tmp_path)


def test_rnn_node(tmp_path):
    steps, batches, features, hidden = 6, 1, 4, 7
    node = helper.make_node("RNN", ["x", "W", "R", "B"], ["y"], hidden_size=hidden)
    initializers = [
        ("W", _w(1, hidden, features, seed=1)),
        ("R", _w(1, hidden, hidden, seed=2)),
        ("B", _w(1, 2 * hidden, seed=3)),
    ]
    path = _model(
        tmp_path, [node], [("x", [steps, batches, features])], [steps, 1, batches, hidden], initializers, name="rnn"
    )
    _check(path, tmp_path)


@pytest.mark.parametrize("node", ["LSTM", "Peephole", "Bidirectional"])
def test_recurrent_variants_are_refused_by_name(node, tmp_path):
    hidden, inputs, attrs = 3, ["x", "W", "R"], {}
    if node == "Peephole":
        inputs += ["", "", "", "", "P"]
    if node == "Bidirectional":
        attrs["direction"] = "bidirectional"
    initializers = [("W", _w(1, 4 * hidden, 2)), ("R", _w(1, 4 * hidden, hidden)), ("P", _w(1, 3 * hidden))]
    made = helper.make_node("LSTM", inputs, ["y"], hidden_size=hidden, input_forget=int(node == "LSTM"), **attrs)
    path = _model(tmp_path, [made], [("x", [2, 1, 2])], [2, 1, 1, hidden], initializers, name=node)
    message = {"LSTM": "input_forget", "Peephole": "peephole", "Bidirectional": "direction"}[node]
    with pytest.raises(UnsupportedOpsError, match=message):
        compile_model(path, out_dir=tmp_path / "out")


def _torch_gru(path):
    """nn.GRU (batch_first) and a Linear on its last step, exported to ONNX."""
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(6, 8, batch_first=True)
            self.fc = torch.nn.Linear(8, 3)

        def forward(self, x):
            return self.fc(self.gru(x)[0][:, -1, :])

    torch.manual_seed(0)
    torch.onnx.export(Net().eval(), torch.randn(1, 7, 6), str(path), dynamo=False)
    return path


def test_pytorch_gru(tmp_path):
    """As PyTorch exports it: the GRU node with Transpose, Expand of a zero state, and a
    Gather of the last step."""
    pytest.importorskip("torch")
    _check(_torch_gru(tmp_path / "torch_gru.onnx"), tmp_path)


def test_qdq_model_quantized_in_part_keeps_the_rest_float(tmp_path):
    """onnxruntime's static quantization leaves the GRU float and quantizes the Linear after
    it (QuantizeLinear on the gathered last step and on the output): the GRU's layers stay
    float, a QUANTIZE takes the step to int8 with the model's own scale; the C is bit-exact
    with tflite-micro on the exported model and gives onnxruntime's integers on the QDQ model."""
    import onnxruntime as ort

    pytest.importorskip("torch")
    model = _qdq_model(_torch_gru(tmp_path / "gru.onnx"), tmp_path / "qdq.onnx", True, "int8")
    result = compile_model(model, out_dir=tmp_path / "out")
    kinds = {op.kind: result.graph[op.outputs[0]].dtype for op in result.graph.ops}
    assert kinds["tanh"] == "float32" and kinds["quantize"] == "int8" and kinds["fully_connected"] == "int8", kinds
    runner = HostModel.build(result.out_dir)
    samples = random_samples(runner.inputs, 3, seed=2)
    exact = verify(result.out_dir, "host", samples, runner=runner)
    assert exact.oracle == "tflite-micro" and exact.mismatches == 0 and exact.max_abs_diff == 0, exact
    session = ort.InferenceSession(str(model))
    out = runner.outputs[0]
    for sample in samples:
        want = session.run(None, {session.get_inputs()[0].name: sample[0]})[0]
        got = runner.invoke(sample)[0].astype(np.float64)
        np.testing.assert_array_equal(np.round(want / out.scale) + out.zero_point, got.reshape(want.shape))
