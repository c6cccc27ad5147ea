"""TRANSPOSE_CONV (and ONNX ConvTranspose) against the oracles: int8 and 16x8 bit for bit
with tflite-micro, float32 within 1e-5 of range, on odd sizes, strides 1 and 2, SAME
and VALID, with and without bias, zero points at the ends and int16 extremes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from onnx import helper

from aiotc import ir
from aiotc.driver import compile_model
from aiotc.errors import AiotcError
from aiotc.export.tflite import write_tflite
from aiotc.frontend import load_model
from aiotc.kernels import select_kernel
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .oplib import FAST, OpGraph, assert_matches_oracle, assert_matches_oracle_in_qemu, extreme_samples
from .test_onnx import _check, _model, _w


def transpose_conv_graph(dtype: str, zero_point: int = -5, int16_scale: float = 0.05 / 200) -> ir.Graph:
    """Odd inputs (5 x 7 x 3), odd output channels, 2x2 to 4x4 kernels: every branch of
    the output-by-output window walk; 7 and 8 input channels: the DSP's 4 at a time and
    a tail. 16x8 enters through QUANTIZE int8 -> int16."""
    g = OpGraph(seed=31, dtype=dtype)

    def image(shape):
        if dtype == "int16":
            return g.quantize(g.input(shape, scale=0.05, zero_point=zero_point, dtype="int8"), "int16", int16_scale)
        return g.input(shape, scale=0.05, zero_point=zero_point)

    x, deep, wide = image((1, 5, 7, 3)), image((1, 4, 3, 7)), image((1, 3, 2, 8))
    outs = [
        g.transpose_conv(deep, 3, (3, 3), (2, 2), "same"),
        g.transpose_conv(wide, 2, (2, 2), (1, 1), "valid"),
        g.transpose_conv(x, 5, (3, 3), (2, 2), "same"),  # output 10 x 14: taps of both parities
        g.transpose_conv(x, 4, (3, 2), (1, 1), "valid", bias=False),  # 7 x 8, no bias
        g.transpose_conv(x, 3, (4, 4), (2, 2), "valid"),  # 12 x 16, every input reaches 4 rows
        g.transpose_conv(x, 2, (3, 3), (1, 2), "same", activation="relu"),  # stride 2 across only, fused relu
        g.transpose_conv(x, 1, (2, 3), (2, 1), "same", out_zp=0 if dtype != "int8" else 127),  # 1 channel out
    ]
    return g.build(*outs)


@pytest.mark.parametrize("dtype", ["int8", "int16", "float32"])
def test_transpose_conv_matches_the_oracle(dtype, tmp_path):
    assert_matches_oracle(transpose_conv_graph(dtype), tmp_path)


@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("zero_point", [-128, 127])
def test_transpose_conv_extreme_inputs_and_zero_points(zero_point, dtype, tmp_path):
    """The input zero point at either end with inputs all -128, all 127 and mixed; 16x8
    with an int16 scale so fine that its QUANTIZE saturates: int16 inputs of -32768 and
    32767, the accumulators at their largest."""
    graph = transpose_conv_graph(dtype, zero_point, int16_scale=1e-6)
    assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, mixed=True, seed=1))


def phase_graph(stride: tuple[int, int], zero_point: int = -5, out_zp: int = 3, dtype: str = "int8") -> ir.Graph:
    """The gemm kernels' edges at one stride: kernels 2x2 to 5x1 (at stride 3 a 2x2 kernel
    leaves phases with no taps, whose outputs are the bias alone), SAME and VALID, odd
    sizes, 1, 3, 8 and 17 input and output channels (the DSP's whole words and tails, the
    M55's 16 lanes and more), two images, no bias, per-channel weight scales. 16x8: int16
    inputs, zero points 0."""
    g = OpGraph(seed=40 + 3 * stride[0] + stride[1], dtype=dtype)
    if dtype == "int16":
        zero_point = out_zp = 0

    def image(shape):
        return g.input(shape, scale=0.05 if dtype == "int8" else 0.05 / 200, zero_point=zero_point, dtype=dtype)

    x1, x3, x8, x17, pair = (image(s) for s in ((1, 5, 7, 1), (1, 5, 7, 3), (1, 5, 7, 8), (1, 5, 7, 17), (2, 3, 4, 8)))
    outs = [
        g.transpose_conv(x1, 3, (2, 2), stride, "same", out_zp=out_zp),
        g.transpose_conv(x3, 8, (3, 3), stride, "valid", bias=False, out_zp=out_zp),
        g.transpose_conv(x8, 17, (4, 4), stride, "same", out_zp=out_zp),
        g.transpose_conv(x17, 1, (5, 1), stride, "valid", activation="relu", out_zp=out_zp),
        g.transpose_conv(x17, 8, (3, 3), stride, "same", out_zp=out_zp),
        g.transpose_conv(pair, 3, (3, 2), stride, "same", out_zp=out_zp),
    ]
    return g.build(*outs)


def assert_ran_fast(out: Path) -> None:
    """Every transposed conv of the folder `out` ran a gemm kernel."""
    layers = json.loads((out / "report.json").read_text())["layers"]
    kernels = {layer["kernel"] for layer in layers if layer["op"] == "transpose_conv"}
    assert kernels and kernels <= {"aiotc_transpose_conv_gemm_s8", "aiotc_transpose_conv_gemm_s16"}, kernels


@pytest.mark.parametrize("dtype", ["int8", "int16"])
@pytest.mark.parametrize("stride", [(1, 1), (2, 2), (3, 3), (2, 3)], ids=str)
def test_fast_transpose_conv_matches_the_oracle(stride, dtype, tmp_path):
    assert_matches_oracle(phase_graph(stride, dtype=dtype), tmp_path, **FAST)
    assert_ran_fast(tmp_path / "out")


@pytest.mark.parametrize("zero_point", [-128, 127])
@pytest.mark.parametrize("stride", [(2, 2), (3, 3)], ids=str)
def test_fast_transpose_conv_zero_points_at_the_ends(stride, zero_point, tmp_path):
    """Input and output zero points at either end, inputs all -128, all 127 and mixed: the
    folded biases and the padded taps (which hold the zero point) at their extremes."""
    graph = phase_graph(stride, zero_point, out_zp=-zero_point - 1)
    assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, mixed=True, seed=2), **FAST)
    assert_ran_fast(tmp_path / "out")


def test_16x8_fast_transpose_conv_at_the_int16_extremes(tmp_path):
    """Inputs all -32768, all 32767 and mixed: the 16x8 gemm's sums at their largest."""
    graph = phase_graph((2, 2), dtype="int16")
    assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, mixed=True, seed=3), **FAST)
    assert_ran_fast(tmp_path / "out")


def unpackable_graph(dtype: str = "int8") -> ir.Graph:
    """A weight of -128 beside a negative one of its channel pair: the gemm's byte pairs
    cannot hold it, so the reference kernel (aiotc_transpose_conv_s8, _s16) runs the layer."""
    g = OpGraph(seed=36, dtype=dtype)
    x = g.input(
        (1, 4, 5, 7),
        scale=0.05 if dtype == "int8" else 0.05 / 200,
        zero_point=-7 if dtype == "int8" else 0,
        dtype=dtype,
    )
    return g.build(g.unpackable(g.transpose_conv(x, 3, (3, 3), (2, 2), "same"), at=30))  # at [1, 1, 2]


@pytest.mark.parametrize("dtype", ["int8", "int16"])
def test_weights_byte_pairs_cannot_hold_run_the_reference_kernel(dtype, tmp_path):
    graph = unpackable_graph(dtype)
    assert select_kernel(graph.ops[0], graph).name is None
    assert_matches_oracle(graph, tmp_path)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_fast_transpose_conv_in_qemu(board, tmp_path):
    """The DSP (M4) and MVE (M55) paths of both gemms with the phases' columns, stride 2 and 3."""
    for dtype, stride in (("int8", (2, 2)), ("int8", (3, 3)), ("int16", (2, 3))):
        graph = phase_graph(stride, zero_point=-128, dtype=dtype)
        folder = tmp_path / f"{dtype}_{stride[0]}x{stride[1]}"
        inputs = extreme_samples(graph, random=3, seed=6)
        assert_ran_fast(assert_matches_oracle_in_qemu(graph, board, folder, inputs=inputs, **FAST).out_dir)


def test_transpose_conv_reads_the_output_shape_and_padding_back(tmp_path):
    """The frontend takes output_shape's operand as the output's shape and TFLite's SAME
    padding for it; the export writes both back."""
    graph = transpose_conv_graph("int8")
    path = tmp_path / "tc.tflite"
    path.write_bytes(write_tflite(graph))
    again = load_model(path)
    for old, new in zip(graph.ops, again.ops):
        assert (new.kind, new.attrs) == (old.kind, old.attrs)
        assert again[new.outputs[0]].shape == graph[old.outputs[0]].shape


def test_int16_transpose_conv_with_a_zero_point_is_refused(tmp_path):
    """tflite-micro's 16x8 TRANSPOSE_CONV adds no offsets: a zero point is refused clearly."""
    g = OpGraph(seed=32, dtype="int16")
    x = g.input((1, 3, 3, 2), dtype="int16", zero_point=3)
    path = tmp_path / "zp.tflite"
    path.write_bytes(write_tflite(g.build(g.transpose_conv(x, 2))))
    with pytest.raises(AiotcError, match="zero point other than 0"):
        compile_model(path, out_dir=tmp_path / "out")


CONV_TRANSPOSE_CASES = {
    "stride2_output_padding": dict(w=(3, 4, 3, 3), pads=[1, 1, 1, 1], strides=[2, 2], output_padding=[1, 1]),
    "stride1_asymmetric_pads": dict(w=(3, 5, 2, 3), pads=[0, 1, 1, 0]),
    "stride2_k4_no_bias": dict(w=(3, 2, 4, 4), pads=[1, 1, 1, 1], strides=[2, 2], bias=False),
    "unpadded": dict(w=(3, 3, 2, 2), strides=[2, 2]),
}


@pytest.mark.parametrize("case", CONV_TRANSPOSE_CASES, ids=str)
def test_onnx_conv_transpose(case, tmp_path):
    spec = dict(CONV_TRANSPOSE_CASES[case])
    shape, bias = spec.pop("w"), spec.pop("bias", True)
    inits = [("W", _w(*shape))] + ([("B", _w(shape[1], seed=1))] if bias else [])
    node = helper.make_node("ConvTranspose", ["x", "W"] + (["B"] if bias else []), ["y"], **spec)
    _check(_model(tmp_path, [node], [("x", [1, 3, 5, 6])], None, inits), tmp_path)


def test_float_transpose_conv_quantized_by_aiotc_is_bit_exact(tmp_path):
    """PTQ of a decoder's float graph: conv, then transposed convs with SAME padding of 0
    (which the export must still call SAME, LiteRT checks the size) and VALID; the int8
    export runs in tflite-micro and the C equals it."""
    from aiotc.quantize import Calibration

    g = OpGraph(seed=33, dtype="float32")
    x = g.input((1, 8, 8, 3))
    h = g.conv2d(x, 6, stride=(2, 2), activation="relu")
    h = g.transpose_conv(h, 5, (3, 3), (2, 2), "same", activation="relu")
    y = g.transpose_conv(h, 2, (2, 2), (1, 1), "valid")
    path = tmp_path / "float.tflite"
    path.write_bytes(write_tflite(g.build(y)))
    out = compile_model(path, out_dir=tmp_path / "out", calib=Calibration("random")).out_dir
    runner = HostModel.build(out)
    result = verify(out, "host", random_samples(runner.inputs, 3, seed=2), runner=runner)
    assert result.oracle == "tflite-micro" and result.mismatches == 0 and result.max_abs_diff == 0, result


def test_int4_transpose_conv_weights_are_refused(tmp_path):
    """tflite-micro's TRANSPOSE_CONV takes int8 weights only: int4 ones are refused in one line."""
    g = OpGraph(seed=34)
    x = g.input((1, 3, 3, 2))
    path = tmp_path / "int4.tflite"
    path.write_bytes(write_tflite(g.build(g.int4(g.transpose_conv(x, 2)))))
    with pytest.raises(AiotcError, match="int4 weights"):
        compile_model(path, out_dir=tmp_path / "out")


@pytest.mark.parametrize(
    "spec",
    [dict(pads=[1, 1, 1, 1], strides=[2, 2], output_padding=[1, 1]), dict(pads=[0, 1, 1, 0])],
    ids=["pytorch_k3_s2_p1_op1", "asymmetric"],
)
def test_onnx_conv_transpose_quantized_by_aiotc_is_bit_exact(spec, tmp_path):
    """PTQ of ONNX ConvTranspose whose padding TFLite cannot say: its export (LiteRT during
    calibration, tflite-micro as the oracle) is a VALID transposed conv and a crop."""
    from aiotc.quantize import Calibration

    nodes = [helper.make_node("ConvTranspose", ["x", "W", "B"], ["c"], **spec), helper.make_node("Relu", ["c"], ["y"])]
    path = _model(tmp_path, nodes, [("x", [1, 3, 5, 6])], None, [("W", _w(3, 4, 3, 3)), ("B", _w(4, seed=1))])
    out = compile_model(path, out_dir=tmp_path / "out", calib=Calibration("random")).out_dir
    runner = HostModel.build(out)
    result = verify(out, "host", random_samples(runner.inputs, 3, seed=1), runner=runner)
    assert result.oracle == "tflite-micro" and result.mismatches == 0 and result.max_abs_diff == 0, result


def test_16x8_transpose_conv_with_an_int16_bias(tmp_path):
    """tflite-micro takes a 16x8 TRANSPOSE_CONV's bias as int16 too (widened to int64)."""
    g = OpGraph(seed=35, dtype="int16")
    x = g.quantize(g.input((1, 4, 5, 3), scale=0.05, zero_point=-9, dtype="int8"), "int16", 0.05 / 200)
    y = g.transpose_conv(x, 4, (3, 3), (2, 2), "same")
    bias = g.tensors[g.ops[-1].inputs[2]]
    g.tensors[bias.name] = ir.Tensor(
        bias.name, bias.shape, "int16", bias.quant, np.array([-32768, 32767, -5, 900], np.int16)
    )
    assert_matches_oracle(g.build(y), tmp_path)
