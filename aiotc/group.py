"""Several models in one firmware image: one output folder with one shared runtime.

    OUT/
      aiotc_runtime/   the kernels the models call, each once (the union), the version check,
                       the shared arena (when the models share one), aiotc_runtime.mk, CMakeLists.txt
      NAME/            one folder per model: NAME.h, NAME.c, NAME_weights.c, NAME.mk, CMakeLists.txt,
                       report.json (the model as compiled alone)
      models.mk        includes the runtime's and every model's fragment
      CMakeLists.txt   add_subdirectory() it: targets aiotc_runtime, one per model, aiotc_models
      models.json      the group: models, arena offsets, runtime kernels

Each model goes through the whole pipeline alone (driver.compile_library, so its budgets
and figures are its own), then is emitted again to link against the group's runtime. The
arena: without `overlap` each model keeps its own static arena (any may run at any time);
with it, the models share one, and models that may run at the same time (an overlap list)
get disjoint bytes of it, so it is sized for the worst such set.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .boards import load_board
from .codegen.emit import RUNTIME_FOLDER, GroupLink, emit_runtime, plain_pairs, version_stamps
from .driver import Library, build_library, compile_library, library_name
from .errors import BudgetError, UsageError
from .options import CompileOptions
from .output import write_folder
from .resources import template_env

ARENA_ALIGN = 16  # every model's arena starts 16-byte aligned, as invoke_with_arena asks
RESERVED = (RUNTIME_FOLDER, "aiotc_models")  # target names the group's CMake takes


@dataclass(frozen=True)
class Member:
    """One model of a group: its file and its own compile options (options.name: its C prefix)."""

    path: Path
    options: CompileOptions


@dataclass(frozen=True)
class GroupResult:
    out_dir: Path
    libraries: list[Library]
    summary: dict  # models.json
    backup: Path | None = None


def compile_group(
    members: list[Member],
    overlap: list[list[str]] | None,
    out_dir: str | Path,
    progress=None,
    force: bool = False,
) -> GroupResult:
    """Compile every member, then write OUT with one runtime and one library per model.

    `overlap`: lists of model names that may run at the same time; None keeps a static
    arena per model (the same as listing them all together, without the shared buffer)."""
    names = [library_name(m.options.name or m.path.stem) for m in members]
    check_names(names, overlap)
    libraries = [compile_library(m.path, m.options, name, progress) for m, name in zip(members, names)]
    sizes = {lib.name: lib.planned.plan.size for lib in libraries}
    offsets = arena_offsets(sizes, overlap) if overlap is not None else None
    shared = max((offsets[n] + sizes[n] for n in names), default=0) if offsets is not None else None
    board = load_board(members[0].options.board)
    summed = sum(sizes.values())
    if (shared if shared is not None else summed) > board.sram_bytes:
        raise BudgetError(
            f"the models' arenas need {shared if shared is not None else summed:,} B together, "
            f"board {board.name} has {board.sram_bytes:,} B of SRAM"
            + (
                ""
                if shared is not None
                else ": a manifest with `overlap` lets models that never run together share one"
            )
        )
    files: dict[str, str | bytes] = {}
    kernels: set[str] = set()
    for lib in libraries:
        link = GroupLink(offsets[lib.name] if offsets is not None else None)
        own, _ = build_library(lib.planned, lib.name, board, lib.model_path, link)
        reports = {rel: lib.files[rel] for rel in ("report.json", "report.html", "pareto.svg") if rel in lib.files}
        files |= {f"{lib.name}/{rel}": text for rel, text in (own | reports).items()}
        kernels |= {
            rel.removeprefix(f"{RUNTIME_FOLDER}/").removesuffix(".c")
            for rel in lib.files
            if rel.startswith(f"{RUNTIME_FOLDER}/") and rel.endswith(".c")
        }
    files |= {
        f"{RUNTIME_FOLDER}/{rel}": text for rel, text in emit_runtime(kernels, shared, plain_pairs(board.name)).items()
    }
    env = template_env()
    files["models.mk"] = env.get_template("group/models.mk.j2").render(version=__version__, names=names)
    files["CMakeLists.txt"] = env.get_template("group/CMakeLists.txt.j2").render(version=__version__, names=names)
    summary = {
        "aiotc_version": __version__,
        "board": board.name,
        "runtime": {"folder": RUNTIME_FOLDER, "kernels": sorted(kernels)} | version_stamps(),
        "arena": {
            "shared": offsets is not None,
            "bytes": shared if shared is not None else summed,
            "summed_bytes": summed,
            "overlap": overlap,
        },
        "models": [
            {
                "name": lib.name,
                "folder": lib.name,
                "source": str(lib.model_path),
                "arena_bytes": sizes[lib.name],
                "arena_offset": offsets[lib.name] if offsets is not None else None,
                "kernels": lib.report["kernels"],
            }
            for lib in libraries
        ],
    }
    files["models.json"] = json.dumps(summary, indent=2) + "\n"
    out_dir = Path(out_dir)
    backup = write_folder(out_dir, files, force)
    return GroupResult(out_dir, libraries, summary, backup)


def check_names(names: list[str], overlap: list[list[str]] | None) -> None:
    """C prefixes must differ and not take the runtime's names; overlap lists name models of the group."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UsageError(
                f"two models are named {name!r}: give them different names (--name or the manifest's name)"
            )
        if name in RESERVED:
            raise UsageError(f"{name!r} is the group's own name ({', '.join(RESERVED)}): name the model otherwise")
        seen.add(name)
    for together in overlap or []:
        unknown = [n for n in together if n not in seen]
        if unknown:
            raise UsageError(f"overlap names {', '.join(unknown)}: the models are {', '.join(names)}")


def arena_offsets(sizes: dict[str, int], overlap: list[list[str]]) -> dict[str, int]:
    """Each model's byte offset in the shared arena: models of one overlap list get disjoint
    bytes, the others may share. Largest first, each at the lowest aligned offset clear of
    the models placed so far that may run with it (for disjoint lists: the largest list's sum)."""
    partners: dict[str, set[str]] = {name: set() for name in sizes}
    for together in overlap:
        for name in together:
            partners[name] |= set(together) - {name}
    offsets: dict[str, int] = {}
    for name in sorted(sizes, key=lambda n: (-sizes[n], n)):
        at = 0
        for start, end in sorted((offsets[p], offsets[p] + sizes[p]) for p in partners[name] if p in offsets):
            if at + sizes[name] <= start:
                break
            at = max(at, -(-end // ARENA_ALIGN) * ARENA_ALIGN)
        offsets[name] = at
    return offsets
