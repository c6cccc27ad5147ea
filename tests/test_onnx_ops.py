"""ONNX ops PyTorch exports commonly write (issue 20): each single-op model against onnxruntime in float,
and its QDQ int8 version (onnxruntime's static quantization) bit-exact with tflite-micro on the exported model.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

from aiotc.driver import compile_model
from aiotc.frontend import load_model
from aiotc.passes import run_passes
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .conftest import aiotc, assert_bit_exact, verify_folder
from .test_onnx import _check, _model, _qdq_model, _w


def _check_qdq(float_model, tmp_path):
    """The model quantized by onnxruntime compiles without calibration and is bit-exact with tflite-micro."""
    model = _qdq_model(float_model, tmp_path / "qdq.onnx", True, "int8")
    out = compile_model(model, board="host", out_dir=tmp_path / "qdq").out_dir
    runner = HostModel.build(out)
    result = verify(out, "host", random_samples(runner.inputs, 3, seed=2), runner=runner)
    assert result.oracle == "tflite-micro" and result.mismatches == 0 and result.max_abs_diff == 0, result


def _conv_then(tmp_path, nodes, inits=(), shape=(1, 2, 6, 5), channels=4):
    """x -> Conv (the value is held NHWC) -> `nodes` -> y, checked in float and as QDQ int8."""
    conv = helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1])
    weights = [("W", _w(channels, shape[1], 3, 3)), ("B", _w(channels, seed=1))]
    path = _model(tmp_path, [conv, *nodes], [("x", list(shape))], None, [*weights, *inits])
    _check(path, tmp_path)
    _check_qdq(path, tmp_path)
    return path


def test_conv1d_and_1d_pools(tmp_path):
    """Conv1d, MaxPool1d and AveragePool1d are their 2-D ops on an image one row high."""
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[2, 1], strides=[2], dilations=[1]),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["m"], kernel_shape=[3], strides=[2], pads=[1, 1]),
        helper.make_node("AveragePool", ["m"], ["a"], kernel_shape=[2], strides=[1]),
        helper.make_node("Conv", ["a", "D"], ["d"], group=6, kernel_shape=[3], pads=[1, 1]),
        helper.make_node("GlobalAveragePool", ["d"], ["y"]),
    ]
    inits = [("W", _w(6, 3, 4)), ("B", _w(6, seed=1)), ("D", _w(6, 1, 3, seed=2))]
    path = _model(tmp_path, nodes, [("x", [1, 3, 23])], None, inits)
    kinds = [op.kind for op in run_passes(load_model(path)).ops]
    assert kinds.count("conv2d") == 1 and "depthwise_conv2d" in kinds and "max_pool2d" in kinds
    _check(path, tmp_path)
    _check_qdq(path, tmp_path)


def test_hardswish_as_x_times_hardsigmoid(tmp_path):
    """PyTorch's Hardswish before opset 14: one hard_swish layer, the HardSigmoid chain dropped."""
    nodes = [
        helper.make_node("HardSigmoid", ["c"], ["h"], alpha=1 / 6),
        helper.make_node("Mul", ["c", "h"], ["y"]),
    ]
    path = _conv_then(tmp_path, nodes)
    assert [op.kind for op in run_passes(load_model(path)).ops] == ["conv2d", "hard_swish", "transpose"]


def test_squeeze_excite_gate(tmp_path):
    """MobileNetV3's squeeze-excite: a HardSigmoid gate scales the feature map. In a QDQ model the pieces'
    inner values take the grid of the HardSigmoid's QuantizeLinear, scaled and moved."""
    nodes = [
        helper.make_node("GlobalAveragePool", ["c"], ["p"]),
        helper.make_node("Conv", ["p", "S", "SB"], ["s"]),
        helper.make_node("Relu", ["s"], ["r"]),
        helper.make_node("Conv", ["r", "E", "EB"], ["e"]),
        helper.make_node("HardSigmoid", ["e"], ["gate"], alpha=1 / 6),
        helper.make_node("Mul", ["c", "gate"], ["y"]),
    ]
    inits = [
        ("S", _w(2, 4, 1, 1, seed=2)),
        ("SB", _w(2, seed=3)),
        ("E", _w(4, 2, 1, 1, seed=4) * 8),
        ("EB", _w(4, seed=5)),
    ]
    _conv_then(tmp_path, nodes, inits)


def test_hardsigmoid_alone(tmp_path):
    """Any alpha and beta: relu6 of the scaled input, scaled back."""
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("HardSigmoid", ["c"], ["h"], alpha=0.3, beta=0.4),
        helper.make_node("Add", ["c", "h"], ["y"]),
    ]
    path = _model(tmp_path, nodes, [("x", [1, 2, 5, 5])], None, [("W", _w(3, 2, 1, 1) * 10)])
    _check(path, tmp_path)
    _check_qdq(path, tmp_path)


SLICES = {  # starts, ends, axes, steps
    "channels": ([1], [3], [1], [1]),
    "rows_step_2": ([0], [100], [2], [2]),
    "negative_bounds": ([-4, 1], [-1, 4], [-1, -3], [1, 1]),
    "reversed_columns": ([-1], [-100], [3], [-1]),
}


@pytest.mark.parametrize("case", SLICES)
def test_slice(case, tmp_path):
    starts, ends, axes, steps = (np.array(v, np.int64) for v in SLICES[case])
    node = helper.make_node("Slice", ["c", "s", "e", "a", "t"], ["y"])
    _conv_then(tmp_path, [node], [("s", starts), ("e", ends), ("a", axes), ("t", steps)])


def test_chunk_through_shape_arithmetic(tmp_path):
    """PyTorch's chunk: Slice bounds from Shape -> Gather -> Div, folded before shape inference."""
    nodes = [
        helper.make_node("Shape", ["c"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["channels"], axis=0),
        helper.make_node("Div", ["channels", "two"], ["half"]),
        helper.make_node("Slice", ["c", "zero", "half", "one"], ["a"]),
        helper.make_node("Slice", ["c", "half", "channels", "one"], ["b"]),
        helper.make_node("Concat", ["b", "a"], ["y"], axis=1),
    ]
    consts = [(n, np.array([v], np.int64)) for n, v in (("zero", 0), ("one", 1), ("two", 2))]
    _conv_then(tmp_path, nodes, consts)


@pytest.mark.parametrize(
    "indices, axis", [([2, 0, 2], 1), (-1, 3), ([[1], [0]], 2)], ids=["vector", "scalar", "matrix"]
)
def test_gather_constant_indices(indices, axis, tmp_path):
    node = helper.make_node("Gather", ["c", "i"], ["y"], axis=axis)
    _conv_then(tmp_path, [node], [("i", np.array(indices, np.int64))])


@pytest.mark.parametrize(
    "indices", [[[0, 3], [0, -1]], [[0, 1, 2, 4]], [[[0, 2, 5]], [[0, 0, 0]]]], ids=["channels", "elements", "rows"]
)
def test_gather_nd_constant_indices(indices, tmp_path):
    node = helper.make_node("GatherND", ["c", "i"], ["y"])
    _conv_then(tmp_path, [node], [("i", np.array(indices, np.int64))])


def test_channel_shuffle_rank5_transpose(tmp_path):
    nodes = [
        helper.make_node("Reshape", ["c", "split"], ["r"]),
        helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t", "back"], ["y"]),
    ]
    shapes = [("split", np.array([1, 2, 3, 6, 5], np.int64)), ("back", np.array([1, 6, 6, 5], np.int64))]
    _conv_then(tmp_path, nodes, shapes, channels=6)


@pytest.mark.parametrize("op", ["ReduceMax", "ReduceMin", "ReduceSum", "ReduceMean"])
def test_reductions(op, tmp_path):
    """Axes as an attribute (opset 17; ReduceSum reads them as an input from opset 13). onnxruntime
    leaves ReduceSum and ReduceMean outputs unquantized (a QDQ model's float value: aiotc asks for --calib)."""
    if op == "ReduceSum":
        node, inits = helper.make_node(op, ["c", "axes"], ["y"], keepdims=0), [("axes", np.array([2, 3], np.int64))]
    else:
        node, inits = helper.make_node(op, ["c"], ["y"], axes=[1], keepdims=1), []
    conv = helper.make_node("Conv", ["x", "W"], ["c"])
    path = _model(tmp_path, [conv, node], [("x", [1, 2, 5, 4])], None, [("W", _w(3, 2, 1, 1)), *inits])
    _check(path, tmp_path)
    if op in ("ReduceMax", "ReduceMin"):
        _check_qdq(path, tmp_path)


def test_expand(tmp_path):
    nodes = [
        helper.make_node("Slice", ["c", "zero", "one", "two"], ["row"]),
        helper.make_node("Expand", ["row", "to"], ["y"]),
    ]
    consts = [(n, np.array([v], np.int64)) for n, v in (("zero", 0), ("one", 1), ("two", 2))]
    _conv_then(tmp_path, nodes, [*consts, ("to", np.array([1, 4, 3, 5], np.int64))])


def test_prelu_per_channel_slope(tmp_path):
    """Float only: onnxruntime's QDQ quantization leaves PRelu's output float."""
    path = _model(
        tmp_path,
        [helper.make_node("Conv", ["x", "W"], ["c"]), helper.make_node("PRelu", ["c", "slope"], ["y"])],
        [("x", [1, 2, 5, 4])],
        None,
        [("W", _w(3, 2, 1, 1)), ("slope", np.array([0.1, -0.5, 2.0], np.float32).reshape(3, 1, 1))],
    )
    _check(path, tmp_path)


def test_max_pool_padding_torch_trims_is_exported_as_a_mirror_pad(tmp_path):
    """ResNet's stem pool (3x3, stride 2, pad 1 on an even size) pads top-left only, which is neither
    SAME nor VALID: the int8 export (tflite-micro's oracle) pads by repeating the edge."""
    _conv_then(
        tmp_path,
        [helper.make_node("MaxPool", ["c"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
        shape=(1, 2, 8, 10),
    )


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (-0.5, None), (None, 0.25)], ids=["both", "min", "max"])
def test_clip_to_any_range(low, high, tmp_path):
    """Bounds other than ReLU's and ReLU6's: maximum and minimum with the constant bounds."""
    empty = "" if low is None else "lo"
    inputs = ["c", empty, "hi"] if high is not None else ["c", empty]
    inits = [(n, np.float32(v)) for n, v in (("lo", low), ("hi", high)) if v is not None]
    _conv_then(tmp_path, [helper.make_node("Clip", inputs, ["y"])], inits)


def test_comparisons_logic_and_where(tmp_path):
    """Bool values between ops: (c > 0.1 and not c == d) or c < -1, then Where picks c or d."""
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("Conv", ["x", "V"], ["d"]),
        helper.make_node("Greater", ["c", "tenth"], ["g"]),
        helper.make_node("Equal", ["c", "d"], ["e"]),
        helper.make_node("Not", ["e"], ["ne"]),
        helper.make_node("And", ["g", "ne"], ["both"]),
        helper.make_node("Less", ["c", "minus_one"], ["low"]),
        helper.make_node("Or", ["both", "low"], ["pick"]),
        helper.make_node("LessOrEqual", ["d", "c"], ["le"]),
        helper.make_node("GreaterOrEqual", ["d", "c"], ["ge"]),
        helper.make_node("And", ["le", "ge"], ["same"]),
        helper.make_node("Or", ["pick", "same"], ["cond"]),
        helper.make_node("Where", ["cond", "c", "d"], ["y"]),
    ]
    inits = [
        ("W", _w(3, 2, 1, 1)),
        ("V", _w(3, 2, 1, 1, seed=1)),
        ("tenth", np.float32(0.1)),
        ("minus_one", np.float32(-1)),
    ]
    _check(_model(tmp_path, nodes, [("x", [1, 2, 5, 4])], None, inits), tmp_path)


def test_where_with_a_constant_condition_and_max_min(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("Where", ["mask", "c", "zero"], ["w"]),
        helper.make_node("Max", ["w", "c"], ["m"]),
        helper.make_node("Min", ["m", "cap"], ["y"]),
    ]
    mask = np.array([True, False, True]).reshape(3, 1, 1)
    inits = [("W", _w(3, 2, 1, 1)), ("mask", mask), ("zero", np.float32(0)), ("cap", np.float32(0.3))]
    _check(_model(tmp_path, nodes, [("x", [1, 2, 5, 4])], None, inits), tmp_path)


UNARY_CHAINS = {  # op, its attributes, a node making the input fit its domain
    "Softplus": ({}, None),
    "Elu": ({}, None),
    "Reciprocal": ({}, "Exp"),
    "LogSoftmax": ({"axis": -1}, None),
}


@pytest.mark.parametrize("op", UNARY_CHAINS)
def test_unary_ops_built_from_kinds(op, tmp_path):
    attrs, before = UNARY_CHAINS[op]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1])]
    if before:
        nodes.append(helper.make_node(before, ["c"], ["d"]))
    nodes.append(helper.make_node(op, [nodes[-1].output[0]], ["y"], **attrs))
    _check(_model(tmp_path, nodes, [("x", [1, 2, 6, 7])], None, [("W", _w(4, 2, 3, 3)), ("B", _w(4))]), tmp_path)


@pytest.mark.parametrize("exponent", [2.0, 0.5, -0.5])
def test_pow_by_a_constant(exponent, tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("Exp", ["c"], ["e"]),
        helper.make_node("Pow", ["e", "p"], ["y"]),
    ]
    _check(
        _model(tmp_path, nodes, [("x", [1, 2, 5, 4])], None, [("W", _w(3, 2, 1, 1)), ("p", np.float32(exponent))]),
        tmp_path,
    )


RESIZES = {  # attributes, scales (None: sizes [1, 4, 7, 9])
    "nearest_pytorch": (
        dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        [1, 1, 2, 2],
    ),
    "nearest_half_pixel": (dict(mode="nearest", nearest_mode="round_prefer_ceil"), None),
    "nearest_onnx_default_upsampling": (dict(mode="nearest"), [1, 1, 2, 3]),
    "nearest_align_corners": (
        dict(mode="nearest", coordinate_transformation_mode="align_corners", nearest_mode="round_prefer_ceil"),
        None,
    ),
    "bilinear_half_pixel": (dict(mode="linear"), [1, 1, 2, 3]),
    "bilinear_pytorch_half_pixel": (dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel"), None),
    "bilinear_align_corners": (dict(mode="linear", coordinate_transformation_mode="align_corners"), None),
    "bilinear_asymmetric": (dict(mode="linear", coordinate_transformation_mode="asymmetric"), [1, 1, 2, 2]),
}


@pytest.mark.parametrize("case", RESIZES)
def test_resize(case, tmp_path):
    attrs, scales = RESIZES[case]
    if scales is None:
        node = helper.make_node("Resize", ["c", "", "", "sizes"], ["y"], **attrs)
        inits = [("sizes", np.array([1, 4, 7, 9], np.int64))]
    else:
        node = helper.make_node("Resize", ["c", "", "scales"], ["y"], **attrs)
        inits = [("scales", np.array(scales, np.float32))]
    _conv_then(tmp_path, [node], inits, shape=(1, 2, 4, 5))


def test_instance_and_layer_normalization(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("InstanceNormalization", ["c", "s", "b"], ["n"], epsilon=1e-3),
        helper.make_node("Flatten", ["n"], ["f"]),
        helper.make_node("LayerNormalization", ["f", "ls", "lb"], ["y"], axis=-1),
    ]
    inits = [
        ("W", _w(3, 2, 1, 1)),
        ("s", _w(3) + 1),
        ("b", _w(3, seed=1)),
        ("ls", _w(60, seed=2) + 1),
        ("lb", _w(60, seed=3)),
    ]
    _check(_model(tmp_path, nodes, [("x", [1, 2, 5, 4])], None, inits), tmp_path)


def test_shapes_from_constants_and_axes_inputs(tmp_path):
    """Squeeze/Unsqueeze with axes inputs (opset 13+), ConstantOfShape and Range folded to constants."""
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("ReduceMean", ["c"], ["m"], axes=[2, 3], keepdims=1),
        helper.make_node("Squeeze", ["m", "hw"], ["s"]),
        helper.make_node("Range", ["zero", "three", "one"], ["r"]),
        helper.make_node("Cast", ["r"], ["rf"], to=1),
        helper.make_node("ConstantOfShape", ["three_shape"], ["ones"], value=helper.make_tensor("v", 1, [1], [0.5])),
        helper.make_node("Mul", ["rf", "ones"], ["k"]),
        helper.make_node("Add", ["s", "k"], ["a"]),
        helper.make_node("Unsqueeze", ["a", "last"], ["y"]),
    ]
    ints = {"hw": [2, 3], "zero": 0, "three": 3, "one": 1, "three_shape": [3], "last": [-1]}
    inits = [("W", _w(3, 2, 1, 1))] + [(k, np.array(v, np.int64)) for k, v in ints.items()]
    _check(_model(tmp_path, nodes, [("x", [1, 2, 5, 4])], None, inits), tmp_path)


def test_attention_matmuls_and_token_linear(tmp_path):
    """A transformer block's products: Linear on [1, T, K] (a fully connected layer keeping its
    dims), Q K^T and softmax(.) V between computed values (batch matmuls)."""
    nodes = [
        helper.make_node("MatMul", ["x", "Wq"], ["q"]),
        helper.make_node("MatMul", ["x", "Wk"], ["k"]),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"]),
        helper.make_node("Softmax", ["s"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "x"], ["y"]),
    ]
    inits = [("Wq", _w(8, 8)), ("Wk", _w(8, 8, seed=1))]
    path = _model(tmp_path, nodes, [("x", [1, 5, 8])], None, inits)
    kinds = [op.kind for op in load_model(path).ops]
    assert kinds.count("fully_connected") == 2 and kinds.count("batch_matmul") == 2
    _check(path, tmp_path)
    _check_qdq(path, tmp_path)


def test_concat_with_a_constant_token(tmp_path):
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["t"]),
        helper.make_node("Concat", ["cls", "t"], ["y"], axis=1),
    ]
    path = _model(tmp_path, nodes, [("x", [1, 4, 6])], None, [("W", _w(6, 6)), ("cls", _w(1, 1, 6, seed=1))])
    _check(path, tmp_path)
    _check_qdq(path, tmp_path)  # the token quantized on the concat's shared range


def test_pixel_shuffle_sum_lp_norm_and_cast(tmp_path):
    """DepthToSpace in PyTorch's CRD order, Sum of three, LpNormalization, a float-to-float Cast."""
    nodes = [
        helper.make_node("Conv", ["x", "W"], ["c"]),
        helper.make_node("DepthToSpace", ["c"], ["d"], blocksize=2, mode="CRD"),
        helper.make_node("Cast", ["d"], ["f"], to=1),
        helper.make_node("Sum", ["f", "d", "f"], ["s"]),
        helper.make_node("LpNormalization", ["s"], ["y"], axis=-1, p=2),
    ]
    _check(_model(tmp_path, nodes, [("x", [1, 2, 3, 4])], None, [("W", _w(8, 2, 1, 1))]), tmp_path)


def _torch_net(norm: bool):
    """What PyTorch writes for a MobileNetV3-style block: Hardswish, a squeeze-excite Hardsigmoid gate,
    bilinear and nearest Upsample, PixelShuffle, chunk (Shape/Gather/Slice arithmetic), clamp; with
    `norm`, LayerNorm over channels (decomposed before opset 17) and Softplus."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.Hardswish())
            self.se = nn.Sequential(
                nn.AdaptiveAvgPool2d(1), nn.Conv2d(16, 4, 1), nn.ReLU(), nn.Conv2d(4, 16, 1), nn.Hardsigmoid()
            )
            self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
            self.near = nn.Upsample(scale_factor=2, mode="nearest")
            self.mix = nn.Conv2d(16, 16, 1)
            self.shuffle = nn.PixelShuffle(2)
            self.norm = nn.LayerNorm(4)
            self.fc = nn.Linear(4, 5)

        def forward(self, x):
            x = self.stem(x)
            x = x * self.se(x)
            x = self.shuffle(self.mix(self.up(x)) + self.near(x))
            if norm:
                x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            a, b = x.chunk(2, dim=1)
            x = torch.cat([torch.clamp(a, -1, 1), nn.functional.softplus(b) if norm else b], 1)
            return torch.softmax(self.fc(x.mean((2, 3))), -1)

    torch.manual_seed(0)
    return Net().eval()


@pytest.mark.parametrize("opset", [13, 17])
def test_pytorch_export(opset, tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "net.onnx"
    args = dict(opset_version=opset, dynamo=False, input_names=["input"], output_names=["output"])
    torch.onnx.export(_torch_net(norm=True), torch.randn(1, 3, 16, 16), str(path), **args)
    _check(path, tmp_path)
    if opset == 13:  # onnxruntime leaves LayerNorm's and Softplus's pieces float in QDQ: without them
        torch.onnx.export(_torch_net(norm=False), torch.randn(1, 3, 16, 16), str(path), **args)
        _check_qdq(path, tmp_path)


def test_average_pool_padding_tflite_cannot_express_is_refused_as_int8(tmp_path):
    """Top-left padding averaged over the valid pixels only: aiotc's kernel computes it in float, but an
    int8 model must be exported for tflite-micro, and no TFLite average pool reads it (exit 2, one line)."""
    pool = helper.make_node("AveragePool", ["c"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    path = _model(
        tmp_path,
        [helper.make_node("Conv", ["x", "W"], ["c"]), pool],
        [("x", [1, 2, 8, 8])],
        None,
        [("W", _w(3, 2, 1, 1))],
    )
    _check(path, tmp_path)
    qdq = _qdq_model(path, tmp_path / "qdq.onnx", True, "int8")
    run = aiotc("compile", qdq, "-o", tmp_path / "out")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "neither SAME nor VALID" in run.stderr


def test_clip_left_float_by_onnxruntime_takes_its_input_grid(tmp_path):
    """onnxruntime leaves a model's tail (PixelShuffle, then a clamp as the output) float in QDQ:
    the clamp quantizes on the grid its input has, found through the pixel shuffle."""
    nodes = [
        helper.make_node("DepthToSpace", ["c"], ["d"], blocksize=2, mode="CRD"),
        helper.make_node("Clip", ["d", "lo", "hi"], ["y"]),
    ]
    _conv_then(tmp_path, nodes, [("lo", np.float32(-0.5)), ("hi", np.float32(0.5))], channels=8)


def test_constants_of_shared_ranges_under_calibration(tmp_path):
    """--calib on a float model: a clamp's bounds and a concatenated constant quantize on the range their
    op shares with its output, bit-exact with tflite-micro on the export."""
    nodes = [
        helper.make_node("Conv", ["x", "W", "B"], ["c"]),
        helper.make_node("Clip", ["c", "lo", "hi"], ["k"]),
        helper.make_node("Concat", ["k", "plane"], ["y"], axis=1),
    ]
    inits = [("W", _w(3, 2, 1, 1)), ("B", _w(3)), ("lo", np.float32(-0.3)), ("hi", np.float32(0.4))]
    inits.append(("plane", _w(1, 1, 5, 4, seed=1)))
    path = _model(tmp_path, nodes, [("x", [1, 2, 5, 4])], None, inits)
    run = aiotc("compile", path, "--calib", "random", "--calib-method", "minmax", "-o", tmp_path / "out", "-q")
    assert run.returncode == 0, run.stderr
    assert_bit_exact(verify_folder(tmp_path / "out"))


def test_conv_without_bias_under_calibration(tmp_path):
    """A bias-free Conv (PyTorch's bias=False before a BatchNorm it does not fold) calibrates and
    exports with a bias of zeros, which LiteRT's and tflite-micro's conv kernels read."""
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Relu", ["c"], ["y"])]
    path = _model(tmp_path, nodes, [("x", [1, 2, 5, 4])], None, [("W", _w(3, 2, 3, 3))])
    run = aiotc("compile", path, "--calib", "random", "--calib-method", "minmax", "-o", tmp_path / "out", "-q")
    assert run.returncode == 0, run.stderr
    assert_bit_exact(verify_folder(tmp_path / "out"))
