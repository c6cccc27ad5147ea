"""The command line as a user meets it: exit codes, one-line errors, whole output folders."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from aiotc.demo import stripes_model
from aiotc.export.tflite import write_tflite

from .conftest import aiotc, shared_model


@pytest.fixture(scope="module")
def stripes(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "stripes.tflite"
    path.write_bytes(write_tflite(stripes_model()))
    return path


def test_compile_writes_the_library_and_report(stripes, tmp_path):
    out = tmp_path / "out"
    result = aiotc("compile", stripes, "--board", "host", "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    report = json.loads((out / "report.json").read_text())
    assert report["model"] == "stripes.tflite" and report["board"] == "host"
    assert [layer["op"] for layer in report["layers"]] == [
        "conv2d",
        "avg_pool2d",
        "reshape",
        "fully_connected",
        "softmax",
    ]
    assert report["macs"] == 32 * 32 * 4 * 9 + 4 * 3
    header = (out / "stripes.h").read_text()
    assert f"#define STRIPES_ARENA_SIZE {report['arena_bytes']}u" in header
    source = (out / "stripes.c").read_text()
    assert '/* 0: conv2d "edges" */' in source


def test_verify_json_reports_bit_exact(stripes):
    result = aiotc("verify", stripes, "--board", "host", "--samples", "5", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"samples": 5, "mismatches": 0, "max_abs_diff": 0.0, "oracle": "tflite-micro"}


def test_run_writes_outputs_for_a_batch(stripes, tmp_path):
    inputs = tmp_path / "x.npy"
    np.save(inputs, np.zeros((3, 1, 32, 32, 1), np.int8))
    result = aiotc("run", stripes, "--board", "host", "--input", inputs, "-o", tmp_path / "y.npy")
    assert result.returncode == 0, result.stderr
    y = np.load(tmp_path / "y.npy")
    assert y.shape == (3, 1, 3) and y.dtype == np.int8
    assert (y == y[0]).all()


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"not a model at all, just some text\n" * 10, "not"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "not"),
    ],
)
def test_bad_model_file_is_one_line_exit_2_and_no_output(content, words, tmp_path):
    model = tmp_path / "bad.tflite"
    model.write_bytes(content)
    out = tmp_path / "out"
    result = aiotc("compile", model, "-o", out)
    assert result.returncode == 2
    assert result.stderr.startswith("aiotc: error:") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [model]


def test_truncated_model_is_refused(tmp_path):
    data = shared_model("mlperf_tiny/kws_ref_model.tflite").read_bytes()
    for cut in (16, 200, len(data) // 2, len(data) - 8):
        model = tmp_path / "cut.tflite"
        model.write_bytes(data[:cut])
        result = aiotc("compile", model, "-o", tmp_path / "out")
        assert result.returncode == 2, (cut, result.stderr)
        assert result.stderr.startswith("aiotc: error:") and "Traceback" not in result.stderr
        assert not (tmp_path / "out").exists()


def test_unknown_board_suggests_names(stripes, tmp_path):
    result = aiotc("compile", stripes, "--board", "cortex-m44", "-o", tmp_path / "out")
    assert result.returncode == 2
    assert "cortex-m4" in result.stderr and "Traceback" not in result.stderr


def test_missing_model_file(tmp_path):
    result = aiotc("compile", tmp_path / "nope.tflite")
    assert result.returncode == 2
    assert "nope.tflite" in result.stderr


def test_failed_compile_keeps_the_previous_output_folder(stripes, tmp_path):
    out = tmp_path / "out"
    assert aiotc("compile", stripes, "-o", out, "-q").returncode == 0
    before = sorted(p.name for p in out.iterdir())
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"garbage" * 100)
    assert aiotc("compile", bad, "-o", out).returncode == 2
    assert sorted(p.name for p in out.iterdir()) == before


def test_refuses_to_overwrite_a_folder_it_did_not_make(stripes, tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = aiotc("compile", stripes, "-o", out)
    assert result.returncode == 2 and "not an aiotc output folder" in result.stderr
    assert (out / "notes.txt").read_text() == "mine"


def test_patch_and_sram_budget_choose_the_schedule(tmp_path):
    """auto streams vww's first layers; off does not; a budget picks the simplest schedule under it."""
    model = shared_model("mlperf_tiny/vww_96_int8.tflite")
    reports = {}
    for label, options in {"auto": [], "off": ["--patch", "off"], "budget": ["--sram-budget", "60K"]}.items():
        result = aiotc("compile", model, "-o", tmp_path / label, "--json", *options)
        assert result.returncode == 0, result.stderr
        reports[label] = json.loads(result.stdout)
    auto, off, budget = reports["auto"], reports["off"], reports["budget"]
    assert off["patch"] is None and auto["patch"]["mac_overhead"] == 0.0
    assert auto["arena_bytes"] <= 32 * 1024 < off["arena_bytes"]
    assert auto["arena_bytes"] <= budget["arena_bytes"] <= 60 * 1024
    assert budget["patch"] is None or budget["patch"]["band_calls"] < auto["patch"]["band_calls"]


def test_budget_miss_and_bad_size(tmp_path):
    model = shared_model("mlperf_tiny/vww_96_int8.tflite")
    miss = aiotc("compile", model, "-o", tmp_path / "miss", "--sram-budget", "8K")
    assert miss.returncode == 1 and "the SRAM budget is 8,192 B (over by" in miss.stderr
    assert not (tmp_path / "miss").exists()
    bad = aiotc("compile", model, "-o", tmp_path / "bad", "--flash-budget", "lots")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "'lots' is not a size" in bad.stderr


def test_inspect_memory_shows_the_plan_compile_uses(tmp_path):
    model = shared_model("mlperf_tiny/kws_ref_model.tflite")
    shown = aiotc("inspect", model, "--memory")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(aiotc("compile", model, "-o", tmp_path / "kws", "--json").stdout)
    assert f"arena {report['arena_bytes']:,} B; lower bound of this schedule" in shown.stdout
    memory = report["memory"]
    assert len(memory["timeline"]) == len(report["layers"]) and max(memory["timeline"]) <= report["arena_bytes"]
    assert memory["in_place"] and " I depthwise_conv2d" in shown.stdout
    assert f"streamed stage: layers 0..{report['patch']['split_index']} in row bands" in shown.stdout
    staged = {layer["name"] for layer in report["layers"][: report["patch"]["split_index"] + 1]}
    assert memory["scratch_aliases"] and set(memory["scratch_aliases"]) < staged  # the stage's layers share one scratch
    assert f"{len(memory['scratch_aliases']) + 1} of its layers share one scratch buffer" in shown.stdout
    ends = [(e["offset"], e["offset"] + e["bytes"]) for e in memory["layout"]]
    assert all(0 <= a < b <= report["arena_bytes"] for a, b in ends)


def test_budget_miss_says_what_would_fit(tmp_path):
    model = shared_model("keras/mbv2_w035_144_int8.tflite")
    miss = aiotc("compile", model, "--board", "stm32f411", "--patch", "off", "-o", tmp_path / "out")
    assert miss.returncode == 1 and miss.stderr.count("\n") == 1, miss.stderr
    assert "stm32f411 has 131,072 B (over by" in miss.stderr and "--patch auto" in miss.stderr
    assert "it fits ek-ra6m4 (256 KiB SRAM" in miss.stderr  # the smallest boards with room come first
    # Streaming solves the SRAM; the link then finds the weights plus the code over the 512 KiB of flash.
    flash = aiotc("compile", model, "--board", "stm32f411", "--patch", "auto", "-o", tmp_path / "out", "-q")
    assert (
        flash.returncode == 1
        and flash.stderr.count("\n") == 1
        and "region FLASH (524,288 B) overflowed by" in flash.stderr
    ), flash.stderr
    assert not (tmp_path / "out").exists()
    fits = aiotc("compile", model, "--board", "nrf52840dk", "--patch", "auto", "-o", tmp_path / "out", "-q")
    assert fits.returncode == 0, fits.stderr


def test_unsupported_ops_are_listed_with_what_is_supported(tmp_path):
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Erf", ["x"], ["e"]),
        helper.make_node("Relu", ["e"], ["r"]),
        helper.make_node("Acos", ["r"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = tmp_path / "odd.onnx"
    model.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    result = aiotc("compile", model, "-o", tmp_path / "out")
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    problems, supported = result.stderr.split("; aiotc supports ")
    assert "Erf at node 0" in problems and "Acos at node 2" in problems
    assert "Conv, " in supported and "`aiotc ops`" in supported


def test_ops_lists_what_the_frontends_read_and_the_kernels():
    from aiotc.codegen.emit import LOWERINGS
    from aiotc.frontend import supported_ops

    result = aiotc("ops")
    assert result.returncode == 0, result.stderr
    words = set(result.stdout.replace(",", " ").split())
    for names in supported_ops().values():
        assert set(names) <= words
    assert set(LOWERINGS) <= words and "CONV_2D" in words and "GlobalAveragePool" in words


def test_summary_cuts_layer_names_not_figures(tmp_path):
    from rich.console import Console

    from aiotc.summary import print_summary

    report = json.loads(
        aiotc("compile", shared_model("keras/mbv2_w035_144_int8.tflite"), "-o", tmp_path / "out", "--json").stdout
    )
    console = Console(width=110, record=True)
    print_summary(report, console=console)
    text = console.export_text()
    assert max(map(len, text.splitlines())) <= 110
    for layer in report["layers"]:
        assert f"{layer['macs']:,}" in text and f"{layer['live_bytes']:,}" in text
    assert "…" in text  # mbv2's long TFLite names are shortened


def test_a_pipe_gets_whole_tables_without_colour(tmp_path):
    """stdout is a pipe here, as in a CI log: nothing is cut to 80 columns, names stay whole, no escapes."""
    model = shared_model("keras/mbv2_w035_144_int8.tflite")
    result = aiotc("compile", model, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    lines = result.stdout.splitlines()
    for index, layer in enumerate(report["layers"]):
        row = next(line for line in lines if re.match(rf"│ *{index} │", line))
        assert layer["name"].split(";")[0] in row and f"{layer['macs']:,}" in row and f"{layer['live_bytes']:,}" in row
    assert report["patch"]["split_after"].split(";")[0] in result.stdout  # the streamed stage's line too
    for command in (("inspect", model), ("boards",), ("ops",)):
        printed = aiotc(*command).stdout
        assert max(map(len, printed.splitlines())) > 80  # wider than the 80 columns rich assumes off a terminal
        result.stdout += printed
    assert "…" not in result.stdout and "\x1b" not in result.stdout
