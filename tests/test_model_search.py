"""`aiotc search`: candidates compiled under budgets, scored, benched, the best written out."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from aiotc.export.tflite import write_tflite
from aiotc.model_search import best, pareto_front

from .conftest import aiotc as run_aiotc
from .oplib import OpGraph

WIDTHS, SIDES = (2, 6), (8, 12)


def candidate(width: int, side: int, seed: int = 0):
    """A float conv net of `width` channels on `side` x `side` images, 3 classes."""
    g = OpGraph(seed=seed, dtype="float32")
    x = g.input((1, side, side, 1))
    y = g.conv2d(x, out_channels=width, kernel=(3, 3), stride=(2, 2), padding="same", activation="relu")
    y = g.conv2d(y, out_channels=2 * width, kernel=(3, 3), padding="same", activation="relu")
    y = g.mean(y, axes=(1, 2), keepdims=False)
    return g.build(g.fully_connected(y, 3))


def save(graph, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(write_tflite(graph))


@pytest.fixture(scope="module")
def family(tmp_path_factory) -> Path:
    """Four candidates (2 widths x 2 resolutions) and evaluation data at the larger resolution."""
    folder = tmp_path_factory.mktemp("family")
    for width in WIDTHS:
        for side in SIDES:
            save(candidate(width, side), folder / "models" / f"w{width}_r{side}.tflite")
    rng = np.random.default_rng(1)
    images = rng.standard_normal((12, max(SIDES), max(SIDES), 1)).astype(np.float32)
    np.savez(folder / "eval.npz", images=images)
    np.savez(folder / "labelled.npz", images=images, labels=rng.integers(0, 3, len(images)))
    return folder


def aiotc(*args, expect: int = 0):
    """The CLI, its exit code checked."""
    run = run_aiotc(*args)
    assert run.returncode == expect, run.stderr
    return run


def search_args(family: Path, out: Path, *extra: str) -> list[str]:
    return [
        "search",
        str(family / "models"),
        "--calib",
        "random",
        "--calib-method",
        "minmax",
        "--samples",
        "6",
        "-o",
        str(out),
        "--cache",
        str(out.parent / "cache"),
        *extra,
    ]


def test_search_writes_the_best_that_fits_and_rejects_early(family, tmp_path):
    """A budget that two candidates' arena lower bounds exceed: they are rejected before any
    calibration; the best of the rest is compiled into OUT with the table and the figures."""
    run = aiotc(*search_args(family, tmp_path / "out", "--eval", str(family / "labelled.npz"), "--jobs", "1"))
    summary = json.loads((tmp_path / "out" / "search.json").read_text())
    results = {r["name"]: r for r in summary["candidates"]}
    assert {r["status"] for r in results.values()} == {"ok"}
    budget = sorted(r["arena_bytes_min"] for r in results.values())[1]  # two fit, two do not
    run = aiotc(
        *search_args(family, tmp_path / "tight", "--eval", str(family / "labelled.npz"), "--sram-budget", str(budget))
    )
    summary = json.loads((tmp_path / "tight" / "search.json").read_text())
    statuses = {r["name"]: r["status"] for r in summary["candidates"]}
    rejected = [r for r in summary["candidates"] if r["status"] == "too big"]
    assert len(rejected) == 2, statuses
    assert all("flash_bytes" not in r and "score" not in r for r in rejected)  # never compiled
    fitting = [r for r in summary["candidates"] if r["status"] == "ok"]
    assert all(r["sram_bytes"] <= budget and r["metric"] == "accuracy" for r in fitting)
    chosen = summary["best"]
    assert chosen == max(fitting, key=lambda r: (r["score"], -r["sram_bytes"]))["name"]
    report = json.loads((tmp_path / "tight" / "report.json").read_text())
    assert report["name"] == chosen and report["arena_bytes"] <= budget
    assert (tmp_path / "tight" / "search.md").read_text().count("**best**") == 1
    assert "<svg" in (tmp_path / "tight" / "search.svg").read_text()
    assert "the arena needs at least" in run.stdout


def test_search_resumes_from_its_cache(family, tmp_path):
    first = aiotc(*search_args(family, tmp_path / "out", "--eval", str(family / "eval.npz")))
    again = aiotc(*search_args(family, tmp_path / "out", "--eval", str(family / "eval.npz")))
    assert again.stderr.count("(cached)") == len(WIDTHS) * len(SIDES)
    assert "(cached)" not in first.stderr
    assert first.stdout == again.stdout
    scores = json.loads((tmp_path / "out" / "search.json").read_text())["candidates"]
    assert all(r["metric"] == "agreement" and 0.0 <= r["score"] <= 1.0 for r in scores)


def test_no_candidate_fits_is_one_line_and_exit_1(family, tmp_path):
    run = aiotc(*search_args(family, tmp_path / "out", "--sram-budget", "16"), expect=1)
    assert run.stderr.strip().splitlines()[-1].startswith("aiotc: error: no candidate fits host within the budgets")
    assert not (tmp_path / "out").exists()


def test_bad_candidates_are_usage_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    run = aiotc("search", str(tmp_path / "empty"), "--calib", "random", expect=2)
    assert "no candidate models" in run.stderr
    for folder in ("a", "b"):
        save(candidate(2, 8), tmp_path / folder / "same.tflite")
    run = aiotc("search", str(tmp_path / "a"), str(tmp_path / "b"), "--calib", "random", expect=2)
    assert "two candidates are named 'same'" in run.stderr


def result(name: str, score: float, sram: int, instructions: int, status: str = "ok") -> dict:
    return {"name": name, "status": status, "score": score, "sram_bytes": sram, "instructions": instructions}


def test_pareto_front_and_best():
    results = [
        result("accurate", 0.9, 900, 900),
        result("small", 0.5, 100, 500),
        result("fast", 0.5, 500, 100),
        result("dominated", 0.5, 600, 600),
        result("tied_but_slower", 0.9, 900, 950),
        result("too_big", 1.0, 0, 0, status="too big"),
    ]
    assert {r["name"] for r in pareto_front(results)} == {"accurate", "small", "fast"}
    assert best(results)["name"] == "accurate"
    assert best([result("x", 0.1, 1, 1, status="does not fit")]) is None


@pytest.mark.qemu
def test_search_on_a_board_benches_and_ray_gives_the_same_table(family, tmp_path):
    """On a Cortex-M board each fitting candidate is benched in QEMU; a local Ray instance runs
    the same jobs and gives the same table."""
    pytest.importorskip("ray")
    args = ("--eval", str(family / "eval.npz"), "--board", "cortex-m4")
    local = aiotc(*search_args(family, tmp_path / "local", *args, "--jobs", "2"))
    (tmp_path / "cache").rename(tmp_path / "local-cache")
    ray = aiotc(*search_args(family, tmp_path / "ray", *args, "--ray", "local"))
    assert local.stdout.replace("local", "ray") == ray.stdout.replace("local", "ray")
    summary = json.loads((tmp_path / "ray" / "search.json").read_text())
    assert all(r["instructions"] > 0 for r in summary["candidates"])


def test_latency_budget_needs_a_board_with_a_clock(family, tmp_path):
    run = aiotc(*search_args(family, tmp_path / "out", "--latency-budget", "5ms"), expect=2)
    assert "--latency-budget needs a board with a clock" in run.stderr


@pytest.mark.qemu
def test_latency_budget_rejects_slow_candidates(family, tmp_path):
    """On a board with a clock each candidate gets its estimated ms; a budget between the fastest
    and the slowest rejects exactly the candidates above it as too slow, and the best is among
    the rest. The budget sits in the widest gap between two estimates, far from any of them."""
    args = ("--eval", str(family / "eval.npz"), "--board", "nucleo-f412zg")
    aiotc(*search_args(family, tmp_path / "all", *args))
    timed = json.loads((tmp_path / "all" / "search.json").read_text())["candidates"]
    assert all(r["ms"] > 0 for r in timed)
    ms = sorted(r["ms"] for r in timed)
    gap = max(range(len(ms) - 1), key=lambda i: ms[i + 1] - ms[i])
    assert ms[gap] < ms[gap + 1], ms
    budget = (ms[gap] + ms[gap + 1]) / 2
    aiotc(*search_args(family, tmp_path / "fast", *args, "--latency-budget", f"{budget:.6f}ms"))
    summary = json.loads((tmp_path / "fast" / "search.json").read_text())
    slow = {r["name"] for r in summary["candidates"] if r["status"] == "too slow"}
    assert slow == {r["name"] for r in timed if r["ms"] > budget}, (slow, ms, budget)
    assert summary["best"] not in slow
