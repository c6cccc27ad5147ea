"""--stream on Cortex-M4: instructions per frame against the windowed model per window.

    python benchmarks/stream.py [--board cortex-m4]

Each model is compiled twice for the board, windowed and with --stream, and measured in
QEMU (`aiotc bench`: instructions of one invoke after a warm-up, so the stream figure
is one frame in its steady state); the memory is the arena, the state kept across
calls (--stream's feature-map rows) and the flash. Models: the Keras Conv1D, 2-D
KWS CNN and TCN of tests/stream_models.py, and MLPerf Tiny's streaming wake-word DS-CNN.
Writes benchmarks/stream.md. Not a test: the figures are measurements.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"
# benchmarks/profile.py would shadow the standard library's (TensorFlow imports cProfile)
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks")]

from aiotc.boards import load_board  # noqa: E402
from aiotc.driver import compile_model  # noqa: E402
from aiotc.toolchain.qemu import QemuModel  # noqa: E402
from tests.stream_models import conv1d_model, kws_cnn_model, tcn_model  # noqa: E402

COLUMNS = (
    "model",
    "window (frames)",
    "windowed: instructions per window",
    "--stream: instructions per frame",
    "ratio",
    "windowed: arena B",
    "--stream: arena B",
    "--stream: state B",
    "windowed: flash B",
    "--stream: flash B",
)


def measure(model: Path, board: str, folder: Path, stream: bool) -> dict:
    result = compile_model(model, board=board, out_dir=folder, stream=stream)
    figures = QemuModel.build(result.out_dir, load_board(board)).bench()
    return figures | {"state_bytes": result.report["state_bytes"], "window": result.report.get("stream", {})}


def row(name: str, windowed: dict, stream: dict) -> list[str]:
    return [
        name,
        str(stream["window"]["window"]),
        f"{windowed['instructions']:,}",
        f"{stream['instructions']:,}",
        f"{windowed['instructions'] / stream['instructions']:.1f}x",
        f"{windowed['arena_bytes']:,}",
        f"{stream['arena_bytes']:,}",
        f"{stream['state_bytes']:,}",
        f"{windowed['flash_bytes']:,}",
        f"{stream['flash_bytes']:,}",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", default="cortex-m4")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="aiotc-stream-bench-") as tmp:
        folder = Path(tmp)
        models = {
            "Keras Conv1D, 32 x 8 (VALID + SAME)": conv1d_model(folder / "conv1d.tflite"),
            "Keras 2-D KWS CNN, 20 x 10 x 1 (SAME)": kws_cnn_model(folder / "kws_cnn.tflite"),
            "Keras TCN, 24 x 6 (causal, dilated, residual)": tcn_model(folder / "tcn.tflite"),
            "str_ww_ref_model (MLPerf Tiny), 30 x 1 x 40": MODELS / "mlperf_tiny" / "str_ww_ref_model.tflite",
        }
        for index, (name, model) in enumerate(models.items()):
            windowed = measure(model, args.board, folder / f"w{index}", stream=False)
            stream = measure(model, args.board, folder / f"s{index}", stream=True)
            rows.append(row(name, windowed, stream))
            print(" | ".join(rows[-1]), flush=True)
    lines = [
        "# --stream: instructions per frame against the windowed model",
        "",
        f"Measured by `python benchmarks/stream.py` on {args.board} in QEMU (`aiotc bench`: one invoke after a",
        "warm-up; the --stream invoke is one frame in its steady state: the window shifted by one",
        "frame, the changed rows of each streamed layer, the head on the kept maps). State: the",
        "feature-map rows --stream keeps across calls, outside the arena (NAME_STATE_SIZE).",
        "Every --stream output is bit-exact with the windowed model on the same window (tests/test_stream.py).",
        "Both builds use the default options: the planner may run scratch-free kernels where they lower the arena.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]
    (ROOT / "benchmarks" / "stream.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
