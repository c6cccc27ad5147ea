"""Flash and arena of three models in one image: one shared runtime against three folders.

    python benchmarks/multimodel.py        # writes benchmarks/multimodel.md

kws, vww and ad01 (MLPerf Tiny, ../shared/models) for the cortex-m4 board:
- separately, each in its own folder (`aiotc compile MODEL`), each linked alone into a
  Cortex-M4 image: the flash of its library (weights, graph code, its copy of the kernels);
  those three folders do not link into one image (the same kernels defined three times);
- together from one manifest (kws and ad01 may run at the same time, vww alone), linked into
  one image through the folder's models.mk: the flash of the shared runtime and of each
  model's own objects, from the link map.
Arena: the three models' own arenas summed against the one shared arena.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiotc.boards import load_board  # noqa: E402
from aiotc.driver import compile_model  # noqa: E402
from aiotc.group import Member, compile_group  # noqa: E402
from aiotc.options import CompileOptions  # noqa: E402
from aiotc.toolchain.group import build_with_make, flash_by_object  # noqa: E402

MODELS = {"kws": "kws_ref_model.tflite", "vww": "vww_96_int8.tflite", "ad01": "ad01_int8.tflite"}
OVERLAP = [["kws", "ad01"]]
BOARD = "cortex-m4"
TABLE = ROOT / "benchmarks" / "multimodel.md"
MLPERF = ROOT.parent / "shared" / "models" / "mlperf_tiny"


def separate(tmp: Path) -> dict[str, dict]:
    """Each model in its own folder, linked alone through its NAME.mk: its library's flash, and how much is kernels."""
    board = load_board(BOARD)
    figures = {}
    for name, file in MODELS.items():
        out = compile_model(MLPERF / file, board=BOARD, name=name, out_dir=tmp / name).out_dir
        build_with_make(out, board, tmp / f"{name}_image")
        map_file = tmp / f"{name}_image" / "image.map"
        kernels = sorted(p.stem for p in (out / "aiotc_runtime").glob("*.c"))
        figures[name] = {
            "kernels": flash_by_object(map_file, [f"{k}.o" for k in kernels]),
            "model": flash_by_object(map_file, [f"{name}.o", f"{name}_weights.o"]),
            "kernel_files": len(kernels),
            "arena": json.loads((out / "report.json").read_text())["arena_bytes"],
        }
    return figures


def link_separate(tmp: Path) -> str:
    """What the linker says of the three separate folders in one image (their NAME.mk in one Makefile)."""
    (tmp / "main.c").write_text(
        "".join(f'#include "{name}.h"\n' for name in MODELS)
        + "int main(void) { return "
        + " + ".join(f"{name}_invoke(0, 0)" for name in MODELS)
        + "; }\n"
    )
    (tmp / "Makefile").write_text(
        "".join(f"include {tmp / name / name}.mk\n" for name in MODELS)
        + "app: main.c "
        + " ".join(f"$({name}_SOURCES)" for name in MODELS)
        + "\n\t$(CC) -std=c99 -O2 "
        + " ".join(f"$({name}_INCLUDES)" for name in MODELS)
        + " $^ -lm -o $@\n"
    )
    result = subprocess.run(["make", "-C", str(tmp)], capture_output=True, text=True)
    symbols = sorted(set(re.findall(r"multiple definition of [`'](\w+)'", result.stderr)))
    return f"`multiple definition of` {', '.join(symbols)}" if symbols else "they linked"


def together(tmp: Path) -> dict:
    """The three models in one folder and one image: the runtime's flash and each model's own."""
    board = load_board(BOARD)
    members = [Member(MLPERF / file, CompileOptions(board=BOARD, name=name)) for name, file in MODELS.items()]
    result = compile_group(members, OVERLAP, tmp / "group")
    elf = build_with_make(result.out_dir, board, tmp / "image")
    runtime = sorted(p.stem for p in (result.out_dir / "aiotc_runtime").glob("*.c"))
    map_file = tmp / "image" / "image.map"
    return {
        "runtime": flash_by_object(map_file, [f"{k}.o" for k in runtime]),
        "runtime_files": len(runtime),
        "models": {name: flash_by_object(map_file, [f"{name}.o", f"{name}_weights.o"]) for name in MODELS},
        "image": image_flash(elf),
        "arena": result.summary["arena"],
    }


def image_flash(elf: Path) -> int:
    sizes = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
    found = {m[1]: int(m[2]) for m in re.finditer(r"^(\S+)\s+(\d+)\s+\d+$", sizes, re.M)}
    return sum(found.get(s, 0) for s in (".vectors", ".text", ".rodata", ".ARM.exidx", ".data"))


def table(alone: dict[str, dict], group: dict, separate_link: str) -> str:
    kernels_alone = sum(f["kernels"] for f in alone.values())
    library_alone = kernels_alone + sum(f["model"] for f in alone.values())
    library_group = group["runtime"] + sum(group["models"].values())
    arena = group["arena"]
    rows = [
        f"| {name} | {f['kernels'] + f['model']:,} | {f['kernels']:,} ({f['kernel_files']} files) "
        f"| {f['model']:,} | {group['models'][name]:,} | {f['arena']:,} |"
        for name, f in alone.items()
    ]
    return "\n".join(
        [
            "# Three models in one image: shared runtime against three folders",
            "",
            "Written by `python benchmarks/multimodel.py`. MLPerf Tiny kws, vww and ad01 for the",
            f"`{BOARD}` board (arm-none-eabi-gcc, `-O2 -ffunction-sections -fdata-sections`, linked with",
            "`--gc-sections`); flash bytes from the link map (.text, .rodata, .data of the objects).",
            "Alone: each model compiled into its own folder and linked alone through its `NAME.mk` (its",
            "folder's copy of the kernels included); those three folders do not link into one image",
            f"(host gcc, their three fragments in one Makefile: {separate_link}).",
            "Together: `aiotc compile models.toml`, kws and ad01",
            "may run at the same time (`overlap`), vww alone; one image through the folder's `models.mk`.",
            "",
            "| model | library alone | of which kernels | of which the model | the model together | arena alone |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
            "| | three folders | one folder |",
            "|---|---|---|",
            f"| kernels (runtime) flash | {kernels_alone:,} | {group['runtime']:,} ({group['runtime_files']} files) |",
            f"| libraries' flash (kernels + models) | {library_alone:,} | {library_group:,} |",
            f"| arena | {arena['summed_bytes']:,} (summed) | {arena['bytes']:,} (shared, worst overlap set) |",
            "",
            f"The whole group image (test program, startup and libc's memcpy/memset included) takes {group['image']:,} B of flash.",
            f"Sharing the runtime saves {kernels_alone - group['runtime']:,} B of flash; sharing the arena saves "
            f"{arena['summed_bytes'] - arena['bytes']:,} B of RAM.",
            "",
        ]
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="aiotc-multimodel-") as folder:
        tmp = Path(folder)
        alone = separate(tmp / "alone")
        text = table(alone, together(tmp), link_separate(tmp / "alone"))
    TABLE.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
