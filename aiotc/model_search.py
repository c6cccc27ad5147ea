"""`aiotc search`: of several candidate models, the most accurate one that fits a board's budgets.

    candidates -> estimate (no calibration: weights and arena lower bounds) -> reject what cannot fit
      -> compile (PTQ, --precision, memory schedule, budgets) -> accuracy (the C on the host, on the
      evaluation data) -> bench (QEMU instructions) -> Pareto front -> the best compiled into OUT/best

A candidate is one job and `evaluate` a pure function of it, so jobs run the same on a local
process pool or on a Ray cluster (`--ray`), and a finished job is cached by the content of what
it depends on: an interrupted sweep resumes where it stopped, a repeated one costs nothing.
Jobs return figures only, never files: the winner is compiled again where the search runs (the
compile is deterministic), so a cluster needs no shared file system.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import __version__
from .errors import AiotcError, BudgetError, UsageError
from .quantize import Calibration
from .schema import Report

MODEL_SUFFIXES = (".tflite", ".onnx")
LABELS = "labels"  # the evaluation .npz's array of class labels; every other array is an input


@dataclass(frozen=True)
class Job:
    """One candidate under the search's board, budgets and data: all `evaluate` reads."""

    model: str
    board: str
    calib: Calibration | None
    eval_data: str | None
    samples: int
    flash_budget: int | None = None
    sram_budget: int | None = None
    latency_budget: float | None = None  # ms on the board (aiotc.latency); needs a board with a clock

    @property
    def name(self) -> str:
        return Path(self.model).stem

    def key(self) -> str:
        """The cache key: the model's and the data's bytes, every setting, and aiotc's version."""
        digest = hashlib.sha256(__version__.encode())
        for path in (self.model, self.eval_data):
            digest.update(Path(path).read_bytes() if path else b"-")
        digest.update(json.dumps(asdict(self), sort_keys=True, default=str).encode())
        return digest.hexdigest()[:24]


def find_candidates(paths: Iterable[Path]) -> list[Path]:
    """Model files given directly or found (not recursively) in the folders given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix in MODEL_SUFFIXES)
        elif path.is_file() and path.suffix in MODEL_SUFFIXES:
            found.append(path)
        else:
            raise UsageError(f"{path} is neither a .tflite/.onnx model nor a folder of them")
    if not found:
        raise UsageError("no candidate models (.tflite or .onnx) in " + ", ".join(str(p) for p in paths))
    names = [p.stem for p in found]
    clash = next((n for n in names if names.count(n) > 1), None)
    if clash:
        raise UsageError(f"two candidates are named {clash!r}: the search names candidates by file stem")
    return found


def estimate(job: Job) -> dict:
    """Weights and arena bytes of the candidate without calibrating it: its int8 graph with
    placeholder activation ranges (the schedule depends on types and shapes, not on ranges).

    Both bound what any precision can reach from below: int16 activations only widen the
    arena, and int4 weights (--precision auto) at best halve the weights of weighted layers."""
    from .driver import plan_graph
    from .frontend import load_model
    from .ops import OPS
    from .options import CompileOptions
    from .passes import run_passes
    from .quantize import needs_quantization
    from .quantize.ptq import quantize_graph

    graph = run_passes(load_model(Path(job.model)))
    if needs_quantization(graph):
        if job.calib is None:
            raise UsageError(f"{job.name} is a float model: give --calib DATA to quantize the candidates")
        graph = quantize_graph(graph, {t.name: (-1.0, 1.0) for t in graph.activations() if t.dtype == "float32"})
    planned = plan_graph(graph, CompileOptions(board=job.board, sram_budget=1))  # nothing fits: the smallest arena
    weights = sum(t.nbytes for t in planned.graph.tensors.values() if t.is_const)
    halvable = sum(
        planned.graph[op.inputs[1]].nbytes for op in planned.graph.ops if OPS[op.kind].weighted and len(op.inputs) > 1
    )
    auto = job.calib is not None and job.calib.precision == "auto"
    return {"weights_bytes_min": weights - (halvable // 2 if auto else 0), "arena_bytes_min": planned.plan.size}


def too_big(job: Job, bounds: dict) -> str | None:
    """Why the estimate already rules the candidate out, or None."""
    from .boards import load_board

    board = load_board(job.board)
    for what, needed, budget, memory in (
        (
            "the weights need",
            bounds["weights_bytes_min"],
            board.flash_bytes if job.flash_budget is None else job.flash_budget,
            "flash",
        ),
        (
            "the arena needs",
            bounds["arena_bytes_min"],
            board.sram_bytes if job.sram_budget is None else job.sram_budget,
            "SRAM",
        ),
    ):
        if needed > budget:
            return f"{what} at least {needed:,} B of {memory}, the budget is {budget:,} B"
    return None


def evaluate(job: Job) -> dict:
    """The candidate's figures: status ok / too big / does not fit / failed, and when ok its
    accuracy, flash, SRAM and instructions. Errors a candidate causes are its result, not the search's."""
    result: dict = {"name": job.name, "model": job.model}
    try:
        bounds = estimate(job)
        result |= bounds
        reason = too_big(job, bounds)
        if reason:
            return result | {"status": "too big", "reason": reason}
        with tempfile.TemporaryDirectory(prefix="aiotc-search-") as tmp:
            return result | measure(job, Path(tmp) / job.name)
    except BudgetError as exc:
        return result | {"status": "does not fit", "reason": str(exc)}
    except AiotcError as exc:
        return result | {"status": "failed", "reason": str(exc)}
    except Exception as exc:  # an aiotc bug on one candidate: named in the table, the sweep goes on
        return result | {"status": "failed", "reason": f"internal error: {type(exc).__name__}: {exc}"}


def measure(job: Job, out_dir: Path) -> dict:
    """Compile the candidate into `out_dir`, score it on the host, bench it in QEMU."""
    from .boards import load_board
    from .driver import compile_model
    from .report import flash_figure
    from .toolchain.qemu import QemuModel

    compiled = compile_model(
        job.model,
        out_dir=out_dir,
        board=job.board,
        calib=job.calib,
        flash_budget=job.flash_budget,
        sram_budget=job.sram_budget,
        latency_budget=job.latency_budget if job.calib is not None and job.calib.precision == "auto" else None,
    )
    report = compiled.report
    figures: dict = {
        "status": "ok",
        "flash_bytes": flash_figure(report),
        "sram_bytes": report["arena_bytes"] + (report.get("state_bytes") or 0),
        "precision": sorted(set((report.get("quantization") or {}).get("precision", {}).values())) or ["int8"],
    }
    figures |= score(job, out_dir, report)
    board = load_board(job.board)
    if board.qemu_machine is not None:
        bench = QemuModel.build(out_dir, board).bench()
        figures["instructions"] = bench["instructions"]
        if "ms" in bench:  # a board with a clock: the latency estimate
            figures["ms"] = bench["ms"]
    if job.latency_budget is not None and figures.get("ms", 0.0) > job.latency_budget:
        reason = f"an estimated {figures['ms']:.1f} ms per inference, the latency budget is {job.latency_budget:g} ms"
        return figures | {"status": "too slow", "reason": reason}
    return figures


def score(job: Job, out_dir: Path, report: Report) -> dict:
    """Accuracy against the evaluation labels, else top-1 agreement with the float model's own
    outputs (the candidate as given, before aiotc quantized it)."""
    from .oracle import run_oracle
    from .toolchain.host import HostModel

    if job.eval_data is None:
        return {}
    runner = HostModel.build(out_dir)
    inputs, labels = evaluation_data(Path(job.eval_data), runner.inputs, job.samples)
    got = np.array([runner.invoke(sample)[0].reshape(-1).argmax() for sample in inputs])
    if labels is not None:
        return {"metric": "accuracy", "score": float(np.mean(got == labels[: len(got)]))}
    if "quantization" not in report:
        raise UsageError(f"{job.name} is an integer model: scoring it needs labels ({LABELS!r} in the .npz)")
    floats = evaluation_data(Path(job.eval_data), float_specs(runner.inputs), job.samples)[0]
    want = np.array([run_oracle(Path(job.model), sample).outputs[0].reshape(-1).argmax() for sample in floats])
    return {"metric": "agreement", "score": float(np.mean(got == want))}


def float_specs(specs: list) -> list:
    """The input specs as the float model takes them (no quantization of the data)."""
    return [replace(spec, dtype="float32") for spec in specs]


def evaluation_data(path: Path, specs: list, limit: int) -> tuple[list[list[np.ndarray]], np.ndarray | None]:
    """Samples for the candidate's inputs (images resized to its resolution) and the labels if any."""
    from .fixedpoint import INT_RANGE
    from .samples import quantize_input

    try:
        with np.load(path) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read evaluation data from {path}: {exc}") from None
    labels = arrays.pop(LABELS, None)
    if len(arrays) < len(specs):
        raise UsageError(f"{path} holds {len(arrays)} input array(s); the candidates take {len(specs)}")
    batches = []
    for array, spec in zip(arrays.values(), specs):
        batch = resized(array[:limit].astype(np.float32), spec.shape, path)
        batches.append(quantize_input(batch, spec) if spec.dtype in INT_RANGE else batch.astype(spec.np_dtype))
    count = len(batches[0])
    return [[b[i] for b in batches] for i in range(count)], None if labels is None else labels[:count]


def resized(batch: np.ndarray, shape: tuple[int, ...], path: Path) -> np.ndarray:
    """`batch` as [N, *shape]; NHWC images of another height and width bilinearly resized
    (a family of candidates at several resolutions shares one evaluation set)."""
    from scipy.ndimage import zoom

    from .samples import nhwc_batch

    if len(shape) == 4 and batch.ndim == 4 and batch.shape[3] == shape[3] and batch.shape[1:3] != shape[1:3]:
        factors = (1, shape[1] / batch.shape[1], shape[2] / batch.shape[2], 1)
        batch = zoom(batch, factors, order=1, grid_mode=True, mode="nearest")
    return nhwc_batch(batch, shape, None, path)


# -- running the jobs --------------------------------------------------------------------------


def run_local(jobs: list[Job], workers: int) -> Iterator[dict]:
    """Results as jobs finish, on a pool of `workers` processes (1: in this process)."""
    if workers <= 1:
        yield from map(evaluate, jobs)
        return
    from concurrent.futures import ProcessPoolExecutor, as_completed

    with ProcessPoolExecutor(max_workers=workers) as pool:
        for future in as_completed([pool.submit(evaluate, job) for job in jobs]):
            yield future.result()


def run_ray(jobs: list[Job], address: str) -> Iterator[dict]:
    """Results as jobs finish, on the Ray cluster at `address` ("local": a Ray started here)."""
    try:
        import ray
    except ImportError:
        raise UsageError("--ray needs Ray: pip install 'aiotc[search]'") from None
    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, log_to_driver=False)
    remote = ray.remote(evaluate)
    pending = [remote.remote(job) for job in jobs]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


def search(
    jobs: list[Job],
    cache: Path,
    workers: int = 1,
    ray_address: str | None = None,
    tick: Callable[[dict, bool], None] | None = None,
) -> list[dict]:
    """Every job's result, cached ones read back and the rest run; `tick(result, cached)` as each is known."""
    cache.mkdir(parents=True, exist_ok=True)
    results, todo = {}, []
    for job in jobs:
        path = cache / f"{job.key()}.json"
        if path.is_file():
            results[job.name] = json.loads(path.read_text())
            if tick:
                tick(results[job.name], True)
        else:
            todo.append(job)
    by_name = {job.name: job for job in todo}
    fresh = run_ray(todo, ray_address) if ray_address else run_local(todo, workers)
    for result in fresh:
        results[result["name"]] = result
        (cache / f"{by_name[result['name']].key()}.json").write_text(json.dumps(result, indent=1) + "\n")
        if tick:
            tick(result, False)
    return [results[job.name] for job in jobs]


# -- the answer -------------------------------------------------------------------------------


def pareto_front(results: list[dict]) -> list[dict]:
    """The fitting candidates no other beats on score, SRAM and instructions at once."""
    fits = [r for r in results if r["status"] == "ok"]

    def costs(r: dict) -> tuple:
        return (-(r.get("score") or 0.0), r["sram_bytes"], r.get("instructions") or 0)

    def dominated(r: dict) -> bool:
        return any(all(a <= b for a, b in zip(costs(o), costs(r))) and costs(o) != costs(r) for o in fits if o is not r)

    return sorted((r for r in fits if not dominated(r)), key=lambda r: costs(r))


def best(results: list[dict]) -> dict | None:
    """The fitting candidate with the best score; ties go to fewer instructions, then less SRAM."""
    fits = [r for r in results if r["status"] == "ok"]
    return min(
        fits, key=lambda r: (-(r.get("score") or 0.0), r.get("instructions") or 0, r["sram_bytes"]), default=None
    )


def worker_count(requested: int | None) -> int:
    return requested or os.cpu_count() or 1


def table(results: list[dict]) -> list[dict]:
    """One row per candidate, best first: what the search printed and wrote to search.md."""
    front = {r["name"] for r in pareto_front(results)}
    chosen = best(results)

    def order(r: dict) -> tuple:
        return (r["status"] != "ok", -(r.get("score") or 0.0), r.get("instructions") or 0, r["name"])

    return [
        {
            "candidate": r["name"],
            "status": r["status"],
            "score": r.get("score"),
            "flash_bytes": r.get("flash_bytes"),
            "sram_bytes": r.get("sram_bytes"),
            "instructions": r.get("instructions"),
            "ms": r.get("ms"),
            "pareto": r["name"] in front,
            "best": chosen is not None and r["name"] == chosen["name"],
            "reason": r.get("reason", ""),
        }
        for r in sorted(results, key=order)
    ]


def markdown(rows: list[dict], metric: str, board: str) -> str:
    """search.md: the table, the Pareto front marked, the best named."""

    def number(value) -> str:
        return "–" if value is None else f"{value:,}"

    lines = [
        f"| candidate | {metric} | flash B | SRAM B | instructions ({board}) | ms (estimate) | Pareto | status |",
        "|---|---:|---:|---:|---:|---:|:-:|---|",
    ]
    for row in rows:
        score = "–" if row["score"] is None else f"{row['score']:.3f}"
        outcome = row["status"] if row["status"] == "ok" else row["reason"].replace("|", "\\|")
        status = ("**best** " if row["best"] else "") + outcome
        estimate = "–" if row["ms"] is None else f"{row['ms']:.1f}"
        name = row["candidate"].replace("|", "\\|")
        lines.append(
            f"| {name} | {score} | {number(row['flash_bytes'])} | {number(row['sram_bytes'])} "
            f"| {number(row['instructions'])} | {estimate} | {'●' if row['pareto'] else ''} | {status} |"
        )
    return "\n".join(lines) + "\n"


def pareto_svg(rows: list[dict], metric: str) -> str:
    """The fitting candidates as points: instructions across, the score up; the front joined
    by a line, the best ringed. Plain SVG: no plotting library needed."""
    points = [r for r in rows if r["status"] == "ok" and r["score"] is not None and r["instructions"]]
    width, height, pad = 640, 400, 60
    if not points:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}"></svg>\n'
    xs, ys = [p["instructions"] for p in points], [p["score"] for p in points]
    x_lo, x_hi = min(xs) * 0.9, max(xs) * 1.1
    y_lo, y_hi = max(0.0, min(ys) - 0.05), min(1.0, max(ys) + 0.05)

    def at(row: dict) -> tuple[float, float]:
        x = pad + (row["instructions"] - x_lo) / max(x_hi - x_lo, 1) * (width - 2 * pad)
        y = height - pad - (row["score"] - y_lo) / max(y_hi - y_lo, 1e-9) * (height - 2 * pad)
        return round(x, 1), round(y, 1)

    front = sorted((p for p in points if p["pareto"]), key=lambda p: p["instructions"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" '
        'font-size="11">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="black"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="black"/>',
        f'<text x="{width / 2}" y="{height - 20}" text-anchor="middle">instructions per inference '
        f"({x_lo:,.0f} to {x_hi:,.0f})</text>",
        f'<text x="15" y="{height / 2}" transform="rotate(-90 15 {height / 2})" text-anchor="middle">{metric} '
        f"({y_lo:.2f} to {y_hi:.2f})</text>",
        '<polyline fill="none" stroke="#1f77b4" points="' + " ".join("{},{}".format(*at(p)) for p in front) + '"/>',
    ]
    for p in points:
        x, y = at(p)
        colour = "#1f77b4" if p["pareto"] else "#999999"
        name = html.escape(p["candidate"])
        parts.append(f'<circle cx="{x}" cy="{y}" r="4" fill="{colour}"><title>{name}</title></circle>')
        parts.append(f'<text x="{x + 6}" y="{y - 6}">{name}</text>')
        if p["best"]:
            parts.append(f'<circle cx="{x}" cy="{y}" r="9" fill="none" stroke="#d62728" stroke-width="2"/>')
    return "\n".join(parts + ["</svg>"]) + "\n"
