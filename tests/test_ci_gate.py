"""The CI budget gate: `aiotc check` and the composite GitHub Action that runs it.

The action's gate step runs here as GitHub would run it for the example workflow of
docs/ci.md (its inputs substituted into the step's environment), on a model the test
widens; installing aiotc is the one step left to GitHub."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from aiotc.export.tflite import write_tflite

from .conftest import ROOT, aiotc
from .oplib import OpGraph

ACTION = ROOT / ".github" / "actions" / "aiotc-gate"
WORKFLOW = ACTION / "example-workflow.yml"


def write_model(path: Path, units: int) -> Path:
    """input 1x32 -> fully connected of `units` -> of 8: wider units, more weights, MACs and arena."""
    g = OpGraph(seed=3)
    x = g.input((1, 32), scale=0.05, zero_point=-5)
    hidden = g.fully_connected(x, units, activation="relu")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(write_tflite(g.build(g.fully_connected(hidden, 8))))
    return path


def run_action(repo: Path) -> subprocess.CompletedProcess:
    """The gate step of action.yml, with the inputs the example workflow gives it, in `repo`."""
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["aiotc-gate"]["steps"]
    given = next(s["with"] for s in steps if s.get("uses", "").split("@")[0].endswith(".github/actions/aiotc-gate"))
    action = yaml.safe_load((ACTION / "action.yml").read_text())
    inputs = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    inputs |= {name: str(value) for name, value in given.items()}
    context = {f"inputs.{name}": value for name, value in inputs.items()} | {"github.action_path": str(ACTION)}
    expand = lambda text: re.sub(r"\$\{\{\s*([\w.-]+)\s*\}\}", lambda m: context[m[1]], text)  # noqa: E731
    step = next(s for s in action["runs"]["steps"] if "gate.sh" in s["run"])
    env = {name: expand(value) for name, value in step["env"].items()}
    env = os.environ | env | {"PYTHONPATH": str(ROOT), "AIOTC_PYTHON": sys.executable}
    return subprocess.run(["bash", "-c", expand(step["run"])], cwd=repo, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A firmware repository as on main: the model (16 units) and its committed baseline."""
    repo = tmp_path_factory.mktemp("firmware")
    model = write_model(repo / "models" / "model.tflite", 16)
    assert aiotc("compile", model, "-b", "stm32f746g-disco", "-o", repo / "main-out", "-q").returncode == 0
    written = aiotc("check", repo / "main-out", "--write-baseline", repo / "models" / "model.baseline.json")
    assert written.returncode == 0, written.stderr
    return repo


def test_the_gate_fails_a_pull_request_whose_model_grew(repo):
    write_model(repo / "models" / "model.tflite", 24)
    result = run_action(repo)
    assert result.returncode == 1, result.stderr
    grown = re.match(
        r"aiotc: error: arena_bytes grew from 16 to (\d+): \+(\d+) \(\+[\d.]+%\), tolerance 2%; ", result.stderr
    )
    assert grown and int(grown[1]) - 16 == int(grown[2]) > 0, result.stderr  # the kernels' choice sets how much
    assert "; macs grew from 640 to 960: +320 (+50.0%), tolerance 2%\n" in result.stderr
    assert re.search(
        rf"arena_bytes\s+│\s+16 │\s+{grown[1]} │\s+\+{grown[2]} \(\+[\d.]+%\) │\s+65,536 │ GREW", result.stdout
    )
    figures = json.loads((repo / "aiotc-out.baseline.json").read_text())
    assert figures["metrics"]["macs"] == 960 and figures["limits"] == {"arena_bytes": 64 * 1024}


def test_the_gate_passes_a_pull_request_whose_model_did_not_grow(repo):
    write_model(repo / "models" / "model.tflite", 16)
    result = run_action(repo)
    assert result.returncode == 0, result.stderr
    baseline = json.loads((repo / "models" / "model.baseline.json").read_text())["metrics"]
    assert baseline["stack_bytes"] > 0 and baseline["flash_bytes"] > baseline["weights_bytes"]  # linked for the M7
    for metric, value in baseline.items():
        assert re.search(rf"{metric}\s+│\s+{value:,} │\s+{value:,} │\s+0 │.*│ ok", result.stdout), metric


def test_docs_show_the_workflow_of_the_repository():
    page = (ROOT / "docs" / "ci.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", page, re.S)
    assert WORKFLOW.read_text() in blocks


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("check")
    model = write_model(folder / "model.tflite", 16)
    assert aiotc("compile", model, "-o", folder / "out", "-q").returncode == 0
    return folder / "out"


def test_tolerance_and_limits(out, tmp_path):
    baseline = tmp_path / "baseline.json"
    report = json.loads((out / "report.json").read_text())
    smaller = report["weights_bytes"] - 10
    baseline.write_text(json.dumps({"metrics": {"weights_bytes": smaller}, "limits": {"arena_bytes": 1}}))
    over = aiotc("check", out, "--baseline", baseline, "--tolerance", "1%", "--max-arena", "1K")
    assert over.returncode == 1
    assert over.stderr == "aiotc: error: weights_bytes grew from 918 to 928: +10 (+1.1%), tolerance 1%\n"
    within = aiotc("check", out, "--baseline", baseline, "--tolerance", "2", "--max-arena", "1K")
    assert within.returncode == 0, within.stderr
    limited = aiotc("check", out, "--baseline", baseline, "--tolerance", "2%")  # the baseline's limit of 1 B
    assert limited.returncode == 1
    assert f"arena_bytes {report['arena_bytes']:,} is over the limit 1 by" in limited.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing"], "missing does not exist or is not a folder"),
        (["."], ". is not an aiotc output folder (no report.json)"),
        (["OUT", "--baseline", "nothing.json"], "baseline nothing.json does not exist"),
        (["OUT", "--baseline", "broken.json"], "baseline broken.json is not readable JSON"),
        (["OUT", "--baseline", "other.json"], "baseline other.json is neither an aiotc report.json nor a baseline"),
        (["OUT", "--baseline", "old.json"], "baseline old.json is not an aiotc report (no 'weights_bytes')"),
        (["OUT", "--baseline", "board.json"], "the baseline is for board 'cortex-m4', the folder holds 'host'"),
        (["OUT", "--max-instructions", "1000"], "instructions: the folder has no figure to check against"),
        (["OUT", "--max-arena", "lots"], "'lots' is not a size"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(out, tmp_path, args, message):
    (tmp_path / "broken.json").write_text("{")
    (tmp_path / "other.json").write_text('{"arena": 5}')
    (tmp_path / "old.json").write_text('{"arena_bytes": 5}')
    (tmp_path / "board.json").write_text('{"board": "cortex-m4", "metrics": {"macs": 1}}')
    result = aiotc("check", *(str(out) if a == "OUT" else a for a in args), cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert message in result.stderr


@pytest.mark.qemu
def test_bench_figures_reach_the_gate(tmp_path):
    """`aiotc bench OUT` leaves OUT/bench.json; check then gates the instructions QEMU counted."""
    model = write_model(tmp_path / "model.tflite", 16)
    out = tmp_path / "out"
    assert aiotc("compile", model, "-b", "cortex-m4", "-o", out, "-q").returncode == 0
    bench = aiotc("bench", out, "-b", "cortex-m4", "--json")
    assert bench.returncode == 0, bench.stderr
    instructions = json.loads(bench.stdout)["instructions"]
    assert json.loads((out / "bench.json").read_text())["instructions"] == instructions > 0
    over = aiotc("check", out, "--max-instructions", instructions - 1, "--write-baseline", tmp_path / "b.json")
    assert over.returncode == 1
    assert over.stderr == f"aiotc: error: instructions {instructions:,} is over the limit {instructions - 1:,} by 1\n"
    assert json.loads((tmp_path / "b.json").read_text())["metrics"]["instructions"] == instructions
    (out / "bench.json").unlink()  # a later compile drops it: the baseline's instructions cannot pass unmeasured
    unmeasured = aiotc("check", out, "--baseline", tmp_path / "b.json")
    assert unmeasured.returncode == 2 and "instructions: the folder has no figure" in unmeasured.stderr
