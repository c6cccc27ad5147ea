"""w8a16 (TFLite's 16x8): int16 activations with zero point 0, int8 weights, int64 bias,
entered and left through QUANTIZE int8 <-> int16; bit-exact with tflite-micro on the host
(the portable C). The layers' int16 outputs are graph outputs here, so every low bit is
compared, not only what survives a requantization back to int8. The Cortex-M paths run
in tests/test_kernels_qemu.py."""

from __future__ import annotations

import json
import subprocess

import cffi
import numpy as np

from aiotc import ir
from aiotc.codegen.lowering import support_problem
from aiotc.codegen.ops_conv import reduced_multipliers, scaled_bias
from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.fixedpoint import multiply_by_quantized_multiplier
from aiotc.resources import data_dir
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .conftest import aiotc
from .oplib import OpGraph, assert_matches_oracle, extreme_samples

IN_SCALE = 0.05  # the int8 inputs'; the int16 tensors' is 200x finer: values up to +-25,600


def _int16_input(g: OpGraph, shape, zero_point=-7, ratio=200):
    """An int8 graph input and its QUANTIZE to int16."""
    x = g.input(shape, scale=IN_SCALE, zero_point=zero_point, dtype="int8")
    return g.quantize(x, "int16", IN_SCALE / ratio)


def test_conv_s16_matches_the_oracle(tmp_path):
    g = OpGraph(seed=21, dtype="int16")
    odd = _int16_input(g, (1, 9, 7, 5))
    wide = _int16_input(g, (1, 8, 8, 8), zero_point=-128)
    outs = [
        g.conv2d(odd, 7, kernel=(1, 1)),  # 1x1: the input pixel read directly, odd channels in and out
        g.conv2d(odd, 6, kernel=(1, 1), stride=(2, 2)),
        g.conv2d(odd, 9, kernel=(3, 3)),  # 3x3 same: zero columns at the borders
        g.conv2d(wide, 8, kernel=(3, 3), padding="valid"),
        g.conv2d(wide, 5, kernel=(3, 3), stride=(2, 2)),  # padding bottom/right only
        g.conv2d(odd, 4, kernel=(3, 3), dilation=(2, 2)),
        g.conv2d(wide, 3, kernel=(5, 2), per_channel=False),  # one scale repeated
        g.conv2d(wide, 6, kernel=(3, 3), groups=2),  # 3 channels per group: an odd last pair per group
    ]
    assert_matches_oracle(g.build(*outs), tmp_path)


def test_depthwise_s16_matches_the_oracle(tmp_path):
    g = OpGraph(seed=22, dtype="int16")
    odd = _int16_input(g, (1, 9, 7, 5))
    outs = [
        g.depthwise(odd),
        g.depthwise(odd, multiplier=2),
        g.depthwise(odd, stride=(2, 2), padding="valid"),
        g.depthwise(odd, kernel=(2, 4), dilation=(2, 1)),
    ]
    assert_matches_oracle(g.build(*outs), tmp_path)


def gather_edges_graph():
    """aiotc_convolve_s16's gather on int16 graph inputs: 1, 2, 3 and 5 input channels,
    windows of 25, 98, 27, 10 and 45 taps (not multiples of 8), zero padding on every
    side, stride 2, dilation (across: a copy per tap), grouped channels (a copy per
    tap) and per-channel scales (shifts)."""
    g = OpGraph(seed=41, dtype="int16")
    mono, two = g.input((1, 9, 11, 1), 0.05 / 200, dtype="int16"), g.input((1, 8, 13, 2), 0.05 / 200, dtype="int16")
    rgb, odd = g.input((1, 7, 9, 3), 0.05 / 200, dtype="int16"), g.input((1, 6, 7, 5), 0.05 / 200, dtype="int16")
    return g.build(
        g.conv2d(mono, 3, kernel=(5, 5)),
        g.conv2d(mono, 4, kernel=(3, 3), stride=(2, 2)),
        g.conv2d(two, 8, kernel=(7, 7)),
        g.conv2d(two, 5, kernel=(3, 3), dilation=(2, 2)),
        g.conv2d(rgb, 6, kernel=(3, 3), stride=(2, 2), padding="valid"),
        g.conv2d(rgb, 3, kernel=(2, 5), stride=(2, 1)),
        g.conv2d(odd, 7, kernel=(3, 3)),
        g.conv2d(odd, 5, kernel=(3, 3), groups=5),
    )


def in_place_windows_graph():
    """aiotc_convolve_s16's windows read in place (int32 sums, kernel rows of whole vectors of
    8 inputs: tflm_conv1's 3x3x8 -> 8) beside gathered ones: padding around them (pairs of
    one window inside and one across the edge), a lone last pixel, an odd last channel,
    rows of 168 inputs (504 taps: sums of extreme inputs just inside an int32), and output
    scales whose total shifts lie below 16, between 16 and 32, and above 32 (the M55's
    vector requantization of the int32 sums), with activations that clamp."""
    g = OpGraph(seed=43, dtype="int16")
    x = g.input((1, 6, 11, 8), 0.05 / 200, dtype="int16")
    deep = g.input((1, 4, 5, 56), 0.05 / 200, dtype="int16")
    return g.build(
        g.conv2d(x, 8, kernel=(3, 3)),
        g.conv2d(x, 7, kernel=(3, 3), stride=(1, 2), padding="valid", activation="relu"),
        g.conv2d(x, 5, kernel=(2, 3), padding="valid"),
        g.conv2d(x, 8, kernel=(3, 1), padding="valid", out_scale=0.05 / 200 * 0.02),  # total shift < 16
        g.conv2d(x, 6, kernel=(3, 3), padding="valid", out_scale=2000.0),  # total shift > 32
        g.conv2d(deep, 4, kernel=(3, 3), padding="valid", out_scale=2.0, activation="relu6"),
    )


def test_conv_s16_in_place_windows_match_the_oracle(tmp_path):
    graph = in_place_windows_graph()
    assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, random=2, mixed=True, seed=9))


def test_conv_s16_gather_edges_match_the_oracle(tmp_path):
    graph = gather_edges_graph()
    assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, random=2, mixed=True, seed=7))


def test_fully_connected_s16_matches_the_oracle(tmp_path):
    g = OpGraph(seed=23, dtype="int16")
    flat = _int16_input(g, (1, 37), zero_point=5)
    pairs = _int16_input(g, (2, 3), zero_point=9)
    outs = [
        g.fully_connected(flat, 7),  # per tensor: TFLite multiplies the float32 scales first
        g.fully_connected(flat, 6, per_channel=True),
        g.fully_connected(pairs, 9, per_channel=True),  # 2 batches, depth 3: the tail only
        g.fully_connected(flat, 4, bias=False),
    ]
    assert_matches_oracle(g.build(*outs), tmp_path)


def test_s16_activation_clamps_match_the_oracle(tmp_path):
    """relu and relu6 clamp in int16 (zero point 0: relu at 0, relu6 at 6 / scale)."""
    g = OpGraph(seed=24, dtype="int16")
    x = _int16_input(g, (1, 6, 6, 4), zero_point=0)
    flat = _int16_input(g, (1, 20), zero_point=0)
    outs = [
        g.conv2d(x, 5, activation="relu"),
        g.conv2d(x, 5, kernel=(1, 1), activation="relu6", out_scale=6.0 / 20000),  # relu6 well inside int16
        g.depthwise(x, activation="relu6"),
        g.fully_connected(flat, 6, activation="relu"),
    ]
    assert_matches_oracle(g.build(*outs), tmp_path)


def extreme_accumulators():
    """2048 inputs of -32768 or 32512 against weights of +-127 and -128 (beside 127: byte
    pairs hold it), plus int64 biases beyond int32, in a 1x1 conv and a fully connected
    layer: the sums reach 8.6e9 and must be carried in 64 bits to the end, as TFLite
    does; and depthwise windows of 510 and 512 taps of -32768 x -128, whose sums end just
    inside an int32 and at 2^31 (fails if the int32 path takes 512 taps). Returns the
    graph and its input samples (all 127, all -128, a random mix)."""
    g = OpGraph(seed=25, dtype="int16")
    depth = 2048
    x = _int16_input(g, (1, 1, 2, depth), zero_point=0, ratio=256)
    flat = _int16_input(g, (1, depth), zero_point=0, ratio=256)
    wide = 2048 * 32768 * 127 * (IN_SCALE / 256) * 0.02 / 30000  # full-scale sums near 30,000
    conv = g.conv2d(x, 4, kernel=(1, 1), out_scale=wide, per_channel=False)
    g.tensors[g.ops[-1].inputs[1]].data[:] = np.array([127, -128, -127, 127]).reshape(4, 1, 1, 1)
    g.tensors[g.ops[-1].inputs[2]].data[:] = [3 * 2**32, -(2**33), 0, 2**31]
    fc = g.fully_connected(flat, 3, out_scale=wide)
    g.tensors[g.ops[-1].inputs[1]].data[:] = np.array([-127, 127, -128]).reshape(3, 1)
    g.tensors[g.ops[-1].inputs[2]].data[:] = [2**34, -(2**32), 5]
    # depthwise: 510 taps of +-2^22 still sum inside an int32 (the kernel's 4-channel
    # path), 512 taps reach 2^31 (the int64 path)
    windows = []
    for kernel in ((15, 34), (16, 32)):
        windows.append(
            g.depthwise(_int16_input(g, (1, *kernel, 5), zero_point=0, ratio=256), kernel=kernel, padding="valid")
        )
        g.tensors[g.ops[-1].inputs[1]].data[:] = -128
        g.tensors[windows[-1]].quant.scale[:] = 2**31 * (IN_SCALE / 256) * 0.02 / 30000
    shapes = [g.tensors[name].shape for name in g.inputs]
    inputs = [[np.full(shape, v, np.int8) for shape in shapes] for v in (127, -128)]
    rng = np.random.default_rng(3)
    inputs.append([rng.choice(np.array([127, -128], np.int8), shape) for shape in shapes])
    return g.build(conv, fc, *windows), inputs


def test_s16_accumulators_beyond_int32_match_the_oracle(tmp_path):
    graph, inputs = extreme_accumulators()
    assert_matches_oracle(graph, tmp_path, inputs=inputs)


def test_requantize_int8_int16_both_ways_matches_the_oracle(tmp_path):
    """QUANTIZE int8 -> int16 (finer, coarser: saturating) and int16 -> int8 (with a zero
    point, saturating at both ends)."""
    g = OpGraph(seed=26, dtype="int16")
    x = g.input((1, 5, 5, 3), scale=IN_SCALE, zero_point=-9, dtype="int8")
    fine = g.quantize(x, "int16", IN_SCALE / 300)
    coarse = g.quantize(x, "int16", IN_SCALE / 1e6)  # x * 1e6 leaves int16: clamped
    back = g.quantize(fine, "int8", IN_SCALE * 0.37, zero_point=11)  # int8 saturates
    again = g.quantize(fine, "int8", IN_SCALE * 1.7, zero_point=-100)
    rescaled = g.quantize(fine, "int16", IN_SCALE / 77)  # int16 -> int16
    assert_matches_oracle(g.build(fine, coarse, back, again, rescaled), tmp_path, samples=8)


def test_unsupported_16x8_forms_are_refused_clearly():
    """An int16 conv with a zero point and a float -> int16 QUANTIZE have no kernel: the
    support check says so instead of lowering them to wrong C."""
    g = OpGraph(seed=28, dtype="int16")
    x = g.input((1, 4, 4, 2), dtype="int16", zero_point=3)
    y = g.conv2d(x, 2)
    f = g.input((1, 4), dtype="float32")
    q = g.quantize(f, "int16", 0.01)
    graph = g.build(y, q)
    problems = [support_problem(op, graph) for op in graph.ops]
    assert "zero point other than 0" in problems[0] and "from float32 to int16" in problems[1]


def test_int16_layer_scaling_sums_by_2_14_or_more_is_one_clear_line(tmp_path):
    """An int16 conv whose sums reach its output scaled by 2^14 or more has no right shift
    left (TFLite leaves it undefined): `aiotc compile` says so in one line, exit 2, no files."""
    g = OpGraph(seed=29, dtype="int16")
    y = g.conv2d(_int16_input(g, (1, 4, 4, 2)), 2, kernel=(1, 1), out_scale=1e-12)
    graph = g.build(y)
    assert "2^14 or more" in support_problem(graph.ops[-1], graph)
    (tmp_path / "big.tflite").write_bytes(write_tflite(graph))
    run = aiotc("compile", tmp_path / "big.tflite", "--board", "host", "-o", tmp_path / "out")
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert "2^14 or more" in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert not (tmp_path / "out").exists()


def test_int8_in_16x8_chain_int8_out_matches_the_oracle(tmp_path):
    """The graph a mixed-precision model has: int8 layers, QUANTIZE to int16, a 16x8 conv,
    depthwise and fully connected chain, QUANTIZE back to int8 and on in int8; the report
    calls the int16 layers w8a16."""
    g = OpGraph(seed=27, dtype="int16")
    x = g.input((1, 10, 10, 3), scale=IN_SCALE, zero_point=-128, dtype="int8")
    g.dtype = "int8"
    first = g.conv2d(x, 8, stride=(2, 2))
    g.dtype = "int16"
    h = g.quantize(first, "int16", float(g.tensors[first].quant.scale[0]) / 256)
    h = g.conv2d(h, 8, kernel=(3, 3), activation="relu")
    h = g.depthwise(h, multiplier=2, stride=(2, 2))
    h = g.fully_connected(h, 10, keep_num_dims=False)
    y = g.quantize(h, "int8", float(g.tensors[h].quant.scale[0]) * 256, zero_point=4)
    g.dtype = "int8"
    y = g.fully_connected(y, 4)
    assert_matches_oracle(g.build(y), tmp_path)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    precisions = [
        layer["precision"]
        for layer in report["layers"]
        if layer["op"] in ("conv2d", "depthwise_conv2d", "fully_connected")
    ]
    assert precisions == ["w8a8", "w8a16", "w8a16", "w8a16", "w8a8"]
    assert {
        "aiotc_convolve_s16",
        "aiotc_depthwise_conv_s16",
        "aiotc_fully_connected_s16",
        "aiotc_requantize_s8_s16",
        "aiotc_requantize_s16_s8",
    } <= set(report["kernels"])


def test_int64_requantization_equals_tflites_formula(tmp_path):
    """What the lowering precomputes (reduced multiplier, total shift, the bias scaled with
    the rounding folded in) and the C's two-word shift, against TFLite's
    MultiplyByQuantizedMultiplier(int64_t x, ...) of acc = sum + bias written out in
    Python: every total shift 8..46 (TFLite's shifts 7..-31), sums and biases up to 2^46,
    multipliers at the 0x7FFF0000 edge, results that leave int32 (kept as the low 32
    bits, as static_cast<int32_t> does)."""
    source = tmp_path / "rq.c"
    source.write_text(
        '#include "aiotc_nn_gemm_s16.h"\nint32_t rq(int64_t q, int32_t t) { return aiotc_requantize_s64(q, t); }\n'
    )
    so = tmp_path / "librq.so"
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-O2",
            "-shared",
            "-fPIC",
            "-I",
            str(data_dir("runtime_c") / "include"),
            str(source),
            "-o",
            str(so),
        ],
        check=True,
    )
    ffi = cffi.FFI()
    ffi.cdef("int32_t rq(int64_t q, int32_t t);")
    lib = ffi.dlopen(str(so))
    rng = np.random.default_rng(4)
    multipliers = np.concatenate(
        [rng.integers(1 << 30, (1 << 31) - 1, 30), [1 << 30, 0x7FFEFFFF, 0x7FFF0000, (1 << 31) - 1]]
    )
    sums = [
        int(v)
        for v in np.concatenate([rng.integers(-(1 << 46), 1 << 46, 25), rng.integers(-5000, 5000, 10), [0, -1, 1]])
    ]
    biases = np.concatenate([rng.integers(-(1 << 46), 1 << 46, multipliers.size - 4), [0, -1, 1 << 40, -(1 << 33)]])
    for shift in range(7, -32, -1):
        reduced, total = reduced_multipliers(multipliers.astype(np.int32), np.full(multipliers.size, shift, np.int32))
        scaled = scaled_bias(biases, reduced, total)
        for q, r, t, b, sb in zip([int(v) for v in multipliers], reduced, total, biases, scaled):
            red = (q + (1 << 15)) >> 16 if q < 0x7FFF0000 else 0x7FFF
            assert (int(r), int(t)) == (red, 15 - shift)
            for acc in sums:
                expected = (((acc + int(b)) * red + (1 << (14 - shift))) >> (15 - shift)) & 0xFFFFFFFF
                expected -= (expected >> 31) << 32
                assert lib.rq(acc * int(r) + int(sb), int(t)) == expected, (acc, q, shift)


def _int16_stack():
    """int8 -> int16, three 1x1 convs and two depthwise layers in int16, -> int8."""
    g = OpGraph(seed=30, dtype="int16")
    h = _int16_input(g, (1, 12, 12, 8), zero_point=-3)
    h = g.depthwise(g.conv2d(h, 8, kernel=(1, 1)))
    h = g.depthwise(g.conv2d(h, 8, kernel=(1, 1), activation="relu"), stride=(2, 2))
    h = g.conv2d(h, 4, kernel=(1, 1))
    return g.build(g.quantize(h, "int8", float(g.tensors[h].quant.scale[0]) * 200, zero_point=1))


def test_int16_layers_stream_in_row_bands(tmp_path):
    """The streamed stage takes int16 tensors (rows of 2-byte elements) and stays bit-exact."""
    assert_matches_oracle(_int16_stack(), tmp_path, samples=3)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["patch"] is not None and report["patch"]["split_index"] >= 4


def test_int16_layers_run_in_place(tmp_path):
    """Without streaming, the s16 conv and depthwise layers write over their dying int16
    inputs (two pixels at a time, within the in-place contract), bit-exact."""
    path = tmp_path / "stack.tflite"
    path.write_bytes(write_tflite(_int16_stack()))
    out = compile_model(path, board="host", out_dir=tmp_path / "out", patch="off").out_dir
    in_place = json.loads((out / "report.json").read_text())["memory"]["in_place"]
    assert len(in_place) >= 4
    runner = HostModel.build(out)
    result = verify(out, "host", random_samples(runner.inputs, 4, seed=1), runner=runner)
    assert result.mismatches == 0 and result.max_abs_diff == 0, result


def int16_elementwise_graph():
    """int16 ADD and SUB (general scales, broadcast, a fused relu), LEAKY_RELU (alpha below
    and above 1, scales that grow and shrink) and QUANTIZE int16 <-> int32, behind
    QUANTIZE int8 -> int16; zero points 0, as TFLite's int16 kernels assume."""
    g = OpGraph(seed=41, dtype="int16")
    a = _int16_input(g, (1, 5, 7, 3), zero_point=-128)
    b = _int16_input(g, (1, 5, 7, 3), zero_point=127, ratio=90)
    row = _int16_input(g, (1, 1, 7, 1), zero_point=3, ratio=400)
    s = float(g.tensors[a].quant.scale[0])
    outs = [
        g.binary("add", a, b, out_scale=s * 1.7),
        g.binary("sub", a, b, out_scale=s * 0.6, activation="relu"),  # saturates at both ends
        g.binary("add", a, row, out_scale=s * 2.2),  # broadcast over height and channels
        g.binary("sub", row, b, out_scale=s * 3.1),
        g.unary("leaky_relu", a, s * 0.8, 0, ir.LeakyRelu(0.2)),
        g.unary("leaky_relu", b, s * 3.0, 0, ir.LeakyRelu(1.7)),
    ]
    wide = g.quantize(a, "int32", s / 300)  # int16 -> int32 (seanet's QUANTIZE)
    outs += [wide, g.quantize(wide, "int16", s * 1.3)]  # and back
    return g.build(*outs)


def test_int16_add_sub_leaky_relu_quantize_int32_match_the_oracle(tmp_path):
    graph = int16_elementwise_graph()
    assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, random=4, seed=7))


def int16_add_rows_graph():
    """int16 ADD and SUB in the kernel's row loops: the same shape (105 elements: a tail
    after 4-lane steps), the larger scale on either side, equal scales (both inputs
    unshifted), a scalar input on either side, a per-channel operand (rows of 7), a fused
    relu; and a ratio of scales beyond 2^15, which takes the reference loop."""
    g = OpGraph(seed=45, dtype="int16")
    a = g.input((1, 5, 7, 3), scale=1e-3, dtype="int16")
    b = g.input((1, 5, 7, 3), scale=3e-4, dtype="int16")
    x7 = g.input((1, 3, 5, 7), scale=7e-4, dtype="int16")
    channel = g.input((1, 1, 1, 7), scale=2e-3, dtype="int16")
    scalar = g.input((1, 1, 1, 1), scale=5e-4, dtype="int16")
    tiny = g.input((1, 5, 7, 3), scale=1e-8, dtype="int16")
    outs = [
        g.binary("add", a, b, out_scale=1.1e-3),
        g.binary("sub", b, a, out_scale=0.7e-3),  # saturating
        g.binary("add", a, a, out_scale=1.5e-3),
        g.binary("sub", x7, scalar, out_scale=1e-3),
        g.binary("sub", scalar, x7, out_scale=1e-3, activation="relu"),
        g.binary("add", channel, x7, out_scale=2.5e-3),
        g.binary("add", a, tiny, out_scale=1e-3),
    ]
    return g.build(*outs)


def test_int16_add_rows_match_the_oracle(tmp_path):
    graph = int16_add_rows_graph()
    assert_matches_oracle(graph, tmp_path, inputs=extreme_samples(graph, random=4, seed=7))


ADD_CDEF = """
typedef struct { int32_t n, h, w, c; } aiotc_dims;
typedef struct { int32_t min, max; } aiotc_activation;
typedef struct { int32_t multiplier; int32_t shift; } aiotc_per_tensor_quant_params;
typedef struct { aiotc_dims output, stride1, stride2; } aiotc_broadcast_shape;
typedef struct {
    int32_t input1_offset, input2_offset, output_offset, left_shift;
    aiotc_per_tensor_quant_params input1, input2, output;
    aiotc_activation activation;
} aiotc_arith_params;
int32_t aiotc_add_s16(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape, int32_t subtract,
                      const int16_t *input1, const int16_t *input2, int16_t *output);
"""


def test_int16_add_rescales_every_input_as_tflite(tmp_path):
    """The fast loop's input rescaling (SMMULR of x << 16, then the division by 2^r in one
    rounding) against TFLite's double rounding written in Python, for all 65536 int16
    inputs and every input shift 0..15. The output multiplier is 1/8 and the clamp open,
    so the output (wrapped to int16) shows the rescaled values' low bits: a rounding off
    by one at an exact half shows."""
    so = tmp_path / "libadd.so"
    include = data_dir("runtime_c") / "include"
    source = data_dir("runtime_c") / "src" / "aiotc_add_s16.c"
    subprocess.run(
        ["gcc", "-std=c99", "-O2", "-shared", "-fPIC", "-I", str(include), str(source), "-o", str(so)], check=True
    )
    ffi = cffi.FFI()
    ffi.cdef(ADD_CDEF)
    lib = ffi.dlopen(str(so))
    rng = np.random.default_rng(11)
    x1 = np.arange(-32768, 32768, dtype=np.int16)
    x2 = rng.integers(-32768, 32768, x1.size).astype(np.int16)
    dense = (x1.size, 256 * 256, 256, 1)
    shape = ffi.new("aiotc_broadcast_shape *", ((1, 1, 256, 256), dense, dense))
    out = np.zeros_like(x1)
    for r1 in range(16):
        m1, m2, r2 = int(rng.integers(1 << 30, 1 << 31)), int(rng.integers(1 << 30, 1 << 31)), int(rng.integers(0, 16))
        for subtract in (0, 1):
            params = ffi.new(
                "aiotc_arith_params *",
                (0, 0, 3, 15, (m1, -r1), (m2, -r2), (1 << 30, -2), (-(1 << 31), (1 << 31) - 1)),
            )
            pointer = ffi.cast("int16_t *", ffi.from_buffer(out))
            lib.aiotc_add_s16(
                params, shape, subtract, ffi.from_buffer("int16_t[]", x1), ffi.from_buffer("int16_t[]", x2), pointer
            )
            a = multiply_by_quantized_multiplier(x1.astype(np.int64) << 15, m1, -r1)
            b = multiply_by_quantized_multiplier(x2.astype(np.int64) << 15, m2, -r2)
            expected = multiply_by_quantized_multiplier(a - b if subtract else a + b, 1 << 30, -2) + 3
            assert np.array_equal(out, expected.astype(np.int16)), (r1, r2, subtract)


def test_quantize_int32_inputs_match_the_oracle(tmp_path):
    """tflite-micro's QUANTIZE pairs with int32, inputs over the whole int32 range."""
    assert_matches_oracle(int32_quantize_graph(), tmp_path, samples=6)


def int32_quantize_graph():
    """QUANTIZE from int32 to int16 and int8 (finer and coarser: saturating) and from int8
    to int32 (finer and coarser: left and right shifts, no clamp), zero points away from 0."""
    g = OpGraph(seed=42, dtype="int16")
    x = g.input((1, 40), scale=1e-6, zero_point=5, dtype="int32")
    small = g.input((1, 3, 5), scale=0.05, zero_point=-128, dtype="int8")
    outs = [g.quantize(x, "int16", 3e-3), g.quantize(x, "int8", 0.9, zero_point=-100), g.quantize(x, "int16", 1e-9)]
    return g.build(
        *outs, g.quantize(small, "int32", 1e-5, zero_point=-7), g.quantize(small, "int32", 0.7, zero_point=3)
    )


def minus_128_graph():
    """16x8 layers whose int8 weights hold -128 beside negative weights of the paired
    channel (which the byte-pair gemm cannot hold): a conv, a grouped conv with an odd
    channel count per group, a fully connected layer; they run aiotc_convolve_ref_s16."""
    g = OpGraph(seed=43, dtype="int16")
    x = _int16_input(g, (1, 6, 5, 6))
    flat = _int16_input(g, (2, 19), zero_point=4)
    outs = [g.conv2d(x, 4, kernel=(3, 3)), g.conv2d(x, 6, kernel=(3, 2), groups=2), g.fully_connected(flat, 5)]
    for op in g.ops:
        if op.kind in ("conv2d", "fully_connected"):
            data = g.tensors[op.inputs[1]].data
            data[0::2] = np.minimum(data[0::2], -1)  # every even channel negative...
            data[1::2].reshape(data[1::2].shape[0], -1)[:, ::3] = -128  # ...and -128 in the odd one beside it
    return g.build(*outs)


def test_16x8_weights_of_minus_128_fall_back_to_the_reference_kernel(tmp_path):
    graph = minus_128_graph()
    assert_matches_oracle(graph, tmp_path)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "aiotc_convolve_ref_s16" in report["kernels"]
    assert not {"aiotc_convolve_s16", "aiotc_fully_connected_s16"} & set(report["kernels"])


def test_int16_elementwise_at_the_int16_extremes(tmp_path):
    """int16 inputs of -32768 and 32767 (and their mix) straight into ADD, SUB (broadcast)
    and LEAKY_RELU: the rescaled inputs at 2^30, sums and outputs saturating."""
    g = OpGraph(seed=44, dtype="int16")
    a = g.input((1, 3, 5, 4), scale=1e-3, dtype="int16")
    b = g.input((1, 1, 5, 1), scale=3e-4, dtype="int16")
    outs = [
        g.binary("add", a, b, out_scale=1.2e-3),
        g.binary("sub", b, a, out_scale=0.9e-3, activation="relu6"),
        g.unary("leaky_relu", a, 2e-3, 0, ir.LeakyRelu(0.1)),
        g.unary("leaky_relu", b, 1e-4, 0, ir.LeakyRelu(0.5)),  # saturates both ways
    ]
    graph = g.build(*outs)
    inputs = extreme_samples(graph, random=1, mixed=True, seed=9)
    inputs.append([np.full((1, 3, 5, 4), -32768, np.int16), np.full((1, 1, 5, 1), 32767, np.int16)])
    assert_matches_oracle(graph, tmp_path, inputs=inputs)
