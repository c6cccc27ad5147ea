"""Codegen: the planned graph becomes the files of a drop-in C library.

Python decides, templates print. This module runs each op's lowering, collects the
constants they emit, resolves tensor pointers through the arena plan, and renders
the templates in `templates/`. The output is a dict of relative path -> text; the
driver writes it atomically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import __version__
from ..ir import ITEMSIZE, Graph, Op, Tensor
from ..kernels import Kernel
from ..memory.streaming import StreamStage
from ..memory.timestream import TimeStream
from ..ops import OPS
from ..resources import data_dir, template_env
from ..state import initial_state, state_layout
from . import (  # noqa: F401  (registers the lowerings)  # noqa: F401
    ops_activation,
    ops_conv,
    ops_elementwise,
    ops_indexed,
    ops_layout,
    ops_math,
    ops_matmul,
    ops_movement,
    ops_recurrent,
    ops_reduce,
)
from .escape import c_comment, c_word, unique
from .lowering import C_TYPES, LOWERINGS, LayerCode
from .stage import Loop, band_statement, compress, frame_fills, frame_shift, resolve, stage_statements, zero_frame

RUNTIME_HEADERS = "include"
SCRATCH = "&ctx"  # the aiotc_context that model.c.j2 declares in a layer block with scratch


@dataclass(frozen=True)
class CConst:
    """One const array of NAME_weights.c."""

    symbol: str
    ctype: str
    values: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes)


def layer_word(name: str, limit: int = 32) -> str:
    """A short form of a layer name for its constants' symbols: in the last path of a fused
    TFLite name, the scope under the model's (`model/depthwise_conv2d/BiasAdd/...` gives
    `depthwise_conv2d`); the whole name when it is no path."""
    paths = [part for part in name.split(";") if "/" in part] or [name]
    segments = [s for s in paths[-1].split("/") if s] or [""]
    return (
        c_word(segments[1] if len(segments) >= 3 else segments[-2] if len(segments) == 2 else segments[0], limit)
        or "layer"
    )


def format_values(values: np.ndarray, ctype: str, per_line: int = 16) -> str:
    """C initializer text for a flat array, exact for every dtype."""
    flat = values.ravel()
    if flat.dtype in (np.int8, np.uint8, np.int16, np.uint16) and flat.size:
        return _format_small_ints(flat, per_line)
    if ctype == "float":
        wide = flat.astype(np.float32).astype(np.float64)  # each float's value, exactly
        finite = bool(np.isfinite(wide).all())
        items = [f"{v!r}f" for v in wide.tolist()] if finite else [_c_float(float(v)) for v in flat]
    elif ctype == "int32_t":
        items = ["(-2147483647 - 1)" if v == -(2**31) else str(v) for v in flat.tolist()]
    elif ctype == "int64_t":
        items = [f"INT64_C({v})" if v != -(2**63) else "INT64_MIN" for v in flat.tolist()]
    else:  # bool constants (a comparison's operand) as 0 / 1
        items = [str(int(v)) for v in flat.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n    ".join(lines)


def _format_small_ints(flat: np.ndarray, per_line: int) -> str:
    """format_values for 8- and 16-bit integers (the weights, millions of them): each value's
    text with the separator after it comes from a table, and one join writes them all."""
    low = int(flat.min())
    index = flat.astype(np.int64) - low
    span = range(low, int(flat.max()) + 1)
    items = np.array([f"{v}, " for v in span], dtype=object)[index]
    line_ends = index[per_line - 1 :: per_line]
    items[per_line - 1 :: per_line] = np.array([f"{v},\n    " for v in span], dtype=object)[line_ends]
    items[-1] = str(int(flat[-1]))
    return "".join(items.tolist())


def _c_float(v: float) -> str:
    if np.isnan(v):
        return "(0.0f / 0.0f)"
    if np.isinf(v):
        return "(1.0f / 0.0f)" if v > 0 else "(-1.0f / 0.0f)"
    return f"{float(np.float32(v))!r}f"


class Emitter:
    """The LowerContext lowerings see: pointers into the arena, the caller's buffers and consts.

    Graph inputs are read where the caller keeps them and graph outputs written
    straight into the caller's output buffer: no copies, and no arena bytes for them.
    """

    def __init__(self, graph: Graph, plan, name: str, kernels: dict[str, Kernel], frames: TimeStream | None = None):
        self.graph = graph
        self.plan = plan
        self.kernels = kernels
        self.name = name
        self.consts: list[CConst] = []
        self.layer: Op | None = None  # the op being lowered: its constants are named after it
        self._index = {op.name: index for index, op in enumerate(graph.ops)}
        self._symbols: set[str] = set()
        self._by_content: dict[tuple, str] = {}
        self._tensor_consts: dict[str, str] = {}
        self._io = {**_io_pointers(graph, graph.inputs, "input"), **_io_pointers(graph, graph.outputs, "output")}
        self.state, self.state_size = state_layout(graph, frames.kept if frames else None)
        self._state_offsets = {b.tensor: b.offset for b in self.state}

    def ptr(self, tensor: str, byte_offset: int = 0, advance: str | None = None) -> str:
        """A typed C pointer to `tensor` plus `byte_offset` (plus a run-time `advance` in loops)."""
        t = self.graph[tensor]
        if t.is_const:
            if tensor not in self._tensor_consts:
                self._tensor_consts[tensor] = self.const(t.data, self._operand_role(tensor))
            return self._tensor_consts[tensor]
        ctype = C_TYPES[t.dtype]
        extra = f" + {advance}" if advance else ""
        if tensor in self._io:
            buffer, offset = self._io[tensor]
            qualifier = "const " if buffer == "input" else ""
            return f"(({qualifier}{ctype} *)(({qualifier}uint8_t *){buffer} + {offset + byte_offset}{extra}))"
        if tensor in self._state_offsets:
            return f"(({ctype} *)({self.name}_state + {self._state_offsets[tensor] + byte_offset}{extra}))"
        return f"(({ctype} *)(arena + {self.plan.offsets[tensor] + byte_offset}{extra}))"

    def scratch(self) -> str:
        return SCRATCH

    def _operand_role(self, tensor: str) -> str:
        """What a const operand is to the layer reading it: `filter`, `bias`, or `input<k>`."""
        if self.layer is None or tensor not in self.layer.inputs:
            return "const"
        k = self.layer.inputs.index(tensor)
        return ("input", "filter", "bias")[k] if OPS[self.layer.kind].weighted and k < 3 else f"input{k}"

    def const(self, array: np.ndarray, hint: str) -> str:
        """`array` as a const of NAME_weights.c named NAME_L<layer index>_<layer_word>_<hint>
        (the names a model gives are long and may not be unique; the comment has them whole)."""
        array = np.ascontiguousarray(array)
        ctype = C_TYPES[str(array.dtype) if array.dtype != np.bool_ else "bool"]
        array = array.astype(np.uint8) if array.dtype == np.bool_ else array  # C prints 0 and 1
        key = (ctype, array.shape, array.tobytes())
        if key in self._by_content:  # identical constants are stored once
            return self._by_content[key]
        layer = f"L{self._index[self.layer.name]}_{layer_word(self.layer.name)}_" if self.layer is not None else ""
        symbol = unique(f"{self.name}_{layer}{c_word(hint, 32) or 'const'}", self._symbols)
        self.consts.append(CConst(symbol, ctype, array))
        self._by_content[key] = symbol
        return symbol


def io_offsets(graph: Graph, names: tuple[str, ...]) -> list[int]:
    """Where each graph input (output) starts in the caller's buffer: in order, each at a
    multiple of its element size, so that kernels read and write int32 and float32 tensors
    aligned (an unaligned float load faults on Cortex-M)."""
    offsets, at = [], 0
    for name in names:
        t = graph[name]
        element = max(int(ITEMSIZE[t.dtype]), 1)
        at = -(-at // element) * element
        offsets.append(at)
        at += t.nbytes
    return offsets


def _io_pointers(graph: Graph, names: tuple[str, ...], buffer: str) -> dict[str, tuple[str, int]]:
    return {name: (buffer, offset) for name, offset in zip(names, io_offsets(graph, names))}


def _io_entries(graph: Graph, names: tuple[str, ...]) -> list[dict]:
    """Graph inputs/outputs as laid out in the caller's buffer (io_offsets)."""
    entries = []
    for name, offset in zip(names, io_offsets(graph, names)):
        t: Tensor = graph[name]
        q = t.quant
        entries.append(
            {
                "name": name,
                "shape": list(t.shape),
                "dtype": t.dtype,
                "ctype": C_TYPES[t.dtype],
                "scale": float(q.scale.ravel()[0]) if q is not None else None,
                "zero_point": int(q.zero_point.ravel()[0]) if q is not None else None,
                "offset": offset,
                "bytes": t.nbytes,
            }
            | ({"source_layout": graph.layouts[name]} if name in graph.layouts else {})
        )
    return entries


def _buffer_size(entries: list[dict]) -> int:
    return max((e["offset"] + e["bytes"] for e in entries), default=0)


def emit_library(
    graph: Graph,
    plan,
    name: str,
    kernels: dict[str, Kernel],
    board: str,
    source: str,
    stage: StreamStage | None = None,
    frames: TimeStream | None = None,
) -> tuple[dict[str, str], dict]:
    """Render the library. Returns (files, facts) where facts feed the report."""
    env = template_env()
    env.filters["c_comment"] = c_comment  # every name from the model passes through it
    emitter = Emitter(graph, plan, name, kernels, frames)
    runtime_kernels: set[str] = set()  # the runtime_c sources the calls need
    layer_kernels: dict[str, dict[str, str]] = {}  # op -> the kernel its calls run and why (the report's)

    def lower(op: Op, context) -> str:
        emitter.layer = op
        code: LayerCode = LOWERINGS[op.kind].lower(op, context)
        runtime_kernels.update(code.kernels)
        layer_kernels[op.name] = {"kernel": ", ".join(code.kernels), "why": kernels[op.name].why}
        return env.get_template(f"layers/{code.template}.c.j2").render(**code.values).rstrip()

    def block(index: int, op: Op, body: str, note: str = "", scratch_ok: bool = True) -> dict:
        nbytes = kernels[op.name].scratch_bytes if scratch_ok else 0
        return {
            "index": index,
            "kind": op.kind,
            "name": op.name,
            "note": note,
            "body": body,
            "scratch_offset": plan.scratch_offsets.get(op.name) if nbytes else None,
            "scratch_bytes": nbytes,
        }

    items: list[dict] = []
    first_layer_op = 0
    if stage is not None:
        for item in compress(stage_statements(graph, stage, emitter, lower)):
            if isinstance(item, Loop):
                body, k = [], 0
                for statement in item.body:
                    strides = item.strides[k : k + len(statement.pointers)]
                    k += len(statement.pointers)
                    body.append(
                        block(
                            statement.index,
                            statement.op,
                            resolve(statement, emitter, strides),
                            statement.note,
                            statement.scratch,
                        )
                    )
                items.append({"loop": item.repeats, "calls": body})
            else:
                items.append(block(item.index, item.op, resolve(item, emitter), item.note, item.scratch))
        first_layer_op = stage.last_op + 1
    stream = None
    if frames is not None:
        steps: list[dict] = []
        for k, call in enumerate(frames.calls):
            s = band_statement(graph, frames.kept, call, emitter, lower)
            steps.append(block(s.index, s.op, s.text, s.note))
            if k + 1 == len(frames.calls) or frames.calls[k + 1].op_index != call.op_index:  # the op's last call
                out = graph.ops[call.op_index].outputs[0]
                steps.extend({"fill": text} for text in frame_fills(graph, frames, out, emitter))
        stream = {
            "window": graph[frames.window].shape[1],
            "shift": frame_shift(graph, frames, emitter),
            "steps": steps,
            "zero_frame": zero_frame(graph[frames.frame], emitter),
        }
        first_layer_op = frames.last_op + 1
    for index in range(first_layer_op, len(graph.ops)):
        op = graph.ops[index]
        items.append(block(index, op, lower(op, emitter)))

    inputs = _io_entries(graph, graph.inputs)
    outputs = _io_entries(graph, graph.outputs)
    values = {
        "name": name,
        "NAME": name.upper(),
        "version": __version__,
        "source": source,
        "board": board,
        "arena_size": plan.size,
        "state": emitter.state,
        "state_size": emitter.state_size,
        "state_initializer": format_values(initial_state(emitter.state, emitter.state_size), "uint8_t")
        if any(b.fill or b.initial for b in emitter.state)
        else None,
        "state_initial": any(b.initial for b in emitter.state),
        "state_updates": [
            {"name": name, "state": emitter.ptr(name), "value": emitter.ptr(value), "nbytes": graph[name].nbytes}
            for name, value in graph.state_updates.items()
        ],
        "inputs": inputs,
        "outputs": outputs,
        "input_size": _buffer_size(inputs),
        "output_size": _buffer_size(outputs),
        "items": items,
        "stream": stream,
        "consts": [
            {
                "symbol": c.symbol,
                "ctype": c.ctype,
                "length": c.values.size,
                "initializer": format_values(c.values, c.ctype),
            }
            for c in emitter.consts
        ],
        "kernels": sorted(runtime_kernels),
    }
    files = {
        f"{name}.h": env.get_template("model.h.j2").render(**values),
        f"{name}.c": env.get_template("model.c.j2").render(**values),
        f"{name}_weights.c": env.get_template("weights.c.j2").render(**values),
        f"{name}.mk": env.get_template("fragment.mk.j2").render(**values),
        "Makefile": env.get_template("Makefile.j2").render(**values),
        "CMakeLists.txt": env.get_template("CMakeLists.txt.j2").render(**values),
        "example_main.c": env.get_template("example_main.c.j2").render(**values),
    }
    runtime = data_dir("runtime_c")
    for header in sorted((runtime / RUNTIME_HEADERS).glob("*.h")):
        files[f"aiotc_runtime/{header.name}"] = header.read_text()
    for kernel in sorted(runtime_kernels):
        files[f"aiotc_runtime/{kernel}.c"] = (runtime / "src" / f"{kernel}.c").read_text()
    facts = {
        "weights_bytes": sum(c.nbytes for c in emitter.consts),
        "state_bytes": emitter.state_size,
        "state": [{"tensor": b.tensor, "offset": b.offset, "bytes": b.nbytes} for b in emitter.state],
        "inputs": inputs,
        "outputs": outputs,
        "io_bytes": {"input": values["input_size"], "output": values["output_size"]},
        "kernels": sorted(runtime_kernels),
        "layer_kernels": layer_kernels,
    }
    if frames is not None:
        window = graph[frames.window].shape[1]
        facts["stream"] = {
            "window": window,
            "window_input": inputs[0]
            | {
                "name": frames.source_input,
                "shape": [1, window, *inputs[0]["shape"][2:]],
                "bytes": window * inputs[0]["bytes"],
            },
            "layers": frames.last_op + 1,
            "kept_rows": dict(frames.kept),
        }
    return files, facts
