"""Flash cache misses of a QEMU run: the plugin flashread.c, beside this file.

QEMU's block trace (trace.py) knows which instructions ran but not the addresses
loads read, and a cache is an ordered replay: a TCG plugin sees both as they happen.
It is built once per source with the host's gcc (it restates the plugin API, so no
QEMU headers are needed) and loaded with `-plugin` into the run `aiotc bench` traces.
"""

from __future__ import annotations

import bisect
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..boards import FlashModel
from ..errors import ToolchainError
from .cache import build_once, content_key

SOURCE = Path(__file__).with_name("flashread.c")
GCC = ["gcc", "-O2", "-shared", "-fPIC", "-fvisibility=hidden"]


def plugin() -> Path:
    """flashread.so for the host's QEMU, built once."""
    if shutil.which("gcc") is None:
        raise ToolchainError("the flash model needs the host's gcc to build its QEMU plugin (flashread.c)")

    def build(folder: Path) -> None:
        run = subprocess.run([*GCC, "-o", str(folder / "flashread.so"), str(SOURCE)], capture_output=True, text=True)
        if run.returncode:
            raise ToolchainError(f"cannot build the flash model's QEMU plugin: {run.stderr.strip()}")

    key = content_key(GCC, {"flashread.c": SOURCE.read_bytes()})
    return build_once(key, "flashread.so", build) / "flashread.so"


@dataclass
class FlashCounts:
    """What one run's flash served from `start` on, and the misses charged to each mark."""

    fetches: int
    icache_misses: int
    reads: int
    dcache_misses: int
    prefetched: int  # instruction cache misses the prefetch served (not in icache_misses)
    marks: dict[int, int] = field(default_factory=dict)  # mark index -> instruction + data misses
    at: dict[int, tuple[int, int]] = field(default_factory=dict)  # address -> misses of its fetch, of its loads

    @property
    def misses(self) -> int:
        return self.icache_misses + self.dcache_misses

    def by_function(self, functions: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
        """The instruction and data cache misses of each function (name -> [start, end)) with
        any, most first: which code a cache misses on (a data miss is the loading code's)."""
        ranges = sorted((start, end, name) for name, (start, end) in functions.items())
        starts = [start for start, _, _ in ranges]
        found: dict[str, tuple[int, int]] = {}
        for address, (icache, dcache) in self.at.items():
            i = bisect.bisect_right(starts, address) - 1
            if i >= 0 and address < ranges[i][1]:
                name = ranges[i][2]
                before = found.get(name, (0, 0))
                found[name] = (before[0] + icache, before[1] + dcache)
        return dict(sorted(found.items(), key=lambda item: -sum(item[1])))


def plugin_args(
    model: FlashModel, flash: tuple[int, int], start: int, report: Path, mark: int = 0, marks: int = 0
) -> tuple[str, ...]:
    """QEMU options that replay the flash at [flash[0], flash[1]) through `model`'s caches
    from the last execution of `start` on, charging misses to the `marks` 2-byte
    instructions from `mark` on; the counts go to `report` (read them with `counts`)."""
    options = (
        f"lo={flash[0]},hi={flash[1]},start={start},ilines={model.icache_lines},dlines={model.dcache_lines},"
        f"line={model.line_bytes},out={report}"
    )
    if marks:
        options += f",mark={mark},marks={marks}"
    if model.prefetch:
        options += ",prefetch=1"
    return ("-plugin", f"{plugin()},{options}")


def counts(report: Path) -> FlashCounts:
    """The plugin's report, written when QEMU exits."""
    if not report.is_file():
        raise ToolchainError(
            "QEMU wrote no flash counts: this qemu-system-arm may lack TCG plugin support (the flash model needs it)"
        )
    first, *rest = report.read_text().splitlines()
    words = first.split()
    totals = {words[i]: int(words[i + 1]) for i in range(0, len(words), 2)}
    marks, at = {}, {}
    for line in rest:  # mark I icache_misses N dcache_misses N, or at ADDRESS icache_misses N dcache_misses N
        kind, index, _, icache, _, dcache = line.split()
        if kind == "mark":
            marks[int(index)] = int(icache) + int(dcache)
        else:
            at[int(index)] = (int(icache), int(dcache))
    return FlashCounts(**totals, marks=marks, at=at)
