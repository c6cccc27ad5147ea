"""The output folder is a drop-in library: its Makefile, its Make fragment and its CMakeLists.txt
build it with the host gcc and with arm-none-eabi-gcc, and example_main.c prints what the oracle says."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from aiotc.demo import stripes_model
from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.oracle import run_oracle

from .conftest import shared_model

STRICT = "-O2 -Wall -Wextra -Werror -pedantic"
CORTEX_M4 = "-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard"


def run(*command, cwd=None) -> str:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, cwd=cwd)
    assert result.returncode == 0, f"{' '.join(map(str, command))}:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: run `make toolchain`")
    return path


@pytest.fixture(scope="module", params=["stripes", "mlperf_tiny/ad01_fp32.tflite"])
def library(request, tmp_path_factory):
    """(a compiled output folder, the model): int8 from aiotc's demo, and a float model."""
    folder = tmp_path_factory.mktemp("library")
    if request.param == "stripes":
        model = folder / "stripes.tflite"
        model.write_bytes(write_tflite(stripes_model()))
    else:
        model = shared_model(request.param)
    return compile_model(model, board="host", out_dir=folder / "out"), model


def example_outputs(stdout: str) -> list[np.ndarray]:
    return [
        np.array(line.split(":")[1].split(), dtype=np.float64)
        for line in stdout.splitlines()
        if line.startswith("output ")
    ]


def assert_example_matches_oracle(stdout: str, result, model) -> None:
    zeros = [np.zeros(e["shape"], dtype=e["dtype"]) for e in result.report["inputs"]]
    expected = run_oracle(model, zeros).outputs
    got = example_outputs(stdout)
    assert len(got) == len(expected)
    for g, want in zip(got, expected):
        np.testing.assert_allclose(
            g, want.ravel().astype(np.float64), rtol=1e-6, atol=1e-6 * max(1.0, float(np.abs(want).max()))
        )


def copy_of(out, tmp_path):
    target = tmp_path / out.name
    shutil.copytree(out, target)
    return target


def test_makefile_builds_and_runs_the_example_on_the_host(library, tmp_path):
    result, model = library
    out = copy_of(result.out_dir, tmp_path)
    run(tool("make"), "-C", out, f"CC={tool('gcc')}", f"CFLAGS={STRICT}", "example")
    assert (out / f"lib{result.name}.a").is_file()
    assert_example_matches_oracle(run(out / f"{result.name}_example"), result, model)


def test_cmake_add_subdirectory_builds_and_runs_the_example_on_the_host(library, tmp_path):
    result, model = library
    out = copy_of(result.out_dir, tmp_path)
    build = tmp_path / "build"
    run(tool("cmake"), "-S", out, "-B", build, "-DCMAKE_C_COMPILER=gcc", f"-DCMAKE_C_FLAGS={STRICT}")
    run(tool("cmake"), "--build", build)
    assert_example_matches_oracle(run(build / f"{result.name}_example"), result, model)


def test_makefile_and_cmake_build_for_cortex_m(library, tmp_path):
    result, _ = library
    gcc = tool("arm-none-eabi-gcc")
    out = copy_of(result.out_dir, tmp_path)
    run(tool("make"), "-C", out, f"CC={gcc}", f"AR={tool('arm-none-eabi-ar')}", f"CFLAGS={STRICT} {CORTEX_M4}")
    objects = run(tool("arm-none-eabi-objdump"), "-f", out / f"lib{result.name}.a")
    assert "elf32-littlearm" in objects
    build = tmp_path / "build"
    cross = [
        "-DCMAKE_SYSTEM_NAME=Generic",
        f"-DCMAKE_C_COMPILER={gcc}",
        "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
        f"-DCMAKE_C_FLAGS={STRICT} {CORTEX_M4}",
    ]
    run(tool("cmake"), "-S", result.out_dir, "-B", build, *cross)
    run(tool("cmake"), "--build", build)
    assert "elf32-littlearm" in run(tool("arm-none-eabi-objdump"), "-f", build / f"lib{result.name}.a")
    assert not (build / f"{result.name}_example").exists()  # the example is for the host


def test_make_fragment_drops_into_a_firmware_makefile(library, tmp_path):
    """A firmware Makefile of its own includes NAME.mk and builds its main with the model."""
    result, model = library
    name = result.name
    firmware = tmp_path / "firmware"
    firmware.mkdir()
    (firmware / "main.c").write_text((result.out_dir / "example_main.c").read_text())
    (firmware / "Makefile").write_text(
        f"include {result.out_dir}/{name}.mk\n"
        f"SOURCES := main.c $({name}_SOURCES)\n"
        "app: $(SOURCES)\n"
        f"\t$(CC) -std=c99 {STRICT} $({name}_INCLUDES) -o $@ $^ -lm\n"
        "clean:\n\trm -f app\n"
    )
    run(tool("make"), "-C", firmware, f"CC={tool('gcc')}")
    assert_example_matches_oracle(run(firmware / "app"), result, model)
