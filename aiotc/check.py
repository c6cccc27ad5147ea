"""`aiotc check`: a compiled folder's figures against a baseline and limits, the budget gate of a CI job.

The figures come from OUT/report.json (arena, flash, weights, stack, MACs) and, when
`aiotc bench OUT` wrote it, OUT/bench.json (instructions per inference). A baseline is an
earlier report.json of the same model or a file `write_baseline` wrote; either may carry
limits ({"limits": {"arena_bytes": 65536}}). A figure fails when it grew past the baseline
by more than the tolerance, or past its limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from rich.table import Table

from . import __version__
from .errors import UsageError
from .report import flash_figure
from .schema import Report

BASELINE_FORMAT = 1
BENCH_FILE = "bench.json"  # what `aiotc bench OUT` writes beside report.json
METRICS = ("arena_bytes", "flash_bytes", "weights_bytes", "stack_bytes", "macs", "instructions")


@dataclass(frozen=True)
class Row:
    """One metric's line of the table, and why it fails ("" when it does not)."""

    metric: str
    baseline: int | None
    now: int
    limit: int | None
    failure: str


@dataclass(frozen=True)
class Figures:
    """What one compiled model measures, and which model and board it is."""

    name: str | None
    board: str | None
    metrics: dict[str, int | None]
    limits: dict[str, int]


def read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"{what} {path} is not readable JSON: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{what} {path} is not a JSON object")
    return data


def report_metrics(data: dict, where: str) -> dict[str, int | None]:
    """The metrics a report.json holds (instructions come from bench.json)."""
    report = cast(Report, data)
    stack = report.get("stack")
    try:
        return {
            "arena_bytes": report["arena_bytes"] + report.get("state_bytes", 0),
            "flash_bytes": flash_figure(report),
            "weights_bytes": report["weights_bytes"],
            "stack_bytes": stack["estimate_bytes"] if stack else None,
            "macs": report["macs"],
            "instructions": None,
        }
    except KeyError as exc:
        raise UsageError(f"{where} is not an aiotc report (no {exc})") from None


def folder_figures(out_dir: Path) -> Figures:
    """OUT's figures: report.json, plus bench.json's instructions when bench measured this board."""
    if not Path(out_dir).is_dir():
        raise UsageError(f"{out_dir} does not exist or is not a folder")
    if not (Path(out_dir) / "report.json").is_file():
        raise UsageError(f"{out_dir} is not an aiotc output folder (no report.json)")
    path = Path(out_dir) / "report.json"
    report = read_json(path, "report")
    metrics = report_metrics(report, str(path))
    bench_path = Path(out_dir) / BENCH_FILE
    if bench_path.is_file():
        bench = read_json(bench_path, "bench figures")
        if bench.get("board") == report.get("board"):
            metrics["instructions"] = bench.get("instructions")
    return Figures(report.get("name"), report.get("board"), metrics, {})


def read_baseline(path: Path) -> Figures:
    """A baseline file: what write_baseline wrote, an earlier report.json, or just {"limits": {...}}."""
    data = read_json(path, "baseline")
    if "arena_bytes" in data:  # a report.json
        return Figures(data.get("name"), data.get("board"), report_metrics(data, f"baseline {path}"), {})
    unknown = sorted(set(data) - {"aiotc_baseline", "aiotc_version", "name", "board", "metrics", "limits"})
    if unknown or not ({"metrics", "limits"} & set(data)):
        raise UsageError(
            f"baseline {path} is neither an aiotc report.json nor a baseline "
            f'({{"metrics": {{...}}, "limits": {{...}}}}; `aiotc check OUT --write-baseline FILE` writes one)'
        )
    metrics, limits = (
        checked_numbers(data.get(key) or {}, f"baseline {path} {key!r}") for key in ("metrics", "limits")
    )
    return Figures(data.get("name"), data.get("board"), metrics, {k: v for k, v in limits.items() if v is not None})


def checked_numbers(values: object, where: str) -> dict[str, int | None]:
    if not isinstance(values, dict):
        raise UsageError(f"{where} is not a JSON object")
    for metric, value in values.items():
        if metric not in METRICS:
            raise UsageError(f"{where}: {metric!r} is not a metric ({', '.join(METRICS)})")
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise UsageError(f"{where}: {metric} must be a whole number of bytes or instructions, not {value!r}")
    return dict(values)


def compare(now: Figures, baseline: Figures | None, limits: dict[str, int], tolerance: float) -> list[Row]:
    """Every metric measured now or bounded: its baseline, its limit, and why it fails.

    A limit or a baseline figure for a metric OUT did not measure is a usage error:
    the gate must not pass by omission."""
    if baseline is not None:
        for what in ("name", "board"):
            theirs, ours = getattr(baseline, what), getattr(now, what)
            if theirs and ours and theirs != ours:
                raise UsageError(f"the baseline is for {what} {theirs!r}, the folder holds {ours!r}")
    before = baseline.metrics if baseline else {}
    rows = []
    for metric in METRICS:
        value, old, limit = now.metrics.get(metric), before.get(metric), limits.get(metric)
        if value is None:
            if old is not None or limit is not None:
                raise UsageError(f"{metric}: the folder has no figure to check against ({measure_hint(metric)})")
            continue
        failure = ""
        if limit is not None and value > limit:
            failure = f"{metric} {value:,} is over the limit {limit:,} by {value - limit:,}"
        elif old is not None and value > old * (1 + tolerance):
            allowed = f", tolerance {tolerance * 100:g}%" if tolerance else ""
            failure = f"{metric} grew from {old:,} to {value:,}: {change_text(old, value)}{allowed}"
        rows.append(Row(metric, old, value, limit, failure))
    return rows


def measure_hint(metric: str) -> str:
    if metric == "instructions":
        return f"`aiotc bench OUT -b BOARD` writes OUT/{BENCH_FILE}"
    if metric in ("stack_bytes", "flash_bytes"):
        return "compile for a Cortex-M board with arm-none-eabi-gcc installed"
    return "recompile with this aiotc version"


def change_text(old: int | None, now: int | None) -> str:
    """+1,024 (+12.5%), 0, or "" when there is nothing to compare."""
    if old is None or now is None:
        return ""
    if now == old:
        return "0"
    percent = f" ({(now - old) / old * 100:+.1f}%)" if old else ""
    return f"{now - old:+,}{percent}"


def write_baseline(path: Path, now: Figures, limits: dict[str, int]) -> None:
    """The baseline file of `now` (with the limits it was checked against): commit it beside the model."""
    text = (
        json.dumps(
            {
                "aiotc_baseline": BASELINE_FORMAT,
                "aiotc_version": __version__,
                "name": now.name,
                "board": now.board,
                "metrics": {k: v for k, v in now.metrics.items() if v is not None},
                "limits": limits,
            },
            indent=2,
        )
        + "\n"
    )
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise UsageError(f"cannot write the baseline {path}: {exc.strerror}") from None


def check_table(rows: list[Row]) -> Table:
    """metric | baseline | now | change | limit | verdict: what the CI log shows."""
    table = Table(title_justify="left")
    for column in ("metric", "baseline", "now", "change", "limit", ""):
        table.add_column(column, justify="left" if column in ("metric", "") else "right")
    for row in rows:
        verdict = ("OVER LIMIT" if row.limit is not None and row.now > row.limit else "GREW") if row.failure else "ok"
        table.add_row(
            row.metric,
            number(row.baseline),
            number(row.now),
            change_text(row.baseline, row.now),
            number(row.limit),
            verdict,
        )
    return table


def number(value: int | None) -> str:
    return "" if value is None else f"{value:,}"
