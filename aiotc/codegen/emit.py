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
from ..boards import load_board
from ..ir import ITEMSIZE, Graph, Op, Tensor
from ..kernels import Kernel
from ..memory.analysis import op_macs
from ..memory.regions import weight_copies
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
from .stage import (
    Loop,
    Statement,
    band_statement,
    bottom_first_statements,
    compress,
    frame_fills,
    frame_shift,
    resolve,
    stage_statements,
    zero_frame,
)

RUNTIME_HEADERS = "include"
RUNTIME_FOLDER = "aiotc_runtime"
SHARED_ARENA = "aiotc_shared_arena"  # a group's one arena, defined in its runtime folder
SCRATCH = "&ctx"  # the aiotc_context that model.c.j2 declares in a layer block with scratch


@dataclass(frozen=True)
class GroupLink:
    """How a model's library links inside a group folder (aiotc/group.py): against the
    group's one runtime (the version check: version_stamps), and on its own static arena or at
    `arena_offset` in the group's shared arena."""

    arena_offset: int | None = None


def version_stamps() -> dict[str, str]:
    """The version check between a group's runtime and its model libraries: symbols named after
    the aiotc version; the runtime defines `stamp`, each library `models_stamp`, and each reads
    the other's (templates/group/aiotc_version.c.j2), so a mismatch fails the link naming both versions."""
    word = c_word(__version__)
    return {"stamp": f"aiotc_runtime_v{word}", "models_stamp": f"aiotc_models_v{word}"}


@dataclass(frozen=True)
class CConst:
    """One const array of NAME_weights.c."""

    symbol: str
    ctype: str
    values: np.ndarray
    macs: int = 0  # of the layer that made it: what makes it worth a copy in fast RAM

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

    Graph inputs (and the plan's views, reshapes of them) are read where the caller keeps
    them and graph outputs written straight into the caller's output buffer: no copies,
    and no arena bytes for them.
    """

    def __init__(
        self,
        graph: Graph,
        plan,
        name: str,
        kernels: dict[str, Kernel],
        plain_pairs: bool,
        frames: TimeStream | None = None,
    ):
        self.graph = graph
        self.plan = plan
        self.kernels = kernels
        self.plain_pairs = plain_pairs
        self.name = name
        self.consts: list[CConst] = []
        self.layer: Op | None = None  # the op being lowered: its constants are named after it
        self._index = {op.name: index for index, op in enumerate(graph.ops)}
        self._symbols: set[str] = set()
        self._by_content: dict[tuple, str] = {}
        self._tensor_consts: dict[str, str] = {}
        self._io = {**_io_pointers(graph, graph.inputs, "input"), **_io_pointers(graph, graph.outputs, "output")}
        self._io |= {view: self._io[source] for view, source in plan.views.items()}
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
        return f"(({ctype} *)({self.arena_at(self.plan.offsets[tensor], byte_offset)}{extra}))"

    def arena_at(self, offset: int, byte_offset: int = 0) -> str:
        """The plan's arena `offset` (plus `byte_offset` into that buffer) as C: off the one
        arena, or, over several memory regions, off the array of the region holding it."""
        for region in self.plan.regions:
            if region.start <= offset < region.start + region.size:
                return f"arena_{region.name} + {offset - region.start + byte_offset}"
        return f"arena + {offset + byte_offset}"

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
        self.consts.append(CConst(symbol, ctype, array, op_macs(self.layer, self.graph) if self.layer else 0))
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


def linker_fragments(
    plan, copies: set[str], name: str, board: str, memories: dict[str, tuple[int | None, int]]
) -> dict[str, str]:
    """aiotc_<region>.ld for each memory region the plan's arena or the weight `copies` use: its
    arrays' output section (GNU ld). `memories`: the board's, name -> (base address if known, bytes)."""
    env = template_env()
    return {
        f"aiotc_{r.name}.ld": env.get_template("region.ld.j2").render(
            version=__version__,
            board=board,
            name=name,
            region=r.name,
            REGION=r.name.upper(),
            size=f"{r.size:,}",
            base=memories[r.name][0],
            length=memories[r.name][1],
        )
        for r in plan.regions
        if r.size or r.name in copies
    }


def used_regions(plan) -> list:
    """The memory regions the plan puts buffers in: each gets an array and a linker section."""
    return [r for r in plan.regions if r.size]


def arena_names(plan) -> list[str]:
    """The graph functions' arena pointers: `arena`, or one per region used."""
    return [f"arena_{r.name}" for r in used_regions(plan)] if plan.regions else ["arena"]


def plain_pairs(board: str) -> bool:
    """Whether the int8 gemm's byte pairs hold b itself, not b - [a < 0] (aiotc_nn_layout.h):
    on an MVE core, whose VLD2 splits a pair's bytes into the two channels, the correction
    that the DSP path's SMLAD needs would cost 2 instructions per 16 inputs to undo."""
    return load_board(board).mve


def runtime_files(kernels: set[str], plain: bool) -> dict[str, str]:
    """The runtime folder's C: every header, aiotc_nn_layout.h saying whether the weights
    hold plain byte pairs (`plain`), and the sources of `kernels`."""
    runtime = data_dir("runtime_c")
    files = {header.name: header.read_text() for header in sorted((runtime / RUNTIME_HEADERS).glob("*.h"))}
    layout = files["aiotc_nn_layout.h"]  # the default: corrected pairs
    files["aiotc_nn_layout.h"] = layout.replace("AIOTC_PAIRS_PLAIN 0\n", f"AIOTC_PAIRS_PLAIN {int(plain)}\n")
    return files | {f"{kernel}.c": (runtime / "src" / f"{kernel}.c").read_text() for kernel in sorted(kernels)}


def emit_runtime(kernels: set[str], arena_size: int | None, plain: bool) -> dict[str, str]:
    """A group's one runtime folder: the kernels its models call, each once, the version
    stamp they read and, when they share it, the arena of `arena_size` bytes; with its
    Make fragment and CMakeLists.txt (target aiotc_runtime). `plain`: runtime_files'."""
    env = template_env()
    values = {
        "version": __version__,
        "kernels": sorted(kernels),
        "shared_arena": SHARED_ARENA,
        "arena_size": arena_size,
    } | version_stamps()
    sources = {"aiotc_version.c": env.get_template("group/aiotc_version.c.j2").render(**values)}
    if arena_size is not None:
        sources["aiotc_arena.c"] = env.get_template("group/aiotc_arena.c.j2").render(**values)
    values["sources"] = sorted(sources)
    return (
        runtime_files(kernels, plain)
        | sources
        | {
            "aiotc_runtime.mk": env.get_template("group/aiotc_runtime.mk.j2").render(**values),
            "CMakeLists.txt": env.get_template("group/runtime_CMakeLists.txt.j2").render(**values),
        }
    )


def emit_library(
    graph: Graph,
    plan,
    name: str,
    kernels: dict[str, Kernel],
    board: str,
    source: str,
    stages: tuple[StreamStage, ...] = (),
    frames: TimeStream | None = None,
    weight_regions: tuple[str, ...] = (),
    link: GroupLink | None = None,
) -> tuple[dict[str, str], dict]:
    """Render the library. Returns (files, facts) where facts feed the report. `weight_regions`:
    the memory regions, fastest first, whose room left by the arena takes copies of the
    hottest constants (--copy-weights).

    With `link`, the model's files inside a group folder: no runtime, Makefile or example
    of its own (the group's runtime folder has the kernels, emit_runtime)."""
    env = template_env()
    env.filters["c_comment"] = c_comment  # every name from the model passes through it
    emitter = Emitter(graph, plan, name, kernels, plain_pairs(board), frames)
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
            "scratch_at": emitter.arena_at(plan.scratch_offsets[op.name]) if nbytes else None,
            "scratch_bytes": nbytes,
        }

    def band_items(steps: list[list[Statement]]) -> list[dict]:
        """Steps of band calls (and a stage's halo shifts), runs of identical periods as loops."""
        items: list[dict] = []
        for item in compress(steps):
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
        return items

    items: list[dict] = []
    first_layer_op = 0
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
    staged = {stage.first_op: stage for stage in stages}
    bottom_first = plan.bottom_first()
    index = first_layer_op
    while index < len(graph.ops):
        if index in staged:
            items.extend(band_items(stage_statements(graph, staged[index], emitter, lower)))
            index = staged[index].last_op + 1
        elif index in bottom_first:
            items.extend(band_items([[s] for s in bottom_first_statements(graph, index, emitter, lower)]))
            index += 1
        else:
            items.append(block(index, graph.ops[index], lower(graph.ops[index], emitter)))
            index += 1

    spans = {r.name: r for r in plan.regions}
    copies = weight_copies(
        [(c.symbol, c.nbytes, c.macs) for c in emitter.consts],
        [(r, spans[r].capacity - spans[r].size) for r in weight_regions if r in spans],
        16,
    )
    inputs = _io_entries(graph, graph.inputs)
    outputs = _io_entries(graph, graph.outputs)
    values = {
        "name": name,
        "NAME": name.upper(),
        "version": __version__,
        "source": source,
        "board": board,
        "arena_size": plan.size,
        "regions": [
            {"name": r.name, "NAME": r.name.upper(), "size": r.size, "start": r.start} for r in used_regions(plan)
        ],
        "arena_params": ", ".join(f"uint8_t *const {a}" for a in arena_names(plan)),
        "arena_args": ", ".join(arena_names(plan)),
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
                "ram_region": copies.get(c.symbol),
            }
            for c in emitter.consts
        ],
        "copies": [c.symbol for c in emitter.consts if c.symbol in copies],
        "kernels": sorted(runtime_kernels),
        "group": link is not None,
        "shared_arena": SHARED_ARENA,
        "arena_offset": link.arena_offset if link is not None else None,
    } | version_stamps()
    files = {
        f"{name}.h": env.get_template("model.h.j2").render(**values),
        f"{name}.c": env.get_template("model.c.j2").render(**values),
        f"{name}_weights.c": env.get_template("weights.c.j2").render(**values),
        f"{name}.mk": env.get_template("fragment.mk.j2").render(**values),
        "CMakeLists.txt": env.get_template("group/model_CMakeLists.txt.j2" if link else "CMakeLists.txt.j2").render(
            **values
        ),
    }
    if link is None:
        files["Makefile"] = env.get_template("Makefile.j2").render(**values)
        files["example_main.c"] = env.get_template("example_main.c.j2").render(**values)
        files |= {
            f"{RUNTIME_FOLDER}/{rel}": text for rel, text in runtime_files(runtime_kernels, emitter.plain_pairs).items()
        }
    facts = {
        "weights_bytes": sum(c.nbytes for c in emitter.consts),
        "state_bytes": emitter.state_size,
        "state": [{"tensor": b.tensor, "offset": b.offset, "bytes": b.nbytes} for b in emitter.state],
        "inputs": inputs,
        "outputs": outputs,
        "io_bytes": {"input": values["input_size"], "output": values["output_size"]},
        "kernels": sorted(runtime_kernels),
        "layer_kernels": layer_kernels,
        "weight_copies": {
            region: {
                "weights": [c.symbol for c in emitter.consts if copies.get(c.symbol) == region],
                "bytes": sum(c.nbytes for c in emitter.consts if copies.get(c.symbol) == region),
            }
            for region in dict.fromkeys(copies.values())
        },
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
