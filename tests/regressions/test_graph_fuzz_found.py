"""Graphs the random-graph fuzzer (tests/test_graph_fuzz.py) found aiotc getting wrong,
shrunk to the layers that show it; each runs under ASan and UBSan against the oracle."""

from __future__ import annotations

import numpy as np

from aiotc import ir
from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.samples import random_samples
from aiotc.toolchain.sanitize import SanitizedModel
from aiotc.verification import verify

from ..oplib import OpGraph


def assert_sanitized_matches(graph: ir.Graph, tmp_path, inputs=None) -> None:
    model = tmp_path / "model.tflite"
    model.write_bytes(write_tflite(graph))
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    runner = SanitizedModel.build(out)
    result = verify(out, "host", inputs or random_samples(runner.inputs, 3, 0), runner=runner)
    assert result.mismatches == 0, f"{result.mismatches}/{result.samples} samples differ from {result.oracle}"


def test_a_bool_constant_is_written_as_c(tmp_path):
    """Bool constants reached the C as Python's `False`."""
    g = OpGraph(seed=1, dtype="float32")
    x = g.input((3, 2, 1))
    flags = g.broadcast("greater_equal", x, g.const(np.zeros((1, 1), np.float32)), out_dtype="bool")
    assert_sanitized_matches(
        g.build(g.broadcast("logical_and", flags, g.const(np.array([[[True]]])), out_dtype="bool")), tmp_path
    )


def test_an_int32_output_after_an_odd_sized_int8_one_is_aligned(tmp_path):
    """Outputs sat back to back in the caller's buffer: an int32 (float) one after 18 int8
    bytes was stored at an unaligned address (UB; an unaligned float store faults on Cortex-M)."""
    g = OpGraph(seed=2)
    x = g.input((1, 2, 1, 9), scale=0.35, zero_point=2)
    assert_sanitized_matches(g.build(g.unary("abs", x), g.arg_min_max("arg_max", x, 1)), tmp_path)


def test_a_float_input_after_an_odd_sized_int8_one_is_aligned(tmp_path):
    g = OpGraph(seed=3, dtype="float32")
    flags = g.bool_input((3,))
    x = g.input((3,))
    inputs = [[np.array([True, False, True]), np.array([1.5, -2.0, 0.25], np.float32)]]
    assert_sanitized_matches(g.build(g.select(flags, x, g.unary("neg", x))), tmp_path, inputs)


def test_a_streamed_layer_reads_a_row_varying_constant_at_its_rows(tmp_path):
    """The first layers stream in row bands; a band call read a constant operand that differs
    from row to row from row 0 on every band (wrong rows), or, as the input of an abs of a
    constant, overran the band it wrote."""
    g = OpGraph(seed=4, dtype="float32")
    x = g.input((1, 4, 8, 9))
    varying = g.const(g.rng.normal(0, 1, (1, 4, 8, 9)).astype(np.float32))
    y = g.broadcast("squared_difference", g.unary("cos", x), varying)
    divisor = g.unary("abs", g.const(g.rng.uniform(0.5, 2, (1, 4, 8, 9)).astype(np.float32)))
    z = g.broadcast("div", x, divisor, attrs=ir.Binary())
    assert_sanitized_matches(g.build(y, z), tmp_path)


def test_arg_max_indices_and_masks_reshape(tmp_path):
    """RESHAPE moves bytes of any type in tflite-micro; aiotc refused int32 (an arg max's
    indices squeezed) and bool."""
    g = OpGraph(seed=5)
    x = g.input((1, 3, 7), scale=0.1, zero_point=-128)
    index = g.arg_min_max("arg_max", x, 2)
    flat = g._op("reshape", (index,), g._add(ir.Tensor("flat", (3,), "int32")))
    mask = g.broadcast("greater", x, g.input((1, 3, 7), scale=0.1, zero_point=-128), out_dtype="bool")
    assert_sanitized_matches(g.build(flat, g._op("reshape", (mask,), g._add(ir.Tensor("m", (21,), "bool")))), tmp_path)


def test_the_litert_oracle_starts_every_sample_from_zero_state(tmp_path):
    """A recurrent model tflite-micro cannot load (TILE) is checked against LiteRT, whose
    interpreter kept the LSTM's state from one sample to the next: every sample after the
    first differed (tflite-micro's is reset)."""
    g = OpGraph(seed=6, dtype="float32")
    y = g.lstm(g.input((1, 5, 3)), 4, cell_clip=3.0)
    assert_sanitized_matches(g.build(g.movement("tile", [y], (1, 5, 8), ir.Tile((1, 1, 2)))), tmp_path)


def test_a_float_activation_clamp_keeps_nan(tmp_path):
    """0 / 0 and x mod 0 are NaN in TFLite, whose clamp (std::min of std::max) lets NaN
    through; aiotc's clamp turned it into -FLT_MAX."""
    from aiotc.oracle import run_oracle

    g = OpGraph(seed=7, dtype="float32")
    a, b = g.input((4,)), g.input((4,))
    graph = g.build(g.broadcast("div", a, b, attrs=ir.Binary()), g.broadcast("floor_mod", a, b))
    model = tmp_path / "model.tflite"
    model.write_bytes(write_tflite(graph))
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    sample = [np.array([0.0, 1.0, -2.0, 3.0], np.float32), np.array([0.0, 0.0, 0.0, 2.0], np.float32)]
    got = SanitizedModel.build(out).invoke_batch([sample])[0]
    for mine, theirs in zip(got, run_oracle(model, sample).outputs):
        np.testing.assert_array_equal(mine, theirs)
