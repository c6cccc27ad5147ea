"""The latency estimate (aiotc.latency) against real boards: MLPerf Tiny's published milliseconds.

    python benchmarks/latency.py [--peer DIR] [--out benchmarks/latency.md] [--reuse peer,era]

The four MLPerf Tiny models run on the peer (TFLite Micro + CMSIS-NN, benchmarks/peer/)
in QEMU with the execution trace on; aiotc's cost model turns the peer's executed blocks
into milliseconds on the NUCLEO-L4R5ZI (Cortex-M4, 120 MHz: the v0.5 reference
submission, TFLite Micro v2.3.1 + CMSIS-NN) and the EK-RA6M4 (Cortex-M33, 200 MHz:
Renesas' v0.7 submission, TFLite Micro + CMSIS-NN), next to the milliseconds those
submissions published. Then the same model gives aiotc's own milliseconds on both
boards, next to the fastest published stacks on the L4R5ZI. The peer runs its Cortex-M4
build for both boards (no M33 build; the M33 executes the same Armv7E-M code).
The same models also run on the CMSIS-NN kernels each submission shipped
(benchmarks/peer/cmsis_era.py's ERAS: their CMSIS_5 commits and flags), and on the
L4R5ZI the flash reads its ART accelerator's caches miss are counted and charged a line
fill (the board database's flash model, aiotc's QEMU plugin aiotc/toolchain/flashread.c,
the same `aiotc bench` applies to aiotc's own code there). `--reuse` takes the peer's or
the era kernels' figures from the previous run's latency.json (their software and the
board's caches unchanged: only the cost of a miss is recomputed). Not a test: the error
is a number to improve.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiotc.boards import FlashModel, load_board  # noqa: E402
from benchmarks.peer import cmsis_era, tflm  # noqa: E402

MODELS = ROOT.parent / "shared" / "models" / "mlperf_tiny"
TASKS = {"kws": "kws_ref_model", "vww": "vww_96_int8", "ic": "pretrainedResnet_quant", "ad": "ad01_int8"}
BOARDS = ("nucleo-l4r5zi", "ek-ra6m4")
BUDGET_SECTION = "\n## --latency-budget"  # written by latency_budget.py
# ms per inference: 1000 / the median throughput of performance/results.txt
PUBLISHED = {
    # mlcommons/tiny_results_v0.5 closed/reference/results/Nucleo-L4R5ZI/*/performance/results.txt
    "nucleo-l4r5zi": {"kws": 181.9, "vww": 600.6, "ic": 704.2, "ad": 10.05},
    # mlcommons/tiny_results_v0.7 closed/renesas/results/EK-RA6M4/*/performance/results.txt
    "ek-ra6m4": {"kws": 50.6, "vww": 162.4, "ic": 246.2, "ad": 4.61},
}
# The STM32L4R5's ART accelerator as boards/nucleo-l4r5zi.toml gives it (its sources there);
# other geometries for one model: how much the misses hang on the caches' size
SENSITIVITY = (
    FlashModel(icache_lines=64, dcache_lines=8, line_bytes=16, read_bytes=8),
    FlashModel(icache_lines=64, dcache_lines=16, line_bytes=32, read_bytes=8),
)
# The peer's instructions outside CMSIS-NN's arm_* functions (TFLM's own code, which the era
# rows leave out) and its traced total, counted once from the same trace (commit ec3c569)
TFLM_OWN = {"kws": (88_750, 7_705_064), "ad": (3_661, 584_045)}
FASTEST_L4R5 = {  # published on the NUCLEO-L4R5ZI (the figures)
    "X-CUBE-AI 10.2": {"kws": 43.4, "vww": 89.4, "ic": 165.7, "ad": 4.79},
    "Plumerai": {"kws": 47.8, "vww": 98.8, "ic": 167.8, "ad": 4.05},
}


def peer_ms(peer: Path) -> dict[str, dict[str, dict]]:
    """Per task and board: the peer's traced instructions, cycles per instruction and estimated ms."""
    from aiotc.latency import estimate

    out: dict[str, dict[str, dict]] = {}
    for task, model in TASKS.items():
        executed, flash = tflm.traced(MODELS / f"{model}.tflite", "nucleo-l4r5zi", peer)
        for board in BOARDS:
            est = estimate(executed, load_board(board))
            out.setdefault(task, {})[board] = {
                "instructions": est.instructions,
                "cpi": est.cycles / est.instructions,
                "ms": est.ms(load_board(board)),
            }
        if flash:  # the trace ran on the L4R5ZI's machine, with its flash model
            out[task]["nucleo-l4r5zi"]["flash"] = {"fetches": flash.fetches, "icache_misses": flash.icache_misses,
                                                   "reads": flash.reads, "dcache_misses": flash.dcache_misses}  # fmt: skip
        print(task, out[task], flush=True)
    return out


def era_ms() -> dict[str, dict[str, dict]]:
    """Per task and board: the submission's own CMSIS-NN kernels traced and costed; on a board
    with a flash model also the flash fetches, reads and misses of one pass."""
    from aiotc.latency import estimate

    out: dict[str, dict[str, dict]] = {}
    for task, model in TASKS.items():
        for board, era in cmsis_era.ERAS.items():
            spec = load_board(board)
            per_layer = [estimate(blocks, spec) for blocks in cmsis_era.kernels(MODELS / f"{model}.tflite", era)]
            instructions, cycles = sum(e.instructions for e in per_layer), sum(e.cycles for e in per_layer)
            figures = {"software": era.source, "instructions": instructions, "cpi": cycles / instructions,
                       "ms": cycles / (spec.clock_mhz * 1e3)}  # fmt: skip
            if spec.flash_model:
                figures["flash"] = cmsis_era.harness_flash(MODELS / f"{model}.tflite", era, spec.flash_model)
                if task == "kws":
                    figures["sensitivity"] = [
                        [g.icache_lines, g.dcache_lines, g.line_bytes,
                         cmsis_era.harness_flash(MODELS / f"{model}.tflite", era, g)]
                        for g in SENSITIVITY
                    ]  # fmt: skip
            out.setdefault(task, {})[board] = figures
        print(task, out[task], flush=True)
    return out


def flash_ms(board: str, flash: dict, miss_cycles: int | None = None) -> float:
    """Milliseconds the board's flash misses cost: a line fill each (the board's), or `miss_cycles`."""
    spec = load_board(board)
    assert spec.flash_model is not None and spec.clock_mhz
    miss = spec.flash_model.miss_cycles(spec.flash_wait_states) if miss_cycles is None else miss_cycles
    return flash_misses(flash) * miss / (spec.clock_mhz * 1e3)


def aiotc_ms() -> dict[str, dict[str, dict]]:
    """Per task and board: aiotc's instructions and estimated ms (`aiotc bench`'s figures), on a
    board with a flash model also its layers' flash misses and the cycles they cost."""
    from aiotc.driver import compile_model
    from aiotc.toolchain.qemu import QemuModel

    out: dict[str, dict[str, dict]] = {}
    for task, model in TASKS.items():
        for board in BOARDS:
            with tempfile.TemporaryDirectory(prefix="aiotc-latency-") as tmp:
                result = compile_model(MODELS / f"{model}.tflite", board=board, out_dir=Path(tmp) / "out")
                bench = QemuModel.build(result.out_dir, load_board(board)).bench()
            figures = {"instructions": bench["instructions"], "ms": bench["ms"]}
            if "flash" in bench:
                figures["flash"] = {key: bench["flash"][key] for key in ("misses", "cycles")}
            out.setdefault(task, {})[board] = figures
        print(task, out[task], flush=True)
    return out


def error(estimated: float, published: float) -> float:
    return estimated / published - 1


def with_flash(board: str, row: dict, published: float) -> tuple[float, float, str, str, str]:
    """A row's error without and with its flash misses' ms, and the table's cells for those:
    misses (I + D), the ms they add, the error with them ("–" where the board has no flash model)."""
    e = error(row["ms"], published)
    if "flash" not in row:
        return e, e, "–", "–", "–"
    f, more = row["flash"], flash_ms(board, row["flash"])
    fe = error(row["ms"] + more, published)
    return e, fe, f"{f['icache_misses']:,} + {f['dcache_misses']:,}", f"{more:.1f}", f"{fe:+.0%}"


def summary(errors: list[tuple[float, str]], label: str) -> list[str]:
    """Median and largest |error| per board and over all rows."""
    lines = []
    for board in (*BOARDS, None):
        chosen = [abs(e) for e, b in errors if board in (None, b)]
        if chosen:
            lines.append(
                f"{label}, {board or 'all'}: median |error| {statistics.median(chosen):.0%}, largest {max(chosen):.0%}"
            )
    return ["", "<br>".join(lines)]


def flash_misses(flash: dict) -> int:
    return flash["icache_misses"] + flash["dcache_misses"]


def when(board: str) -> str:
    """The year and optimization level of the CMSIS-NN the board's submission ran."""
    era = cmsis_era.ERAS[board]
    return f"{era.date[:4]} at {era.optimization}"


def cache_lines(caches: FlashModel) -> str:
    return f"{caches.icache_lines} + {caches.dcache_lines} lines of {caches.line_bytes} B"


def notes(peer: dict, era: dict) -> list[str]:
    """What the two tables measured, what they took from documents, what they assumed."""

    def ratios(board: str) -> str:
        r = [era[t][board]["instructions"] / peer[t][board]["instructions"] for t in TASKS]
        return f"{min(r):.2f}-{max(r):.2f}x"

    l4, l4_era = load_board("nucleo-l4r5zi"), cmsis_era.ERAS["nucleo-l4r5zi"]
    assert l4.flash_model is not None and l4.clock_mhz
    icache_bytes = l4.flash_model.icache_lines * l4.flash_model.line_bytes
    fill = l4.flash_model.miss_cycles(l4.flash_wait_states)
    reads = l4.flash_model.line_bytes // l4.flash_model.read_bytes
    per_miss = [
        (PUBLISHED["nucleo-l4r5zi"][t] - era[t]["nucleo-l4r5zi"]["ms"]) * l4.clock_mhz * 1e3
        / flash_misses(era[t]["nucleo-l4r5zi"]["flash"])
        for t in TASKS
    ]  # fmt: skip

    def l4_errors(miss: int) -> str:
        e = [abs(error(era[t]["nucleo-l4r5zi"]["ms"] + flash_ms("nucleo-l4r5zi", era[t]["nucleo-l4r5zi"]["flash"],
                                                                  miss), PUBLISHED["nucleo-l4r5zi"][t]))
             for t in TASKS]  # fmt: skip
        return f"median |error| {statistics.median(e):.0%}, largest {max(e):.0%}"

    ra = [abs(error(era[t]["ek-ra6m4"]["ms"], PUBLISHED["ek-ra6m4"][t])) for t in TASKS]
    half = fill // 2
    return [
        "",
        "Where the error comes from.",
        "",
        "- **Measured.** The submissions' kernels execute "
        f"{ratios('nucleo-l4r5zi')} the peer's instructions on the L4R5ZI ({when('nucleo-l4r5zi')}) and "
        f"{ratios('ek-ra6m4')}",
        f"  on the RA6M4 ({when('ek-ra6m4')}). With them the RA6M4 rows test the cost table on the software that",
        f"  ran: median |error| {statistics.median(ra):.0%}, largest {max(ra):.0%}. On the L4R5ZI the ART",
        "  caches miss on the era's code far more often than on the peer's (the "
        f"{l4_era.optimization} kernels' loops and the",
        f"  {l4_era.date[:4]} im2col code do not fit its {icache_bytes:,} B of instruction cache; the flash misses "
        "per model are in the table). The trace the model",
        "  reads was checked against SysTick and QEMU's own blocks (`-d in_asm`) on this code (docs/latency.md,",
        "  step 1).",
        "- **From documents** (cited in `boards/nucleo-l4r5zi.toml`). ST's HAL for the L4 and L4+",
        "  (`STMicroelectronics/stm32l4xx_hal_driver`): `Src/stm32l4xx_hal_flash.c` lists the ART's 32 instruction",
        "  cache lines and 8 data cache lines of 4 x 64 bits; `Inc/stm32l4xx_hal_flash.h` (OB_USER_DBANK) gives the",
        "  L4+ flash 128-bit reads in single-bank mode and 64-bit reads in dual-bank mode; `Src/stm32l4xx_hal_rcc.c`",
        "  (table 2, STM32L4+) 5 wait states (6 CPU cycles) for 100-120 MHz; `Src/stm32l4xx_hal.c` (HAL_Init) the",
        "  reset state: prefetch off, both caches on. mbed-os (`ARMmbed/mbed-os`, the v0.5 reference's OS):",
        "  `targets/TARGET_STM/TARGET_STM32L4/STM32Cube_FW/stm32l4xx_hal_conf.h` keeps PREFETCH_ENABLE 0U,",
        "  INSTRUCTION_CACHE_ENABLE 1U, DATA_CACHE_ENABLE 1U, and `TARGET_STM32L4R5xI/system_clock.c` runs 120 MHz in",
        "  range 1 boost with FLASH_LATENCY_5. RM0432 itself is not in the sources searched here; none of the",
        "  above states the caches' associativity, replacement or what a miss costs.",
        "- **Assumed.** TF v2.3.1's CMSIS pin (not recorded; the 2020-07-01 state), that TFLM's glue called the",
        "  wrapper kernels (Renesas' tree does), our gcc 12 for their gcc 6 / gcc 8, fully associative LRU caches,",
        f"  dual-bank mode (64-bit reads), and a miss that waits for its whole line: {reads} reads x (1 + "
        f"{l4.flash_wait_states}) = {fill} cycles.",
        f"  Other costs of a miss: the wait states once ({l4.flash_wait_states} cycles) {l4_errors(l4.flash_wait_states)};",
        f"  single-bank 128-bit reads ({half} cycles) {l4_errors(half)}. TFLM's own code around the kernels is left",
        "  out of the second table; the RA6M4's flash cache is not modelled.",
        "- **Reading.** On the L4R5ZI the published ms minus the era kernels' estimate, divided by the flash",
        f"  misses, is {min(per_miss):.0f}-{max(per_miss):.0f} cycles per miss over the four models: one constant near a",
        f"  line fill ({fill}) accounts for all four residuals, which no per-instruction table would. Consistent,",
        "  not proven: gcc 6's code and TFLM v2.3.1's framework are not measured, and the misses hang on the",
        f"  caches' real size and replacement: KWS misses {flash_misses(era['kws']['nucleo-l4r5zi']['flash']):,} times",
        f"  at {cache_lines(l4.flash_model)}, "
        + ", ".join(
            f"{flash_misses(f):,} at {cache_lines(FlashModel(i, d, b, l4.flash_model.read_bytes))}"
            for i, d, b, f in era["kws"]["nucleo-l4r5zi"]["sensitivity"]
        )
        + ".",
    ]


def markdown(peer: dict, era: dict, mine: dict) -> str:
    caches, mbed = load_board("nucleo-l4r5zi").flash_model, cmsis_era.ERAS["nucleo-l4r5zi"].project
    assert caches is not None
    prefetch = f"prefetch {'on' if caches.prefetch else 'off'}"
    own = " and ".join(f"{n / total:.1%} of {task.upper()}'s" for task, (n, total) in TFLM_OWN.items())
    lines = [
        "# Latency: the estimate against real boards",
        "",
        "Generated by `python benchmarks/latency.py`. `aiotc bench` on a board with a clock in the board database",
        "traces the blocks QEMU executes (`-d exec,nochain`, aiotc/toolchain/trace.py) and costs each instruction",
        "with its core's table (aiotc/latency.py: Cortex-M4/M7/M33/M55 cycles per class from Arm's technical",
        "reference manuals; neighbouring loads and stores pipelined; branches charged taken or not as they went).",
        "",
        "## The model on the peer against published TFLite Micro + CMSIS-NN figures",
        "",
        "The peer (TFLite Micro + CMSIS-NN at the commits of `peer/README.md`, its Cortex-M4 build) runs each",
        "MLPerf Tiny model in QEMU; the cost model turns its executed instructions into ms on the board. Published:",
        "the v0.5 reference submission on the NUCLEO-L4R5ZI (Cortex-M4, 120 MHz, TFLite Micro v2.3.1, gcc 6;",
        "`mlcommons/tiny_results_v0.5` closed/reference) and Renesas' v0.7 submission on the EK-RA6M4 (Cortex-M33,",
        "200 MHz, tflite-micro + CMSIS of 2021, gcc 8; `mlcommons/tiny_results_v0.7` closed/renesas): 1000 / the",
        "median throughput of each `performance/results.txt`. On the L4R5ZI the same run also replays the flash",
        "through the board's flash model (next section; misses from the Invoke to the timer read after it).",
        "",
        "| task | board | peer instructions | cycles/instr | estimated ms | flash misses (I + D) | + flash ms "
        "| published ms | error | error + flash |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    peer_errors, peer_flash_errors = [], []
    for task in TASKS:
        for board in BOARDS:
            p, published = peer[task][board], PUBLISHED[board][task]
            e, fe, misses, added, flash_e = with_flash(board, p, published)
            peer_errors.append((e, board))
            peer_flash_errors.append((fe, board))
            lines.append(
                f"| {task} | {board} | {p['instructions']:,} | {p['cpi']:.2f} | {p['ms']:.1f} | {misses} | {added} "
                f"| {published} | {e:+.0%} | {flash_e} |"
            )
    lines += summary(peer_errors, "peer")
    lines += summary(peer_flash_errors, "peer + the flash model (L4R5ZI)")
    lines += [
        "",
        "## The model on the submissions' own CMSIS-NN kernels",
        "",
        "The peer is the software of 2025; the submissions ran older code. `peer/cmsis_era.py` exports CMSIS_5 at",
        "each submission's commit from the mirror, generates a harness from the .tflite that calls the kernels",
        "TFLM's cmsis-nn glue of that era calls (`arm_convolve_wrapper_s8`, `arm_depthwise_conv_wrapper_s8`,",
        "`arm_fully_connected_s8`, `arm_avgpool_s8`, `arm_elementwise_add_s8`, `arm_softmax_s8`), one per layer with",
        "its shapes, strides and padding, builds it for the Cortex-M4 with the submission's optimization level",
        "(our gcc 12, not their gcc 6 / gcc 8) and traces it: L4R5ZI: "
        f"{cmsis_era.ERAS['nucleo-l4r5zi'].source}; RA6M4: {cmsis_era.ERAS['ek-ra6m4'].source}. Kernels only:",
        "TFLM's own code around them is not in these rows (on the peer, code outside CMSIS-NN's `arm_*` functions",
        f"is {own} traced instructions, counted once from the same trace: latency.py's TFLM_OWN).",
        "On the L4R5ZI the board database's flash model (`boards/nucleo-l4r5zi.toml`, aiotc's QEMU plugin",
        "`aiotc/toolchain/flashread.c`, as `aiotc bench` uses it) also replays every instruction fetch and data read",
        f"from flash through the ART accelerator's caches ({cache_lines(caches)}, fully associative, least",
        f"recently used; {prefetch} as {mbed} leaves it) and charges each miss a line fill. The RA6M4's flash",
        "cache is not modelled.",
        "",
        "| task | board | kernel instructions | vs peer | cycles/instr | estimated ms | flash misses (I + D) "
        "| + flash ms | published ms | error | error + flash |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    era_errors, flash_errors = [], []
    for task in TASKS:
        for board in BOARDS:
            r, published = era[task][board], PUBLISHED[board][task]
            e, fe, misses, added, flash_e = with_flash(board, r, published)
            era_errors.append((e, board))
            flash_errors.append((fe, board))
            ratio = r["instructions"] / peer[task][board]["instructions"]
            lines.append(
                f"| {task} | {board} | {r['instructions']:,} | {ratio:.2f}x | {r['cpi']:.2f} | {r['ms']:.1f} | {misses} "
                f"| {added} | {published} | {e:+.0%} | {flash_e} |"
            )
    lines += summary(era_errors, "submission's kernels")
    lines += summary(flash_errors, "+ the flash model (L4R5ZI)")
    lines += notes(peer, era)
    lines += [
        "",
        "## aiotc's own estimate on those boards",
        "",
        "`aiotc bench`'s ms: on the L4R5ZI with the board's flash model (its misses at a line fill, the flash set",
        f"up as the v0.5 reference's {mbed} leaves it: {prefetch}); the fastest stacks' firmware may set it up",
        "otherwise. *Of which flash misses*: the layers' misses and the ms their line fills add (the RA6M4's",
        "flash cache is not modelled).",
        "",
        "| task | aiotc instructions (M4) | aiotc ms, L4R5ZI | of which flash misses | X-CUBE-AI 10.2 ms "
        "| Plumerai ms | TFLM v0.5 ms | aiotc ms, RA6M4 | TFLM v0.7 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    clock = load_board("nucleo-l4r5zi").clock_mhz or 1
    for task in TASKS:
        m = mine[task]
        flash = m["nucleo-l4r5zi"]["flash"]
        lines.append(
            f"| {task} | {m['nucleo-l4r5zi']['instructions']:,} | {m['nucleo-l4r5zi']['ms']:.1f} "
            f"| {flash['misses']:,} ({flash['cycles'] / (clock * 1e3):.1f} ms) "
            f"| {FASTEST_L4R5['X-CUBE-AI 10.2'][task]} | {FASTEST_L4R5['Plumerai'][task]} "
            f"| {PUBLISHED['nucleo-l4r5zi'][task]} | {m['ek-ra6m4']['ms']:.1f} | {PUBLISHED['ek-ra6m4'][task]} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    from benchmarks import readme

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", type=Path, default=tflm.DEFAULT)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "latency.md")
    parser.add_argument("--reuse", default="", help="parts (peer, era, aiotc) to take from the previous latency.json")
    args = parser.parse_args()
    reuse = {part for part in args.reuse.split(",") if part}
    if not reuse <= {"peer", "era", "aiotc"}:
        parser.error(f"--reuse: unknown parts {', '.join(sorted(reuse - {'peer', 'era', 'aiotc'}))}")
    previous = args.out.with_suffix(".json")
    if reuse and not previous.is_file():
        parser.error(f"--reuse: no previous {previous}")
    reason = None
    if "peer" not in reuse:
        reason = tflm.prepare(args.peer, ["nucleo-l4r5zi"])["nucleo-l4r5zi"]
        reason = reason and f"no peer: {reason}"
    if "era" not in reuse:
        reason = reason or cmsis_era.missing()
    if reason:
        print(f"latency.py: {reason}", file=sys.stderr)
        return 2
    kept = json.loads(previous.read_text()) if reuse else {}
    measure = {"peer": lambda: peer_ms(args.peer), "era": era_ms, "aiotc": aiotc_ms}
    figures = {part: kept[part] if part in reuse else run() for part, run in measure.items()}
    previous.write_text(json.dumps(figures, indent=1) + "\n")
    text = markdown(figures["peer"], figures["era"], figures["aiotc"])
    budget = args.out.read_text().split(BUDGET_SECTION) if args.out.exists() else [""]
    args.out.write_text(text + (BUDGET_SECTION + budget[1] if len(budget) > 1 else ""))  # latency_budget.py's
    readme.write()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
