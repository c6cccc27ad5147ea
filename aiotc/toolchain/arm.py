"""Arm toolchain: an output folder linked into a bare-metal Cortex-M image for a board.

The image is the model library, a generated startup (vector table, .data/.bss set-up,
FPU enable), a generated linker script and a small test program that talks to the
host through semihosting (templates/target/). Flash and RAM regions are the board's
real sizes, placed where the board's QEMU machine has memory, so a model that does
not fit fails at link time with the region and the overflow in bytes. Nothing of
newlib is linked but memcpy/memset (full newlib, not nano: its memcpy is the fast one).

Builds go to the build cache (cache.py), shared with the host builds, so repeated
runs on one output folder link once.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..boards import Board
from ..errors import BudgetError, ToolchainError, UsageError
from ..resources import template_env
from ..schema import Report
from .cache import build_key, build_once, runtime_dir
from .host import WARNINGS, library_sources, read_report
from .stack import StackUsage, stack_usage

GCC = "arm-none-eabi-gcc"
SIZE = "arm-none-eabi-size"
NM = "arm-none-eabi-nm"
COMMON_FLAGS = (
    "-O2",
    "-std=c99",
    "-ffunction-sections",
    "-fdata-sections",
    "-fcallgraph-info=su",
)  # frames and calls: stack.py
HARNESS_WARNINGS = ("-Wall", "-Wextra", "-Werror")  # the vector table and asm are not ISO C
MIN_STACK = 2048  # bytes of RAM the link keeps free for the stack
MiB = 1 << 20


@dataclass(frozen=True)
class Machine:
    """Where a QEMU machine has memory for code and data, and its SysTick clock.

    Addresses on the TrustZone machines (AN505, AN547) are the Secure aliases: the
    core leaves reset in Secure state and must fetch from Secure memory.
    """

    cpu: str  # QEMU -cpu
    clock_hz: int  # SysTick's processor clock (QEMU's sysclk for the machine)
    flash_origin: int
    flash_size: int
    ram_origin: int
    ram_size: int
    boot_origin: int | None = None  # the reset vector table's address, if not flash_origin
    memories: tuple[tuple[str, int, int], ...] = ()  # more RAMs, (name, origin, bytes): arena regions so named go there


# QEMU 7.2 memory maps (`info mtree`). AN385/AN386/AN500: 4 MB ZBT SSRAM1 at 0 for
# code, 4 MB SSRAM2/3 at 0x20000000. AN505: 4 MB SSRAM1 at 0x10000000, SSRAM2 and 3
# (2 MB each, contiguous) at 0x38000000. AN547: its 512 KB ITCM at 0 holds only the
# vector table (reset reads it at 0x00000000, Secure alias 0x10000000); code goes to
# DDR (Secure window at 0x70000000), data to ISRAM0/1 (2 MB each) at 0x31000000.
# Arena regions (boards' [[memory]]) named as one of a machine's `memories` are linked
# there: AN385/AN386's 16 KB block RAM at 0x01000000 and 16 MB PSRAM at 0x21000000
# (hw/arm/mps2.c), AN547's 512 KB DTCM, Secure alias 0x30000000 (hw/arm/armsse.c);
# any other region is carved out of RAM.
MPS2_MEMORIES = (("bram", 0x0100_0000, 16 * 1024), ("psram", 0x2100_0000, 16 * MiB))
MACHINES = {
    "mps2-an385": Machine("cortex-m3", 25_000_000, 0x0000_0000, 4 * MiB, 0x2000_0000, 4 * MiB, memories=MPS2_MEMORIES),
    "mps2-an386": Machine("cortex-m4", 25_000_000, 0x0000_0000, 4 * MiB, 0x2000_0000, 4 * MiB, memories=MPS2_MEMORIES),
    "mps2-an500": Machine("cortex-m7", 25_000_000, 0x0000_0000, 4 * MiB, 0x2000_0000, 4 * MiB),
    "mps2-an505": Machine("cortex-m33", 20_000_000, 0x1000_0000, 4 * MiB, 0x3800_0000, 4 * MiB),
    "mps3-an547": Machine(
        "cortex-m55",
        32_000_000,
        0x7000_0000,
        256 * MiB,
        0x3100_0000,
        4 * MiB,
        boot_origin=0x1000_0000,
        memories=(("dtcm", 0x3000_0000, 512 * 1024),),
    ),
}

OVERFLOW = re.compile(r"region `(\w+)' overflowed by (\d+) bytes")
FLASH_SECTIONS = (".vectors", ".text", ".rodata", ".ARM.exidx", ".data")
RAM_SECTIONS = (".data", ".bss")


@dataclass(frozen=True)
class ArmImage:
    """A linked image and what it occupies; `model_*` counts only the library's objects."""

    elf: Path
    board: Board
    machine: Machine
    flash_bytes: int
    flash_model_bytes: int
    ram_bytes: int
    ram_model_bytes: int
    stack: StackUsage  # the static estimate of NAME_invoke's stack
    stack_harness_bytes: int  # what the test program adds below where it measures the stack
    regions: dict[
        str, tuple[int, int, int | None]
    ]  # region -> its section's address and bytes, the arena array's address


def machine_for(board: Board) -> Machine:
    """The memory map of the board's QEMU machine, which must be able to hold the board's memories."""
    if board.qemu_machine not in MACHINES:
        raise UsageError(
            f"board {board.name}: no Cortex-M build for QEMU machine {board.qemu_machine!r} (known: {', '.join(MACHINES)})"
        )
    machine = MACHINES[board.qemu_machine]
    for what, wanted, available in (
        ("flash", board.flash_bytes, machine.flash_size),
        ("SRAM", board.sram_bytes, machine.ram_size),
    ):
        if wanted > available:
            raise UsageError(
                f"board {board.name}: its {wanted:,} B of {what} exceed the {available:,} B that {board.qemu_machine} emulates"
            )
    return machine


def tool(name: str, package: str) -> str:
    """The path of a tool, or a ToolchainError naming the Debian package to install."""
    path = shutil.which(name)
    if path is None:
        raise ToolchainError(f"{name} not found: install the Debian package {package}")
    return path


def render_target(report: Report, board: Board) -> dict[str, str]:
    """The generated startup, linker script and test program for this model and board."""
    machine = machine_for(board)
    env = template_env("target")
    values = {
        "version": __version__,
        "name": report["name"],
        "NAME": report["name"].upper(),
        "board": board.name,
        "cpu": board.cpu,
        "machine": board.qemu_machine,
        "fpu": board.fpu,
        "mve": board.mve,
        "layers": max(len(report["layers"]), 1),
        "boot_origin": machine.boot_origin,
        "flash_origin": machine.flash_origin,
        "flash_bytes": board.flash_bytes,
        "ram_origin": machine.ram_origin,
        "ram_bytes": board.sram_bytes,
        "min_stack": MIN_STACK,
        "regions": link_regions(report, machine),
    }
    names = {
        "aiotc_target.h": "aiotc_target.h.j2",
        "aiotc_startup.c": "startup.c.j2",
        "aiotc_main.c": "main.c.j2",
        "link.ld": "link.ld.j2",
    }
    return {out: env.get_template(template).render(**values) for out, template in names.items()}


def link_regions(report: Report, machine: Machine) -> list[dict]:
    """The arena's memory regions as the test image links them: at the machine's memory of
    the same name (origin, and the region's capacity as length), else inside RAM (origin None)."""
    own = {name: (origin, size) for name, origin, size in machine.memories}
    regions = [r for r in report.get("regions", []) if r["bytes"] or r["weights_bytes"]]
    for r in regions:
        if r["name"] in own and r["capacity"] > own[r["name"]][1]:
            raise UsageError(
                f"region {r['name']}: its {r['capacity']:,} B exceed the {own[r['name']][1]:,} B that the QEMU machine emulates"
            )
    return [
        {
            "name": r["name"],
            "NAME": r["name"].upper(),
            "origin": own[r["name"]][0] if r["name"] in own else None,
            "length": r["capacity"],
        }
        for r in regions
    ]


def build_image(out_dir: Path, board: Board) -> ArmImage:
    """Compile and link `out_dir` for `board`; BudgetError if it does not fit the board. The
    compiler runs in the build folder: `out_dir` is made absolute."""
    out_dir = Path(out_dir).resolve()
    report = read_report(out_dir)
    name = report["name"]
    gcc = tool(GCC, "gcc-arm-none-eabi")
    target = render_target(report, board)
    sources = library_sources(out_dir, name)
    key = build_key(
        [gcc, board.name, *board.cflags, *COMMON_FLAGS], out_dir, {file: text.encode() for file, text in target.items()}
    )
    build = build_once(
        key, "image.elf", lambda staging: _compile_and_link(gcc, out_dir, name, board, sources, target, staging)
    )
    return _measure(build, board, [src.with_suffix(".o").name for src in sources], name)


def _compile_and_link(
    gcc: str, out_dir: Path, name: str, board: Board, sources: list[Path], target: dict[str, str], build: Path
) -> None:
    for file, text in target.items():
        (build / file).write_text(text)
    cpu = [*board.cflags, *COMMON_FLAGS]
    includes = ["-I", str(out_dir), "-I", str(runtime_dir(out_dir)), "-I", str(build)]
    graph = out_dir / f"{name}.c"
    jobs = [
        # The graph gets the profiling hook; the library must build warning-free.
        [gcc, *cpu, *WARNINGS, *includes, "-include", "aiotc_target.h", "-c", str(graph)],
        [gcc, *cpu, *WARNINGS, *includes, "-c", *(str(s) for s in sources if s != graph)],
        [gcc, *cpu, *HARNESS_WARNINGS, *includes, "-c", "aiotc_startup.c", "aiotc_main.c"],
    ]
    processes = [
        subprocess.Popen(job, cwd=build, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for job in jobs
    ]
    errors = [p.communicate()[0].strip() for p in processes if p.wait() != 0]
    if errors:
        raise ToolchainError(f"{GCC} failed to compile {out_dir} for {board.name}:\n" + "\n".join(errors))
    objects = [src.with_suffix(".o").name for src in sources] + ["aiotc_startup.o", "aiotc_main.o"]
    link = [
        gcc,
        *cpu,
        "-nostartfiles",
        "-Wl,--gc-sections",
        "-T",
        "link.ld",
        "-L",
        str(out_dir),  # the aiotc_<region>.ld that link.ld includes
        "-Wl,-Map=image.map",
        *objects,
        "-lm",
        "-o",
        "image.elf",
    ]
    result = subprocess.run(link, cwd=build, capture_output=True, text=True)
    if result.returncode != 0:
        overflows = OVERFLOW.findall(result.stderr)
        if overflows:
            regions = {"FLASH": board.flash_bytes, "RAM": board.sram_bytes} | {
                r["name"].upper(): r["capacity"] for r in read_report(out_dir).get("regions", [])
            }
            misses = "; ".join(
                f"region {region} ({regions.get(region, 0):,} B) overflowed by {int(n):,} bytes"
                for region, n in overflows
            )
            raise BudgetError(
                f"{name} does not fit board {board.name} (with {MIN_STACK:,} B kept for the stack and the test program's buffers): {misses}"
            )
        if "cannot find -lc" in result.stderr:
            raise ToolchainError(
                f"{GCC} has no C library to link memcpy/memset from: install the Debian package libnewlib-arm-none-eabi"
            )
        raise ToolchainError(f"{GCC} failed to link {out_dir} for {board.name}:\n{result.stderr.strip()}")


def _measure(build: Path, board: Board, model_objects: list[str], name: str) -> ArmImage:
    """Flash and RAM of the image (arm-none-eabi-size), the library's share (the link map), and its stack estimate."""
    result = subprocess.run(
        [tool(SIZE, "binutils-arm-none-eabi"), "-A", str(build / "image.elf")],
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.findall(r"^(\S+)\s+(\d+)\s+(\d+)$", result.stdout, re.M)
    sizes = {name: int(size) for name, size, _ in found}
    sections = {
        name.removeprefix(".aiotc_"): (int(at), int(size)) for name, size, at in found if name.startswith(".aiotc_")
    }
    arrays = {}
    if sections:
        symbols = subprocess.run(
            [tool(NM, "binutils-arm-none-eabi"), str(build / "image.elf")], capture_output=True, text=True, check=True
        ).stdout
        arrays = {m[2]: int(m[1], 16) for m in re.finditer(rf"^([0-9a-f]+) \w {name}_arena_(\w+)$", symbols, re.M)}
    regions = {region: (*where, arrays.get(region)) for region, where in sections.items()}
    ram = (*RAM_SECTIONS, *(f".aiotc_{r}" for r in regions))
    by_object = _map_sizes((build / "image.map").read_text(), set(model_objects))
    # main.c measures from inside measure_stack: below it are the model's chain and the harness's own calls.
    model, harness = stack_usage(build, f"{name}_invoke"), stack_usage(build, "measure_stack")
    return ArmImage(
        elf=build / "image.elf",
        board=board,
        machine=MACHINES[board.qemu_machine],
        flash_bytes=sum(sizes.get(s, 0) for s in FLASH_SECTIONS),
        flash_model_bytes=sum(by_object.get(s, 0) for s in FLASH_SECTIONS),
        ram_bytes=sum(sizes.get(s, 0) for s in ram),
        ram_model_bytes=sum(by_object.get(s, 0) for s in ram),
        stack=model,
        stack_harness_bytes=max(0, harness.estimate_bytes - harness.frames["measure_stack"] - model.estimate_bytes),
        regions=regions,
    )


def _map_sizes(map_text: str, model_objects: set[str]) -> dict[str, int]:
    """Bytes the model's objects contribute to each output section, from ld's map file.

    Input-section lines read ` .text.name  0xADDRESS  0xSIZE  object.o`; a long
    section name puts the address and size on the next line.
    """
    text = map_text.split("Linker script and memory map", 1)[-1]
    text = re.sub(r"\n( \S+)\n\s+(0x)", r"\n\1 \2", text)
    totals: dict[str, int] = {}
    section = None
    for line in text.splitlines():
        if out := re.match(r"^(\.\S+)", line):
            section = out[1]
        elif (entry := re.match(r"^ \S+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)$", line)) and Path(
            entry[2]
        ).name in model_objects:
            totals[section] = totals.get(section, 0) + int(entry[1], 16)
    return totals
