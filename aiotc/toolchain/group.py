"""A group folder (aiotc/group.py) as one Cortex-M image in QEMU: every model, one runtime.

The image is built as a firmware builds it, through the folder's own Make fragment
(models.mk; a single model's folder, NAME.mk, is a group of one) or its CMakeLists.txt, with arm.py's startup and linker script for the board
and a test program that runs every model on each sample (templates/target/group_main.c.j2).
`GroupImage.invoke_batch` gives each model's outputs, to compare with each model's oracle.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..boards import Board
from ..errors import ToolchainError
from ..resources import template_env
from .arm import FLASH_SECTIONS, GCC, _map_sizes, render_target, tool
from .cache import build_key, build_once
from .host import IOSpec, buffer_bytes, pack_inputs, read_report, unpack_outputs
from .qemu import MODE_RUN, QEMU, run_image

ALIGN = 16  # each model's inputs (outputs) start at a multiple of 16 in the test program's buffers
IMAGE_FLAGS = ("-O2", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-Werror")
LINK_FLAGS = ("-nostartfiles", "-Wl,--gc-sections", "-T", "link.ld", "-Wl,-Map=image.map")

# A firmware's Makefile around the folder, as docs/integrating.md shows (objects in obj/ for the map).
MAKEFILE = """include {fragment}
SOURCES := aiotc_main.c aiotc_startup.c $({prefix}_SOURCES)
OBJECTS := $(patsubst %.c,obj/%.o,$(notdir $(SOURCES)))
vpath %.c $(sort $(dir $(SOURCES)))

image.elf: $(OBJECTS)
\t$(CC) $(CFLAGS) {link} $^ -lm -o $@

obj/%.o: %.c | obj
\t$(CC) -std=c99 $(CFLAGS) $({prefix}_INCLUDES) -I. -c $< -o $@

obj:
\tmkdir -p $@
"""

# A firmware's CMakeLists.txt around the group, as docs/integrating.md shows.
CMAKELISTS = """cmake_minimum_required(VERSION 3.13)
project(aiotc_image C)
add_subdirectory({models} models)
add_executable(image.elf aiotc_main.c aiotc_startup.c)
target_include_directories(image.elf PRIVATE ${{CMAKE_CURRENT_SOURCE_DIR}})
target_link_libraries(image.elf PRIVATE aiotc_models)
target_link_options(image.elf PRIVATE {link})
"""


@dataclass(frozen=True)
class Member:
    """One model of the image: its name and where its inputs and outputs sit in the test program's buffers."""

    name: str
    folder: Path
    inputs: list[IOSpec]
    outputs: list[IOSpec]
    input_offset: int
    output_offset: int


def model_folders(out_dir: Path) -> list[Path]:
    """The model folders of a group folder in models.json's order; a single model's folder is its one model."""
    group = Path(out_dir) / "models.json"
    if not group.is_file():
        return [Path(out_dir)]
    return [Path(out_dir) / model["folder"] for model in json.loads(group.read_text())["models"]]


def members(out_dir: Path) -> list[Member]:
    """The folder's models, their buffers one after the other."""
    found, at_in, at_out = [], 0, 0
    for folder in model_folders(out_dir):
        report = read_report(folder)
        inputs = [IOSpec.from_report(e) for e in report["inputs"]]
        outputs = [IOSpec.from_report(e) for e in report["outputs"]]
        found.append(Member(report["name"], folder, inputs, outputs, at_in, at_out))
        at_in = -(-(at_in + buffer_bytes(inputs)) // ALIGN) * ALIGN
        at_out = -(-(at_out + buffer_bytes(outputs)) // ALIGN) * ALIGN
    return found


def harness(out_dir: Path, board: Board) -> dict[str, str]:
    """The test image's own files: startup, linker script and target header for the board, and the test program."""
    models = members(out_dir)
    target = render_target({"name": models[0].name, "layers": []}, board)  # type: ignore[typeddict-item]
    main = template_env("target").get_template("group_main.c.j2")
    target["aiotc_main.c"] = main.render(
        version=__version__,
        machine=board.qemu_machine,
        models=models,
        input_size=max(buffer_bytes(shifted(m.inputs, m.input_offset)) for m in models),
        output_size=max(buffer_bytes(shifted(m.outputs, m.output_offset)) for m in models),
    )
    return target


def shifted(specs: list[IOSpec], offset: int) -> list[IOSpec]:
    return [IOSpec(s.name, s.shape, s.dtype, s.offset + offset, s.nbytes, s.scale, s.zero_point) for s in specs]


def build_with_make(out_dir: Path, board: Board, build: Path) -> Path:
    """The image linked by a firmware Makefile that includes OUT/models.mk (a single model's
    folder: OUT/NAME.mk); its ELF, with image.map beside it. make runs in `build`: OUT's
    path is made absolute."""
    out_dir = Path(out_dir).resolve()
    if (out_dir / "models.mk").is_file():
        fragment, prefix = out_dir / "models.mk", "AIOTC_MODELS"
    else:
        prefix = read_report(out_dir)["name"]
        fragment = out_dir / f"{prefix}.mk"
    makefile = MAKEFILE.format(fragment=fragment, prefix=prefix, link=" ".join(LINK_FLAGS))
    _write_harness(out_dir, board, build, "Makefile", makefile)
    cflags = " ".join((*board.cflags, *IMAGE_FLAGS))
    _run([tool("make", "make"), "-C", str(build), f"CC={tool(GCC, 'gcc-arm-none-eabi')}", f"CFLAGS={cflags}"])
    return build / "image.elf"


def build_with_cmake(out_dir: Path, board: Board, build: Path) -> Path:
    """The image linked by a firmware CMakeLists.txt that add_subdirectory()s OUT (made absolute); its ELF."""
    out_dir = Path(out_dir).resolve()
    link = " ".join(f"${{CMAKE_CURRENT_SOURCE_DIR}}/{f}" if f == "link.ld" else f for f in LINK_FLAGS)
    _write_harness(out_dir, board, build, "CMakeLists.txt", CMAKELISTS.format(models=out_dir, link=link))
    cmake = tool("cmake", "cmake")
    _run(
        [
            cmake, "-S", str(build), "-B", str(build / "build"), "-DCMAKE_SYSTEM_NAME=Generic",
            f"-DCMAKE_C_COMPILER={tool(GCC, 'gcc-arm-none-eabi')}", "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
            f"-DCMAKE_C_FLAGS={' '.join((*board.cflags, *IMAGE_FLAGS))}",
        ]
    )  # fmt: skip
    _run([cmake, "--build", str(build / "build")])
    return build / "build" / "image.elf"


def _write_harness(out_dir: Path, board: Board, build: Path, build_file: str, text: str) -> None:
    build.mkdir(parents=True, exist_ok=True)
    for name, content in harness(out_dir, board).items():
        (build / name).write_text(content)
    (build / build_file).write_text(text)


def _run(command: list[str]) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"{' '.join(command[:2])} failed:\n{(result.stdout + result.stderr).strip()[-4000:]}")


def flash_by_object(map_file: Path, objects: list[str]) -> int:
    """Flash bytes the named objects take in a linked image, from its ld map."""
    sizes = _map_sizes(map_file.read_text(), set(objects))
    return sum(sizes.get(section, 0) for section in FLASH_SECTIONS)


class GroupImage:
    """The linked group image in QEMU: every model invoked on its own input of each sample."""

    def __init__(self, elf: Path, out_dir: Path, board: Board):
        tool(QEMU, "qemu-system-arm")
        self.elf, self.board = elf, board
        self.models = members(out_dir)
        self.inputs = [s for m in self.models for s in shifted(m.inputs, m.input_offset)]
        self.outputs = [s for m in self.models for s in shifted(m.outputs, m.output_offset)]
        self.input_size = buffer_bytes(self.inputs)
        self.output_size = buffer_bytes(self.outputs)

    @classmethod
    def build(cls, out_dir: Path, board: Board) -> GroupImage:
        """The image of OUT through its models.mk, built once per content (cache.py)."""
        files = {name: text.encode() for name, text in harness(out_dir, board).items()}
        key = build_key([GCC, "group", board.name, *board.cflags, *IMAGE_FLAGS], out_dir, files)

        def build(staging: Path) -> None:
            build_with_make(out_dir, board, staging)

        return cls(build_once(key, "image.elf", build) / "image.elf", out_dir, board)

    def invoke_batch(self, samples: list[dict[str, list[np.ndarray]]]) -> list[dict[str, list[np.ndarray]]]:
        """Each sample: model name -> its input arrays; the same for the outputs."""
        packed = [pack_inputs(self.inputs, [a for m in self.models for a in sample[m.name]]) for sample in samples]
        data = run_image(
            self.elf, self.board, "the group image", MODE_RUN, packed, self.output_size, len(samples) * self.output_size
        )
        results = []
        for buffer in np.frombuffer(data, dtype=np.uint8).reshape(len(samples), self.output_size):
            arrays = iter(unpack_outputs(self.outputs, buffer))
            results.append({m.name: [next(arrays) for _ in m.outputs] for m in self.models})
        return results


class ModelInImage:
    """One model of a group image, invocable as verification.verify takes it: each sample runs
    every model of the image, the others on zero inputs."""

    def __init__(self, image: GroupImage, member: Member):
        self.image, self.name = image, member.name
        self.inputs, self.outputs = member.inputs, member.outputs

    def invoke_batch(
        self, samples: list[list[np.ndarray]], tick: Callable[[], None] | None = None
    ) -> list[list[np.ndarray]]:
        zeros = {m.name: [np.zeros(s.shape, dtype=s.np_dtype) for s in m.inputs] for m in self.image.models}
        results = self.image.invoke_batch([zeros | {self.name: sample} for sample in samples])
        if tick is not None:
            for _ in results:
                tick()
        return [result[self.name] for result in results]
