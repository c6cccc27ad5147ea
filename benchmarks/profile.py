"""Where a model's instructions go, instruction by instruction, on a Cortex-M board in QEMU.

    python benchmarks/profile.py MODEL --board cortex-m4 [--function NAME] [--min 1000] [--patch off]

Runs `aiotc bench`'s image with QEMU translating one instruction per block and logging
each block it executes, then counts executions per address: the functions that take
the time, and the hot instructions of one of them (the busiest kernel by default) in
address order with their disassembly, per inference. Kernel work starts here: a
single-layer model (tests/oplib.py builds one) shows which instructions of its loop
cost what. The log is large (about 90 bytes per instruction executed): keep models small.
Not a test; nothing in the project depends on it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiotc.boards import load_board  # noqa: E402
from aiotc.driver import compile_model  # noqa: E402
from aiotc.toolchain.qemu import QemuModel  # noqa: E402

BLOCK = re.compile(rb"\[[0-9a-f]+/([0-9a-f]+)/")  # -d exec: "Trace N: 0x... [cpu/pc/flags/...]"
LINE = re.compile(r"\s*([0-9a-f]+):\s+(.*)")
SYMBOL = re.compile(r"([0-9a-f]+) <(.*)>:")


def executions(model: Path, board: str, patch: str, folder: Path) -> tuple[Counter, Path, int]:
    """Executions per instruction address over one bench run, the image, and the inferences it ran."""
    out = compile_model(model, board=board, out_dir=folder / "out", patch=patch).out_dir
    qemu = QemuModel.build(out, load_board(board))
    log = folder / "exec.log"
    qemu.extra_args = ("-singlestep", "-d", "exec,nochain", "-D", str(log))
    qemu.bench()
    counts: Counter = Counter()
    with open(log, "rb") as lines:
        for line in lines:
            match = BLOCK.search(line)
            if match:
                counts[int(match.group(1), 16)] += 1
    starts = functions(qemu.image.elf)[0]
    entry = starts.get(f"{qemu.name}_invoke", starts.get(f"{qemu.name}_invoke_with_arena"))
    return counts, qemu.image.elf, max(counts.get(entry, 1), 1)


def functions(elf: Path) -> tuple[dict[str, int], dict[int, tuple[str, str]]]:
    """Each function's start address, and each instruction's (function, disassembly)."""
    starts: dict[str, int] = {}
    code: dict[int, tuple[str, str]] = {}
    current = "?"
    listing = subprocess.run(
        ["arm-none-eabi-objdump", "-d", "--no-show-raw-insn", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    for line in listing.splitlines():
        symbol = SYMBOL.match(line)
        if symbol:
            current = symbol.group(2)
            starts[current] = int(symbol.group(1), 16)
            continue
        instruction = LINE.match(line)
        if instruction:
            code[int(instruction.group(1), 16)] = (current, instruction.group(2))
    return starts, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--board", default="cortex-m4")
    parser.add_argument("--function", help="list this function's hot instructions (default: the busiest aiotc_ kernel)")
    parser.add_argument(
        "--min", type=float, default=1.0, help="instructions executed at least this often per inference"
    )
    parser.add_argument("--patch", default="off", choices=["auto", "off"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aiotc-profile-") as tmp:
        counts, elf, runs = executions(args.model, args.board, args.patch, Path(tmp))
        _, code = functions(elf)
    per_function: Counter = Counter()
    for address, count in counts.items():
        per_function[code.get(address, ("?", ""))[0]] += count
    total = sum(count for name, count in per_function.items() if name.startswith("aiotc_") or name.endswith("_invoke"))
    print(f"{args.model.name} on {args.board}: {runs} inference(s) in the bench run; per inference:")
    for name, count in per_function.most_common():
        if name.startswith("aiotc_") or name.endswith("_invoke"):
            print(f"{count // runs:12,d}  {100 * count / max(total, 1):5.1f}%  {name}")
    chosen = args.function or next(name for name, _ in per_function.most_common() if name.startswith("aiotc_"))
    print(f"\n{chosen}: instructions executed >= {args.min:g} times per inference")
    for address in sorted(a for a, (name, _) in code.items() if name == chosen):
        count = counts.get(address, 0) / runs
        if count >= args.min:
            print(f"{address:8x} {count:10,.0f}  {code[address][1]}")


if __name__ == "__main__":
    main()
