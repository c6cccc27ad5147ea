"""Fuzzing the frontends: every mutated model ends in success or one clear error line,
and the C of every mutated model that compiles runs clean under ASan and UBSan.

Mutations are data, not code: a recipe {"model", "edits", "patches": [[offset, hex]],
"truncate"} applied to a shared model's bytes, so a crashing input is kept as a few
bytes of JSON in tests/regressions/ (never a copy of the model). TFLite patches land
on the flatbuffer's own fields (tensor dims, buffer and tensor indices, quantization
arrays and their lengths, op options) found through the schema, besides raw bit
flips and truncations; ONNX edits change dims, initializers, node inputs and
attributes through the protobuf before raw flips and truncations.

Hypothesis runs derandomized (the same examples on every run, no database), about a
minute by default; `make fuzz` (AIOTC_FUZZ_EXAMPLES) runs many more. A failure prints
the recipe: add it to tests/regressions/fuzz.json.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import struct
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import onnx
import pytest
import tflite
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aiotc.driver import compile_model
from aiotc.errors import AiotcError, ModelError
from aiotc.frontend import load_model
from aiotc.samples import random_samples
from aiotc.toolchain.sanitize import SanitizedModel

from .conftest import shared_model

TFLITE_SEEDS = [
    "mlperf_tiny/ad01_int8.tflite",
    "mlperf_tiny/kws_ref_model.tflite",
    "mlperf_tiny/str_ww_ref_model.tflite",
    "mlperf_tiny/pretrainedResnet_quant.tflite",
    "keras/fire_64_int8.tflite",
    "keras/fire_64_float.tflite",
]
ONNX_SEEDS = ["onnx/tinycnn_28.onnx", "onnx/dscnn_kws.onnx", "onnx/kws_ref_model_float32.onnx"]
EXAMPLES = int(os.environ.get("AIOTC_FUZZ_EXAMPLES", "300"))  # about 35 s of TFLite mutations
TIMEOUT_S = 30  # per compile; a real model compiles in under one second
REGRESSIONS = Path(__file__).parent / "regressions" / "fuzz.json"
FUZZ = settings(
    max_examples=EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
ONNX_FUZZ = settings(FUZZ, max_examples=max(EXAMPLES // 3, 1))

MUTATION_VALUES = {
    "dim": [0, 1, -1, 2, 3, 7, 1000, 65536, 2**31 - 1, -(2**31)],
    "index": [-2, -1, 0, 1, 2, 3, 5, 8, 13, 100, 2**31 - 1],
    "count": [0, 1, 2, 3, 1000, 2**31 - 1, 2**32 - 1],
    "scale": [0.0, -1.0, math.nan, math.inf, 1e-30, 1e30, 1.0],
    "zero_point": [0, -128, 127, 128, -129, 2**40, -(2**63)],
    "type": [0, 1, 2, 3, 4, 6, 7, 9, 10, 16, 17, 127, -1],
    "option": [0, 1, 2, 3, 5, -1, 127, -128],
}
FORMATS = {"dim": "<i", "index": "<i", "count": "<I", "scale": "<f", "zero_point": "<q", "type": "<b", "option": "<b"}


@dataclass(frozen=True)
class Field:
    """One value inside the flatbuffer that a mutation may overwrite."""

    kind: str  # a key of MUTATION_VALUES
    pos: int  # byte offset in the file
    what: str  # for people reading a regression: "tensor 3 dim 1"

    def encode(self, value) -> bytes:
        return struct.pack(FORMATS[self.kind], value)


def _vector(table, slot: int, kind: str, what: str, count_too: bool = True) -> list[Field]:
    """The elements of the vector at vtable `slot` of `table`, and its length word."""
    offset = table._tab.Offset(slot)
    if not offset:
        return []
    start, length = table._tab.Vector(offset), table._tab.VectorLen(offset)
    size = struct.calcsize(FORMATS[kind])
    fields = [Field(kind, start + size * i, f"{what}[{i}]") for i in range(length)]
    return fields + ([Field("count", start - 4, f"{what} length")] if count_too else [])


def _scalar(table, slot: int, kind: str, what: str) -> list[Field]:
    offset = table._tab.Offset(slot)
    return [Field(kind, table._tab.Pos + offset, what)] if offset else []


def _option_fields(op, what: str) -> list[Field]:
    """The low byte of every scalar present in the op's options table (strides, padding, activation...)."""
    table = op.BuiltinOptions()
    if table is None:
        return []
    buf, pos = table.Bytes, table.Pos
    vtable = pos - struct.unpack_from("<i", buf, pos)[0]
    slots = (struct.unpack_from("<H", buf, vtable)[0] - 4) // 2
    offsets = (struct.unpack_from("<H", buf, vtable + 4 + 2 * k)[0] for k in range(slots))
    return [Field("option", pos + off, f"{what} option field {k}") for k, off in enumerate(offsets) if off]


def tflite_fields(data: bytes) -> list[Field]:
    """Every mutable field of a TFLite flatbuffer, located through the schema."""
    model = tflite.Model.GetRootAsModel(data, 0)
    sg = model.Subgraphs(0)
    fields = _vector(sg, 6, "index", "subgraph inputs") + _vector(sg, 8, "index", "subgraph outputs")
    for i in range(sg.TensorsLength()):
        t, what = sg.Tensors(i), f"tensor {i}"
        fields += (
            _vector(t, 4, "dim", f"{what} shape")
            + _scalar(t, 6, "type", f"{what} type")
            + _scalar(t, 8, "index", f"{what} buffer")
        )
        q = t.Quantization()
        if q is not None:
            fields += (
                _vector(q, 8, "scale", f"{what} scale")
                + _vector(q, 10, "zero_point", f"{what} zero point")
                + _scalar(q, 16, "index", f"{what} quantized dimension")
            )
    for k in range(sg.OperatorsLength()):
        op, what = sg.Operators(k), f"op {k}"
        fields += (
            _scalar(op, 4, "index", f"{what} opcode")
            + _vector(op, 6, "index", f"{what} inputs")
            + _vector(op, 8, "index", f"{what} outputs")
        )
        fields += _option_fields(op, what)
    for b in range(model.BuffersLength()):
        fields += [f for f in _vector(model.Buffers(b), 4, "option", f"buffer {b}") if f.kind == "count"]
    return fields


def apply_recipe(data: bytes, recipe: dict) -> bytes:
    """The model's bytes with the recipe's ONNX edits made, its patches written over them, then truncated."""
    out = bytearray(_edit_onnx(data, recipe["edits"]) if recipe.get("edits") else data)
    for offset, hex_bytes in recipe.get("patches", []):
        patch = bytes.fromhex(hex_bytes)
        out[offset : offset + len(patch)] = patch
    if recipe.get("truncate") is not None:
        del out[recipe["truncate"] :]
    return bytes(out)


# --- ONNX: edits through the protobuf ---------------------------------------------

ONNX_DIMS = [0, -1, 1, 3, 2**31 - 1, 2**40]


def _edit_onnx(data: bytes, edits: list) -> bytes:
    """Apply [kind, i, j, value] edits: dims of an input or initializer, a node's input, an attribute."""
    model = onnx.ModelProto.FromString(data)
    g = model.graph
    for kind, i, j, value in edits:
        try:
            _edit_one(g, kind, i, j, value)
        except IndexError:  # an earlier edit (a dropped initializer) moved what this one names
            continue
    return model.SerializeToString()


def _edit_one(g, kind: str, i: int, j: int, value) -> None:
    if kind == "input_dim":
        g.input[i].type.tensor_type.shape.dim[j].dim_value = value
    elif kind == "init_dim":
        g.initializer[i].dims[j] = value
    elif kind == "node_input":
        g.node[i].input[j] = value
    elif kind == "attr_ints":
        g.node[i].attribute[j].ints[:] = [value] * len(g.node[i].attribute[j].ints)
    elif kind == "drop_init":
        del g.initializer[i]


@st.composite
def onnx_edits(draw, data: bytes) -> list:
    g = onnx.ModelProto.FromString(data).graph
    producers = [out for node in g.node for out in node.output]
    edits = []
    for _ in range(draw(st.integers(1, 2))):
        kind = draw(st.sampled_from(["input_dim", "init_dim", "node_input", "attr_ints", "drop_init"]))
        if kind == "input_dim":
            edits.append(
                [
                    kind,
                    0,
                    draw(st.integers(0, len(g.input[0].type.tensor_type.shape.dim) - 1)),
                    draw(st.sampled_from(ONNX_DIMS)),
                ]
            )
        elif kind == "init_dim":
            i = draw(st.integers(0, len(g.initializer) - 1))
            edits.append(
                [
                    kind,
                    i,
                    draw(st.integers(0, max(len(g.initializer[i].dims) - 1, 0))),
                    draw(st.sampled_from(ONNX_DIMS)),
                ]
                if g.initializer[i].dims
                else ["drop_init", i, 0, 0]
            )
        elif kind == "node_input":  # a dangling name, or a later node's output: a cycle
            i = draw(st.integers(0, len(g.node) - 1))
            edits.append(
                [
                    kind,
                    i,
                    draw(st.integers(0, len(g.node[i].input) - 1)),
                    draw(st.sampled_from(["no_such_tensor", *producers])),
                ]
            )
        elif kind == "attr_ints":
            nodes = [(i, a) for i, node in enumerate(g.node) for a, attr in enumerate(node.attribute) if attr.ints]
            if nodes:
                i, a = draw(st.sampled_from(nodes))
                edits.append([kind, i, a, draw(st.sampled_from([0, -1, 2**31 - 1]))])
        else:
            edits.append([kind, draw(st.integers(0, len(g.initializer) - 1)), 0, 0])
    return edits


# --- recipes ------------------------------------------------------------------------


@cache
def model_bytes(relative: str) -> bytes:
    return shared_model(relative).read_bytes()


@cache
def field_groups(relative: str) -> tuple[tuple[Field, ...], ...]:
    """The fields by what they belong to ("tensor 3 scale", "op 2 inputs"...), so that the
    thousands of per-channel scales do not crowd out the few activation fields."""
    groups: dict[str, list[Field]] = {}
    for f in tflite_fields(model_bytes(relative)):
        groups.setdefault(f.what.split("[")[0], []).append(f)
    return tuple(tuple(g) for g in groups.values())


@st.composite
def recipes(draw, seeds: list[str]) -> dict:
    """A model and what to do to it: schema-aware edits (mostly), raw bit flips, or a truncation."""
    model = draw(st.sampled_from(seeds))
    data = model_bytes(model)
    recipe: dict = {"model": model}
    kind = draw(st.sampled_from(["fields", "fields", "fields", "flips", "truncate"]))
    if kind == "fields" and model.endswith(".onnx"):
        recipe["edits"] = draw(onnx_edits(data))
    elif kind == "fields":
        groups = draw(st.lists(st.sampled_from(field_groups(model)), min_size=1, max_size=3))
        chosen = [draw(st.sampled_from(group)) for group in groups]
        recipe["patches"] = [[f.pos, f.encode(draw(st.sampled_from(MUTATION_VALUES[f.kind]))).hex()] for f in chosen]
    elif kind == "flips":
        positions = draw(st.lists(st.integers(0, len(data) - 1), min_size=1, max_size=8))
        recipe["patches"] = [[p, bytes([data[p] ^ (1 << draw(st.integers(0, 7)))]).hex()] for p in positions]
    else:
        recipe["truncate"] = draw(st.integers(0, len(data) - 1))
    return recipe


# --- running one ----------------------------------------------------------------------


class Hang(Exception):
    pass


@contextmanager
def time_limit(seconds: int):
    """Raise Hang in this (the main) thread after `seconds`."""

    def expire(signum, frame):
        raise Hang(f"no result within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check_recipe(recipe: dict, tmp: Path) -> str:
    """Compile the mutated model: success (then run its C under the sanitizers) or one clear error line.

    Returns "compiled" or "refused"; anything else (an internal error, a hang, a
    sanitizer report) fails with the recipe to keep as a regression.
    """
    path = tmp / f"mutated{Path(recipe['model']).suffix}"
    path.write_bytes(apply_recipe(model_bytes(recipe["model"]), recipe))
    where = f"recipe {json.dumps(recipe)}"
    try:
        with time_limit(TIMEOUT_S):
            out = compile_model(path, board="host", out_dir=tmp / "out").out_dir
    except AiotcError as error:
        message = str(error)
        assert error.exit_code == 2 and message and "\n" not in message, (
            f"{where}: not one clear line with exit 2: {message!r}"
        )
        return "refused"
    except Exception as error:  # noqa: BLE001  (the point: nothing else may escape)
        pytest.fail(f"{where}: {type(error).__name__}: {error}")
    assert not (tmp / "out").exists() or (tmp / "out" / "report.json").is_file()
    try:
        runner = SanitizedModel.build(out)
        runner.invoke_batch(random_samples(runner.inputs, 1, seed=0))
    except AiotcError as error:
        pytest.fail(f"{where}: the generated C failed to build or run: {error}")
    return "compiled"


def onnx_supported() -> bool:
    try:
        load_model(shared_model(ONNX_SEEDS[0]))
    except ModelError as error:
        if "not supported" in str(error):
            return False
    return True


# --- the tests --------------------------------------------------------------------------


@FUZZ
@given(recipe=recipes(TFLITE_SEEDS))
def test_mutated_tflite_models(recipe, tmp_path_factory):
    event(check_recipe(recipe, tmp_path_factory.mktemp("fuzz")))


@ONNX_FUZZ
@given(recipe=recipes(ONNX_SEEDS))
def test_mutated_onnx_models(recipe, tmp_path_factory):
    if not onnx_supported():
        pytest.skip("the ONNX frontend does not load models yet: nothing to fuzz")
    event(check_recipe(recipe, tmp_path_factory.mktemp("fuzz")))


def _regressions() -> list[dict]:
    return json.loads(REGRESSIONS.read_text())


@pytest.mark.parametrize("case", _regressions(), ids=lambda case: case["id"])
def test_regression(case, tmp_path):
    """Inputs the fuzzer found crashing aiotc or the C: each now ends cleanly (and most are refused)."""
    if hashlib.sha256(model_bytes(case["model"])).hexdigest()[:16] != case["model_sha256"]:
        pytest.skip(f"{case['model']} changed since the case was found; its offsets no longer apply")
    if case["model"].endswith(".onnx") and not onnx_supported():
        pytest.skip("the ONNX frontend does not load models yet")
    assert check_recipe(case, tmp_path) == case.get("expect", "refused")
