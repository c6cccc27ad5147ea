"""Indexed reads and writes of issue 20 (GATHER_ND, EMBEDDING_LOOKUP, DYNAMIC_UPDATE_SLICE),
REDUCE_ALL and BROADCAST_ARGS against tflite-micro: bit for bit, float rows to 1e-5 of their range.

The models are written raw (tests/tflite_raw.py), so the oracle reads the real builtins
with their own operand order; index tensors are constants or model inputs given in-range,
edge and out-of-range values where tflite-micro defines what happens.
"""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.errors import ToolchainError

from .conftest import aiotc
from .oplib import HostModel, compile_model, verify
from .tflite_raw import RawModel

Q = {"int8": (0.05, -3), "int16": (0.002, 0)}


def _check(data: bytes, tmp_path, samples, oracle: str = "tflite-micro"):
    """Compile the raw model for the host; every sample's outputs equal the oracle's."""
    model = tmp_path / "model.tflite"
    model.write_bytes(data)
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    runner = HostModel.build(out)
    result = verify(out, "host", samples, runner=runner)
    unquantized = all(s.dtype not in ("int8", "int16") for s in runner.outputs)
    expected = {oracle, "litert-ref"} if unquantized else {oracle}  # float32/int32/bool: LiteRT's reference first
    assert result.oracle in expected and result.mismatches == 0, result
    return out, runner


def _values(rng, shape, dtype):
    if dtype == "float32":
        return rng.standard_normal(shape).astype(np.float32)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


# --- GATHER_ND ------------------------------------------------------------------------------

GATHER_ND_CASES = {  # params shape, index rows (each of depth entries)
    "slices of rows": ((5, 4, 3), [[4, 0], [0, 3], [2, 1]]),
    "one element per row": ((4, 3), [[3, 2], [0, 0], [1, 2], [2, 0], [3, 0]]),
    "whole first-axis slices": ((3, 2, 5), [[2], [0], [2], [1]]),
    "rank 4, depth 3": ((2, 3, 3, 7), [[1, 2, 0], [0, 0, 2]]),
    "past its axis, inside the params": ((3, 4), [[0, 5], [1, -1]]),  # tflite-micro checks the flat offset only
}


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("case", GATHER_ND_CASES)
@pytest.mark.parametrize("indices_given", ["constant", "input"])
def test_gather_nd(case, dtype, indices_given, tmp_path):
    if case.startswith("past its axis") and dtype == "float32" and indices_given == "input":
        pytest.skip("LiteRT, the float oracle, refuses indices past their axis when it invokes (int8 covers it)")
    shape, rows = GATHER_ND_CASES[case]
    indices = np.array(rows, np.int32)
    m = RawModel()
    params = m.tensor(shape, dtype, quant=Q.get(dtype))
    idx = m.const(indices) if indices_given == "constant" else m.tensor(indices.shape, "int32")
    out = m.tensor(indices.shape[:-1] + shape[indices.shape[-1] :], dtype, quant=Q.get(dtype))
    m.op("GATHER_ND", [params, idx], [out], "GatherNdOptions")
    inputs = [params] if indices_given == "constant" else [params, idx]
    rng = np.random.default_rng(3)
    samples = [[_values(rng, shape, dtype)] + ([] if indices_given == "constant" else [indices]) for _ in range(3)]
    _check(m.build(inputs, [out]), tmp_path, samples)


def test_gather_nd_index_outside_the_params_fails_as_tflite_micro_fails(tmp_path):
    m = RawModel()
    params, idx = m.tensor((3, 4), "int8", quant=Q["int8"]), m.tensor((2, 2), "int32")
    out = m.tensor((2,), "int8", quant=Q["int8"])
    m.op("GATHER_ND", [params, idx], [out], "GatherNdOptions")
    rng = np.random.default_rng(0)
    good = [_values(rng, (3, 4), "int8"), np.array([[2, 3], [0, 0]], np.int32)]
    _, runner = _check(m.build([params, idx], [out]), tmp_path, [good])
    for bad in ([[2, 3], [2, 4]], [[0, 0], [0, -1]]):
        with pytest.raises(ToolchainError, match="returned error"):
            runner.invoke([good[0], np.array(bad, np.int32)])


@pytest.mark.parametrize("op", ["GATHER_ND", "EMBEDDING_LOOKUP"])
def test_constant_indices_outside_are_refused(op, tmp_path):
    """tflite-micro fails at every invoke: aiotc says so at compile time, in one line."""
    m = RawModel()
    if op == "GATHER_ND":
        params, idx = m.tensor((3, 4), "int8", quant=Q["int8"]), m.const([[2, 4]])
        out = m.tensor((1,), "int8", quant=Q["int8"])
        m.op(op, [params, idx], [out], "GatherNdOptions")
    else:
        params, idx = m.tensor((3, 4), "int8", quant=Q["int8"]), m.const([0, 3])
        out = m.tensor((2, 4), "int8", quant=Q["int8"])
        m.op(op, [idx, params], [out])
    (tmp_path / "bad.tflite").write_bytes(m.build([params], [out]))
    result = aiotc("compile", tmp_path / "bad.tflite", "-o", tmp_path / "out")
    assert result.returncode == 2 and "tflite-micro fails at invoke" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


# --- EMBEDDING_LOOKUP --------------------------------------------------------------------


def _embedding_model(values: np.ndarray, ids, out_dtype, quant=None, ids_input=True) -> tuple[bytes, int | None]:
    m = RawModel()
    ids = np.asarray(ids, np.int32)
    lookup = m.tensor(ids.shape, "int32") if ids_input else m.const(ids)
    table = m.tensor(values.shape, str(values.dtype), data=values, quant=quant)
    x = m.tensor((ids.size, *values.shape[1:]), str(values.dtype), quant=quant)  # a model input besides the ids
    rows = m.tensor((ids.size, *values.shape[1:]), out_dtype, quant=quant if out_dtype == "int8" else None)
    y = m.tensor((ids.size, *values.shape[1:]), out_dtype, quant=quant if out_dtype == "int8" else None)
    m.op("EMBEDDING_LOOKUP", [lookup, table], [rows])
    if out_dtype == str(values.dtype):
        m.op("ADD", [rows, x], [y], "AddOptions")
        inputs = [lookup, x] if ids_input else [x]
    else:  # hybrid: the rows are the output
        y, inputs = rows, [lookup]
    return m.build(inputs, [y]), len(inputs)


@pytest.mark.parametrize(
    "dtype, shape", [("float32", (7, 3)), ("int8", (6, 2, 3)), ("int8", (9, 1)), ("float32", (2, 2, 2, 2))]
)
def test_embedding_lookup(dtype, shape, tmp_path):
    """Rows picked by run-time ids, the first and last among them, then added to an input
    (the output of a lookup is no graph output, so it lives in the arena)."""
    rng = np.random.default_rng(5)
    values = _values(rng, shape, dtype)
    ids = np.array([shape[0] - 1, 0, 1, shape[0] - 1, 0], np.int32) % shape[0]
    data, _ = _embedding_model(values, ids, dtype, quant=Q.get(dtype))
    samples = [
        [rng.permutation(np.resize(ids, ids.size)), _values(rng, (ids.size, *shape[1:]), dtype)] for _ in range(3)
    ]
    _check(data, tmp_path, samples)


def test_embedding_lookup_constant_ids(tmp_path):
    values = _values(np.random.default_rng(2), (5, 4), "int8")
    data, _ = _embedding_model(values, [4, 4, 0], "int8", quant=Q["int8"], ids_input=False)
    _check(data, tmp_path, [[_values(np.random.default_rng(k), (3, 4), "int8")] for k in range(2)])


def test_embedding_lookup_hybrid_int8_to_float(tmp_path):
    """int8 values with one scale (zero point 0, as tflite-micro requires) become float32 rows,
    -128 and 127 included."""
    values = np.array([[-128, 127, 0], [1, -1, 64], [127, 127, -128]], np.int8)
    data, _ = _embedding_model(values, [0, 2, 1, 0], "float32", quant=(0.0371, 0))
    _check(data, tmp_path, [[np.array(ids, np.int32)] for ids in ([0, 2, 1, 0], [2, 2, 2, 2])])


def test_embedding_lookup_hybrid_per_row_scales_as_litert(tmp_path):
    """Per-row scales: TFLite's hybrid lookup multiplies each row by its own scale, which is
    what LiteRT computes; tflite-micro reads only the first scale (so it is no oracle here)."""
    from ai_edge_litert.interpreter import Interpreter

    values = np.array([[-128, 127], [5, -7], [100, 3]], np.int8)
    scales = [0.5, 0.25, 2.0]
    data, _ = _embedding_model(values, [2, 0, 1], "float32", quant=(scales, 0, 0))
    model = tmp_path / "model.tflite"
    model.write_bytes(data)
    runner = HostModel.build(compile_model(model, board="host", out_dir=tmp_path / "out").out_dir)
    ids = np.array([2, 0, 1], np.int32)
    interpreter = Interpreter(model_content=data)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], ids)
    interpreter.invoke()
    want = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    np.testing.assert_array_equal(want, values[ids] * np.array(scales, np.float32)[ids, None])
    np.testing.assert_array_equal(runner.invoke([ids])[0], want)


def test_embedding_lookup_id_outside_the_table_fails_as_tflite_micro_fails(tmp_path):
    values = _values(np.random.default_rng(1), (4, 3), "float32")
    data, _ = _embedding_model(values, [0, 3], "float32")
    _, runner = _check(data, tmp_path, [[np.array([3, 0], np.int32), np.zeros((2, 3), np.float32)]])
    for bad in ([4, 0], [0, -1]):
        with pytest.raises(ToolchainError, match="returned error"):
            runner.invoke([np.array(bad, np.int32), np.zeros((2, 3), np.float32)])


# --- DYNAMIC_UPDATE_SLICE ----------------------------------------------------------------

DUS_CASES = {  # operand, update shape, start values tried (clamped into the operand)
    "NHWC window": ((1, 5, 6, 3), (1, 2, 3, 3), [[0, 1, 2, 0], [0, 4, 5, 0], [0, -2, 9, 0], [5, 3, 3, 1]]),
    "rank 2, odd sizes": ((7, 5), (3, 1), [[0, 0], [6, 4], [-100, 2], [2**31 - 1, -(2**31)]]),
    "rank 1": ((9,), (4,), [[5], [-1], [6]]),
    "whole operand": ((2, 3), (2, 3), [[1, 1], [0, 0]]),  # the update is the output whatever the start
}


@pytest.mark.parametrize("dtype", ["int8", "int16", "int32", "float32"])
@pytest.mark.parametrize("case", DUS_CASES)
def test_dynamic_update_slice_runtime_start(case, dtype, tmp_path):
    operand_shape, update_shape, starts = DUS_CASES[case]
    m = RawModel()
    q = Q.get(dtype)
    operand, update = m.tensor(operand_shape, dtype, quant=q), m.tensor(update_shape, dtype, quant=q)
    start, out = m.tensor((len(operand_shape),), "int32"), m.tensor(operand_shape, dtype, quant=q)
    m.op("DYNAMIC_UPDATE_SLICE", [operand, update, start], [out])
    rng = np.random.default_rng(7)
    samples = [
        [_values(rng, operand_shape, dtype), _values(rng, update_shape, dtype), np.array(s, np.int32)] for s in starts
    ]
    _check(m.build([operand, update, start], [out]), tmp_path, samples)


@pytest.mark.parametrize("start_dtype", ["int32", "int64"])
def test_dynamic_update_slice_constant_start(start_dtype, tmp_path):
    """A constant start, int32 or int64 (narrowed), one entry past the operand (clamped)."""
    m = RawModel()
    operand, update = m.tensor((1, 4, 4, 2), "int8", quant=Q["int8"]), m.tensor((1, 2, 3, 2), "int8", quant=Q["int8"])
    out = m.tensor((1, 4, 4, 2), "int8", quant=Q["int8"])
    m.op("DYNAMIC_UPDATE_SLICE", [operand, update, m.const([0, 1, 7, 0], start_dtype)], [out])
    rng = np.random.default_rng(1)
    samples = [[_values(rng, (1, 4, 4, 2), "int8"), _values(rng, (1, 2, 3, 2), "int8")] for _ in range(2)]
    _check(m.build([operand, update], [out]), tmp_path, samples)


def test_dynamic_update_slice_unquantized_operand_takes_a_scaled_update(tmp_path):
    """Found by the graph fuzzer: an int32 operand (ARG_MAX's indices) and an update constant
    carrying a scale; tflite-micro copies the raw values, and so does aiotc."""
    m = RawModel()
    x, indices = m.tensor((2, 5, 3), "float32"), m.tensor((5, 3), "int32")
    out = m.tensor((5, 3), "int32")
    m.op("ARG_MAX", [x, m.const([0])], [indices], "ArgMaxOptions", OutputType=2)
    update = m.tensor((2, 2), "int32", data=np.array([[7, -9], [2**31 - 1, -(2**31)]]), quant=(0.05, 0))
    m.op("DYNAMIC_UPDATE_SLICE", [indices, update, m.const([4, 2])], [out])
    rng = np.random.default_rng(8)
    _check(m.build([x], [out]), tmp_path, [[_values(rng, (2, 5, 3), "float32")] for _ in range(2)])


def test_dynamic_update_slice_computed_constant_start(tmp_path):
    """A start the graph computes from constants (SHAPE of a static tensor, minus a constant)
    is evaluated at compile time."""
    m = RawModel()
    operand, update = m.tensor((6, 5), "float32"), m.tensor((2, 2), "float32")
    shape, start, out = m.tensor((2,), "int32"), m.tensor((2,), "int32"), m.tensor((6, 5), "float32")
    m.op("SHAPE", [update], [shape], "ShapeOptions", OutType=2)
    m.op("SUB", [m.const([5, 4]), shape], [start], "SubOptions")
    m.op("DYNAMIC_UPDATE_SLICE", [operand, update, start], [out])
    rng = np.random.default_rng(2)
    samples = [[_values(rng, (6, 5), "float32"), _values(rng, (2, 2), "float32")] for _ in range(2)]
    _check(m.build([operand, update], [out]), tmp_path, samples)


# --- REDUCE_ALL and BROADCAST_ARGS -----------------------------------------------------------


@pytest.mark.parametrize(
    "shape, axes, keepdims",
    [((2, 3, 4), [1], False), ((2, 3, 4), [0, 2], True), ((5, 7), [-1], False), ((1, 3, 2, 4), [0, 1, 2, 3], False)],
)
def test_reduce_all(shape, axes, keepdims, tmp_path):
    m = RawModel()
    x = m.tensor(shape, "bool")
    kept = [1 if i in [a % len(shape) for a in axes] else d for i, d in enumerate(shape)]
    out_shape = kept if keepdims else [d for i, d in enumerate(shape) if i not in [a % len(shape) for a in axes]]
    y = m.tensor(out_shape, "bool")
    m.op("REDUCE_ALL", [x, m.const(axes)], [y], "ReducerOptions", KeepDims=keepdims)
    rng = np.random.default_rng(4)
    samples = [[rng.random(shape) < p] for p in (0.9, 0.97, 1.0, 0.0)]  # mostly true, so some rows stay all-true
    _check(m.build([x], [y]), tmp_path, samples)


def test_broadcast_args_is_evaluated_at_compile_time(tmp_path):
    """BROADCAST_ARGS of two constant shapes gives RESHAPE its target; a wrong broadcast
    (or none) would not fit the declared output."""
    from aiotc.frontend import load_model

    m = RawModel()
    x, target = m.tensor((24,), "int8", quant=Q["int8"]), m.tensor((3,), "int32")
    y = m.tensor((2, 3, 4), "int8", quant=Q["int8"])
    m.op("BROADCAST_ARGS", [m.const([3, 1]), m.const([2, 1, 4])], [target])
    m.op("RESHAPE", [x, target], [y], "ReshapeOptions")
    rng = np.random.default_rng(0)
    _check(m.build([x], [y]), tmp_path, [[_values(rng, (24,), "int8")] for _ in range(2)])
    assert [op.kind for op in load_model(tmp_path / "model.tflite").ops] == ["reshape"]


def test_broadcast_args_of_shapes_that_do_not_broadcast_is_refused(tmp_path):
    m = RawModel()
    x, target = m.tensor((6,), "int8", quant=Q["int8"]), m.tensor((2,), "int32")
    y = m.tensor((2, 3), "int8", quant=Q["int8"])
    m.op("BROADCAST_ARGS", [m.const([2, 3]), m.const([3, 3])], [target])
    m.op("RESHAPE", [x, target], [y], "ReshapeOptions")
    (tmp_path / "bad.tflite").write_bytes(m.build([x], [y]))
    result = aiotc("compile", tmp_path / "bad.tflite", "-o", tmp_path / "out")
    assert result.returncode == 2 and "BROADCAST_ARGS" in result.stderr and "do not broadcast" in result.stderr
    assert "Traceback" not in result.stderr


# --- on a Cortex-M4 in QEMU ----------------------------------------------------------------


@pytest.mark.qemu
def test_indexed_ops_in_qemu(tmp_path):
    """One model with a layer of each, indices given at run time (in range, and starts past
    the operand), on the M4 (mps2-an386): every output equals tflite-micro's."""
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    m = RawModel()
    params, idx = m.tensor((5, 4, 3), "int8", quant=Q["int8"]), m.tensor((3, 2), "int32")
    gathered = m.tensor((3, 3), "int8", quant=Q["int8"])
    m.op("GATHER_ND", [params, idx], [gathered], "GatherNdOptions")
    table = np.arange(-60, 60, 5, dtype=np.int8).reshape(6, 4)
    ids, rows = m.tensor((4,), "int32"), m.tensor((4, 4), "float32")
    m.op("EMBEDDING_LOOKUP", [ids, m.tensor((6, 4), "int8", data=table, quant=(0.031, 0))], [rows])
    operand, update = (
        m.tensor((1, 5, 6, 3), "int16", quant=Q["int16"]),
        m.tensor((1, 2, 3, 3), "int16", quant=Q["int16"]),
    )
    start, updated = m.tensor((4,), "int32"), m.tensor((1, 5, 6, 3), "int16", quant=Q["int16"])
    m.op("DYNAMIC_UPDATE_SLICE", [operand, update, start], [updated])
    flags, all_of = m.tensor((2, 3, 4), "bool"), m.tensor((2, 4), "bool")
    m.op("REDUCE_ALL", [flags, m.const([1])], [all_of], "ReducerOptions")
    inputs = [params, idx, ids, operand, update, start, flags]
    model = tmp_path / "indexed.tflite"
    model.write_bytes(m.build(inputs, [gathered, rows, updated, all_of]))
    out = compile_model(model, board="cortex-m4", out_dir=tmp_path / "out").out_dir
    qemu = QemuModel.build(out, load_board("cortex-m4"))
    rng = np.random.default_rng(9)
    samples = [
        [
            _values(rng, (5, 4, 3), "int8"),
            np.array(rows_, np.int32),
            np.array(ids_, np.int32),
            _values(rng, (1, 5, 6, 3), "int16"),
            _values(rng, (1, 2, 3, 3), "int16"),
            np.array(start_, np.int32),
            rng.random((2, 3, 4)) < 0.8,
        ]
        for rows_, ids_, start_ in (
            ([[4, 3], [0, 0], [2, 1]], [5, 0, 3, 3], [0, 1, 2, 0]),
            ([[0, 3], [4, 0], [1, 2]], [0, 0, 1, 5], [1, 9, -4, 2]),
        )
    ]
    result = verify(out, "cortex-m4", samples, runner=qemu)
    assert result.oracle == "tflite-micro" and result.mismatches == 0 and result.max_abs_diff == 0, result


def test_post_training_quantization_keeps_the_indices(tmp_path):
    """A float model calibrated by aiotc: the indices and starts stay int32, the update shares
    the operand's range, and the int8 C equals tflite-micro on the exported model."""
    from aiotc.options import Calibration

    from .conftest import assert_bit_exact, verify_folder

    m = RawModel()
    x, update = m.tensor((1, 5, 6, 3), "float32"), m.tensor((1, 2, 2, 3), "float32")
    updated, y = m.tensor((1, 5, 6, 3), "float32"), m.tensor((3, 3), "float32")
    m.op("DYNAMIC_UPDATE_SLICE", [x, update, m.const([0, 4, 1, 0])], [updated])
    m.op("GATHER_ND", [updated, m.const([[0, 4, 1], [0, 0, 5], [0, 3, 2]])], [y], "GatherNdOptions")
    model = tmp_path / "float.tflite"
    model.write_bytes(m.build([x, update], [y]))
    result = compile_model(model, out_dir=tmp_path / "out", calib=Calibration("random", method="minmax"))
    kinds = {op.kind: op for op in result.graph.ops}
    assert result.graph[kinds["gather_nd"].inputs[1]].dtype == "int32"
    assert_bit_exact(verify_folder(result.out_dir, samples=3))


def test_dynamic_update_slice_runs_in_place_over_its_operand(tmp_path):
    """An operand that dies at the layer lends it its buffer: the arena holds one copy, and
    the outputs stay tflite-micro's (the update written over the copied operand)."""
    import json

    m = RawModel()
    x, update, start = (
        m.tensor((1, 8, 8, 4), "int8", quant=Q["int8"]),
        m.tensor((1, 3, 2, 4), "int8", quant=Q["int8"]),
        m.tensor((4,), "int32"),
    )
    flipped, updated, y = (m.tensor((1, 8, 8, 4), "int8", quant=Q["int8"]) for _ in range(3))
    m.op("REVERSE_V2", [x, m.const([1])], [flipped])
    m.op("DYNAMIC_UPDATE_SLICE", [flipped, update, start], [updated])
    m.op("REVERSE_V2", [updated, m.const([2])], [y])
    rng = np.random.default_rng(6)
    samples = [
        [_values(rng, (1, 8, 8, 4), "int8"), _values(rng, (1, 3, 2, 4), "int8"), np.array(s, np.int32)]
        for s in ([0, 5, 6, 0], [0, 0, 0, 0], [0, 7, -1, 0])
    ]
    out, _ = _check(m.build([x, update, start], [y]), tmp_path, samples)
    memory = json.loads((out / "report.json").read_text())["memory"]
    flipped_to_updated = {"input": "t3", "layer": "t4", "output": "t4", "slack": 0, "lift": None, "bottom_first": False}
    assert flipped_to_updated in memory["in_place"]


OVERLAP_PROGRAM = r"""
#include <stdio.h>
#include "aiotc_nn_movement.h"
int main(void)
{
    static uint8_t arena[64];
    const int32_t start[1] = {3};
    const uint8_t update[2] = {200, 201};
    const aiotc_dims operand = {1, 1, 1, 40}, part = {1, 1, 1, 2};
    int i, shift;
    for (shift = 0; shift < 24; shift++) { /* the output `shift` bytes below the operand */
        for (i = 0; i < 64; i++) {
            arena[i] = (uint8_t)i;
        }
        if (aiotc_dynamic_update_slice(&operand, &part, start, 1, 1, arena + shift, update, arena) != AIOTC_OK) {
            return 1;
        }
        for (i = 0; i < 40; i++) {
            const int want = i == 3 ? 200 : i == 4 ? 201 : i + shift;
            if (arena[i] != want) {
                printf("output %d bytes below: byte %d is %d, not %d\n", shift, i, arena[i], want);
                return 1;
            }
        }
    }
    return 0;
}
"""


def test_dynamic_update_slice_output_below_its_operand(tmp_path):
    """In place, the planner may start the output anywhere at or below the operand: the
    forward copy keeps every byte, with no overlapping memcpy (ASan checks each one)."""
    import subprocess

    from aiotc.resources import data_dir

    runtime = data_dir("runtime_c")
    (tmp_path / "main.c").write_text(OVERLAP_PROGRAM)
    build = subprocess.run(
        ["gcc", "-std=c99", "-Wall", "-Werror", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"]
        + [f"-I{runtime / 'include'}", "main.c", str(runtime / "src" / "aiotc_dynamic_update_slice.c"), "-o", "main"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    run = subprocess.run([str(tmp_path / "main")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
