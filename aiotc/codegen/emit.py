"""Codegen: the planned graph becomes the files of a drop-in C library.

Python decides, templates print. This module runs each op's lowering, collects the
constants they emit, resolves tensor pointers through the arena plan, and renders
the templates in `templates/`. The output is a dict of relative path -> text; the
driver writes it atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import jinja2
import numpy as np

from .. import __version__
from ..ir import Graph, Op, Tensor
from ..resources import data_dir
from ..schedule import CONV_LIKE, BandCall, StreamStage, kernel_geometry, row_bytes
from . import ops_conv, ops_elementwise, ops_movement  # noqa: F401  (registers the lowerings)
from .lowering import C_TYPES, LOWERINGS, LayerCode

RUNTIME_HEADERS = "include"


@dataclass(frozen=True)
class CConst:
    """One const array of NAME_weights.c."""

    symbol: str
    ctype: str
    values: np.ndarray

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes)


@dataclass(frozen=True)
class EmittedLayer:
    index: int
    op: Op
    body: str
    scratch_offset: int | None
    scratch_bytes: int
    note: str = ""  # e.g. the rows of a band call


def c_identifier(text: str, limit: int = 48) -> str:
    """A C identifier made of `text`: non-word characters become '_', never a leading digit."""
    ident = re.sub(r"\W+", "_", text).strip("_")[-limit:].strip("_") or "t"
    return ident if not ident[0].isdigit() else f"t{ident}"


def c_comment(text: str) -> str:
    """`text` made safe inside /* */."""
    return text.replace("*/", "* /").replace("/*", "/ *")


def format_values(values: np.ndarray, ctype: str, per_line: int = 16) -> str:
    """C initializer text for a flat array, exact for every dtype."""
    flat = values.ravel()
    if ctype == "float":
        items = [_c_float(float(v)) for v in flat]
    elif ctype == "int32_t":
        items = ["(-2147483647 - 1)" if v == -(2**31) else str(v) for v in flat.tolist()]
    elif ctype == "int64_t":
        items = [f"INT64_C({v})" if v != -(2**63) else "INT64_MIN" for v in flat.tolist()]
    else:
        items = [str(v) for v in flat.tolist()]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return ",\n    ".join(lines)


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

    def __init__(self, graph: Graph, plan, name: str):
        self.graph = graph
        self.plan = plan
        self.name = name
        self.consts: list[CConst] = []
        self._by_content: dict[tuple, str] = {}
        self._tensor_consts: dict[str, str] = {}
        self._io = {**_io_offsets(graph, graph.inputs, "input"), **_io_offsets(graph, graph.outputs, "output")}

    def ptr(self, tensor: str, byte_offset: int = 0) -> str:
        t = self.graph[tensor]
        if t.is_const:
            if tensor not in self._tensor_consts:
                self._tensor_consts[tensor] = self.const(t.data, tensor)
            return self._tensor_consts[tensor]
        ctype = C_TYPES[t.dtype]
        if tensor in self._io:
            buffer, offset = self._io[tensor]
            qualifier = "const " if buffer == "input" else ""
            return f"(({qualifier}{ctype} *)(({qualifier}uint8_t *){buffer} + {offset + byte_offset}))"
        return f"(({ctype} *)(arena + {self.plan.offsets[tensor] + byte_offset}))"

    def const(self, array: np.ndarray, hint: str) -> str:
        array = np.ascontiguousarray(array)
        ctype = C_TYPES[str(array.dtype) if array.dtype != np.bool_ else "bool"]
        key = (ctype, array.shape, array.tobytes())
        if key in self._by_content:  # identical constants are stored once
            return self._by_content[key]
        symbol = f"{self.name}_{c_identifier(hint)}"
        taken = {c.symbol for c in self.consts}
        base, n = symbol, 1
        while symbol in taken:
            n += 1
            symbol = f"{base}_{n}"
        self.consts.append(CConst(symbol, ctype, array))
        self._by_content[key] = symbol
        return symbol


class BandEmitter:
    """The LowerContext of one band call: the op sees its band as a smaller image."""

    def __init__(self, emitter: Emitter, graph: Graph, pointers: dict[str, str]):
        self.graph = graph
        self._emitter = emitter
        self._pointers = pointers

    def ptr(self, tensor: str) -> str:
        return self._pointers.get(tensor) or self._emitter.ptr(tensor)

    def const(self, array: np.ndarray, hint: str) -> str:
        return self._emitter.const(array, hint)


def band_view(graph: Graph, op: Op, call: BandCall, emitter: Emitter) -> BandEmitter:
    """The op restricted to its band: shapes with the band's rows, top padding shifted."""
    tensors = dict(graph.tensors)
    pointers = {}
    for read in call.reads:
        if read is not None:
            t = graph[read.tensor]
            tensors[read.tensor] = replace(t, shape=(t.shape[0], read.rows[1] - read.rows[0], *t.shape[2:]))
            pointers[read.tensor] = emitter.ptr(read.tensor, read.buffer_row * row_bytes(graph, read.tensor))
    out = graph[op.outputs[0]]
    a, b = call.rows
    tensors[out.name] = replace(out, shape=(out.shape[0], b - a, *out.shape[2:]))
    pointers[out.name] = emitter.ptr(out.name, call.buffer_row * row_bytes(graph, out.name))
    if op.kind in CONV_LIKE:
        _, stride, _, top = kernel_geometry(op, graph)
        first_row = call.reads[0].rows[0]
        padding = replace(op.attrs.padding, top=top - a * stride + first_row)
        op = replace(op, attrs=replace(op.attrs, padding=padding))
    return BandEmitter(emitter, Graph(graph.name, tensors, (op,), graph.inputs, graph.outputs), pointers)


def _io_offsets(graph: Graph, names: tuple[str, ...], buffer: str) -> dict[str, tuple[str, int]]:
    offsets, at = {}, 0
    for name in names:
        offsets[name] = (buffer, at)
        at += graph[name].nbytes
    return offsets


def _jinja_env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _io_entries(graph: Graph, names: tuple[str, ...]) -> list[dict]:
    """Graph inputs/outputs as laid out in the caller's buffer: back to back, in order."""
    entries, offset = [], 0
    for name in names:
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
        )
        offset += t.nbytes
    return entries


def emit_library(graph: Graph, plan, name: str, scratch: dict[str, int], board: str, source: str, stage: StreamStage | None = None) -> tuple[dict[str, str], dict]:
    """Render the library. Returns (files, facts) where facts feed the report."""
    env = _jinja_env()
    emitter = Emitter(graph, plan, name)
    layers: list[EmittedLayer] = []
    kernels: set[str] = set()

    def emit(index: int, op: Op, context, note: str = "") -> None:
        code: LayerCode = LOWERINGS[op.kind].lower(op, context)
        body = env.get_template(f"layers/{code.template}.c.j2").render(**code.values).rstrip()
        kernels.update(code.kernels)
        nbytes = scratch.get(op.name, 0)
        layers.append(EmittedLayer(index, op, body, plan.scratch_offsets.get(op.name) if nbytes else None, nbytes, note))

    first_layer_op = 0
    if stage is not None:
        for step, (calls, shifts) in enumerate(stage.steps):
            for call in calls:
                band = band_view(graph, graph.ops[call.op_index], call, emitter)
                emit(call.op_index, band.graph.ops[0], band, f"rows {call.rows[0]}..{call.rows[1] - 1}")
            for shift in shifts:
                rb = row_bytes(graph, shift.tensor)
                body = f"memmove({emitter.ptr(shift.tensor)}, {emitter.ptr(shift.tensor, shift.drop * rb)}, {shift.keep * rb}u);"
                producer = graph.producers[shift.tensor]
                layers.append(EmittedLayer(graph.ops.index(producer), producer, body, None, 0, f"keep the last {shift.keep} rows (halo) for the next band"))
        first_layer_op = stage.last_op + 1
    for index in range(first_layer_op, len(graph.ops)):
        emit(index, graph.ops[index], emitter)

    inputs = _io_entries(graph, graph.inputs)
    outputs = _io_entries(graph, graph.outputs)
    values = {
        "name": name,
        "NAME": name.upper(),
        "version": __version__,
        "source": c_comment(source),
        "board": board,
        "arena_size": plan.size,
        "inputs": inputs,
        "outputs": outputs,
        "input_size": sum(e["bytes"] for e in inputs),
        "output_size": sum(e["bytes"] for e in outputs),
        "layers": [
            {
                "index": layer.index,
                "kind": layer.op.kind,
                "name": c_comment(layer.op.name),
                "note": layer.note,
                "body": _indent(layer.body, 8),
                "scratch_offset": layer.scratch_offset,
                "scratch_bytes": layer.scratch_bytes,
            }
            for layer in layers
        ],
        "consts": [{"symbol": c.symbol, "ctype": c.ctype, "length": c.values.size, "initializer": format_values(c.values, c.ctype)} for c in emitter.consts],
        "kernels": sorted(kernels),
    }
    files = {
        f"{name}.h": env.get_template("model.h.j2").render(**values),
        f"{name}.c": env.get_template("model.c.j2").render(**values),
        f"{name}_weights.c": env.get_template("weights.c.j2").render(**values),
        "Makefile": env.get_template("library.mk.j2").render(**values),
        "CMakeLists.txt": env.get_template("CMakeLists.txt.j2").render(**values),
    }
    runtime = data_dir("runtime_c")
    for header in sorted((runtime / RUNTIME_HEADERS).glob("*.h")):
        files[f"aiotc_runtime/{header.name}"] = header.read_text()
    for kernel in sorted(kernels):
        files[f"aiotc_runtime/{kernel}.c"] = (runtime / "src" / f"{kernel}.c").read_text()
    facts = {
        "weights_bytes": sum(c.nbytes for c in emitter.consts),
        "inputs": inputs,
        "outputs": outputs,
        "kernels": sorted(kernels),
    }
    return files, facts


def _indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else "" for line in text.splitlines())
