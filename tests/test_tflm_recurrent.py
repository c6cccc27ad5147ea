"""Every LSTM and SVDF model of the tflite-micro repository, run as a sequence of 20
invokes that carry the state, bit-exact with tflite-micro on the host and in QEMU on
Cortex-M4 (DSP code paths) and Cortex-M55 (MVE).

The models are the .tflite files of the tflite-micro source tree holding an
UNIDIRECTIONAL_SEQUENCE_LSTM or SVDF operator (`test_the_list_is_complete` checks that
none is missed): the MNIST LSTM (float and int8), the micro_speech LSTM of the Xtensa
examples (float), the DTLN noise suppression (int8, 16x8 LSTMs) and the two scrambled
keyword SVDF models. The tree is the exported one under ~/.cache/tflm-peer (or
AIOTC_TFLM_TREE); without it the tests are skipped.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import tflite

from aiotc.export.tflite import write_tflite
from aiotc.frontend.tflite import load_tflite

from .conftest import assert_sequence_matches
from .test_lstm import EXAMPLES, TFLM_TREE, tflm_model
from .test_svdf import TFLM_SVDF_MODELS

MODELS = EXAMPLES | TFLM_SVDF_MODELS
FLOAT = {"trained_lstm"}
# Random inputs saturate these models' softmax (every output the same whatever the
# state): their sequences compare each recurrent layer's output, which the state shapes.
SATURATED = {"micro_speech_lstm", *TFLM_SVDF_MODELS}
# In tflite-micro too, the scrambled weights of the 8-bit model leave its outputs the same
# whatever the state holds: its sequences are compared, the state cannot show in them.
SHOWS_STATE = {"keyword_scrambled_8bit": False}
RECURRENT = {44: "UNIDIRECTIONAL_SEQUENCE_LSTM", 27: "SVDF"}  # tflite BuiltinOperator


def recurrent_ops(path) -> set[str]:
    model = tflite.Model.GetRootAsModel(path.read_bytes(), 0)
    codes = (model.OperatorCodes(i) for i in range(model.OperatorCodesLength()))
    return {RECURRENT[c] for code in codes if (c := max(code.BuiltinCode(), code.DeprecatedBuiltinCode())) in RECURRENT}


def recurrent_outputs(model: Path, folder: Path) -> Path:
    """The model up to its last LSTM or SVDF layer, each such layer's output a model output."""
    graph = load_tflite(model)
    outputs = tuple(op.outputs[0] for op in graph.ops if op.kind in ("lstm", "svdf"))
    last = max(i for i, op in enumerate(graph.ops) if op.outputs[0] in outputs)
    path = folder / f"{model.stem}_recurrent.tflite"
    path.write_bytes(write_tflite(dataclasses.replace(graph, outputs=outputs).with_ops(graph.ops[: last + 1])))
    return path


def sequence_model(name: str, folder: Path) -> Path:
    model = tflm_model(MODELS[name])
    return recurrent_outputs(model, folder) if name in SATURATED else model


def test_the_list_is_complete():
    if not TFLM_TREE.is_dir():
        pytest.skip(f"no tflite-micro tree at {TFLM_TREE} (set AIOTC_TFLM_TREE)")
    found = {
        str(path.relative_to(TFLM_TREE))
        for path in TFLM_TREE.rglob("*.tflite")
        if "downloads" not in path.parts and recurrent_ops(path)
    }
    assert found == set(MODELS.values())


@pytest.mark.parametrize("board", ["host", pytest.param("cortex-m4", marks=pytest.mark.qemu),
                                   pytest.param("cortex-m55", marks=pytest.mark.qemu)])  # fmt: skip
@pytest.mark.parametrize("name", MODELS)
def test_twenty_invokes_carry_the_state(name, board, tmp_path):
    assert_sequence_matches(
        sequence_model(name, tmp_path),
        tmp_path / "out",
        board=board,
        tolerance=1e-5 if name in FLOAT else 0,
        shows_state=SHOWS_STATE.get(name, True),
    )
