"""The board database: `boards/*.toml`, one file per board.

A board names its core (which fixes compiler flags and the QEMU machine that
emulates it) and its real flash and SRAM sizes, which the compiler and the linker
hold the model to. A board may also list its RAMs as `[[memory]]` tables (name, size,
speed, base address where known): the memory planner then places the arena's buffers
across them, fastest first (aiotc/memory/regions.py, docs/memory.md).
A real board also gives its clock and flash timing, which turn the instructions
QEMU counts into milliseconds (aiotc.latency), and, where its reference manual and
its firmware's flash set-up are known, the read caches in front of its flash as a
`[flash_model]` table: `aiotc bench` then replays every flash fetch and read through
them (aiotc.toolchain.flashread) and charges each miss a line fill.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from functools import cache

import tomllib

from .errors import UsageError
from .resources import data_dir

# Core -> compiler flags. Cores with an FPU use the hard-float ABI.
CPU_FLAGS = {
    "host": (),
    "cortex-m0plus": ("-mcpu=cortex-m0plus", "-mthumb", "-mfloat-abi=soft"),
    "cortex-m3": ("-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"),
    "cortex-m4": ("-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"),
    "cortex-m7": ("-mcpu=cortex-m7", "-mthumb", "-mfpu=fpv5-d16", "-mfloat-abi=hard"),
    "cortex-m33": ("-mcpu=cortex-m33", "-mthumb", "-mfpu=fpv5-sp-d16", "-mfloat-abi=hard"),
    "cortex-m55": ("-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"),
}


SPEEDS = ("fast", "normal", "slow")  # the order the planner fills memories in


@dataclass(frozen=True)
class Memory:
    """One RAM the arena may use: its array gets the linker section `.aiotc_<name>`."""

    name: str  # a C identifier: it names the region's array, section and linker fragment
    size: int  # bytes aiotc may use
    speed: str = "normal"  # one of SPEEDS
    base: int | None = None  # its address, where known (the linker fragment's comment shows it)


@dataclass(frozen=True)
class FlashModel:
    """The read caches in front of a board's flash (ST's ART accelerator): an instruction
    and a data cache of `line_bytes` lines, fully associative, least recently used. A miss
    stalls the core for the line's flash reads one after the other; with `prefetch` (as the
    board's usual firmware sets it) the line after the one last fetched costs nothing."""

    icache_lines: int
    dcache_lines: int
    line_bytes: int
    read_bytes: int  # what one flash read returns (the flash's width)
    prefetch: bool = False

    def miss_cycles(self, wait_states: int) -> int:
        """Cycles of a line fill: its reads, each the wait states plus one."""
        return self.line_bytes // self.read_bytes * (wait_states + 1)


@dataclass(frozen=True)
class Board:
    name: str
    cpu: str
    flash_bytes: int
    sram_bytes: int
    qemu_machine: str | None  # None: the host, built with gcc
    fpu: bool = False
    dsp: bool = False
    mve: bool = False
    description: str = ""
    memories: tuple[Memory, ...] = ()  # its RAMs as listed; () -- one SRAM of sram_bytes, no sections
    clock_mhz: float | None = None  # the core clock the latency estimate assumes; None: no estimate
    flash_wait_states: int = 0  # at that clock
    flash_cache: bool = (
        False  # an accelerator or cache in front of flash (ST's ART, L1 I-cache): code fetch without wait
    )
    flash_model: FlashModel | None = None  # that cache replayed: its misses cost line fills (opt-in per board)

    @property
    def cflags(self) -> tuple[str, ...]:
        return CPU_FLAGS[self.cpu]


def _memory(board: str, data: dict) -> Memory:
    memory = Memory(
        name=data["name"],
        size=int(data["size"]),
        speed=data.get("speed", "normal"),
        base=int(data["base"]) if "base" in data else None,
    )
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,30}", memory.name):
        raise UsageError(f"board {board}: memory name {memory.name!r} must be lower-case letters, digits and _")
    if memory.speed not in SPEEDS:
        raise UsageError(f"board {board}: memory {memory.name} has speed {memory.speed!r} (known: {', '.join(SPEEDS)})")
    if memory.size <= 0:
        raise UsageError(f"board {board}: memory {memory.name} has no bytes")
    return memory


def _flash_model(board: str, data: dict) -> FlashModel:
    model = FlashModel(
        icache_lines=int(data["icache_lines"]),
        dcache_lines=int(data["dcache_lines"]),
        line_bytes=int(data["line_bytes"]),
        read_bytes=int(data["read_bits"]) // 8,
        prefetch=bool(data.get("prefetch", False)),
    )
    if not (0 < model.icache_lines <= 256 and 0 < model.dcache_lines <= 256):
        raise UsageError(f"board {board}: flash_model needs 1-256 instruction and data cache lines")
    if model.read_bytes <= 0 or model.line_bytes <= 0 or model.line_bytes % model.read_bytes:
        raise UsageError(f"board {board}: flash_model's line_bytes must be a multiple of read_bits / 8")
    return model


def _parse(name: str, text: str) -> Board:
    try:
        data = tomllib.loads(text)
        board = Board(
            name=name,
            cpu=data["cpu"],
            flash_bytes=int(data["flash_bytes"]),
            sram_bytes=int(data["sram_bytes"]),
            qemu_machine=data.get("qemu_machine") or None,
            fpu=bool(data.get("fpu", False)),
            dsp=bool(data.get("dsp", False)),
            mve=bool(data.get("mve", False)),
            description=data.get("description", ""),
            memories=tuple(_memory(name, m) for m in data.get("memory", ())),
            clock_mhz=float(data["clock_mhz"]) if "clock_mhz" in data else None,
            flash_wait_states=int(data.get("flash_wait_states", 0)),
            flash_cache=bool(data.get("flash_cache", False)),
            flash_model=_flash_model(name, data["flash_model"]) if "flash_model" in data else None,
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"board file {name}.toml is invalid: {exc}") from None
    if board.cpu not in CPU_FLAGS:
        raise UsageError(f"board {name}: unknown cpu {board.cpu!r} (known: {', '.join(CPU_FLAGS)})")
    names = [m.name for m in board.memories]
    if len(set(names)) != len(names):
        raise UsageError(f"board {name}: two memories share a name ({', '.join(names)})")
    return board


@cache
def _catalog() -> dict[str, Board]:
    return {p.stem: _parse(p.stem, p.read_text()) for p in sorted(data_dir("boards").glob("*.toml"))}


def all_boards() -> list[Board]:
    return list(_catalog().values())


def load_board(name: str) -> Board:
    """The board called `name`; an unknown name suggests the closest ones."""
    catalog = _catalog()
    if name in catalog:
        return catalog[name]
    close = difflib.get_close_matches(name, catalog, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known boards: {', '.join(catalog)}"
    raise UsageError(f"unknown board {name!r}{hint}")


def arena_regions(board: Board, chosen: tuple[tuple[str, int | None], ...] | None = None) -> tuple[Memory, ...]:
    """The memories the arena is placed in, fastest first (ties keep the board's order).

    `chosen` is --regions: the board's memories free for aiotc, by name, each with an
    optional smaller size (`dtcm:64K`). Without it, all the board's memories; a board that
    lists none has one region, its SRAM, and gets the single arena of old: ().
    """
    if chosen is None:
        picked = board.memories
    else:
        known = {m.name: m for m in board.memories}
        picked = ()
        for name, size in chosen:
            if name not in known:
                listed = ", ".join(known) or "none: the board lists no [[memory]]"
                raise UsageError(f"--regions: board {board.name} has no memory {name!r} (its memories: {listed})")
            memory = known[name]
            if size is not None and size > memory.size:
                raise UsageError(
                    f"--regions: {name} has {memory.size:,} B on board {board.name}, not the {size:,} B asked"
                )
            picked += (replace(memory, size=size) if size is not None else memory,)
        if len({m.name for m in picked}) != len(picked):
            raise UsageError("--regions: a memory is named twice")
    return tuple(sorted(picked, key=lambda m: SPEEDS.index(m.speed)))
