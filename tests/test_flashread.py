"""The flash model: the board database's `[flash_model]`, the QEMU plugin's cache replay and `bench`'s use of it."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from aiotc.boards import FlashModel, _parse, load_board
from aiotc.errors import UsageError
from aiotc.summary import bench_lines
from aiotc.toolchain.flashread import FlashCounts, counts, plugin_args
from aiotc.toolchain.trace import Listing
from tests.conftest import shared_model

BOARD = """cpu = "cortex-m4"
flash_bytes = 1048576
sram_bytes = 262144
qemu_machine = "mps2-an386"
clock_mhz = 100
flash_wait_states = 3
[flash_model]
icache_lines = 64
dcache_lines = 8
line_bytes = {line}
read_bits = 128
"""


def test_board_fields_give_the_line_fill():
    l4 = load_board("nucleo-l4r5zi")
    assert l4.flash_model == FlashModel(icache_lines=32, dcache_lines=8, line_bytes=32, read_bytes=8)
    assert l4.flash_model.miss_cycles(l4.flash_wait_states) == 4 * 6  # four 64-bit reads at 5 wait states
    f4 = _parse("f4", BOARD.format(line=16)).flash_model
    assert f4 is not None and f4.miss_cycles(3) == 4 and not f4.prefetch  # one 128-bit read
    f412 = load_board("nucleo-f412zg").flash_model
    assert f412 == FlashModel(icache_lines=64, dcache_lines=8, line_bytes=16, read_bytes=16, prefetch=True)
    assert load_board("ek-ra6m4").flash_model is None  # opt-in: only boards whose caches are known
    with pytest.raises(UsageError, match="multiple of read_bits"):
        _parse("bad", BOARD.format(line=24))


# A vector table and a reset handler that calls `run` and exits (semihosting). movw/movt:
# no literal pool, so the data reads are the program's loads only.
STARTUP = """
    .syntax unified
    .thumb
    .section .vectors, "a"
    .word 0x20001000
    .word reset + 1
    .text
    .global reset
    .thumb_func
reset:
    bl run
    movs r0, #0x18
    movw r1, #0x0026
    movt r1, #0x2
    bkpt 0xab
"""
# Reads one word of each of 9 32-byte flash lines 10 times, marks, then of 4 other lines, marks.
SWEEPS = """
    .thumb_func
    .type run, %function
run:
    push {r4, lr}
    movw r1, #:lower16:table
    movt r1, #:upper16:table
    movs r0, #9
    movs r2, #10
    bl sweep
    bl mark
    movw r1, #:lower16:other
    movt r1, #:upper16:other
    movs r0, #4
    movs r2, #10
    bl sweep
    bl mark + 2
    pop {r4, pc}
    .size run, . - run
    .thumb_func
    .type sweep, %function
sweep:
    lsls r0, r0, #5
1:  movs r3, #0
2:  ldr r4, [r1, r3]
    adds r3, #32
    cmp r3, r0
    bne 2b
    subs r2, #1
    bne 1b
    bx lr
    .size sweep, . - sweep
    .thumb_func
    .type mark, %function
mark:
    bx lr
    bx lr
    .size mark, . - mark
    .section .rodata
    .balign 32
table: .space 9 * 32
other: .space 4 * 32
"""


def replay(folder: Path, program: str, model: FlashModel, marks: int = 0) -> FlashCounts:
    """`program` (startup and a `run` function) run in QEMU with the plugin, from `run` on."""
    (folder / "p.S").write_text(STARTUP + program)
    elf = folder / "p.elf"
    subprocess.run(
        ["arm-none-eabi-gcc", "-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-nostartfiles", "-Wl,-e,reset",
         "-Wl,-Ttext=0x400", "-Wl,--section-start=.vectors=0", "-o", str(elf), str(folder / "p.S")],
        check=True,
    )  # fmt: skip
    listing = Listing.of(elf)
    report = folder / "flash.txt"
    mark = listing.start("mark") if marks else 0
    options = plugin_args(model, (0, 0x400000), listing.start("run"), report, mark, marks)
    subprocess.run(
        ["qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor", "none",
         "-semihosting-config", "enable=on,target=native", "-kernel", str(elf), *options],
        check=True, timeout=60, capture_output=True,
    )  # fmt: skip
    return counts(report)


@pytest.mark.qemu
def test_the_replay_counts_least_recently_used_misses_per_mark(tmp_path: Path):
    model = load_board("nucleo-l4r5zi").flash_model
    assert model is not None
    found = replay(tmp_path, SWEEPS, model, marks=2)
    assert found.reads == 9 * 10 + 4 * 10
    # 9 lines through 8: least recently used evicts the next one wanted, every read misses;
    # 4 new lines fit: each misses once.
    assert found.dcache_misses == 9 * 10 + 4
    code_lines = found.icache_misses  # run's, sweep's and mark's lines, once each: the I-cache holds them
    assert 2 <= code_lines <= 6 and found.prefetched == 0
    assert found.marks[0] + found.marks[1] == found.misses
    assert found.marks[0] >= 90 and 4 <= found.marks[1] <= 4 + code_lines  # misses by mark: before it ran
    # by address: every data miss is sweep's one load; the code's misses are where its lines start
    listing = Listing.of(tmp_path / "p.elf")
    load = next(i.address for i in listing.code.values() if i.mnemonic == "ldr")
    assert {a: d for a, (_, d) in found.at.items() if d} == {load: 9 * 10 + 4}
    functions = found.by_function(listing.functions)
    assert list(functions)[0] == "sweep" and functions["sweep"][1] == 9 * 10 + 4
    assert 1 <= sum(i for i, _ in functions.values()) <= code_lines and set(functions) <= {"run", "sweep", "mark"}


@pytest.mark.qemu
def test_the_prefetch_serves_straight_line_code(tmp_path: Path):
    f4 = FlashModel(icache_lines=64, dcache_lines=8, line_bytes=16, read_bytes=16)
    # 64 bytes apart from reset's code: run's first line is no prefetch's
    straight = "\n".join(["    .space 64", "    .thumb_func", "    .type run, %function", "run:", *["    nop"] * 64,
                          "    bx lr", "    .size run, . - run"])  # fmt: skip
    without = replay(tmp_path, straight, f4)
    ahead = replay(tmp_path, straight, replace(f4, prefetch=True))
    assert without.icache_misses >= 128 // 16  # each 16-byte line of 64 nops misses once
    assert ahead.icache_misses == 1 and ahead.prefetched == without.icache_misses - 1  # only the first


@pytest.mark.qemu
def test_bench_charges_flash_misses_on_a_board_with_a_flash_model(tmp_path: Path):
    from aiotc.driver import compile_model
    from aiotc.toolchain.qemu import QemuModel

    board = load_board("nucleo-l4r5zi")
    result = compile_model(shared_model("mlperf_tiny/ad01_int8.tflite"), board=board.name, out_dir=tmp_path / "out")
    figures = QemuModel.build(result.out_dir, board).bench()
    flash = figures["flash"]
    layers = figures["layers"]
    assert flash["miss_cycles"] == 24
    assert flash["cycles"] == 24 * flash["misses"] == 24 * sum(layer["flash_misses"] for layer in layers)
    # AD's 270 KB of weights are read once per inference: a miss per 32-byte line at least
    assert flash["dcache_misses"] >= 260_000 // 32
    assert all(layer["cycles"] >= 24 * layer["flash_misses"] for layer in layers)
    # which code misses: the packed fully connected kernel's loads of those weights
    functions = flash["functions"]
    assert list(functions)[0] == "aiotc_fully_connected_packed_s8"
    assert functions["aiotc_fully_connected_packed_s8"]["dcache_misses"] >= 260_000 // 32
    found = sum(f["icache_misses"] + f["dcache_misses"] for f in functions.values())
    assert found <= flash["icache_misses"] + flash["dcache_misses"]
    lines = bench_lines(figures)
    assert f"{flash['misses']:,} flash cache misses" in lines[0]
