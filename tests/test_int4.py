"""w4a8: int4 weights (per channel; per tensor for fully connected, as tflite-micro takes
them) packed two per byte in flash, int8 activations; bit-exact with tflite-micro."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiotc.driver import compile_model
from aiotc.frontend import load_model

from .conftest import assert_bit_exact, shared_model, verify_folder
from .oplib import mixed_precision_model

EVERY_OTHER = lambda layers: {name: "w4a8" for name in layers[::2]}  # noqa: E731
ALL = lambda layers: {name: "w4a8" for name in layers}  # noqa: E731


def _bit_exact(out, board: str = "host", samples: int = 3):
    assert_bit_exact(verify_folder(out, board, samples, seed=7))


@pytest.mark.parametrize(
    "model", ["onnx/dscnn_kws.onnx", "onnx/tinycnn_28.onnx", "mlperf_tiny/pretrainedResnet.tflite"]
)
@pytest.mark.parametrize("choose", [ALL, EVERY_OTHER], ids=["all", "every-other"])
def test_int4_weights_are_bit_exact_with_tflite_micro(model, choose, tmp_path):
    path = mixed_precision_model(shared_model(model), tmp_path / "mixed.tflite", choose)
    graph = load_model(path)
    int4 = {
        op.name
        for op in graph.ops
        if op.kind in ("conv2d", "depthwise_conv2d", "fully_connected") and graph[op.inputs[1]].dtype == "int4"
    }
    assert int4 and all(np.abs(graph[op.inputs[1]].data).max() <= 7 for op in graph.ops if op.name in int4)
    result = compile_model(path, out_dir=tmp_path / "out")
    precisions = {layer["name"]: layer["precision"] for layer in result.report["layers"]}
    assert {name for name, p in precisions.items() if p == "w4a8"} == int4
    assert any(k.endswith("_s4") for k in result.report["kernels"])
    _bit_exact(result.out_dir)


def test_int4_weights_take_half_the_flash(tmp_path):
    """The packed nibbles are what NAME_weights.c holds."""
    source = shared_model("mlperf_tiny/vww_96_float.tflite")
    int8 = compile_model(
        mixed_precision_model(source, tmp_path / "w8.tflite", lambda layers: {}), out_dir=tmp_path / "w8"
    ).report
    int4 = compile_model(mixed_precision_model(source, tmp_path / "w4.tflite", ALL), out_dir=tmp_path / "w4").report
    filters8 = sum(layer["weights_bytes"] for layer in int8["layers"])
    filters4 = sum(layer["weights_bytes"] for layer in int4["layers"])
    assert filters4 < 0.62 * filters8  # the biases and multipliers stay 32-bit
    assert int4["weights_bytes"] < 0.66 * int8["weights_bytes"]
    assert json.loads((tmp_path / "w4" / "report.json").read_text())["layers"][0]["precision"] == "w4a8"


@pytest.mark.qemu
def test_int4_weights_bit_exact_in_qemu(tmp_path):
    path = mixed_precision_model(shared_model("onnx/dscnn_kws.onnx"), tmp_path / "mixed.tflite", EVERY_OTHER)
    _bit_exact(compile_model(path, board="cortex-m4", out_dir=tmp_path / "out").out_dir, "cortex-m4", samples=2)


@pytest.mark.qemu
def test_compact_int4_kernels_take_less_flash_and_stay_bit_exact(tmp_path):
    """What --precision auto falls back to when the fast int4 kernels' code misses a flash
    budget: the int4 layers on the reference loops, less code, the same outputs."""
    from aiotc.boards import load_board
    from aiotc.driver import build_library, plan_graph
    from aiotc.options import CompileOptions
    from aiotc.output import write_folder
    from aiotc.report import target_figures

    path = mixed_precision_model(
        shared_model("mlperf_tiny/pretrainedResnet.tflite"), tmp_path / "mixed.tflite", EVERY_OTHER
    )
    board = load_board("cortex-m4")
    flash = {}
    for compact in (False, True):
        planned = plan_graph(load_model(path), CompileOptions(), compact_int4=compact)
        files, report = build_library(planned, "mixed", board, path)
        flash[compact] = target_figures(files, board)["flash_bytes"]
        int4_kernels = {k for k in report["kernels"] if k.endswith("_s4")}
        reference = {"aiotc_convolve_s4", "aiotc_depthwise_conv_s4", "aiotc_fully_connected_s4"}
        assert int4_kernels and (int4_kernels <= reference if compact else not int4_kernels & reference), int4_kernels
        write_folder(tmp_path / f"out{compact}", files)
        _bit_exact(tmp_path / f"out{compact}", "cortex-m4", samples=2)
    assert flash[True] < flash[False] - 2048
