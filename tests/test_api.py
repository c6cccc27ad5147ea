"""The Python API (aiotc.compile, aiotc.verify, aiotc.export_tflite) as a build script uses it."""

from __future__ import annotations

import pytest

import aiotc
from aiotc.demo import stripes_model
from aiotc.errors import UsageError
from aiotc.export.tflite import write_tflite
from aiotc.frontend import load_model


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "stripes.tflite"
    path.write_bytes(write_tflite(stripes_model()))
    return path


def test_compile_then_verify_the_folder(model, tmp_path):
    result = aiotc.compile(model, tmp_path / "out", sram_budget=64 * 1024)
    assert (tmp_path / "out" / "stripes.c").is_file()
    assert result.report["arena_bytes"] <= 64 * 1024 and result.report["board"] == "host"
    verified = aiotc.verify(tmp_path / "out", samples=3)
    assert verified.ok and verified.samples == 3 and verified.oracle == "tflite-micro"


def test_verify_compiles_a_model_on_the_fly(model):
    assert aiotc.verify(model, samples=2, patch="off").mismatches == 0


def test_export_writes_a_model_that_reads_back(model, tmp_path):
    assert aiotc.export_tflite(model, tmp_path / "again.tflite") == {}
    assert [op.kind for op in load_model(tmp_path / "again.tflite").ops] == [op.kind for op in load_model(model).ops]


def test_errors_are_the_cli_ones(model, tmp_path):
    with pytest.raises(UsageError, match="unknown board"):
        aiotc.compile(model, tmp_path / "out", board="no-such-board")
