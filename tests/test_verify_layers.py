"""verify --layers: every layer's output against the oracle's, naming the first that differs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from aiotc.export.tflite import write_tflite
from tests.conftest import aiotc
from tests.oplib import OpGraph


def _three_layers(tmp_path, board="host"):
    """conv -> depthwise -> fully connected: three layers, each with its own arena tensor."""
    g = OpGraph(seed=3)
    x = g.input((1, 8, 8, 3), scale=0.05, zero_point=-10)
    y = g.conv2d(x, out_channels=6, kernel=(3, 3), activation="relu", out_scale=0.1, out_zp=-20)
    y = g.depthwise(y, kernel=(3, 3), out_scale=0.1, out_zp=5)
    y = g.fully_connected(g.movement("reshape", [y], (1, 8 * 8 * 6), None), 4, out_scale=0.2)
    path = tmp_path / "three.tflite"
    path.write_bytes(write_tflite(g.build(y)))
    out = tmp_path / "out"
    result = aiotc("compile", path, "-o", out, "--patch", "off", "--board", board)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.parametrize("board", ["host", pytest.param("cortex-m4", marks=pytest.mark.qemu)])
def test_every_layer_matches(tmp_path, board):
    out = _three_layers(tmp_path, board)
    result = aiotc("verify", out, "--layers", "--json", "--dump", tmp_path / "dump", "--board", board)
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["ok"] and answer["first_bad"] is None
    assert [layer["status"] for layer in answer["layers"]] == ["match"] * len(answer["layers"])
    assert all(layer["max_abs_diff"] == 0 for layer in answer["layers"])
    dumped = sorted((tmp_path / "dump" / "aiotc").glob("*.npy"))
    assert len(dumped) == len(answer["layers"])
    first = answer["layers"][0]["name"]
    oracle = np.load(next((tmp_path / "dump" / "oracle").glob(f"{first}*.npy")))
    assert np.array_equal(np.load(dumped[0]), oracle)


@pytest.mark.parametrize("board", ["host", pytest.param("cortex-m4", marks=pytest.mark.qemu)])
def test_names_the_broken_layer(tmp_path, board):
    """Layer 1's first output byte off by one in the generated C: layer 1 is the first bad one."""
    out = _three_layers(tmp_path, board)
    report = json.loads((out / "report.json").read_text())
    layer = report["layers"][1]
    source = out / f"{report['name']}.c"
    text = source.read_text()
    hook = "AIOTC_LAYER_END(1);"  # after its last band call where it runs in bands
    at = text.rindex(hook)
    broken = f"((int8_t *)(arena + {layer['output_offset']}))[0] += 1;\n    {hook}"
    source.write_text(text[:at] + broken + text[at + len(hook) :])

    result = aiotc("verify", out, "--layers", "--board", board)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"first layer that differs: #1 {layer['output']}" in result.stdout
    answer = json.loads(aiotc("verify", out, "--layers", "--json", "--board", board).stdout)
    assert [entry["status"] for entry in answer["layers"]][:2] == ["match", "DIFFERS"]
    assert answer["layers"][1]["max_abs_diff"] == 1


def test_lists_the_tensor_a_fused_activation_removed(tmp_path):
    """A float conv then a separate RELU: aiotc fuses them, so the conv's own output has no aiotc layer."""
    g = OpGraph(seed=5, dtype="float32")
    x = g.input((1, 6, 6, 2))
    conv = g.conv2d(x, out_channels=4)
    y = g.unary("relu", conv)
    path = tmp_path / "fused.tflite"
    path.write_bytes(write_tflite(g.build(y)))
    out = tmp_path / "out"
    assert aiotc("compile", path, "-o", out, "--patch", "off").returncode == 0
    result = aiotc("verify", out, "--layers", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["oracle"] == "litert-ref"  # the float oracle
    assert [layer["name"] for layer in answer["layers"]] == [y]
    assert answer["oracle_only"] == [conv]


def test_python_api_names_the_same_layers(tmp_path):
    import aiotc as api

    out = _three_layers(tmp_path)
    result = api.verify_layers(out, seed=2)
    assert result.ok and result.oracle == "tflite-micro" and result.first_bad is None
    report = json.loads((out / "report.json").read_text())
    assert [layer.name for layer in result.layers] == [layer["output"] for layer in report["layers"]]
