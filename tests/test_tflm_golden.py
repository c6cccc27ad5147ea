"""TFLite Micro's 16x8 per-layer golden tests, all of them, compiled by aiotc and run on the host.

tensorflow/lite/micro/integration_tests/seanet holds one single-layer int16 model per
layer of a speech model (add, conv, leaky_relu, pad, quantize, strided_slice, sub,
transpose_conv), its inputs (`<model>_input<i>_<type>.csv`) and golden output
(`<model>_golden_<type>.csv`), as generate_per_layer_tests.py writes them and its
templates feed them to the interpreter. The folder is read from a fetched tflite-micro
tree: $AIOTC_TFLM_INTEGRATION_TESTS, else the exported tree under ~/.cache/tflm-peer;
the test is skipped where it is absent.

Every output must equal the golden exactly, except where tflite-micro itself does not:
the goldens were made by TfLite, and the template accepts a difference of 1 ("TfLite and
TFLM can sometimes be off by 1"). There (4 leaky_relu layers: TfLite divides the scales
in float, the tflite-micro interpreter's multipliers are the double quotients), aiotc's
contract is tflite-micro, so the test requires tflite-micro's output exactly and the
golden within 1.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from aiotc.driver import compile_model
from aiotc.toolchain.host import HostModel

pytestmark = pytest.mark.slow

FOLDER = Path(
    os.environ.get(
        "AIOTC_TFLM_INTEGRATION_TESTS",
        Path.home() / ".cache/tflm-peer/tflite-micro/tensorflow/lite/micro/integration_tests",
    )
)
TYPES = {"int8": np.int8, "int16": np.int16, "int32": np.int32}


def _number(path: Path) -> tuple[str, int]:
    """seanet/add/add10.tflite sorts after add9."""
    stem = re.match(r"(.*?)(\d+)$", path.stem)
    return (stem.group(1), int(stem.group(2))) if stem else (path.stem, 0)


MODELS = sorted(FOLDER.glob("seanet/*/*.tflite"), key=_number)


def read_csv(path: Path) -> np.ndarray:
    """One of the test's csv files: comma-separated values of the type its name ends with."""
    values = [v for v in re.split(r"[,\s]+", path.read_text()) if v]
    return np.array([int(v) for v in values], dtype=TYPES[path.stem.rsplit("_", 1)[1]])


def model_files(model: Path) -> tuple[list[Path], Path]:
    """The model's input csv files in input order, and its golden."""
    inputs = sorted(
        model.parent.glob(f"{model.stem}_input*_*.csv"), key=lambda p: int(re.search(r"_input(\d+)_", p.name)[1])
    )
    return inputs, next(model.parent.glob(f"{model.stem}_golden_*.csv"))


def tflite_micro_output(model: Path, inputs: list[np.ndarray]) -> np.ndarray:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(str(model), arena_size=1 << 20)
    for index, array in enumerate(inputs):
        interpreter.set_input(array.reshape(interpreter.get_input_details(index)["shape"]), index)
    interpreter.invoke()
    return np.array(interpreter.get_output(0)).ravel()


@pytest.mark.parametrize("model", MODELS or [None], ids=lambda m: f"{m.parent.name}/{m.stem}" if m else "absent")
def test_tflm_16x8_golden(model, tmp_path):
    if model is None:
        pytest.skip(f"no tflite-micro integration tests at {FOLDER} (set AIOTC_TFLM_INTEGRATION_TESTS)")
    input_files, golden_file = model_files(model)
    out = compile_model(model, board="host", out_dir=tmp_path / "out").out_dir
    runner = HostModel.build(out)
    assert len(runner.inputs) == len(input_files)
    inputs = [read_csv(path).reshape(spec.shape) for path, spec in zip(input_files, runner.inputs)]
    got = runner.invoke(inputs)[0].ravel()
    golden = read_csv(golden_file)
    assert got.dtype == golden.dtype and got.shape == golden.shape
    if np.array_equal(got, golden):
        return
    reference = tflite_micro_output(model, inputs)
    assert not np.array_equal(reference, golden), f"differs from the golden in {np.sum(got != golden)} elements"
    assert np.array_equal(got, reference), "differs from tflite-micro, which itself differs from the golden"
    assert np.max(np.abs(got.astype(np.int64) - golden)) <= 1
