"""Cortex-M builds run in QEMU: the same outputs as the host build and the oracle,
deterministic figures, and a link that refuses a model the board cannot hold."""

from __future__ import annotations

import dataclasses
import json
import shutil
import uuid

import numpy as np
import pytest

from aiotc.boards import load_board
from aiotc.driver import compile_model
from aiotc.errors import BudgetError
from aiotc.samples import load_samples, random_samples
from aiotc.toolchain.arm import build_image
from aiotc.toolchain.host import HostModel
from aiotc.toolchain.qemu import QemuModel
from aiotc.verification import verify

from .conftest import aiotc, shared_model

pytestmark = pytest.mark.qemu


@pytest.fixture(scope="module")
def kws(tmp_path_factory):
    """kws_ref_model compiled for each board once: {board: (out_dir, QemuModel)}."""
    model = shared_model("mlperf_tiny/kws_ref_model.tflite")
    built = {}
    for board in ("cortex-m4", "cortex-m55"):
        out = compile_model(model, board=board, out_dir=tmp_path_factory.mktemp(board) / "kws").out_dir
        built[board] = (out, QemuModel.build(out, load_board(board)))
    return built


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_kws_in_qemu_equals_host_and_oracle(kws, board):
    out, qemu = kws[board]
    samples = random_samples(qemu.inputs, 5, seed=4)
    host = HostModel.build(out)
    for got, want in zip(qemu.invoke_batch(samples), (host.invoke(s) for s in samples)):
        assert all(np.array_equal(g, w) for g, w in zip(got, want))
    bars = {}

    def progress(description, total):
        bars[description] = [total, 0]
        return lambda: bars[description].__setitem__(1, bars[description][1] + 1)

    result = verify(out, board, samples[:3], runner=qemu, progress=progress)
    assert result.samples == 3 and result.mismatches == 0 and result.max_abs_diff == 0, result
    # One tick per sample as its outputs appear in QEMU's output file, then one per comparison.
    assert bars == {f"running 3 samples on {board}": [3, 3], "comparing 3 samples with the oracle": [3, 3]}


def test_bench_is_deterministic_and_complete(kws):
    out, qemu = kws["cortex-m4"]
    first, second = qemu.bench(), qemu.bench()
    assert first == second
    assert first["board"] == "cortex-m4" and first["qemu_machine"] == "mps2-an386"
    layers = first["layers"]
    # An aliased reshape runs no code: below the 40-instruction resolution it may read 0.
    assert len(layers) == 13 and all(layer["instructions"] > 0 for layer in layers if layer["op"] != "reshape")
    # The layers add up to the invoke, give or take the hook calls and the input/output copies.
    assert abs(first["instructions"] - sum(layer["instructions"] for layer in layers)) < 0.01 * first["instructions"]
    assert first["ram_bytes"] >= first["ram_model_bytes"] >= first["arena_bytes"] > 0
    assert first["flash_bytes"] > first["flash_model_bytes"] > 0
    assert 0 < first["stack_bytes"] < 4096


def test_link_refuses_a_model_the_board_cannot_hold(tmp_path):
    """vww_96_int8 is compiled for a roomy core, then linked for tiny-64k, whose flash it overflows."""
    out = compile_model(
        shared_model("mlperf_tiny/vww_96_int8.tflite"), board="cortex-m4", out_dir=tmp_path / "vww"
    ).out_dir
    tiny = load_board("tiny-64k")
    with pytest.raises(
        BudgetError, match=r"board tiny-64k .*region (FLASH|RAM) \([\d,]+ B\) overflowed by [\d,]+ bytes"
    ):
        build_image(out, tiny)
    too_little_flash = dataclasses.replace(tiny, flash_bytes=200 * 1024, sram_bytes=1024 * 1024)
    with pytest.raises(BudgetError, match=r"region FLASH \(204,800 B\) overflowed by [\d,]+ bytes"):
        build_image(out, too_little_flash)
    too_little_ram = dataclasses.replace(tiny, flash_bytes=1024 * 1024, sram_bytes=32 * 1024)
    with pytest.raises(BudgetError, match=r"region RAM \(32,768 B\) overflowed by [\d,]+ bytes"):
        build_image(out, too_little_ram)


def test_bench_command_prints_the_same_json_twice(kws):
    """`aiotc bench --json` on an output folder: the keys docs/architecture.md lists, identical on a second run."""
    out, _ = kws["cortex-m4"]
    runs = [aiotc("bench", out, "--board", "cortex-m4", "--json") for _ in range(2)]
    assert all(run.returncode == 0 for run in runs), runs[0].stderr
    first, second = (json.loads(run.stdout) for run in runs)
    assert first == second
    assert {
        "board",
        "qemu_machine",
        "instructions",
        "flash_bytes",
        "ram_bytes",
        "arena_bytes",
        "stack_bytes",
        "layers",
    } <= first.keys()
    assert first["instructions_per_mac"] == round(first["instructions"] / first["macs"], 3)


def test_bench_takes_a_folder_relative_to_where_it_runs(kws, tmp_path):
    """The compiler runs in its build folder: OUT given relative to the user's folder must
    still be found (its C made unique here, so that the build cache cannot answer)."""
    out, _ = kws["cortex-m4"]
    shutil.copytree(out, tmp_path / "kws")
    name = json.loads((out / "report.json").read_text())["name"]
    with (tmp_path / "kws" / f"{name}.c").open("a") as graph:
        graph.write(f"/* {uuid.uuid4()} */\n")
    bench = aiotc("bench", "kws", "--board", "cortex-m4", "--json", cwd=tmp_path)
    assert bench.returncode == 0, bench.stderr
    assert json.loads(bench.stdout)["instructions"] > 0


def test_bench_refuses_the_host_board(kws):
    out, _ = kws["cortex-m4"]
    run = aiotc("bench", out, "--board", "host")
    assert run.returncode == 2 and run.stderr.count("\n") == 1 and "choose a Cortex-M board" in run.stderr


def test_a_float_model_links_libm_and_matches_in_qemu(tmp_path):
    """Float softmax calls expf: the image links libm, and the float outputs stay within tolerance."""
    out = compile_model(
        shared_model("keras/fire_64_float.tflite"), board="cortex-m4", out_dir=tmp_path / "fire"
    ).out_dir
    qemu = QemuModel.build(out, load_board("cortex-m4"))
    result = verify(out, "cortex-m4", random_samples(qemu.inputs, 2, seed=3), runner=qemu)
    assert result.samples == 2 and result.mismatches == 0, result


@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_str_ww_on_real_features_in_qemu(tmp_path, board):
    """A second model on both CI cores, on its real calibration features: bit-exact with tflite-micro."""
    model = shared_model("mlperf_tiny/str_ww_ref_model.tflite")
    out = compile_model(model, board=board, out_dir=tmp_path / "str_ww").out_dir
    qemu = QemuModel.build(out, load_board(board))
    samples = load_samples(model.parent / "calibration_samples.npz", qemu.inputs)[:8]
    result = verify(out, board, samples, runner=qemu)
    assert result.samples == 8 and result.mismatches == 0 and result.max_abs_diff == 0, result
