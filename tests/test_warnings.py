"""The C aiotc ships and generates builds without a warning under gcc and clang, and cppcheck finds nothing.

Flags: -std=c99 -Wall -Wextra -Werror -pedantic -Wconversion, at -O2 (some warnings
need the optimizer's data flow). Covered: every kernel in runtime_c/src, the output
folders of shared models, and two graphs (int8 and float) holding one layer of every
template in templates/layers/.

cppcheck runs with --enable=warning,portability, minus one check: invalidPointerCast
fires on every `(float *)(arena + offset)`. The arena is raw storage (a uint8_t
buffer, or the caller's malloc'd block), every offset in it is a multiple of 16 from
a 16-byte aligned base, and each region holds one type during its lifetime, so the
cast is the point of an arena; TFLite Micro's arena does the same.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from aiotc import ir
from aiotc.codegen.lowering import LOWERINGS
from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.resources import data_dir

from .conftest import shared_model
from .oplib import OpGraph, mixed_precision_model

STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-Wconversion"]
CPPCHECK = [
    "cppcheck",
    "--error-exitcode=1",
    "--enable=warning,portability",
    "--suppress=invalidPointerCast",
    "--inline-suppr",
    "-q",
]
COMPILERS = ["gcc", "clang"]
MODELS = [
    "mlperf_tiny/kws_ref_model.tflite",
    "mlperf_tiny/pretrainedResnet_quant.tflite",
    "keras/fire_64_int8.tflite",
    "keras/fire_64_float.tflite",
    "keras/mcunet_like_160_float.tflite",
]
RUNTIME = data_dir("runtime_c")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} not installed")
    return path


def _compile(cc: str, includes: list[Path], sources: list[Path], build: Path) -> None:
    build.mkdir(parents=True, exist_ok=True)
    flags = [f"-I{folder}" for folder in includes]
    result = subprocess.run(
        [_tool(cc), *STRICT, *flags, "-c", *map(str, sources)], cwd=build, capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stderr, result.stderr


def _cppcheck(includes: list[Path], sources: list[Path]) -> None:
    flags = [f"-I{folder}" for folder in includes]
    result = subprocess.run([_tool("cppcheck"), *CPPCHECK, *flags, *map(str, sources)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def every_template_graph(dtype: str, int4: bool = False) -> ir.Graph:
    """One input, one branch per layer template: every template printed once for `dtype`
    (with `int4`, the conv family's weights int4: their _s4 kernels)."""
    g = OpGraph(seed=3, dtype=dtype)
    w = g.int4 if int4 else (lambda out: out)
    x = g.input((1, 6, 6, 4), scale=0.05, zero_point=-3)
    outs = [
        w(g.conv2d(x, 4)),
        w(g.conv2d(x, 4, groups=2)),  # int8: the grouped gemm kernel
        w(g.unpackable(g.conv2d(x, 4, groups=2))),  # weights byte pairs cannot hold: the reference conv kernel
        w(g.depthwise(x, multiplier=2, dilation=(2, 1))),  # the channel kernels over repeated rows
        w(g.depthwise(x, kernel=(1, 3))),  # the any-kernel fast path
        w(g.depthwise(g.input((1, 4, 9, 2), scale=0.05, zero_point=-3))),  # 3x3 on rows of 8 or more: channel planes
        w(g.conv2d(x, 1, kernel=(1, 1))),  # a 1x1 conv to one channel: its own kernel
        w(g.fully_connected(x, 5)),  # few outputs: rows straight from the input
        w(g.fully_connected(x, 16)),  # more: the packed kernel
        w(g.fully_connected(x, 5, weight_zp=3)),  # the reference kernel (the packed one needs symmetric weights)
        g.pool("avg_pool2d", x),
        g.pool("max_pool2d", x),
        g.binary("add", x, x),
        g.binary("sub", x, x),
        g.binary("mul", x, x),
        g.mean(x, (1, 2)),
        g.unary("softmax", x, 1 / 256, -128, ir.Softmax(1.0)),
        g.unary("relu", x, 0.05, -128),
        g.unary("logistic", x, 1 / 256, -128),
        g.unary("tanh", x, 1 / 128, 0),
        g.unary("hard_swish", x, 0.04, -40),
        g.unary("leaky_relu", x, 0.04, -20, ir.LeakyRelu(0.2)),
        g.movement("pad", [x], (1, 7, 8, 4), ir.Pad(((0, 0), (1, 0), (0, 2), (0, 0)))),
        g.movement("transpose", [x], (1, 4, 6, 6), ir.Transpose((0, 3, 1, 2))),
        g.movement("strided_slice", [x], (1, 3, 2, 4), ir.StridedSlice((0, 0, 1, 0), (1, 6, 6, 4), (1, 2, 3, 1))),
        g.movement("concat", [x, x], (1, 6, 6, 8), ir.Concat(3)),
        g.movement("reshape", [g.unary("relu6", x)], (36, 4), ir.NoAttrs()),
        g.lstm(g.input((1, 3, 4), scale=0.05, zero_point=-3), 5, hidden_zp=2),
        g.svdf(g.input((2, 6), scale=0.05, zero_point=-3), 3, rank=2, memory=4),
        # weights byte pairs cannot hold: the reference LSTM kernel, the rows SVDF kernel
        g.unpackable(g.lstm(g.input((1, 3, 4), scale=0.05, zero_point=-3), 5, hidden_zp=2)),
        g.unpackable(g.svdf(g.input((2, 6), scale=0.05, zero_point=-3), 3, rank=2, memory=4)),
        # data movement (issue 20)
        g.movement("pack", [x, x], (1, 6, 2, 6, 4), ir.Pack(2)),
        g.movement("tile", [x], (1, 12, 6, 4), ir.Tile((1, 2, 1, 1))),
        g.movement("broadcast_to", [x], (2, 6, 6, 4), ir.NoAttrs()),
        g.movement("resize_nearest", [x], (1, 9, 12, 4), ir.Resize()),
        g.movement("resize_bilinear", [x], (1, 9, 12, 4), ir.Resize(half_pixel_centers=True)),
        g.movement("reverse", [x], (1, 6, 6, 4), ir.Reverse((1, 2))),
        g.movement("gather", [x], (1, 6, 6, 2), ir.Gather(3, (3, 0), (2,))),
        g.movement("mirror_pad", [x], (1, 8, 6, 4), ir.MirrorPad(((0, 0), (1, 1), (0, 0), (0, 0)), True)),
        g.movement("depth_to_space", [x], (1, 12, 12, 1), ir.BlockSize(2)),
        g.movement("space_to_depth", [x], (1, 3, 3, 16), ir.BlockSize(2)),
        g.movement("space_to_batch", [x], (4, 3, 3, 4), ir.BatchSpace((2, 2))),
        g.movement(
            "batch_to_space",
            [g.movement("reshape", [x], (4, 3, 3, 4), ir.NoAttrs())],
            (1, 5, 6, 4),
            ir.BatchSpace((2, 2), ((1, 0), (0, 0))),
        ),
        g.unary("cast", x, out_dtype="int32" if dtype == "float32" else "float32"),
        g.unary("zeros_like", x),
        # issue 20: reductions, activations, matrix products
        g.reduce("sum", x, (1, 2), out_scale=0.4),
        g.reduce("reduce_max", x, (3,)),
        g.reduce("reduce_min", x, (0, 1), keepdims=False),
        g.arg_min_max("arg_max", x, 3),
        g.arg_min_max("arg_min", x, 1),
        g.prelu(x, (1, 1, 4)),
        g.unary("elu", x, 0.05, -20),
        g.unary("l2_normalization", x, 1 / 128, 0),
        g.unary("log_softmax", x, 16 / 256, 127),
        g.batch_matmul(x, x, adj_y=True),
        g.add_n([x, x, x]),
        g.cumsum(x, 1, exclusive=True),
        g.transpose_conv(x, 3),
        g.unpackable(g.transpose_conv(x, 3)),  # the reference int8 kernel
        g.unary("gelu", x, 0.05, -20, ir.Gelu(True)),
    ]
    if dtype == "float32":  # float-only kernels (issue 20)
        outs.append(g.pool("l2_pool2d", x))
    else:  # a scale ratio past the int8 requantize table's shifts: the requantize loop
        outs.append(g.unary("quantize", x, 1e-9, -60))
    outs += [
        g.broadcast("maximum", x, x),
        g.broadcast("minimum", x, x),
        g.broadcast("squared_difference", x, x),
        g.unary("abs", x),
    ]  # elementwise math (issue 20)
    outs += [
        g.broadcast(k, x, x, out_dtype="bool")
        for k in ("equal", "not_equal", "greater", "greater_equal", "less", "less_equal")
    ]
    flags = g.broadcast("less", x, x, out_dtype="bool")
    outs += [
        g.broadcast("logical_and", flags, flags, out_dtype="bool"),
        g.broadcast("logical_or", flags, flags, out_dtype="bool"),
        g.logical_not(flags),
        g.select(flags, x, x),
    ]
    if dtype == "float32":
        outs += [
            g.broadcast(k, x, x, attrs=ir.Binary() if k == "div" else None) for k in ("div", "floor_div", "floor_mod")
        ]
        outs += [
            g.unary(k, x)
            for k in ("neg", "sqrt", "rsqrt", "square", "exp", "log", "sin", "cos", "ceil", "floor", "round")
        ]
    outs += [  # issue 20: indexed reads and writes, REDUCE_ALL
        g.indexed("gather_nd", x, [[0, 5, 1], [0, 2, 3]], (2, 4)),
        g.indexed("embedding_lookup", x, [0, 0, 0], (3, 6, 6, 4)),
        g.indexed(
            "dynamic_update_slice",
            x,
            [0, 1, 4, 1],
            (1, 6, 6, 4),
            update=g.movement("reverse", [x], (1, 6, 6, 4), ir.Reverse((1,))),
        ),
        g.reduce_all(flags, (1, 3), keepdims=True),
    ]
    if dtype == "int8":  # the hybrid lookup: int8 values (zero point 0) into float32 rows
        outs.append(g.indexed("embedding_lookup", g.weights((5, 3), axis=None), [4, 1], (2, 3), out_dtype="float32"))
    if dtype == "int8":
        outs.append(g.unary("quantize", x, 0.13, -60))
        outs.append(
            g.unary("softmax", x, 1 / 65536, -32768, ir.Softmax(1.0), out_dtype="int16")
        )  # the SVDF models' end
        outs.append(g.unary("quantize", x, 0.05, 0, out_dtype="int32"))
        outs.append(g.unary("quantize", g.quantize(x, "int16", 0.001), 0.05, 0, out_dtype="int32"))
    else:
        outs.append(g.unary("dequantize", g.unary("quantize", x, 0.02, -3, out_dtype="int8"), out_dtype="float32"))
    return g.build(*outs)


def every_16x8_template_graph() -> ir.Graph:
    """The 16x8 kernels: conv, depthwise (4-channel and int64 paths), fully connected, and
    QUANTIZE int8 -> int16 -> int16 -> int8."""
    g = OpGraph(seed=3, dtype="int16")
    x = g.quantize(g.input((1, 6, 6, 5), scale=0.05, zero_point=-3, dtype="int8"), "int16", 0.05 / 200)
    outs = [g.conv2d(x, 4), g.depthwise(x), g.depthwise(x, multiplier=2), g.fully_connected(x, 5)]
    outs.append(g.quantize(g.quantize(x, "int16", 0.05 / 150), "int8", 0.1, 7))
    # issue 20: int16 elementwise, TRANSPOSE_CONV, the reference conv (weights of -128), int32 QUANTIZE
    outs += [g.binary("add", x, x, 0.05 / 100), g.binary("sub", x, x, 0.05 / 100), g.transpose_conv(x, 3)]
    outs.append(g.unpackable(g.transpose_conv(x, 3)))  # the reference 16x8 kernel
    outs.append(g.unary("leaky_relu", x, 0.05 / 200, 0, ir.LeakyRelu(0.2)))
    outs.append(g.unpackable(g.conv2d(x, 2, kernel=(1, 1)), value=-1))
    outs.append(g.quantize(g.quantize(x, "int32", 1e-6), "int16", 0.05 / 100))
    outs.append(g.batch_matmul(x, x, adj_y=True))
    wide = g.input((1, 7), scale=1e-4, zero_point=3, dtype="int32")
    outs += [g.quantize(wide, "int8", 0.05), g.quantize(g.input((1, 3), scale=0.05, dtype="int8"), "int32", 1e-4)]
    return g.build(*outs)


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> list[Path]:
    """Output folders: the shared models, then the every-template graphs (int8, float, int4 weights)."""
    root = tmp_path_factory.mktemp("strict")
    made = [compile_model(shared_model(m), out_dir=root / Path(m).stem).out_dir for m in MODELS]
    for dtype, int4 in (("int8", False), ("float32", False), ("int8", True)):
        name = f"templates_{'int4' if int4 else dtype}"
        (root / f"{name}.tflite").write_bytes(write_tflite(every_template_graph(dtype, int4)))
        # an SRAM budget they fit: each layer keeps its fastest kernel (within a budget the
        # memory-aware choice never trades a kernel for arena bytes), so every kernel is built
        made.append(compile_model(root / f"{name}.tflite", out_dir=root / name, sram_budget=1 << 20).out_dir)
    model = root / "templates_16x8.tflite"
    model.write_bytes(write_tflite(every_16x8_template_graph()))
    made.append(compile_model(model, out_dir=root / "templates_16x8").out_dir)
    # a matrix product too small for its kernel's scratch: the planner takes the reference loops
    g = OpGraph(seed=4)
    weights = g.weights((2, 1), None, zero_point=3)  # asymmetric: not a gemm's
    (root / "matmul.tflite").write_bytes(write_tflite(g.build(g.batch_matmul(g.input((1, 2)), weights))))
    made.append(compile_model(root / "matmul.tflite", out_dir=root / "matmul").out_dir)
    # depthwise layers whose scratch (rows repeated for the multiplier) outweighs their work:
    # the planner takes the reference kernels, int8 and int4
    g = OpGraph(seed=8)
    depthwise = [g.depthwise(g.input((1, 3, 32, 8), zero_point=-3), multiplier=2, padding="valid") for _ in "ab"]
    (root / "depthwise.tflite").write_bytes(write_tflite(g.build(depthwise[0], g.int4(depthwise[1]))))
    made.append(compile_model(root / "depthwise.tflite", out_dir=root / "depthwise").out_dir)
    # the DSP core's kernels: the quads' rows of 32 inputs and more (a 1x1 of 128 channels, a
    # 3x3 of 16), the few-channel 1x1 (8 channels) and first layer (3x3 over 3 channels), the
    # depthwise tap pairs (a 3x3 on rows of 5)
    g = OpGraph(seed=5)
    quads = g.build(
        g.conv2d(g.input((1, 4, 4, 128)), 4, kernel=(1, 1)),
        g.conv2d(g.input((1, 4, 4, 16)), 4),
        g.conv2d(g.input((1, 4, 4, 16)), 8, kernel=(1, 1)),
        g.conv2d(g.input((1, 4, 4, 3)), 8),
        g.depthwise(g.input((1, 5, 5, 8))),
    )
    (root / "quads.tflite").write_bytes(write_tflite(quads))
    made.append(
        compile_model(root / "quads.tflite", out_dir=root / "quads", board="cortex-m4", sram_budget=1 << 20).out_dir
    )
    # the M4's LSTM: its weights widened to int16
    g = OpGraph(seed=7)
    lstm = g.build(g.lstm(g.input((1, 3, 12), scale=0.03, zero_point=-7), 8))
    (root / "lstm.tflite").write_bytes(write_tflite(lstm))
    made.append(
        compile_model(root / "lstm.tflite", out_dir=root / "lstm", board="cortex-m4", sram_budget=1 << 20).out_dir
    )
    # the M55's gathered windows: a 3x3 conv to 3 channels
    g = OpGraph(seed=6)
    (root / "few.tflite").write_bytes(write_tflite(g.build(g.conv2d(g.input((1, 6, 6, 8)), 3))))
    made.append(
        compile_model(root / "few.tflite", out_dir=root / "few", board="cortex-m55", sram_budget=1 << 20).out_dir
    )
    # a float global average pool summing its input band by band, at the end of a streamed stage
    g = OpGraph(seed=7, dtype="float32")
    x = g.conv2d(g.conv2d(g.input((1, 12, 6, 3)), 16), 16, kernel=(1, 1))
    (root / "gap.tflite").write_bytes(write_tflite(g.build(g.mean(x, (1, 2), keepdims=False))))
    made.append(compile_model(root / "gap.tflite", out_dir=root / "gap").out_dir)
    int4 = mixed_precision_model(
        shared_model("onnx/dscnn_kws.onnx"), root / "int4.tflite", lambda layers: {n: "w4a8" for n in layers}
    )
    made.append(compile_model(int4, out_dir=root / "int4").out_dir)
    return made


@pytest.mark.parametrize("cc", COMPILERS)
def test_every_kernel_builds_strict(cc, tmp_path):
    _compile(cc, [RUNTIME / "include"], sorted((RUNTIME / "src").glob("*.c")), tmp_path)


def test_every_kernel_passes_cppcheck():
    _cppcheck([RUNTIME / "include"], sorted((RUNTIME / "src").glob("*.c")))


def test_the_folders_cover_every_op_and_kernel(folders):
    reports = [json.loads((out / "report.json").read_text()) for out in folders]
    assert {layer["op"] for r in reports for layer in r["layers"]} == set(LOWERINGS)
    assert {k for r in reports for k in r["kernels"]} == {p.stem for p in (RUNTIME / "src").glob("*.c")}


def test_every_weights_array_is_used(folders):
    """A constant the graph code does not read would still count in weights_bytes (the
    host's flash figure): every array of NAME_weights.c is referenced by NAME.c."""
    for out in folders:
        declared = re.findall(r"^const \w+ (\w+)\[", (out / f"{out.name}_weights.c").read_text(), re.MULTILINE)
        graph = "\n".join(
            line for line in (out / f"{out.name}.c").read_text().splitlines() if not line.startswith("extern ")
        )
        assert declared and not [symbol for symbol in declared if not re.search(rf"\b{symbol}\b", graph)], out.name


@pytest.mark.slow
@pytest.mark.parametrize("cc", COMPILERS)
def test_generated_folders_build_strict(cc, folders, tmp_path):
    for out in folders:
        _compile(
            cc,
            [out, out / "aiotc_runtime"],
            [out / f"{out.name}.c", out / f"{out.name}_weights.c"],
            tmp_path / out.name,
        )


@pytest.mark.slow
def test_generated_graphs_pass_cppcheck(folders):
    """The graph code of every folder (the weights files are only const data, and slow to scan)."""
    for out in folders:
        _cppcheck([out, out / "aiotc_runtime"], [out / f"{out.name}.c"])
