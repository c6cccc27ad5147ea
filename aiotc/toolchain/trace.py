"""What a Cortex-M image executes, block by block: the instruction mix behind QEMU's count.

QEMU 7.2 as packaged has no TCG plugins, but `-d exec,nochain` logs every translation
block it executes (its start address; `nochain` so that chained blocks log too). A
block is straight-line code from that address to its first branch, so the ELF's
disassembly (`arm-none-eabi-objdump -d`) says which instructions ran, and the address
of the next block says whether the block's closing branch was taken. The log streams
through a FIFO and is folded into counters as it arrives (a model of 100 M instructions
logs about 2 GB).

The log is cut into segments at the entries of one function, the *boundary* (aiotc's
`aiotc_layer_mark`, the peer's `EndEvent`), counting from the last entry of another,
the *start* (the invoke the image times layer by layer): segment i is what ran
between boundary call i-1 and boundary call i, and it keeps the last block the boundary
ran before it left (aiotc's mark lands on an address that says the layer's index: the
block after its entry one is not always that, QEMU cuts a block at a 1 KiB page's end,
so an entry block over a page end goes on in a block of its own). Functions in
`skip` (the hook itself) count for no segment. The counts are deterministic, like
`-icount` itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolchainError

EXEC = re.compile(rb"\[[0-9a-f]+/([0-9a-f]+)/[0-9a-f]+/([0-9a-f]+)\]")  # [cs_base/pc/flags/cflags]
COUNT_MASK = 0x1FF  # cflags: a block QEMU cut to this many instructions (icount's budget ran out in it)
MAX_BLOCK = 512  # TCG's most instructions per block
PAGE = 1024  # a block never crosses a target page (1 KiB on M-profile)
LINE = re.compile(r"\s*([0-9a-f]+):\s+([0-9a-f]{4}(?: [0-9a-f]{4})?)\s+(\S+)\s*(.*)")
CHUNK = 1 << 22


@dataclass(frozen=True)
class Instruction:
    address: int
    size: int
    mnemonic: str  # as objdump prints it: "ldr.w", "smlad", "bne.n", "vldrb.s16"
    operands: str


@dataclass(frozen=True)
class Listing:
    """An ELF's code: each instruction by address, each function's address range."""

    code: dict[int, Instruction]
    functions: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, elf: Path) -> Listing:
        text = subprocess.run(
            ["arm-none-eabi-objdump", "-d", str(elf)], capture_output=True, text=True, check=True
        ).stdout
        code: dict[int, Instruction] = {}
        for line in text.splitlines():
            match = LINE.match(line)
            if match and not match.group(3).startswith("."):  # .word: a literal pool
                address = int(match.group(1), 16)
                size = 2 * len(match.group(2).split())
                code[address] = Instruction(address, size, match.group(3), match.group(4).split("@")[0].strip())
        # nm, not objdump's headers: objdump names one symbol per address
        symbols = subprocess.run(
            ["arm-none-eabi-nm", "-S", "--defined-only", str(elf)], capture_output=True, text=True, check=True
        ).stdout
        functions = {}
        for line in symbols.splitlines():
            fields = line.split()
            if len(fields) == 4 and fields[2] in "Tt":
                start = int(fields[0], 16) & ~1
                functions[fields[3]] = (start, start + int(fields[1], 16))
        return cls(code, functions)

    def start(self, name: str) -> int:
        if name not in self.functions:
            raise ToolchainError(f"no function {name} in the image to trace")
        return self.functions[name][0]

    def block(self, pc: int, limit: int) -> list[Instruction]:
        """The instructions of the translation block at `pc`: up to its first branch."""
        out: list[Instruction] = []
        while pc in self.code and len(out) < limit:
            instruction = self.code[pc]
            crosses = pc // PAGE != (pc + instruction.size - 1) // PAGE  # a 32-bit one over a page end
            if crosses and out:
                break  # QEMU gives it a block of its own
            out.append(instruction)
            pc += instruction.size
            if ends_block(instruction) or pc % PAGE == 0 or crosses:
                break
        return out


def ends_block(instruction: Instruction) -> bool:
    """A branch, a write to pc, or an exception (semihosting's bkpt, svc): QEMU ends the block there."""
    m, ops = instruction.mnemonic.split(".")[0], instruction.operands
    if m in ("bkpt", "svc", "udf", "wfi", "wfe", "cpsid", "cpsie", "isb", "msr", "vmsr"):
        return True
    if m in ("cbz", "cbnz", "tbb", "tbh", "bl", "blx", "bx", "le", "letp", "wls", "wlstp"):
        return True
    if re.fullmatch(r"b(eq|ne|cs|hs|cc|lo|mi|pl|vs|vc|hi|ls|ge|lt|gt|le|al)?", m):
        return True
    if m.startswith(("str", "push", "stm", "cmp", "cmn", "tst", "teq")):
        return False
    # pc written: in the register list of ldm/pop, else as the destination (the first
    # operand); `ldr r0, [pc, #8]` (a literal) and `add r0, pc` only read it
    written = ops.split("}")[0] if m.startswith(("ldm", "pop")) else ops.split(",")[0]
    return "pc" in re.split(r"[\s,{}\[\]!]+", written.split(";")[0])


@dataclass
class Segment:
    """One segment's blocks: (block pc, instruction limit, next block's pc) -> executions."""

    blocks: Counter
    landing: int = 0  # the pc of the boundary's last block before it left


def trace(run: Callable[[tuple[str, ...]], object], listing: Listing, start: str, boundary: str) -> list[Segment]:
    """Run the image (`run(extra QEMU args)`) logging its blocks; the segments of the last `start`."""
    first, cut = f"{listing.start(start):08x}".encode(), f"{listing.start(boundary):08x}".encode()
    inside = listing.functions[boundary]
    with tempfile.TemporaryDirectory(prefix="aiotc-trace-") as folder:
        fifo = Path(folder) / "exec.log"
        os.mkfifo(fifo)
        # Our own write end keeps the reader from seeing an end before QEMU opens the log;
        # closed once QEMU is done, the reader then meets the end of the log, run or failed.
        read_end = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        write_end = os.open(fifo, os.O_WRONLY)
        os.set_blocking(read_end, True)
        folded: dict = {}
        reader = threading.Thread(target=_fold, args=(read_end, first, cut, inside, folded), daemon=True)
        reader.start()
        try:
            run(("-d", "exec,nochain", "-D", str(fifo)))
        finally:
            os.close(write_end)
            reader.join()
    if "error" in folded:
        raise folded["error"]
    return folded["segments"]


def _fold(fd: int, first: bytes, cut: bytes, inside: tuple[int, int], out: dict) -> None:
    """Read the log as QEMU writes it; keep the segments after the last `first` block, cut at `cut`,
    each landing at the last block in `inside` (the boundary's addresses) after its cut.

    On an error the log is still read to its end, so QEMU never blocks on a full FIFO."""
    segments: list[Segment] = []
    current: Counter = Counter()
    previous: tuple[bytes, bytes] | None = None
    in_boundary = False
    rest = b""
    with open(fd, "rb") as log:
        while data := log.read(CHUNK):
            if "error" in out:
                continue
            try:
                cut_at = data.rfind(b"\n")
                if cut_at < 0:
                    rest += data
                    continue
                text, rest = rest + data[: cut_at + 1], data[cut_at + 1 :]
                for pc, cflags in EXEC.findall(text):
                    if previous is not None:
                        current[(previous[0], previous[1], pc)] += 1
                    if in_boundary:  # until the boundary's code is left
                        address = int(pc, 16)
                        in_boundary = inside[0] <= address < inside[1]
                        if in_boundary:
                            segments[-1].landing = address
                    if pc == first:
                        segments, current, in_boundary = [], Counter(), False
                    elif pc == cut:
                        segments.append(Segment(current))
                        current, in_boundary = Counter(), True
                    previous = (pc, cflags)
            except Exception as exc:  # noqa: BLE001 -- handed to the caller's thread
                out["error"] = exc
    out["segments"] = segments


def blocks(segment: Segment, listing: Listing, skip: tuple[str, ...]) -> list[tuple[list[Instruction], bool, int]]:
    """Each executed block of a segment: its instructions, whether its last one branched away, executions."""
    skipped = [listing.functions[name] for name in skip if name in listing.functions]
    out = []
    for (pc_hex, cflags_hex, next_hex), count in segment.blocks.items():
        pc = int(pc_hex, 16)
        if any(lo <= pc < hi for lo, hi in skipped):
            continue
        limit = int(cflags_hex, 16) & COUNT_MASK or MAX_BLOCK
        body = listing.block(pc, limit)
        if not body:
            continue
        fall_through = body[-1].address + body[-1].size
        out.append((body, int(next_hex, 16) != fall_through, count))
    return out
