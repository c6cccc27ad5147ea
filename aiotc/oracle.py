"""Oracles: what the generated C must reproduce.

tflite-micro's Python interpreter (reference kernels, double rounding) is the oracle
for integer models, ai-edge-litert's reference kernels (BUILTIN_REF) for float ones
(the numeric contract: tflite-micro computes some float models wrong, a stacked Keras
LSTM's sequence written by a WHILE loop among them). Some models make an interpreter
abort the whole process, so each oracle is first tried on the model in a subprocess,
in order: for an integer model tflite-micro, then LiteRT's reference kernels; for a
float model the other way round; then LiteRT's default kernels. An integer model that
tflite-micro cannot load (it lacks TILE and GELU) runs in tflite-micro op by op where
that works (oracle_by_op.py). ONNX models run in onnxruntime. The result says which
oracle answered.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from . import oracle_by_op as by_op
from .errors import ToolchainError

TFLM = "tflite-micro"
ONNXRUNTIME = "onnxruntime"
LITERT_REF = "litert-ref"
LITERT = "litert"

# Allocating is not enough: where a tensor's shape comes from a SHAPE op (a free-batch Keras
# model), LiteRT prepares the layers after it only when invoked, and a reference kernel that
# aborts in its prepare (int8 SOFTMAX with a tiny input scale) takes the process down there.
_PROBE_LITERT = """
import sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter, OpResolverType
interpreter = Interpreter(model_path=sys.argv[1], experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
interpreter.allocate_tensors()
for detail in interpreter.get_input_details():
    interpreter.set_tensor(detail["index"], np.zeros(detail["shape"], detail["dtype"]))
interpreter.invoke()
"""
# The arena tflite-micro gets: its Python runtime's default (10x the model file) is too
# small for single-layer models with large activations (the seanet 16x8 layers), which it
# then refuses and LiteRT would answer in its place.
TFLM_ARENA = 8 << 20

_PROBE = f"""
import sys
from tflite_micro.python.tflite_micro import runtime
interpreter = runtime.Interpreter.from_file(sys.argv[1], arena_size=max({TFLM_ARENA}, 10 * len(open(sys.argv[1], "rb").read())))
interpreter.print_allocations()
"""


def tflm_arena(model: str | Path) -> int:
    """The arena tflite-micro's interpreter gets: its default of 10x the file, at least TFLM_ARENA."""
    return max(TFLM_ARENA, 10 * Path(model).stat().st_size)


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


def _float_model(model) -> bool:
    """Whether every activation of the model is float (or an integer that is no quantized
    value: shapes, indices, masks): a tensor without a buffer of data is an activation."""
    import tflite

    values = {tflite.TensorType.INT8, tflite.TensorType.INT16, tflite.TensorType.UINT8, tflite.TensorType.INT4}
    for graph in (model.Subgraphs(i) for i in range(model.SubgraphsLength())):
        for tensor in (graph.Tensors(i) for i in range(graph.TensorsLength())):
            buffer = model.Buffers(tensor.Buffer()) if tensor.Buffer() < model.BuffersLength() else None
            if tensor.Type() in values and (buffer is None or buffer.DataLength() == 0):
                return False
    return True


def _tflm_answers(path: str, mtime: float) -> bool:
    """Whether tflite-micro is the model's oracle: it loads the model, and the model is
    an integer one or LiteRT's reference kernels cannot run it."""
    import tflite

    if not _probe_tflm(path, mtime).loads:
        return False
    model = tflite.Model.GetRootAsModel(Path(path).read_bytes(), 0)
    return not _float_model(model) or not litert_reference_loads(Path(path).read_bytes())


@lru_cache(maxsize=64)
def _op_by_op_runs(path: str, mtime: float) -> bool:
    """Whether tflite-micro op by op (oracle_by_op.py) runs the model, tried in a subprocess."""
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent.parent), os.environ.get("PYTHONPATH", "")])
    }
    result = subprocess.run([sys.executable, "-c", by_op.PROBE, path], capture_output=True, timeout=300, env=env)
    return result.returncode == 0


@lru_cache(maxsize=8)
def _interpreter(path: str, mtime: float):
    _require("tflite_micro", "tflite-micro")
    import tflite

    model = tflite.Model.GetRootAsModel(Path(path).read_bytes(), 0)
    if _tflm_answers(path, mtime):
        from tflite_micro.python.tflite_micro import runtime

        outputs = model.Subgraphs(0).OutputsLength()
        return TFLM, (runtime.Interpreter.from_file(path, arena_size=tflm_arena(path)), outputs, _calls_once(model))
    if not _float_model(model) and _op_by_op_runs(path, mtime):
        return by_op.NAME, by_op.OpByOp(path)
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    reference = litert_reference_loads(Path(path).read_bytes())
    resolver = OpResolverType.BUILTIN_REF if reference else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    interpreter = Interpreter(model_path=path, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    return (LITERT_REF if reference else LITERT), interpreter


def _calls_once(model) -> bool:
    """Whether the model's variables start at what a CALL_ONCE init subgraph assigns."""
    import tflite

    return any(
        max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
        == tflite.BuiltinOperator.CALL_ONCE
        for i in range(model.OperatorCodesLength())
    )


def litert_reference_loads(model: bytes) -> bool:
    """Whether LiteRT's reference kernels load and invoke the model without aborting the process
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
    return _new_onnx_session(path)


def _new_onnx_session(model: str | bytes):
    _require("onnxruntime", "onnxruntime")
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _run_onnx(model: Path, inputs: list[np.ndarray]) -> OracleResult:
    """onnxruntime on the .onnx itself."""
    session = _onnx_session(str(model.resolve()), model.stat().st_mtime)
    return OracleResult([np.asarray(out) for out in session.run(None, _onnx_feeds(session, inputs))], ONNXRUNTIME)


def _onnx_feeds(session, inputs: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The session's feeds; an NHWC sample of an NCHW input is transposed back."""
    feeds = {}
    for spec, array in zip(session.get_inputs(), inputs):
        want = [d if isinstance(d, int) else 1 for d in spec.shape]
        if list(array.shape) != want and array.ndim == 4 and list(array.transpose(0, 3, 1, 2).shape) == want:
            array = array.transpose(0, 3, 1, 2)
        feeds[spec.name] = np.ascontiguousarray(array).reshape(want)
    return feeds


def run_oracle(model: Path, inputs: list[np.ndarray]) -> OracleResult:
    """One inference of the model in the oracle: inputs and outputs in the model's own dtypes."""
    model = Path(model)
    if model.suffix == ".onnx":
        return _run_onnx(model, inputs)
    name, interpreter = _interpreter(str(model.resolve()), model.stat().st_mtime)
    if name == by_op.NAME:
        return OracleResult(interpreter.run(inputs), name)
    if name == TFLM:
        interpreter, output_count, calls_once = interpreter
        if calls_once:  # tflite-micro's reset zeroes the variables and never runs CALL_ONCE again
            from tflite_micro.python.tflite_micro import runtime

            interpreter = runtime.Interpreter.from_file(str(model.resolve()), arena_size=tflm_arena(model))
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
    outputs = [np.array(interpreter.get_tensor(d["index"])) for d in interpreter.get_output_details()]
    interpreter.reset_all_variables()  # samples are independent: a recurrent state starts over
    return OracleResult(outputs, name)


@dataclass(frozen=True)
class OracleTensor:
    values: np.ndarray
    zero_point: int  # what the values are measured from (0 for floats)


def oracle_tensors(model: Path, inputs: list[np.ndarray]) -> tuple[str, dict[str, OracleTensor]]:
    """Every tensor an operator of the model writes, by name, for one inference (verify --layers):
    tflite-micro keeping all tensors (LiteRT where it cannot load the model), or onnxruntime with
    every node output made a graph output. Returns (which oracle, the tensors)."""
    model = Path(model)
    return _onnx_tensors(model, inputs) if model.suffix == ".onnx" else _tflm_tensors(model, inputs)


def _tflm_tensors(model: Path, inputs: list[np.ndarray]) -> tuple[str, dict[str, OracleTensor]]:
    _require("tflite_micro", "tflite-micro")
    if not _tflm_answers(str(model.resolve()), model.stat().st_mtime):
        return _litert_tensors(model, inputs)
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_file(
        str(model),
        arena_size=tflm_arena(model),
        intrepreter_config=runtime.InterpreterConfig.kPreserveAllTensors,
    )
    for index, array in enumerate(inputs):
        interpreter.set_input(array, index)
    interpreter.invoke()
    return TFLM, {
        name: OracleTensor(np.array(interpreter.GetTensor(index, 0)["tensor_data"]), zero)
        for index, (name, zero) in _operator_outputs(model).items()
    }


def _litert_tensors(model: Path, inputs: list[np.ndarray]) -> tuple[str, dict[str, OracleTensor]]:
    """LiteRT keeping all tensors, for a model tflite-micro cannot load (reference kernels where they load)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    reference = litert_reference_loads(model.read_bytes())
    interpreter = Interpreter(
        model_path=str(model),
        experimental_op_resolver_type=OpResolverType.BUILTIN_REF
        if reference
        else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
        experimental_preserve_all_tensors=True,
    )
    interpreter.allocate_tensors()
    for detail, array in zip(interpreter.get_input_details(), inputs):
        interpreter.set_tensor(detail["index"], array)
    interpreter.invoke()
    return (LITERT_REF if reference else LITERT), {
        name: OracleTensor(np.array(interpreter.get_tensor(index)), zero)
        for index, (name, zero) in _operator_outputs(model).items()
    }


def _operator_outputs(model: Path) -> dict[int, tuple[str, int]]:
    """The tensors the main subgraph's operators write: index -> (name, zero point)."""
    import tflite

    graph = tflite.Model.GetRootAsModel(model.read_bytes(), 0).Subgraphs(0)
    outputs = {}
    for op in (graph.Operators(i) for i in range(graph.OperatorsLength())):
        for index in op.OutputsAsNumpy().tolist():
            tensor = graph.Tensors(index)
            quant = tensor.Quantization()
            zero = int(quant.ZeroPoint(0)) if quant is not None and quant.ZeroPointLength() else 0
            outputs[index] = (tensor.Name().decode(), zero)
    return outputs


def _onnx_tensors(model: Path, inputs: list[np.ndarray]) -> tuple[str, dict[str, OracleTensor]]:
    _require("onnxruntime", "onnxruntime")
    import onnx

    proto = onnx.load(str(model))
    outputs = {o.name for o in proto.graph.output}
    names = [name for node in proto.graph.node for name in node.output if name and name not in outputs]
    proto.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names)
    session = _new_onnx_session(proto.SerializeToString())
    values = session.run(None, _onnx_feeds(session, inputs))
    return ONNXRUNTIME, {o.name: OracleTensor(np.asarray(v), 0) for o, v in zip(session.get_outputs(), values)}
