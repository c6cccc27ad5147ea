"""The README's benchmark figures, from the files the benchmarks write.

    python benchmarks/readme.py

README.md keeps each generated part between `<!-- NAME -->` and `<!-- /NAME -->` (never at
the start of a line inside a paragraph, where markdown would end the paragraph): the arena
and speed tables and the hybrid model's figures from results.json (run.py), the latency
sentences from latency.json (latency.py), the corpus' size from zoo.json (zoo.py), the
planner's weight of a band call from the code. Those scripts rewrite them after each run,
and tests/test_docs.py fails when the README differs from what this makes of the files.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiotc.boards import load_board  # noqa: E402
from aiotc.memory import BYTES_PER_CALL  # noqa: E402
from benchmarks import latency  # noqa: E402
from benchmarks.run import peer_cell, ratio  # noqa: E402

README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results.json"
LATENCY = ROOT / "benchmarks" / "latency.json"
ZOO = ROOT / "benchmarks" / "zoo.json"
MODELS = (  # the int8 models the README's tables show, in its order
    "kws_ref_model",
    "vww_96_int8",
    "pretrainedResnet_quant",
    "ad01_int8",
    "str_ww_ref_model",
    "fire_64_int8",
    "mcunet_like_160_int8",
    "mbv2_w035_144_int8",
)
HYBRID = "kws_ref_model_float32"
PART = re.compile(r"(<!-- (?P<name>[a-z-]+) -->)(.*?)(<!-- /(?P=name) -->)", re.S)


def rows(results: dict, board: str) -> dict[str, dict]:
    """The board's measured rows of results.json by model."""
    return {r["model"]: r for r in results["rows"] if r["board"] == board and "bench" in r}


def arena_table(results: dict) -> str:
    m4, tflm, bound = rows(results, "cortex-m4"), results["tflm_arena"], results["layer_bound"]
    lines = [
        "| model | aiotc arena | tflite-micro arena | ratio | layer-by-layer bound |",
        "|---|---:|---:|---:|---:|",
    ]
    for model in (m for m in MODELS if m in m4):
        arena, theirs = m4[model]["bench"]["arena_bytes"], tflm.get(model)
        raised = " †" if m4[model].get("peer", {}).get("softmax_scale_raised") else ""
        lines.append(
            f"| {model} | {arena:,} | {f'{theirs:,}{raised}' if theirs else 'aborts'} | {ratio(arena, theirs)} "
            f"| {bound[model]:,} |"
        )
    return "\n".join(lines)


def speed_table(results: dict) -> str:
    m4, m55 = rows(results, "cortex-m4"), rows(results, "cortex-m55")
    lines = [
        "| model | Cortex-M4 | TFLM + CMSIS-NN | ratio | instr/MAC | Cortex-M55 (MVE) | TFLM + CMSIS-NN | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for model in (m for m in MODELS if m in m4 and m in m55):
        a, b = m4[model], m55[model]
        lines.append(
            f"| {model} | {a['bench']['instructions']:,} | {' | '.join(peer_cell(a))} "
            f"| {a['bench']['instructions_per_mac']:.2f} | {b['bench']['instructions']:,} | {' | '.join(peer_cell(b))} |"
        )
    return "\n".join(lines)


def hybrid(results: dict) -> str:
    bench = rows(results, "cortex-m4")[HYBRID]["bench"]
    return f"{bench['arena_bytes']:,} B arena and {bench['flash_model_bytes']:,} B of flash"


def peer_error(figures: dict) -> str:
    """How far under the published ms the estimate of the peer falls, per board."""

    def under(board: str) -> list[float]:
        return [-latency.error(figures["peer"][t][board]["ms"], latency.PUBLISHED[board][t]) for t in latency.TASKS]

    def span(errors: list[float]) -> str:
        return f"{100 * min(errors):.0f}-{max(errors):.0%}"

    ra, l4 = under("ek-ra6m4"), under("nucleo-l4r5zi")
    return (
        f"the estimate is {span(ra)} under Renesas' published EK-RA6M4 figures (Cortex-M33,\n"
        f"200 MHz; median {statistics.median(ra):.0%}) and {span(l4)} under the 2020 reference submission on the\n"
        "NUCLEO-L4R5ZI"
    )


def aiotc_ms(figures: dict) -> str:
    """aiotc's estimated ms on the L4R5ZI, the part its flash misses add, and X-CUBE-AI's published ms."""
    clock = load_board("nucleo-l4r5zi").clock_mhz or 1
    mine = [figures["aiotc"][t]["nucleo-l4r5zi"] for t in latency.TASKS]
    ms = ", ".join(
        f"{task} {m['ms']:.1f}{' ms' if i == 0 else ''}" for i, (task, m) in enumerate(zip(latency.TASKS, mine))
    )
    misses = " / ".join(f"{m['flash']['cycles'] / (clock * 1e3):.1f}" for m in mine)
    cube = " / ".join(str(latency.FASTEST_L4R5["X-CUBE-AI 10.2"][t]) for t in latency.TASKS)
    return (
        f"aiotc's own estimate on the L4R5ZI:\n{ms}, of which the flash's misses take {misses}\n"
        f"(X-CUBE-AI 10.2 publishes {cube})"
    )


def parts() -> dict[str, str]:
    """Each generated part's text, by its marker name."""
    results, figures = json.loads(RESULTS.read_text()), json.loads(LATENCY.read_text())
    return {
        "arena": "\n\n" + arena_table(results) + "\n\n",
        "speed": "\n\n" + speed_table(results) + "\n\n",
        "hybrid": hybrid(results),
        "peer-ms": peer_error(figures),
        "aiotc-ms": aiotc_ms(figures),
        "zoo-files": f"{len(json.loads(ZOO.read_text())['rows'])}",
        "band-call": f"{BYTES_PER_CALL}",
    }


def update(text: str) -> str:
    """`text` (the README) with each marked part made again."""
    made = parts()
    return PART.sub(lambda m: m.group(1) + made[m.group("name")] + m.group(4), text)


def write() -> None:
    README.write_text(update(README.read_text()))


if __name__ == "__main__":
    write()
