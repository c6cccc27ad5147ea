"""The latency cost model (aiotc.latency), the trace's blocks and the latency budget of the precision search."""

from __future__ import annotations

import os

import pytest

from aiotc.boards import load_board
from aiotc.errors import BudgetError
from aiotc.latency import M4, M7, block_cycles, classify, estimate
from aiotc.quantize.mixed import Latency, LayerChoice, MixedSearch
from aiotc.toolchain.trace import Instruction, Listing, _fold, ends_block


def code(*lines: tuple[str, str], at: int = 0x100) -> list[Instruction]:
    out = []
    for mnemonic, operands in lines:
        size = 4 if mnemonic.endswith(".w") or mnemonic in ("smlad", "bl") else 2
        out.append(Instruction(at, size, mnemonic, operands))
        at += size
    return out


# An int8 dot-product loop as CMSIS-NN's DSP path compiles it.
LOOP = code(
    ("ldr.w", "r4, [r0], #4"),
    ("ldr.w", "r5, [r1], #4"),
    ("sxtb16", "r6, r4"),
    ("smlad", "r3, r6, r5, r3"),
    ("subs", "r2, #1"),
    ("bne.n", "100 <loop>"),
)


def test_classes_follow_the_manuals_names():
    kinds = [classify(i)[0] for i in LOOP]
    assert kinds == ["memory", "memory", "alu", "mac", "alu", "alu"]
    assert classify(Instruction(0, 2, "pop", "{r4, r5, r6, r7, pc}")) == ("memory", 5)
    assert classify(Instruction(0, 4, "vpush", "{d8-d9}")) == ("memory", 4)
    assert classify(Instruction(0, 4, "vldrb.s16", "q0, [r0], #8"))[0] == "mve_memory"
    assert classify(Instruction(0, 4, "vfma.f32", "s0, s1, s2"))[0] == "fp_mac"
    assert classify(Instruction(0, 4, "smulbb", "r0, r1, r2"))[0] == "mul"


def test_blocks_end_at_branches_and_writes_to_pc():
    assert ends_block(LOOP[-1]) and not ends_block(LOOP[0])
    assert ends_block(Instruction(0, 2, "pop", "{r4, pc}"))
    assert not ends_block(Instruction(0, 2, "push", "{r4, lr}"))
    assert not ends_block(Instruction(0, 4, "bic.w", "r0, r0, #1"))
    listing = Listing({i.address: i for i in LOOP + code(("movs", "r0, #0"), at=0x112)}, {})
    assert listing.block(0x100, 512) == LOOP  # stops at bne, not at the movs after it
    assert listing.block(0x100, 3) == LOOP[:3]  # QEMU cut the block (icount's budget)


def test_reading_pc_does_not_end_a_block():
    # a literal load and an address from pc only read it (QEMU 7.2's in_asm: the block goes on)
    assert not ends_block(Instruction(0, 2, "ldr", "r0, [pc, #92]"))
    assert not ends_block(Instruction(0, 2, "add", "r0, pc"))
    assert not ends_block(Instruction(0, 4, "ldr.w", "r3, [pc, #-12]"))
    assert ends_block(Instruction(0, 4, "ldr.w", "pc, [sp], #4"))
    assert ends_block(Instruction(0, 4, "ldmia.w", "sp!, {r4, r5, pc}"))
    assert ends_block(Instruction(0, 2, "mov", "pc, lr"))
    assert not ends_block(Instruction(0, 2, "dsb", "sy"))  # a barrier, no new block in QEMU


def test_a_32_bit_instruction_over_a_page_end_gets_a_block_of_its_own():
    # QEMU stops a block before an instruction that crosses a target page (1 KiB on M-profile)
    lines = code(("adds", "r6, #16"), ("sxtb16", "r1, r3"), ("smlad", "r3, r6, r5, r3"), ("bne.n", "3000"), at=0x3FC)
    lines[1] = Instruction(0x3FE, 4, "sxtb16", "r1, r3")  # 0x3fe..0x401
    lines[2:] = code(("smlad", "r3, r6, r5, r3"), ("bne.n", "3000"), at=0x402)
    listing = Listing({i.address: i for i in lines}, {})
    assert listing.block(0x3FC, 512) == lines[:1]
    assert listing.block(0x3FE, 512) == lines[1:2]
    assert listing.block(0x402, 512) == lines[2:]


def test_m4_cycles_pipeline_neighbouring_loads_and_charge_the_taken_branch():
    cycles, mix = block_cycles(LOOP, taken=True, costs=M4, fetch_penalty=0.0)
    # ldr 2, ldr pipelined 1, sxtb16 1, smlad 1, subs 1, bne taken 1 + 2 refill
    assert cycles == 9
    assert mix == {"memory": 2, "alu": 2, "mac": 1, "branch": 1}
    assert block_cycles(LOOP, taken=False, costs=M4, fetch_penalty=0.0)[0] == 7
    assert block_cycles(LOOP, taken=True, costs=M4, fetch_penalty=5.0)[0] == 14  # flash without a cache
    assert block_cycles(LOOP, taken=True, costs=M7, fetch_penalty=0.0)[0] < 9  # dual issue


def test_estimate_turns_executions_into_ms_at_the_board_clock():
    board = load_board("nucleo-l4r5zi")
    assert (board.clock_mhz, board.flash_wait_states, board.flash_cache) == (120.0, 5, True)
    est = estimate([(LOOP, True, 1000), (LOOP, False, 1)], board)
    assert est.instructions == 6 * 1001
    assert est.cycles == 9 * 1000 + 7
    assert est.ms(board) == pytest.approx(9007 / 120e3)
    assert load_board("cortex-m4").clock_mhz is None  # a QEMU machine, no real clock


def search(*choices: LayerChoice) -> MixedSearch:
    """A MixedSearch with these sensitivities, without measuring any."""
    found = MixedSearch.__new__(MixedSearch)
    found.choices = list(choices)
    return found


def test_the_integer_program_bounds_latency():
    quiet_slow = LayerChoice("a", "w4a8", 100, 1.0)
    noisy_fast = LayerChoice("b", "w4a8", 100, 2.0)
    found = search(quiet_slow, noisy_fast)
    added = {("a", "w4a8"): 5.0, ("b", "w4a8"): 1.0}
    assert found.assign(100) == {"a": "w4a8"}
    assert found.assign(100, latency=Latency(50.0, 2.0, added)) == {"b": "w4a8"}
    assert found.assign(200, latency=Latency(50.0, 6.0, added)) == {"a": "w4a8", "b": "w4a8"}
    with pytest.raises(BudgetError, match="within 50 ms"):
        found.assign(100, latency=Latency(50.0, 0.5, added))


def test_latency_budgets_read_as_milliseconds():
    from aiotc.cli import Milliseconds

    read = Milliseconds().convert
    assert read("50ms", None, None) == 50.0 and read("0.05s", None, None) == 50.0 and read("12.5", None, None) == 12.5
    with pytest.raises(Exception, match="not a latency"):
        read("fast", None, None)


def test_the_pareto_table_gains_the_latency_axis_under_a_budget():
    from rich.console import Console

    from aiotc.summary import pareto_table

    point = {"w4a8_layers": 2, "w8a16_layers": 0, "weights_bytes": 900, "flash_bytes": 1200, "sqnr_db": 20.0}
    console = Console(width=200, record=True)
    console.print(pareto_table({"pareto": [point | {"chosen": True}]}))  # type: ignore[typeddict-item]
    assert "ms (est.)" not in console.export_text()
    console.print(pareto_table({"pareto": [point | {"chosen": True, "latency_ms": 12.345}]}))  # type: ignore[typeddict-item]
    timed = console.export_text()
    assert "ms (est.)" in timed and "12.35" in timed


def test_a_mark_whose_entry_block_crosses_a_page_lands_on_its_sled():
    """QEMU cuts a block at a 1 KiB page's end: aiotc_layer_mark's entry block at 0xbbf8
    (lsls, adr, adds, adds, bx: 10 bytes) goes on at 0xbc00 before it lands on the index-th
    `bx lr` at 0xbc04 + 2 i (mcunet_like_160_int8's image at 477f74a: every landing read
    as 0xbc00, no layer's blocks found, an empty instruction mix)."""
    invoke, mark, sled = 0x4EF4, 0xBBF8, 0xBC04
    layer_block, caller = 0x6000, 0x4F10
    pcs = [invoke, layer_block, mark, 0xBC00, sled, caller, layer_block, layer_block, mark, 0xBC00, sled + 2, caller]
    log = "".join(f"Trace 0: 0x7f00 [00000000/{pc:08x}/01000000/ff000000] f\n" for pc in pcs).encode()
    read_end, write_end = os.pipe()
    os.write(write_end, log)
    os.close(write_end)
    folded: dict = {}
    _fold(read_end, f"{invoke:08x}".encode(), f"{mark:08x}".encode(), (mark, mark + 0x5C), folded)
    assert [s.landing for s in folded["segments"]] == [sled, sled + 2]
    assert [sum(s.blocks.values()) for s in folded["segments"]] == [2, 6]
