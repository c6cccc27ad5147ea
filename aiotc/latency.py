"""Milliseconds on a real board from what QEMU executed: a per-core cost table.

QEMU counts instructions, a board spends cycles. Each executed instruction falls in a
class (load, store, multiply-accumulate, branch, MVE, ...) and each class costs the
cycles Arm's technical reference manuals give for the core (cited on `COSTS`); the
blocks QEMU ran (`toolchain/trace.py`) carry the order, so neighbouring loads and
stores pipeline as the manuals say and a branch is charged taken or not as it went.
The board adds its clock and, for code fetched from flash without a cache or
accelerator in front, the flash wait states on every taken branch. A board whose
database entry describes the caches in front of its flash (`[flash_model]`) also has
every instruction fetch and data read from flash replayed through them (the QEMU
plugin of toolchain/flashread.py) and each miss charged a line fill (a prefetched line
nothing).

What this leaves out: bus contention, and on boards without a flash model, data read
from flash behind wait states and the misses of loops larger than the cache.
benchmarks/latency.md measures the estimate against MLPerf Tiny's published figures.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from .boards import Board
from .toolchain.flashread import FlashCounts
from .toolchain.trace import Instruction, Listing, Segment, blocks, ends_block


@dataclass(frozen=True)
class Costs:
    """Cycles per instruction class on one core."""

    alu: float  # data processing, SIMD (SADD16, SXTB16, SSAT), moves, IT
    mul: float
    mac: float  # MLA, SMLAD, SMLAL...
    div: float  # SDIV/UDIV: early-terminating, the middle of the manual's range
    memory: float  # a load, store or one register of LDM/STM/PUSH/POP, alone
    memory_pipelined: float  # the same right after another memory access (address and data phases overlap)
    branch_taken: float  # 1 + pipeline refill
    branch_not_taken: float
    fp: float  # VADD, VMUL, VMOV, VCVT
    fp_mac: float  # VMLA, VFMA
    fp_div: float  # VDIV, VSQRT
    mve: float = 0.0  # one 128-bit MVE instruction: its four beats on a dual-beat core
    mve_memory: float = 0.0


# Cortex-M4 TRM (ARM DDI 0439B) table 3-1: data processing and MUL 1, MLA/SMLAD/SMLAL 1,
# SDIV/UDIV 2-12, LDR/STR 2 and 1 when pipelined behind a neighbouring load/store, LDM/STM
# 1+N, branches 1+P with P = 1-3 refill cycles; FPU (table 7-1): VADD/VMUL 1, VMLA 3,
# VDIV/VSQRT 14, VLDR/VSTR 2.
M4 = Costs(
    alu=1,
    mul=1,
    mac=1,
    div=7,
    memory=2,
    memory_pipelined=1,
    branch_taken=3,
    branch_not_taken=1,
    fp=1,
    fp_mac=3,
    fp_div=14,
)
# Cortex-M33 TRM (ARM 100230) and its Armv8-M pipeline: the M4's timings on a 3-stage
# pipeline with a shorter refill (taken branch 2) and a pipelined FMA (1 per cycle).
M33 = replace(M4, branch_taken=2, fp_mac=1)
# Cortex-M7 TRM (ARM DDI 0489): 6-stage dual-issue pipeline: two data-processing
# instructions (or one with a load/store) issue per cycle, loads are single-cycle from
# TCM and cache, branches are predicted (BTAC). No per-instruction table is published:
# dual issue is taken as 0.6 cycles per data-processing instruction.
M7 = Costs(
    alu=0.6,
    mul=1,
    mac=1,
    div=6,
    memory=1,
    memory_pipelined=1,
    branch_taken=1,
    branch_not_taken=0.6,
    fp=0.6,
    fp_mac=1,
    fp_div=14,
)
# Cortex-M55 TRM (ARM 101051) and its software optimization guide: a dual-beat MVE
# implementation, so a 128-bit vector instruction takes two cycles (four beats, two per
# cycle), vector loads and stores too; scalar code and branches as on the M33; LE with
# the loop cache refills nothing.
M55 = Costs(
    alu=1,
    mul=1,
    mac=1,
    div=7,
    memory=2,
    memory_pipelined=1,
    branch_taken=2,
    branch_not_taken=1,
    fp=1,
    fp_mac=1,
    fp_div=14,
    mve=2,
    mve_memory=2,
)
COSTS = {"cortex-m4": M4, "cortex-m7": M7, "cortex-m33": M33, "cortex-m55": M55}

MAC = ("mla", "mls", "smla", "smlsd", "smlsld", "smmla", "smmls", "umlal", "umaal")
MUL = ("mul", "smul", "umul", "smmul", "smuad", "smusd")
FP_MAC = ("vmla", "vmls", "vfma", "vfms", "vnmla", "vnmls", "vfnma", "vfnms")
REGISTER = re.compile(r"([rsdq])(\d+)(?:\s*-\s*[rsdq](\d+))?")


def classify(instruction: Instruction) -> tuple[str, int]:
    """The instruction's class and, for memory, the words it moves."""
    m = instruction.mnemonic.split(".")[0]
    if m.startswith("v") and re.search(r"\bq\d", instruction.operands):
        return ("mve_memory", 1) if m.startswith(("vldr", "vstr", "vld2", "vld4", "vst2", "vst4")) else ("mve", 1)
    if m.startswith(("ldm", "stm", "pop", "push", "vldm", "vstm", "vpop", "vpush")):
        return "memory", _registers(instruction.operands)
    if m.startswith(("ldrd", "strd")):
        return "memory", 2
    if m.startswith(("ldr", "str", "vldr", "vstr", "lda", "stl")):
        return "memory", 1
    if m.startswith(("sdiv", "udiv")):
        return "div", 1
    if m.startswith(("vdiv", "vsqrt")):
        return "fp_div", 1
    if m.startswith(FP_MAC):
        return "fp_mac", 1
    if m.startswith(MAC):
        return "mac", 1
    if m.startswith(MUL):
        return "mul", 1
    if m.startswith("v"):
        return "fp", 1
    return "alu", 1


def _registers(operands: str) -> int:
    """Words an LDM/STM/PUSH/POP register list moves (a d register is two)."""
    words = 0
    for item in operands.split("}")[0].split("{")[-1].split(","):
        span = REGISTER.fullmatch(item.strip())
        count = int(span.group(3)) - int(span.group(2)) + 1 if span and span.group(3) else 1
        words += count * (2 if item.strip().startswith("d") else 1)
    return max(words, 1)


def block_cycles(body: list[Instruction], taken: bool, costs: Costs, fetch_penalty: float) -> tuple[float, Counter]:
    """Cycles of one execution of a translation block, and its instructions per class."""
    cycles, mix, after_memory = 0.0, Counter[str](), False
    last = len(body) - 1
    for i, instruction in enumerate(body):
        kind, words = classify(instruction)
        if i == last and _is_branch(instruction):
            mix["branch"] += 1
            cycles += costs.branch_taken + fetch_penalty if taken else costs.branch_not_taken
            after_memory = kind == "memory"  # POP {.., pc}
            if after_memory:
                cycles += words * costs.memory_pipelined
            continue
        mix[kind] += 1
        if kind == "memory":
            cycles += (costs.memory_pipelined if after_memory else costs.memory) + (words - 1) * costs.memory_pipelined
        else:
            cycles += getattr(costs, kind)
        after_memory = kind == "memory"
    return cycles, mix


def _is_branch(instruction: Instruction) -> bool:
    m = instruction.mnemonic.split(".")[0]
    return ends_block(instruction) and m not in ("bkpt", "svc", "udf", "wfi", "wfe", "isb", "dsb", "msr", "vmsr")


@dataclass(frozen=True)
class Estimate:
    instructions: int
    cycles: float
    mix: Counter

    def ms(self, board: Board) -> float:
        return self.cycles / (board.clock_mhz * 1e3) if board.clock_mhz else 0.0


def estimate(executed: list[tuple[list[Instruction], bool, int]], board: Board) -> Estimate:
    """Cycles on `board` of the blocks `trace.blocks` returned: (instructions, taken, executions)."""
    costs = COSTS[board.cpu]
    penalty = 0.0 if board.flash_cache else float(board.flash_wait_states)
    instructions, cycles, mix = 0, 0.0, Counter[str]()
    for body, taken, count in executed:
        block, kinds = block_cycles(body, taken, costs, penalty)
        instructions += len(body) * count
        cycles += block * count
        for kind, n in kinds.items():
            mix[kind] += n * count
    return Estimate(instructions, cycles, mix)


MARK = "aiotc_layer_mark"  # main.c.j2's hook lands on its index-th `bx lr`
HOOK = ("aiotc_layer_end", "aiotc_now", MARK)  # the per-layer hook's own code: no layer's


def latency_known(board: Board) -> bool:
    """Whether the board's clock and core are known well enough to estimate milliseconds."""
    return board.clock_mhz is not None and board.cpu in COSTS


def mark_sled(listing: Listing) -> int:
    """The address of the first `bx lr` of MARK's row: layer i's mark is 2 i bytes on."""
    return next(
        address
        for address, instruction in sorted(listing.code.items())
        if listing.functions[MARK][0] <= address < listing.functions[MARK][1]
        and instruction.mnemonic == "bx"
        and instruction.operands == "lr"
    )


def layer_latency(
    figures: dict, segments: list[Segment], listing: Listing, board: Board, flash: FlashCounts | None = None
) -> dict:
    """The bench figures' latency on `board`: each layer's traced blocks costed, the total at their rate,
    plus, with `flash` (the same run's replay, marks by layer), each layer's flash misses at a line fill.

    A layer's core cycles are its measured instructions at the cycles per instruction
    of its traced blocks (the trace and SysTick count the same instructions, SysTick to
    its resolution)."""
    sled = mark_sled(listing)
    per_layer: dict[int, list] = {}
    for segment in segments:
        per_layer.setdefault((segment.landing - sled) // 2, []).extend(blocks(segment, listing, HOOK))
    miss = board.flash_model.miss_cycles(board.flash_wait_states) if flash and board.flash_model else 0
    layers, core_cycles, flash_cycles, mix = [], 0.0, 0, Counter[str]()
    for index, layer in enumerate(figures["layers"]):
        est = estimate(per_layer.get(index, []), board)
        core = layer["instructions"] * (est.cycles / est.instructions if est.instructions else 1.0)
        misses = flash.marks.get(index, 0) if flash else 0
        core_cycles += core
        flash_cycles += misses * miss
        mix.update(est.mix)
        cycles = core + misses * miss
        extra = {"flash_misses": misses} if flash else {}
        layers.append(layer | {"cycles": round(cycles), "ms": round(cycles / (board.clock_mhz or 1) / 1e3, 4)} | extra)
    measured = sum(layer["instructions"] for layer in figures["layers"]) or 1
    cycles = figures["instructions"] * core_cycles / measured + flash_cycles
    out = {
        "clock_mhz": board.clock_mhz,
        "cycles": round(cycles),
        "ms": round(cycles / (board.clock_mhz or 1) / 1e3, 4),
        "mix": dict(sorted(mix.items())),
        "layers": layers,
    }
    if flash:
        out["flash"] = {"misses": sum(layer["flash_misses"] for layer in layers),  # the layers'
                        "icache_misses": flash.icache_misses, "dcache_misses": flash.dcache_misses,  # the whole run's
                        "miss_cycles": miss, "cycles": flash_cycles,
                        "functions": {name: {"icache_misses": icache, "dcache_misses": dcache}  # which code misses
                                      for name, (icache, dcache) in flash.by_function(listing.functions).items()}}  # fmt: skip
    return out
