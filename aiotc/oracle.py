"""Oracles: what the generated C must reproduce.

tflite-micro's Python interpreter (reference kernels, double rounding) is the oracle
for integer models. Some models make an interpreter abort the whole process while
loading (the Keras MobileNetV2 models abort tflite-micro, and LiteRT's reference
kernels too), so each oracle is first tried on the model in a subprocess, in
order: tflite-micro, ai-edge-litert with reference kernels (BUILTIN_REF), then
ai-edge-litert's default kernels. ONNX models (float) run in onnxruntime. The
result says which oracle answered.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ToolchainError

TFLM = "tflite-micro"
ONNXRUNTIME = "onnxruntime"
LITERT_REF = "litert-ref"
LITERT = "litert"

_PROBE_LITERT = """
import sys
from ai_edge_litert.interpreter import Interpreter, OpResolverType
interpreter = Interpreter(model_path=sys.argv[1], experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
interpreter.allocate_tensors()
"""
_PROBE = """
import sys
from tflite_micro.python.tflite_micro import runtime
interpreter = runtime.Interpreter.from_file(sys.argv[1])
interpreter.print_allocations()
"""


@dataclass(frozen=True)
class OracleResult:
    outputs: list[np.ndarray]
    name: str  # which oracle produced them


@dataclass(frozen=True)
class _Probe:
    loads: bool
    arena_bytes: int | None


@lru_cache(maxsize=64)
def _probe_tflm(path: str, mtime: float) -> _Probe:
    """Load the model into tflite-micro in a subprocess: does it survive, and what arena does it report."""
    result = subprocess.run([sys.executable, "-c", _PROBE, path], capture_output=True, text=True, timeout=300)
    match = re.search(r"Arena allocation total (\d+)", result.stdout + result.stderr)
    return _Probe(result.returncode == 0, int(match.group(1)) if match else None)


def tflm_arena_bytes(model: Path) -> int | None:
    """tflite-micro's total arena for the model (None where it cannot load it)."""
    model = Path(model)
    return _probe_tflm(str(model.resolve()), model.stat().st_mtime).arena_bytes


def _require(module: str, package: str) -> None:
    """The oracles are an extra (`pip install 'aiotc[oracle]'`): say which one is missing, not an ImportError."""
    if importlib.util.find_spec(module) is None:
        raise ToolchainError(f"the oracle needs the Python package {package}: pip install 'aiotc[oracle]'")


@lru_cache(maxsize=8)
def _interpreter(path: str, mtime: float):
    _require("tflite_micro", "tflite-micro")
    if _probe_tflm(path, mtime).loads:
        import tflite
        from tflite_micro.python.tflite_micro import runtime

        outputs = tflite.Model.GetRootAsModel(Path(path).read_bytes(), 0).Subgraphs(0).OutputsLength()
        return TFLM, (runtime.Interpreter.from_file(path), outputs)
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    reference = litert_reference_loads(Path(path).read_bytes())
    resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    return (LITERT_REF if reference else LITERT), interpreter


def litert_reference_loads(model: bytes) -> bool:
    """Whether LiteRT's reference kernels take the model without aborting the process
    (they abort on the Keras MobileNetV2 models), tried once per model in a subprocess."""
    return _reference_probe(hashlib.sha256(model).hexdigest(), model)


@lru_cache(maxsize=64)
def _reference_probe(digest: str, model: bytes) -> bool:
    with tempfile.TemporaryDirectory(prefix="aiotc-probe-") as folder:
        path = Path(folder) / f"{digest[:16]}.tflite"
        path.write_bytes(model)
        return (
            subprocess.run(
                [sys.executable, "-c", _PROBE_LITERT, str(path)], capture_output=True, timeout=300
            ).returncode
            == 0
        )


@lru_cache(maxsize=8)
def _onnx_session(path: str, mtime: float):
    _require("onnxruntime", "onnxruntime")
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def _run_onnx(model: Path, inputs: list[np.ndarray]) -> OracleResult:
    """onnxruntime on the .onnx itself; an NHWC sample of an NCHW input is transposed back."""
    session = _onnx_session(str(model.resolve()), model.stat().st_mtime)
    feeds = {}
    for spec, array in zip(session.get_inputs(), inputs):
        want = [d if isinstance(d, int) else 1 for d in spec.shape]
        if list(array.shape) != want and array.ndim == 4 and list(array.transpose(0, 3, 1, 2).shape) == want:
            array = array.transpose(0, 3, 1, 2)
        feeds[spec.name] = np.ascontiguousarray(array).reshape(want)
    return OracleResult([np.asarray(out) for out in session.run(None, feeds)], ONNXRUNTIME)


def run_oracle(model: Path, inputs: list[np.ndarray]) -> OracleResult:
    """One inference of the model in the oracle: inputs and outputs in the model's own dtypes."""
    model = Path(model)
    if model.suffix == ".onnx":
        return _run_onnx(model, inputs)
    name, interpreter = _interpreter(str(model.resolve()), model.stat().st_mtime)
    if name == TFLM:
        interpreter, output_count = interpreter
        for index, array in enumerate(inputs):
            interpreter.set_input(array, index)
        interpreter.invoke()
        outputs = [np.array(interpreter.get_output(i)) for i in range(output_count)]
        interpreter.reset()
        return OracleResult(outputs, name)
    interpreter.reset_all_variables()  # an LSTM's state: every sample starts from zero, as in tflite-micro
    for detail, array in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], array)
    interpreter.invoke()
    return OracleResult([np.array(interpreter.get_tensor(d["index"])) for d in interpreter.get_output_details()], name)
