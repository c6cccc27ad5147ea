"""Memory regions end to end: an arena too large for any one memory of the board runs
bit-exact spread over two, on the host and in QEMU, where the linked addresses show
each region's array in its own memory (docs/memory.md)."""

from __future__ import annotations

import json

import pytest

from .conftest import aiotc, assert_bit_exact, shared_model, verify_folder

# vww_96_int8's arena is 15,456 B in one memory; 8 KB of block RAM and 14 KB of SSRAM each hold less.
VWW_REGIONS = "bram:8K,sram:14K"


@pytest.fixture(scope="module")
def vww_two_regions(tmp_path_factory):
    out = tmp_path_factory.mktemp("regions") / "vww"
    model = shared_model("mlperf_tiny/vww_96_int8.tflite")
    result = aiotc("compile", model, "-b", "mps2-an386", "--regions", VWW_REGIONS, "-o", out, "-q")
    assert result.returncode == 0, result.stderr
    return out


def test_an_arena_larger_than_each_region_is_spread_over_two(vww_two_regions):
    report = json.loads((vww_two_regions / "report.json").read_text())
    bram, sram = report["regions"]
    assert (bram["name"], bram["capacity"], sram["name"], sram["capacity"]) == ("bram", 8192, "sram", 14336)
    assert report["arena_lower_bound"] > max(bram["capacity"], sram["capacity"])
    assert 0 < bram["bytes"] <= 8192 and 0 < sram["bytes"] <= 14336
    assert report["arena_bytes"] == bram["bytes"] + sram["bytes"] and sram["start"] == bram["bytes"]
    assert {b["region"] for b in report["memory"]["layout"]} == {"bram", "sram"}
    for b in report["memory"]["layout"]:
        region = bram if b["region"] == "bram" else sram
        assert b["offset"] == region["start"] + b["region_offset"]
        assert b["region_offset"] + b["bytes"] <= region["bytes"]
    source = (vww_two_regions / "vww_96_int8.c").read_text()
    assert f'uint8_t vww_96_int8_arena_bram[{bram["bytes"]}] AIOTC_ALIGNED(16) AIOTC_SECTION(".aiotc_bram");' in source
    assert "arena_sram + " in source and "arena_bram + " in source
    fragment = (vww_two_regions / "aiotc_bram.ld").read_text()
    assert ".aiotc_bram (NOLOAD)" in fragment and "} > BRAM" in fragment and "ORIGIN = 0x01000000" in fragment


def test_two_regions_are_bit_exact_on_the_host(vww_two_regions):
    assert_bit_exact(verify_folder(vww_two_regions, samples=3))


def test_a_board_without_memories_keeps_the_one_arena(tmp_path):
    out = tmp_path / "kws"
    assert aiotc("compile", shared_model("mlperf_tiny/kws_ref_model.tflite"), "-o", out, "-q").returncode == 0
    report = json.loads((out / "report.json").read_text())
    assert "regions" not in report and all("region" not in b for b in report["memory"]["layout"])
    assert not list(out.glob("aiotc_*.ld"))
    assert "static uint8_t kws_ref_model_arena[" in (out / "kws_ref_model.c").read_text()


def test_regions_too_small_for_a_buffer_say_which(tmp_path):
    result = aiotc(
        "compile", shared_model("mlperf_tiny/vww_96_int8.tflite"), "-b", "mps2-an386", "--regions", "bram:4K,sram:4K"
    )
    assert result.returncode == 1 and "does not fit the memory regions (bram 4,096 B, sram 4,096 B)" in result.stderr
    assert "Traceback" not in result.stderr
    result = aiotc("compile", shared_model("mlperf_tiny/vww_96_int8.tflite"), "-b", "cortex-m4", "--regions", "dtcm")
    assert result.returncode == 2 and "board cortex-m4 has no memory 'dtcm'" in result.stderr


@pytest.mark.qemu
def test_two_regions_are_bit_exact_in_qemu_each_in_its_memory(vww_two_regions):
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    assert_bit_exact(verify_folder(vww_two_regions, "mps2-an386", samples=2))
    linked = {r["name"]: r for r in QemuModel.build(vww_two_regions, load_board("mps2-an386")).bench()["regions"]}
    memories = {"bram": range(0x0100_0000, 0x0100_4000), "sram": range(0x2000_0000, 0x2040_0000)}  # block RAM, SSRAM2/3
    report = json.loads((vww_two_regions / "report.json").read_text())
    assert [linked[r["name"]]["bytes"] for r in report["regions"]] == [r["bytes"] for r in report["regions"]]
    for b in report["memory"]["layout"]:  # every buffer's address, both ends inside its memory
        address = linked[b["region"]]["arena_address"] + b["region_offset"]
        assert address in memories[b["region"]] and address + b["bytes"] - 1 in memories[b["region"]]


@pytest.mark.qemu
def test_the_cortex_m55_puts_the_hot_buffers_in_its_dtcm(tmp_path):
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    out = tmp_path / "kws"
    model = shared_model("mlperf_tiny/kws_ref_model.tflite")
    assert aiotc("compile", model, "-b", "mps3-an547", "--regions", "dtcm:4K,sram", "-o", out, "-q").returncode == 0
    assert_bit_exact(verify_folder(out, "mps3-an547", samples=2))
    linked = {r["name"]: r["address"] for r in QemuModel.build(out, load_board("mps3-an547")).bench()["regions"]}
    assert 0x3000_0000 <= linked["dtcm"] < 0x3008_0000 and 0x3100_0000 <= linked["sram"] < 0x3140_0000


def test_a_stream_over_two_regions_matches_the_windowed_model(tmp_path):
    """--stream's frame function takes every region's array; the window's maps still slide right."""
    import numpy as np

    from aiotc.driver import compile_model
    from aiotc.toolchain.host import HostModel

    from .stream_models import conv1d_model
    from .test_stream import frames_and_expected

    model = conv1d_model(tmp_path / "conv1d.tflite")
    frames, expected = frames_and_expected(model, tmp_path)
    result = compile_model(
        model, board="mps2-an386", regions=(("bram", 256), ("sram", None)), stream=True, out_dir=tmp_path / "out"
    )
    assert [r["bytes"] > 0 for r in result.report["regions"]] == [True, True]
    assert (
        "_frame(uint8_t *const arena_bram, uint8_t *const arena_sram, const void *frame)"
        in (result.out_dir / "conv1d.c").read_text()
    )
    stream = HostModel.build(result.out_dir)
    for step, frame in enumerate(frames):
        np.testing.assert_array_equal(stream.invoke([frame])[0], expected[step], err_msg=f"frame {step}")


@pytest.mark.qemu
def test_copied_weights_fill_the_fast_region_and_stay_bit_exact(tmp_path):
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    out = tmp_path / "kws"
    model = shared_model("mlperf_tiny/kws_ref_model.tflite")
    assert aiotc("compile", model, "-b", "mps2-an386", "--copy-weights", "-o", out, "-q").returncode == 0
    bram = json.loads((out / "report.json").read_text())["regions"][0]
    assert bram["name"] == "bram" and bram["weights_bytes"] > 0 and bram["weights"]
    source = (out / "kws_ref_model.c").read_text()
    symbol = bram["weights"][0]
    assert f"memcpy({symbol}, {symbol}_flash, sizeof {symbol});" in source
    assert f"{symbol}_flash[" in (out / "kws_ref_model_weights.c").read_text()
    assert_bit_exact(verify_folder(out, samples=2))
    assert_bit_exact(verify_folder(out, "mps2-an386", samples=2))
    linked = QemuModel.build(out, load_board("mps2-an386")).bench()["regions"]
    assert [r["name"] for r in linked] == ["bram"] and linked[0]["address"] == 0x0100_0000
    assert bram["bytes"] + bram["weights_bytes"] <= linked[0]["bytes"] <= 16384
