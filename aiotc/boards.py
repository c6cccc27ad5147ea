"""The board database: `boards/*.toml`, one file per board.

A board names its core (which fixes compiler flags and the QEMU machine that
emulates it) and its real flash and SRAM sizes, which the compiler and the linker
hold the model to. A real board also gives its clock and flash timing, which turn
the instructions QEMU counts into milliseconds (aiotc.latency).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
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
    clock_mhz: float | None = None  # the core clock the latency estimate assumes; None: no estimate
    flash_wait_states: int = 0  # at that clock
    flash_cache: bool = (
        False  # an accelerator or cache in front of flash (ST's ART, L1 I-cache): code fetch without wait
    )

    @property
    def cflags(self) -> tuple[str, ...]:
        return CPU_FLAGS[self.cpu]


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
            clock_mhz=float(data["clock_mhz"]) if "clock_mhz" in data else None,
            flash_wait_states=int(data.get("flash_wait_states", 0)),
            flash_cache=bool(data.get("flash_cache", False)),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"board file {name}.toml is invalid: {exc}") from None
    if board.cpu not in CPU_FLAGS:
        raise UsageError(f"board {name}: unknown cpu {board.cpu!r} (known: {', '.join(CPU_FLAGS)})")
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
