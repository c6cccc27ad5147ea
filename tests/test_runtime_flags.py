"""The kernels build at whatever flags a firmware uses: runtime_c by hand at any optimization
level (aiotc_nn_gemm.h's switch), and the generated CMake and Make files compile the kernels at
-O2 -fomit-frame-pointer after the build type's flags, which their inline asm needs (registers)."""

from __future__ import annotations

import json
import shlex
import subprocess

import pytest

from aiotc.boards import CPU_FLAGS
from aiotc.driver import compile_model

from .conftest import ROOT, shared_model
from .test_library import run, tool

RUNTIME = ROOT / "runtime_c"
KERNEL_FLAGS = ["-O2", "-fomit-frame-pointer"]


@pytest.mark.parametrize("cpu", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize("flags", ["-O0", "-O1", "-Og", "-Os", "-O2", "-O2 -fno-omit-frame-pointer"])
def test_every_kernel_compiles_by_hand_at_any_optimization(cpu, flags, tmp_path):
    sources = sorted(str(p) for p in (RUNTIME / "src").glob("*.c"))
    command = [tool("arm-none-eabi-gcc"), *CPU_FLAGS[cpu], *flags.split(), "-std=c99", "-Wall", "-Wextra"]
    command += ["-Werror", f"-I{RUNTIME / 'include'}", "-c", *sources]
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list(tmp_path.glob("*.o"))) == len(sources)


@pytest.fixture(scope="module")
def kws_m4(tmp_path_factory):
    """KWS for the M4: its depthwise kernel's asm is the one that needs all 14 registers."""
    model = shared_model("mlperf_tiny/kws_ref_model.tflite")
    return compile_model(model, board="cortex-m4", out_dir=tmp_path_factory.mktemp("kws") / "out")


def last_optimization(command: list[str]) -> list[str]:
    """The -O and frame pointer flags of a compile command, the last of each kind: what gcc applies."""
    level = ["-O0", *(a for a in command if a.startswith("-O"))][-1]  # CMake's Debug has none: gcc's -O0
    frame = [a for a in command if a.endswith("omit-frame-pointer")]
    return [level, *frame[-1:]]


@pytest.mark.parametrize("build_type, user_level", [("Debug", "-O0"), ("MinSizeRel", "-Os")])
def test_cmake_build_types_compile_the_kernels_at_o2(kws_m4, build_type, user_level, tmp_path):
    build = tmp_path / "build"
    cpu = " ".join(CPU_FLAGS["cortex-m4"])
    run(
        tool("cmake"),
        "-S",
        kws_m4.out_dir,
        "-B",
        build,
        "-DCMAKE_SYSTEM_NAME=Generic",
        f"-DCMAKE_C_COMPILER={tool('arm-none-eabi-gcc')}",
        "-DCMAKE_TRY_COMPILE_TARGET_TYPE=STATIC_LIBRARY",
        f"-DCMAKE_C_FLAGS={cpu} -fno-omit-frame-pointer",
        f"-DCMAKE_BUILD_TYPE={build_type}",
        "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
    )
    run(tool("cmake"), "--build", build)
    assert (build / f"lib{kws_m4.name}.a").is_file()
    commands = {e["file"]: shlex.split(e["command"]) for e in json.loads((build / "compile_commands.json").read_text())}
    kernels = [f for f in commands if "/aiotc_runtime/" in f]
    assert any(f.endswith("aiotc_depthwise_conv_pairs_s8.c") for f in kernels)
    for f in kernels:
        assert last_optimization(commands[f]) == KERNEL_FLAGS, f
    model = next(f for f in commands if f.endswith(f"/{kws_m4.name}.c"))
    assert last_optimization(commands[model]) == [user_level, "-fno-omit-frame-pointer"]  # the model's C: yours


def test_makefile_compiles_the_kernels_at_o2_after_the_users_flags(kws_m4):
    flags = f"{' '.join(CPU_FLAGS['cortex-m4'])} -O0"
    dry = run(tool("make"), "-n", "-B", "-C", kws_m4.out_dir, f"CC={tool('arm-none-eabi-gcc')}", f"CFLAGS={flags}")
    compiles = [shlex.split(line) for line in dry.splitlines() if " -c " in line]
    kernels = [c for c in compiles if any("aiotc_runtime/" in a for a in c)]
    assert kernels and len(kernels) < len(compiles)
    for command in compiles:
        expected = KERNEL_FLAGS if command in kernels else ["-O0"]
        assert last_optimization(command) == expected, command
