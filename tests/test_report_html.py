"""report.html: rendered by a real browser (headless Chromium), it must show the model.

With AIOTC_UPDATE_SCREENSHOTS=1 the screenshots are also written to docs/ (committed,
shown in the README and docs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from skimage import io

from aiotc.boards import load_board
from aiotc.cli import cli
from aiotc.driver import compile_model
from aiotc.report_html import render_html
from aiotc.summary import short_name

from .conftest import ROOT, shared_model

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
WINDOW = (1040, 1400)


def chromium() -> str:
    """The browser binary; its absence is a failure (`make toolchain` installs Debian's chromium)."""
    for name in CHROMIUM:
        if path := shutil.which(name):
            return path
    pytest.fail("chromium is not installed: run `make toolchain` (or `apt-get install chromium`)")


def screenshot(html_path, png_path, tmp_path) -> np.ndarray:
    """The page as headless Chromium draws it, as an RGB array."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",  # CI runs as root
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={png_path}",
        html_path.resolve().as_uri(),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and png_path.is_file(), result.stderr[-2000:]
    return io.imread(png_path)[..., :3]


@pytest.mark.parametrize("model", ["mlperf_tiny/vww_96_int8.tflite", "keras/mbv2_w035_144_int8.tflite"])
def test_report_html_renders_the_model(model, tmp_path):
    path = shared_model(model)
    result = compile_model(path, board="stm32f746g-disco", out_dir=tmp_path / "out")
    html_path = result.out_dir / "report.html"
    html = html_path.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained
    for layer in result.report["layers"]:
        assert short_name(layer["name"]) in html
    assert f"layers 0..{result.report['patch']['split_index']}" in html
    assert html.count("<rect") >= len(result.report["layers"]) + len(result.report["memory"]["layout"])

    png = tmp_path / "report.png"
    pixels = screenshot(html_path, png, tmp_path)
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    assert pixels.std() > 20, "the page renders blank"
    ink = (pixels < 200).any(axis=-1).mean()
    assert ink > 0.05, f"only {ink:.1%} of the page is drawn"
    bar_blue = (np.abs(pixels.astype(int) - (0x4E, 0x79, 0xA7)).sum(axis=-1) < 30).sum()
    assert bar_blue > 5000, "the memory charts (inline SVG) are not drawn"
    if os.environ.get("AIOTC_UPDATE_SCREENSHOTS"):
        shutil.copyfile(png, ROOT / "docs" / f"report_{path.stem}.png")


def vww_report(tmp_path) -> dict:
    out = tmp_path / "out"
    compile_model(shared_model("mlperf_tiny/vww_96_int8.tflite"), board="cortex-m4", out_dir=out)
    return json.loads((out / "report.json").read_text())


def test_bench_figures_add_instructions_per_layer(tmp_path):
    report = vww_report(tmp_path)
    bench = {
        "board": "cortex-m4",
        "qemu_machine": "mps2-an386",
        "instructions": 1000 * len(report["layers"]),
        "instructions_per_mac": 0.5,
        "layers": [{"name": layer["name"], "instructions": 1000 + i} for i, layer in enumerate(report["layers"])],
    }
    plain = render_html(report, load_board("cortex-m4"))
    benched = render_html(report, load_board("cortex-m4"), bench)
    assert "instr/MAC" not in plain and "aiotc bench OUT" in plain
    assert "instr/MAC" in benched and f"{1000 + len(report['layers']) - 1:,}" in benched


def test_pareto_front_is_drawn_when_searched(tmp_path):
    report = vww_report(tmp_path)
    assert "Pareto" not in render_html(report)
    points = [
        {"weights_bytes": 250_000, "sqnr_db": 30.0, "chosen": False},
        {"weights_bytes": 180_000, "sqnr_db": 27.5, "chosen": True},
        {"weights_bytes": 130_000, "sqnr_db": 20.0, "chosen": False},
        {"weights_bytes": 200_000, "sqnr_db": 21.0, "chosen": False},  # beaten by 180,000 B at 27.5 dB
    ]
    html = render_html(report | {"pareto": points})
    assert html.count("<circle") == 4 and "(chosen)" in html
    polyline = html.split('<polyline points="')[1].split('"')[0]
    assert len(polyline.split()) == 3  # the dominated point is off the front


@pytest.mark.qemu
def test_bench_of_an_output_folder_updates_its_report_html(tmp_path):
    out = tmp_path / "out"
    compile_model(shared_model("mlperf_tiny/ad01_int8.tflite"), board="cortex-m4", out_dir=out)
    assert "instr/MAC" not in (out / "report.html").read_text()
    result = CliRunner().invoke(cli, ["bench", str(out), "--board", "cortex-m4", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    html = (out / "report.html").read_text()
    assert "instr/MAC" in html and f"{figures['instructions']:,}" in html
