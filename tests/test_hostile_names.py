"""A model's names are untrusted: whatever they hold, the generated C builds strictly
and with its Makefile and CMakeLists.txt, compiles to the same object code as the same
model with plain names, and the reports parse back to the names."""

from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from aiotc.demo import stripes_model
from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.ir import Graph

STRICT = ["-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic"]
INJECTION = "*\\\n/ volatile int injected_by_model = 42; //"
FRAGMENTS = [
    INJECTION,
    "\\\n",
    "??/",
    "*/",
    "/*",
    "//",
    "#",
    "$(X)",
    '"',
    "'",
    "\0",
    "\r",
    "\u2028",
    "\u2029",
    "a-b",
    "a.b",
    "\x1b[2J",
    "é",
]
BAD_UTF8 = b"\xff\xfe\xc3(\xed\xa0\x80"  # bytes no UTF-8 decoder takes
PLACEHOLDER = b"Q" * len(BAD_UTF8)
HOSTILE_FILE = "hostile *\\\n?? $(x)" + os.fsdecode(b"\xff") + ".tflite"  # \xff: a byte no UTF-8 decodes
hostile_name = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), min_size=1, max_size=5).map("".join)


def renamed(graph: Graph, names: list[str]) -> Graph:
    """`graph` with its tensors (and so its layers, named after their outputs) called `names`."""
    new = dict(zip(graph.tensors, names))

    def rename(items):
        return tuple(new.get(t, t) for t in items)

    return replace(
        graph,
        tensors={new[n]: replace(t, name=new[n]) for n, t in graph.tensors.items()},
        ops=tuple(
            replace(op, name=new[op.outputs[0]], inputs=rename(op.inputs), outputs=rename(op.outputs))
            for op in graph.ops
        ),
        inputs=rename(graph.inputs),
        outputs=rename(graph.outputs),
    )


def compile_with_names(names: list[str], folder: Path, raw: bytes | None = None, file_name: str = HOSTILE_FILE):
    """Compile the demo model with its tensors called `names` (library name `model`)."""
    data = write_tflite(renamed(stripes_model(), names))
    if raw is not None:  # bytes CreateString would not write: patched in, same length
        data = data.replace(PLACEHOLDER, raw)
    model = folder / file_name
    model.write_bytes(data)
    return compile_model(model, board="host", out_dir=folder / "out", name="model")


def object_sections(out: Path, build: Path) -> dict[str, bytes]:
    """The code and data gcc makes of the graph and its weights (symbol names aside: relocations point at them)."""
    gcc = shutil.which("gcc") or pytest.skip("gcc not installed")
    build.mkdir(parents=True, exist_ok=True)
    sections = {}
    for source in ("model.c", "model_weights.c"):
        obj = build / f"{source}.o"
        result = subprocess.run(
            [gcc, *STRICT, f"-I{out}", f"-I{out / 'aiotc_runtime'}", "-c", str(out / source), "-o", str(obj)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0 and not result.stderr, result.stderr
        for section in (".text", ".rodata", ".data", ".bss"):
            dump = build / f"{source}{section}.bin"
            subprocess.run(["objcopy", "-O", "binary", f"--only-section={section}", str(obj), str(dump)], check=True)
            sections[f"{source}{section}"] = dump.read_bytes()
    return sections


class _Titles(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.titles: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.titles += [value for key, value in attrs if key == "title" and tag == "td"]


def assert_reports_hold_the_names(out: Path, layer_names: list[str]) -> None:
    report = json.loads((out / "report.json").read_bytes())
    assert [layer["name"] for layer in report["layers"]] == layer_names
    parser = _Titles()
    parser.feed((out / "report.html").read_bytes().decode("utf-8"))  # read_text would turn CR into LF
    assert parser.titles == layer_names


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The object code of the demo model with plain names."""
    folder = tmp_path_factory.mktemp("plain")
    result = compile_with_names(
        [f"t{i}" for i in range(len(stripes_model().tensors))], folder, file_name="plain.tflite"
    )
    return object_sections(result.out_dir, folder / "build")


def test_the_injection_of_the_issue_stays_in_a_comment(plain, tmp_path):
    """Issue 25's example, plus a name of invalid UTF-8, a 100 KB one and two that sanitize alike:
    the strict build, the Makefile and CMake all build, and nothing of the model's code gets in."""
    # image, sobel/weights, sobel/bias, edges (layer 0), energy (1), energy/flat (2), classify/weights, classify/bias, logits (3), probabilities (4)
    names = [
        "??/\n#define int",
        "$(shell false)\"'#",
        "a.b",
        INJECTION,
        PLACEHOLDER.decode(),
        "a-b",
        "a b",
        "\u2028\r\0",
        "x" * 100_000,
        "*/ output",
    ]
    result = compile_with_names(names, tmp_path, raw=BAD_UTF8)
    out = result.out_dir
    assert object_sections(out, tmp_path / "build") == plain
    assert (
        "injected_by_model"
        not in subprocess.run(["nm", str(tmp_path / "build" / "model.c.o")], capture_output=True, text=True).stdout
    )
    make = subprocess.run(["make", "-C", str(out), "example"], capture_output=True, text=True)
    assert make.returncode == 0, make.stderr
    assert (
        "injected_by_model"
        not in subprocess.run(["nm", str(out / "libmodel.a")], capture_output=True, text=True).stdout
    )
    if shutil.which("cmake"):
        for step in (
            ["cmake", "-S", str(out), "-B", str(tmp_path / "cmake")],
            ["cmake", "--build", str(tmp_path / "cmake")],
        ):
            run = subprocess.run(step, capture_output=True, text=True)
            assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    source = (out / "model.c").read_text(encoding="utf-8")
    assert re.search(
        r"/\* 0: conv2d \"[^\n]*injected_by_model = 42; //\"[^\n]*\*/\n", source
    )  # one line, closed by aiotc
    layers = [layer["name"] for layer in result.report["layers"]]
    assert "\ufffd" in layers[1]  # the invalid UTF-8 name, decoded with replacement characters
    assert result.report["model"] == "hostile *\\\n?? $(x)\ufffd.tflite"
    assert_reports_hold_the_names(out, layers)


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(names=st.lists(hostile_name, min_size=10, max_size=10, unique=True))
def test_hostile_names_change_nothing_but_symbol_names(plain, tmp_path_factory, names):
    folder = tmp_path_factory.mktemp("hostile")
    result = compile_with_names(names, folder)
    assert object_sections(result.out_dir, folder / "build") == plain
    assert_reports_hold_the_names(result.out_dir, [layer["name"] for layer in result.report["layers"]])


def test_names_print_as_text_on_the_terminal(tmp_path):
    """Rich markup (`[/]` would end the compile with an internal error) and terminal escapes stay text."""
    names = ["in", "w", "b", "[/]", "[bold red]energy", "\x1b[2Jclear", "cw", "cb", "logits", "probs"]
    model = tmp_path / "m.tflite"
    model.write_bytes(write_tflite(renamed(stripes_model(), names)))
    for command in (["compile", model, "--board", "host", "-o", tmp_path / "out"], ["inspect", model, "--memory"]):
        result = subprocess.run(
            [sys.executable, "-m", "aiotc", *map(str, command)],
            capture_output=True,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )
        assert result.returncode == 0, result.stderr
        assert "[/]" in result.stdout and "[bold red]energy" in result.stdout and "\x1b" not in result.stdout


def test_hostile_onnx_names_stay_in_comments(tmp_path):
    """ONNX names (tensors, nodes, the graph, doc strings) take the same way into the C."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    x, w, y = "x" + INJECTION, "w??/\n", INJECTION + "*/ y"
    weight = numpy_helper.from_array(np.ones((2, 3, 3, 3), np.float32), w)
    conv = helper.make_node("Conv", [x, w], ["c\r\u2028"], name=INJECTION, pads=[1, 1, 1, 1], doc_string=INJECTION)
    relu = helper.make_node("Relu", ["c\r\u2028"], [y], name="$(shell false)#")
    graph = helper.make_graph(
        [conv, relu],
        INJECTION,
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info(y, TensorProto.FLOAT, [1, 2, 8, 8])],
        [weight],
        doc_string=INJECTION,
    )
    model = tmp_path / "m.onnx"
    model.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    out = compile_model(model, board="host", out_dir=tmp_path / "out", name="model").out_dir
    gcc = shutil.which("gcc") or pytest.skip("gcc not installed")
    result = subprocess.run(
        [
            gcc,
            *STRICT,
            f"-I{out}",
            f"-I{out / 'aiotc_runtime'}",
            "-c",
            str(out / "model.c"),
            "-o",
            str(tmp_path / "model.o"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and not result.stderr, result.stderr
    assert (
        "injected_by_model" in (out / "model.c").read_text()
        and "injected_by_model"
        not in subprocess.run(["nm", str(tmp_path / "model.o")], capture_output=True, text=True).stdout
    )


def test_a_refusal_quoting_hostile_names_is_one_printable_line(tmp_path):
    """A custom op's name goes into the error as the model spells it; the line printed is still one."""
    from .test_frontend_errors import tiny_model

    model = tmp_path / "m.tflite"
    model.write_bytes(tiny_model(ops=("CUSTOM",), custom="line\nbreak\x1b[2J" + "y" * 100_000))
    result = subprocess.run(
        [sys.executable, "-m", "aiotc", "compile", str(model), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stderr.startswith("aiotc: error:"), result.stderr[:500]
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr and len(result.stderr) < 5000
