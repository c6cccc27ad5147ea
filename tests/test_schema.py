"""report.json has exactly the keys aiotc/schema.py declares, so readers typed against it see what is written."""

from __future__ import annotations

import json

from aiotc.driver import compile_model
from aiotc.schema import (
    Buffer,
    InPlace,
    Layer,
    Memory,
    Patch,
    Report,
    Stack,
    TargetFigures,
    Tensor,
)

from .conftest import shared_model


def keys_fit(entry: dict, schema) -> bool:
    return schema.__required_keys__ <= entry.keys() <= schema.__required_keys__ | schema.__optional_keys__


def test_report_json_keys_are_the_schemas(tmp_path):
    out = compile_model(
        shared_model("mlperf_tiny/kws_ref_model.tflite"), board="cortex-m4", out_dir=tmp_path / "kws"
    ).out_dir
    report = json.loads((out / "report.json").read_text())
    assert keys_fit(report, Report) and TargetFigures.__required_keys__ <= report.keys()
    assert report["patch"] is not None and keys_fit(report["patch"], Patch)
    assert all(keys_fit(layer, Layer) for layer in report["layers"])
    assert all(keys_fit(tensor, Tensor) for tensor in report["inputs"] + report["outputs"])
    memory = report["memory"]
    assert keys_fit(memory, Memory) and memory["in_place"]
    assert all(keys_fit(b, Buffer) for b in memory["layout"]) and all(keys_fit(p, InPlace) for p in memory["in_place"])
    assert report["stack"] is None or keys_fit(report["stack"], Stack)
