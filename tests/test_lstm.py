"""UNIDIRECTIONAL_SEQUENCE_LSTM, float32 and TFLM's integer LSTM, bit-exact with tflite-micro.

Single-LSTM graphs are built here (tests/oplib.py) and written with aiotc's writer, so
they run everywhere. The state test invokes both sides 20 times without a reset between
invokes: the generated C must carry the hidden and cell state as tflite-micro does, and
NAME_reset() must start over as interpreter.reset() does. The TFLM example models are
read from a tflite-micro source tree when one is present (AIOTC_TFLM_TREE, else the one
exported under ~/.cache/tflm-peer); tests/test_tflm_recurrent.py runs them as sequences.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from aiotc import ir
from aiotc.codegen.ops_recurrent import GATES, cell_tanh_scaling, pack_lstm_wide
from aiotc.driver import compile_model
from aiotc.errors import UnsupportedOpsError
from aiotc.export.tflite import write_tflite
from aiotc.frontend.tflite import load_tflite
from aiotc.kernels import _lstm_wide_bytes
from aiotc.report import flash_figure
from aiotc.resources import data_dir

from .conftest import assert_bit_exact, assert_sequence_matches, verify_folder
from .oplib import OpGraph, assert_matches_oracle

TFLM_TREE = Path(os.environ.get("AIOTC_TFLM_TREE", Path.home() / ".cache/tflm-peer/tflite-micro"))
EXAMPLES = {
    "trained_lstm": "tensorflow/lite/micro/examples/mnist_lstm/trained_lstm.tflite",
    "trained_lstm_int8": "tensorflow/lite/micro/examples/mnist_lstm/trained_lstm_int8.tflite",
    "micro_speech_lstm": "third_party/xtensa/examples/micro_speech_lstm/micro_speech_lstm.tflite",
    "dtln_noise_suppression": "tensorflow/lite/micro/examples/dtln/dtln_noise_suppression.tflite",
}


def lstm_graph(
    dtype="int8", batches=1, time_steps=5, features=6, units=8, time_major=False, seed=0, **lstm
) -> ir.Graph:
    g = OpGraph(seed=seed, dtype=dtype)
    shape = (time_steps, batches, features) if time_major else (batches, time_steps, features)
    x = g.input(shape, scale=0.03, zero_point=-7)
    return g.build(g.lstm(x, units, time_major=time_major, **lstm))


CASES = {
    "one_step": dict(time_steps=1, features=5, units=4),
    "sequence": dict(time_steps=7, features=12, units=16),
    "hidden_zero_point": dict(hidden_zp=-5, hidden_scale=0.011),
    "cell_q4_11_saturating_gates": dict(cell_scale=2.0**-11, gate_std=6.0),
    "cell_q0_15_clipped": dict(cell_scale=2.0**-15, cell_clip=0.6),
    # Long enough that the tanh of the cell (its rounding shift 1 or 3) shows in int8 outputs:
    "cell_q2_13_fine_hidden": dict(cell_scale=2.0**-13, cell_clip=0.0, hidden_scale=1 / 512, time_steps=20, units=32),
    "cell_q0_15_long": dict(cell_scale=2.0**-15, cell_clip=0.0, time_steps=20, units=32),
    "time_major_batches": dict(time_major=True, batches=3, time_steps=4),
    "batch_major_batches": dict(batches=2, time_steps=3),
}


@pytest.mark.parametrize("case", CASES)
def test_int8_lstm_is_bit_exact(case, tmp_path):
    assert_matches_oracle(lstm_graph("int8", **CASES[case]), tmp_path, samples=4)


def test_weights_the_packed_kernel_cannot_hold_run_the_reference_kernel(tmp_path):
    """A -128 under a negative weight of the unit before (outside TFLite's symmetric
    weights) does not fit the packed kernels' byte pairs: aiotc_lstm_s8 runs the layer."""
    graph = lstm_graph("int8", **CASES["sequence"])
    recurrent = graph[graph.ops[0].inputs[7]]  # the cell gate's recurrent weights
    data = recurrent.data.copy()
    data[0, 0], data[1, 0] = -5, -128
    graph = graph.with_ops(graph.ops, dict(graph.tensors) | {recurrent.name: dataclasses.replace(recurrent, data=data)})
    assert_matches_oracle(graph, tmp_path, samples=3)
    assert "aiotc_lstm_s8(" in (tmp_path / "out" / "model.c").read_text()


@pytest.mark.parametrize("case", ["one_step", "sequence", "cell_q0_15_clipped", "time_major_batches"])
def test_float_lstm_matches(case, tmp_path):
    kwargs = {k: v for k, v in CASES[case].items() if k not in ("cell_scale", "hidden_zp", "hidden_scale")}
    assert_matches_oracle(lstm_graph("float32", **kwargs), tmp_path, samples=4)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_state_carries_across_invokes_and_resets(dtype, tmp_path):
    model = tmp_path / "lstm.tflite"
    model.write_bytes(write_tflite(lstm_graph(dtype, time_steps=1, hidden_zp=3 if dtype == "int8" else 0)))
    assert_sequence_matches(model, tmp_path / "out", tolerance=0 if dtype == "int8" else 1e-5)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize(
    "lstm",
    [
        dict(features=45, units=22, hidden_zp=-3),  # 5 blocks of 4 units and a partial one, 16-input tails
        dict(features=40, units=17, time_major=True, batches=2),  # rows of one step side by side
        dict(features=45, units=22, cell_scale=2.0**-11, gate_std=6.0),  # saturating gates: the tables' ends
        dict(features=45, units=22, cell_scale=2.0**-15, cell_clip=0.6, hidden_scale=1 / 512),  # clip, tanh shift
        dict(features=45, units=22, gate_std=24.0, hidden_scale=1 / 8),  # every gate's shifts left shifts
        dict(features=45, units=22, hidden_scale=2.0**-28.5),  # a hidden requantization shifting right by 1 only
    ],
)
def test_packed_gates_carry_state_in_qemu(lstm, board, tmp_path):
    """The gate products on the DSP path of aiotc_lstm_wide_s8 (M4: int16 weights, odd and
    even groups of 8 inputs) and the MVE path of aiotc_lstm_packed_s8 (M55: its units 4 per
    vector; enough MACs that the planner keeps them rather than the scratch-free aiotc_lstm_s8)."""
    model = tmp_path / "lstm.tflite"
    model.write_bytes(write_tflite(lstm_graph("int8", time_steps=3, **lstm)))
    assert_sequence_matches(model, tmp_path / "out", board=board)
    kernel = "aiotc_lstm_wide_s8(" if board == "cortex-m4" else "aiotc_lstm_packed_s8("
    assert kernel in (tmp_path / "out" / "lstm.c").read_text()


@pytest.mark.parametrize(
    "case",
    ["sequence", "hidden_zero_point", "time_major_batches", "batch_major_batches", "left_shifts", "hidden_right_1"],
)
def test_wide_kernel_portable_c_is_bit_exact(case, tmp_path):
    """aiotc_lstm_wide_s8's portable C (the layout of pack_lstm_wide), compiled for the M4
    and built with host gcc; a -128 weight, which the packed byte pairs cannot hold beside a
    negative one, is any int16 here."""
    extra = {"left_shifts": dict(gate_std=24.0, hidden_scale=1 / 8), "hidden_right_1": dict(hidden_scale=2.0**-28.5)}
    graph = lstm_graph("int8", **(CASES | extra)[case])
    recurrent = graph[graph.ops[0].inputs[7]]
    data = recurrent.data.copy()
    data[0, 0], data[1, 0] = -5, -128
    graph = graph.with_ops(graph.ops, dict(graph.tensors) | {recurrent.name: dataclasses.replace(recurrent, data=data)})
    model = tmp_path / "lstm.tflite"
    model.write_bytes(write_tflite(graph))
    out = compile_model(model, board="cortex-m4", out_dir=tmp_path / "out").out_dir
    assert "aiotc_lstm_wide_s8(" in (out / "lstm.c").read_text()
    assert_bit_exact(verify_folder(out, samples=4))


def test_wide_weights_over_the_flash_take_the_int8_kernel(tmp_path):
    """aiotc_lstm_wide_s8 doubles the LSTM's weights: with ample flash the M4 runs it; under
    a flash budget the widened image would exceed, the layer runs aiotc_lstm_packed_s8
    (its int8 weights), fits, says why in the report and stays bit-exact."""
    model = tmp_path / "lstm.tflite"
    model.write_bytes(write_tflite(lstm_graph("int8", time_steps=3, features=64, units=64)))
    wide = compile_model(model, board="cortex-m4", out_dir=tmp_path / "wide")
    assert "aiotc_lstm_wide_s8(" in (wide.out_dir / "lstm.c").read_text()
    assert "fit the 4,194,304 B of flash" in wide.report["layers"][0]["kernel_choice"]
    budget = flash_figure(wide.report) - 1
    packed = compile_model(model, board="cortex-m4", out_dir=tmp_path / "packed", flash_budget=budget)
    assert "aiotc_lstm_packed_s8(" in (packed.out_dir / "lstm.c").read_text()
    layer = packed.report["layers"][0]
    assert layer["kernel"] == "aiotc_lstm_packed_s8"
    assert f"over the {budget:,} B of flash" in layer["kernel_choice"]
    assert flash_figure(packed.report) <= budget
    assert_bit_exact(verify_folder(packed.out_dir, samples=3))


def test_wide_weights_estimate_is_what_codegen_packs():
    """The flash rule's size of aiotc_lstm_wide_s8's weights is pack_lstm_wide's (padded rows)."""
    graph = lstm_graph("int8", features=45, units=22)
    op = graph.ops[0]
    gates = [[graph[op.inputs[i]].data for i in indices] for indices in GATES.values()]
    packed = pack_lstm_wide(*zip(*((w_in, w_rec, b, np.zeros_like(b)) for w_in, w_rec, b in gates)))
    assert packed.nbytes == _lstm_wide_bytes(op, graph)


HARNESS = """
#include <stdio.h>
#include <stdlib.h>
#include "aiotc_nn_lstm.h"
/* argv: s|t multiplier shift -> the int16 sigmoid or tanh of every int16 x, scaled as the LSTM scales it */
int main(int argc, char **argv)
{
    const int32_t multiplier = atoi(argv[2]), shift = atoi(argv[3]), round = shift > 0 ? 1 << (shift - 1) : 0;
    int32_t x;
    (void)argc;
    for (x = -32768; x <= 32767; x++) {
        const int32_t v = (x * multiplier + round) >> shift;
        const int16_t y = (int16_t)(argv[1][0] == 't' ? aiotc_lstm_tanh_s16(v) : aiotc_lstm_sigmoid_s16(v));
        fwrite(&y, sizeof y, 1, stdout);
    }
    return 0;
}
"""


@pytest.mark.parametrize(
    "kind, input_scale",
    [("logistic", 2.0**-12), ("tanh", 2.0**-12), ("tanh", 2.0**-11), ("tanh", 2.0**-13), ("tanh", 2.0**-15)],
)
def test_int16_activations_match_tflm_on_every_input(kind, input_scale, tmp_path):
    """The kernel's int16 sigmoid and tanh on all 65,536 inputs, scaled as the gates (Q3.12)
    and the cell (its power-of-two scale) are, against tflite-micro's int16 LOGISTIC and TANH
    at the same input scale, which TFLM's Prepare brings to the same multiplier and shift."""
    from tflite_micro.python.tflite_micro import runtime

    g = OpGraph(dtype="int16")
    x = g.input((1, 65536), scale=input_scale, dtype="int16")
    model = tmp_path / "activation.tflite"
    model.write_bytes(write_tflite(g.build(g.unary(kind, x, 2.0**-15, 0))))
    oracle = runtime.Interpreter.from_file(str(model), arena_size=1 << 20)
    oracle.set_input(np.arange(-32768, 32768, dtype=np.int16).reshape(1, -1), 0)
    oracle.invoke()
    expected = np.array(oracle.get_output(0)).ravel()

    (tmp_path / "harness.c").write_text(HARNESS)
    runtime_c = Path(data_dir("runtime_c"))
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-O2",
            f"-I{runtime_c / 'include'}",
            "harness.c",
            "-o",
            "harness",
        ],
        cwd=tmp_path,
        check=True,
    )
    multiplier, shift = cell_tanh_scaling(int(np.log2(input_scale)))
    result = subprocess.run(
        [str(tmp_path / "harness"), kind[0], str(multiplier), str(shift)], capture_output=True, check=True
    )
    np.testing.assert_array_equal(np.frombuffer(result.stdout, np.int16), expected)


def test_state_is_outside_the_arena(tmp_path):
    model = tmp_path / "lstm.tflite"
    model.write_bytes(write_tflite(lstm_graph("int8", batches=2, units=8, hidden_zp=-5)))
    result = compile_model(model, board="host", out_dir=tmp_path / "out")
    report = result.report
    assert report["state_bytes"] == 16 + 32  # int8 hidden [2, 8], int16 cell [2, 8], each 16-byte aligned
    assert [s["bytes"] for s in report["state"]] == [16, 32]
    planned = {b["buffer"] for b in report["memory"]["layout"]}
    assert not planned & {s["tensor"] for s in report["state"]}
    header = (result.out_dir / "lstm.h").read_text()
    assert "#define LSTM_STATE_SIZE 48u" in header and "void lstm_reset(void);" in header
    assert "memset(lstm_state + 0, 251, 16u)" in (result.out_dir / "lstm.c").read_text()  # the zero point -5


@pytest.mark.parametrize(
    "variant, operands, message",
    [
        ("peephole", {9: "weights"}, "peephole connections not supported yet"),
        ("projection", {16: "weights"}, "a projection layer not supported yet"),
        ("layer_norm", {20: "weights"}, "layer normalization not supported yet"),
        ("cifg", {1: None, 5: None}, r"CIFG \(coupled input and forget gates\) is not supported yet"),
    ],
)
def test_unsupported_variants_are_refused_by_name(variant, operands, message, tmp_path):
    graph = lstm_graph("float32")
    op = graph.ops[0]
    inputs = list(op.inputs)
    tensors = dict(graph.tensors)
    for index, kind in operands.items():
        if kind is None:
            inputs[index] = None
        else:
            extra = ir.Tensor(f"{variant}{index}", (8,), "float32", data=np.ones(8, np.float32))
            tensors[extra.name], inputs[index] = extra, extra.name
    graph = graph.with_ops([ir.Op(op.name, op.kind, tuple(inputs), op.outputs, op.attrs)], tensors)
    path = tmp_path / f"{variant}.tflite"
    path.write_bytes(write_tflite(graph))
    with pytest.raises(UnsupportedOpsError, match=message):
        load_tflite(path)


def tflm_model(relative: str) -> Path:
    """A model file of the tflite-micro source tree; the test is skipped without one."""
    path = TFLM_TREE / relative
    if not path.is_file():
        pytest.skip(f"no tflite-micro tree at {TFLM_TREE} (set AIOTC_TFLM_TREE)")
    return path


@pytest.mark.parametrize("name", EXAMPLES)
def test_tflm_example_models(name, tmp_path):
    out = compile_model(tflm_model(EXAMPLES[name]), board="host", out_dir=tmp_path / "out").out_dir
    result = verify_folder(out, samples=3)
    assert result.oracle == ("litert-ref" if name == "trained_lstm" else "tflite-micro"), result  # float: LiteRT
    assert result.mismatches == 0, result
