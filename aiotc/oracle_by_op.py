"""tflite-micro op by op: the oracle of an integer model that tflite-micro cannot load
because it lacks one of its ops (TILE, which Keras' UpSampling2D writes; GELU).

The model is read by aiotc's frontend (constant subgraphs evaluated, no other pass) and
each of its ops written alone as a one-op .tflite (aiotc's exporter), which tflite-micro
runs on the values the ops before it computed; an op that tflite-micro will not load or
invoke (it lacks it, or refuses its parameters; it checks the type of BATCH_TO_SPACE_ND,
SPACE_TO_BATCH_ND and MIRROR_PAD, int8 and float only, when invoked) runs in LiteRT's
reference kernels. Every layer tflite-micro takes is thus computed by its kernels; the
ones it lacks in the corpus (TILE, float GELU) move bytes or compute in float. LiteRT on
the whole model would not do: its int8 FULLY_CONNECTED rounds once where tflite-micro
rounds twice, and its optimized kernels (TRANSPOSE_CONV) round apart too.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import ir

NAME = "tflite-micro op by op"

# Run on zeros in a subprocess first (oracle.py): an interpreter may abort the process.
PROBE = """
import sys
import numpy as np
from aiotc.oracle_by_op import OpByOp
oracle = OpByOp(sys.argv[1])
oracle.run([np.zeros(oracle.graph[name].shape, oracle.graph[name].dtype) for name in oracle.graph.inputs])
"""


class OpByOp:
    """The model's ops, each in the interpreter that runs it, in graph order."""

    def __init__(self, path: str | Path):
        from .export.tflite import write_tflite
        from .frontend import load_model

        self.graph = load_model(Path(path))
        if self.graph.state:
            raise ValueError("a model with state (variables) runs whole, not op by op")
        self._steps = []
        for op in self.graph.ops:
            model = write_tflite(_alone(self.graph, op))
            self._steps.append([op, model, _interpreter(model)])

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        graph = self.graph
        values = {name: np.asarray(array).reshape(graph[name].shape) for name, array in zip(graph.inputs, inputs)}
        for step in self._steps:
            op, model, interpreter = step
            feeds = [values[name] for name in _activations(graph, op)]
            try:
                outputs = _invoke(interpreter, feeds, len(op.outputs))
            except RuntimeError:
                if not _is_micro(interpreter):
                    raise
                step[2] = _litert(model)  # tflite-micro refused the op's parameters when invoked
                outputs = _invoke(step[2], feeds, len(op.outputs))
            values.update(zip(op.outputs, outputs))
        return [values[name] for name in graph.outputs]


def _interpreter(model: bytes):
    """tflite-micro where it has every op of `model`, else LiteRT's reference kernels."""
    from tflite_micro.python.tflite_micro import runtime

    try:
        with _quiet_stderr():  # tflite-micro prints "Didn't find op for builtin opcode" on its own
            return runtime.Interpreter.from_bytes(model, arena_size=1 << 24)
    except RuntimeError:
        return _litert(model)


def _litert(model: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    interpreter = Interpreter(model_content=model, experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    interpreter.allocate_tensors()
    return interpreter


def _is_micro(interpreter) -> bool:
    return hasattr(interpreter, "set_input")


@contextmanager
def _quiet_stderr():
    """File descriptor 2 to /dev/null while the block runs (C++ code writes there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "wb") as null:
        os.dup2(null.fileno(), 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _activations(graph: ir.Graph, op: ir.Op) -> list[str]:
    return [name for name in dict.fromkeys(op.inputs) if name and not graph[name].is_const]


def _alone(graph: ir.Graph, op: ir.Op) -> ir.Graph:
    """The op as a graph: its activations in, its outputs out, its constants kept."""
    tensors = {name: graph[name] for name in (*op.inputs, *op.outputs) if name}
    return ir.Graph(op.name, tensors, (op,), tuple(_activations(graph, op)), tuple(op.outputs))


def _invoke(interpreter, feeds: list[np.ndarray], count: int) -> list[np.ndarray]:
    if _is_micro(interpreter):
        for index, array in enumerate(feeds):
            interpreter.set_input(array, index)
        with _quiet_stderr():  # it prints why it refuses an op when invoked
            interpreter.invoke()
        outputs = [np.array(interpreter.get_output(i)) for i in range(count)]
        interpreter.reset()
        return outputs
    for detail, array in zip(interpreter.get_input_details(), feeds):
        interpreter.set_tensor(detail["index"], array)
    interpreter.invoke()
    return [np.array(interpreter.get_tensor(d["index"])) for d in interpreter.get_output_details()]
