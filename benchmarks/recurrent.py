"""The LSTM and SVDF models of the tflite-micro repository on Cortex-M4 and Cortex-M55:
aiotc next to its peer, TFLite Micro + CMSIS-NN, instructions per invoke, arena and state.

    python benchmarks/recurrent.py [--boards cortex-m4,cortex-m55] [--peer DIR] [--out benchmarks/recurrent.md]

The models are tests/test_tflm_recurrent.py's (every .tflite file of the tflite-micro
tree with an UNIDIRECTIONAL_SEQUENCE_LSTM or SVDF), read from the tree the peer was built
from (DIR/tflite-micro). Inputs are zeros and the state is carried from one invoke to
the next on both sides: aiotc's figure is `aiotc bench`'s (the invoke after a warm-up
invoke), the peer's the mean of INVOKES invokes after a warm-up (benchmarks/peer/:
`tflm.measure(..., invokes=N)`). The peer's arena holds its state (the models' variable
tensors, counted from the model file in the next column); aiotc keeps the state outside
its arena. Not a test: the figures are measurements.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# benchmarks/profile.py would shadow the standard library's (TensorFlow imports cProfile)
sys.path[:] = [str(ROOT), *(p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks")]

import numpy as np  # noqa: E402
import tflite  # noqa: E402

from aiotc.boards import load_board  # noqa: E402
from aiotc.driver import compile_model  # noqa: E402
from aiotc.toolchain.qemu import QemuModel  # noqa: E402
from benchmarks.peer import tflm  # noqa: E402
from tests.test_tflm_recurrent import MODELS  # noqa: E402

INVOKES = 20
BYTES = {0: 4, 7: 2, 9: 1}  # tflite TensorType: float32, int16, int8
COLUMNS = (
    "model",
    "board",
    "aiotc: instructions per invoke",
    "peer",
    "aiotc / peer",
    "aiotc: LSTM/SVDF layers",
    "aiotc: their kernels",
    "peer: LSTM/SVDF operators",
    "aiotc: arena B",
    "aiotc: state B",
    "peer: arena B (with state)",
    "peer: state B",
)
RECURRENT = {"lstm": "UNIDIRECTIONAL_SEQUENCE_LSTM", "svdf": "SVDF"}


def peer_state_bytes(model: Path) -> int:
    """The bytes of the model's variable tensors: the state tflite-micro keeps in its arena."""
    graph = tflite.Model.GetRootAsModel(model.read_bytes(), 0).Subgraphs(0)
    tensors = (graph.Tensors(i) for i in range(graph.TensorsLength()))
    return sum(int(np.prod(t.ShapeAsNumpy())) * BYTES[t.Type()] for t in tensors if t.IsVariable())


def measure(model: Path, board: str, peer: Path, peer_absent: str | None) -> dict:
    with tempfile.TemporaryDirectory(prefix="aiotc-recurrent-") as tmp:
        result = compile_model(model, board=board, out_dir=Path(tmp) / "out")
        bench = QemuModel.build(result.out_dir, load_board(board)).bench()
    kernels = Counter(layer["kernel"] for layer in result.report["layers"] if layer["op"] in RECURRENT)
    row = {
        "kernels": ", ".join(f"{name.removeprefix('aiotc_')} x{n}" for name, n in sorted(kernels.items())),
        "instructions": bench["instructions"],
        "recurrent": sum(layer["instructions"] for layer in bench["layers"] if layer["op"] in RECURRENT),
        "arena": bench["arena_bytes"],
        "state": result.report["state_bytes"],
    }
    theirs = {"error": peer_absent} if peer_absent else tflm.measure(model, board, peer, invokes=INVOKES)
    if "error" in theirs:
        return row | {"peer_error": theirs["error"]}
    ops = [op["instructions"] for op in theirs["layers"] if op["op"] in RECURRENT.values()]
    return row | {"peer": theirs["instructions"], "peer_recurrent": sum(ops), "peer_arena": theirs["arena_bytes"]}


def cells(name: str, board: str, row: dict, peer_state: int) -> list[str]:
    mine = [f"{row['instructions']:,}"]
    if "peer_error" in row:
        theirs = [row["peer_error"], "–", f"{row['recurrent']:,}", row["kernels"], "–"]
    else:
        ratio = f"{row['instructions'] / row['peer']:.2f}×"
        theirs = [f"{row['peer']:,}", ratio, f"{row['recurrent']:,}", row["kernels"], f"{row['peer_recurrent']:,}"]
    memory = [f"{row['arena']:,}", f"{row['state']:,}", f"{row.get('peer_arena', 0):,}", f"{peer_state:,}"]
    return [name, board, *mine, *theirs, *memory]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boards", default="cortex-m4,cortex-m55")
    parser.add_argument("--peer", type=Path, default=tflm.DEFAULT, help="the peer's build (benchmarks/peer/build.sh)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "recurrent.md")
    args = parser.parse_args()
    tree = args.peer / "tflite-micro"
    if not tree.is_dir():
        print(f"no tflite-micro tree at {tree} (benchmarks/peer/fetch_sources.sh)", file=sys.stderr)
        return 2
    boards = args.boards.split(",")
    absent = tflm.prepare(args.peer, boards)
    rows = []
    for name, relative in MODELS.items():
        model = tree / relative
        for board in boards:
            rows.append(cells(name, board, measure(model, board, args.peer, absent[board]), peer_state_bytes(model)))
            print(" | ".join(rows[-1]), flush=True)
    lines = [
        "# LSTM and SVDF models: aiotc and TFLite Micro + CMSIS-NN",
        "",
        "Measured by `python benchmarks/recurrent.py` in QEMU (`-icount shift=0`), inputs zeros, the state carried",
        "from invoke to invoke on both sides. *aiotc*: the instructions of the invoke after a warm-up invoke",
        f"(`aiotc bench`). *Peer*: TFLite Micro + CMSIS-NN (benchmarks/peer/), the mean of {INVOKES} invokes after a",
        "warm-up invoke; its LSTM/SVDF column is one invoke's operators. The models: every .tflite file of the",
        "tflite-micro repository with an UNIDIRECTIONAL_SEQUENCE_LSTM or SVDF operator (trained_lstm is float32,",
        "the others int8; DTLN's LSTMs and the keyword models' SVDFs keep int16 state, keyword_scrambled_8bit int8),",
        "each bit-exact with tflite-micro over 20 invokes on both boards (tests/test_tflm_recurrent.py).",
        "Memory: aiotc's state lives outside its arena; tflite-micro's arena holds its state (the model's variable",
        "tensors, *peer: state B*) with everything else it allocates.",
        "Kernels: on the M4 `lstm_wide_s8` runs each unit's four gates in one pass over int16 weights widened at",
        "compile time (SMLAD); on the M55 `lstm_packed_s8` and on both `svdf_packed_s8` run the gate and feature",
        "matrix products on the packed fully connected kernel's DSP and MVE paths; `svdf_rows_s8` takes the layers",
        "whose int8 weights the packed byte pairs cannot hold (a -128 beside a negative weight: the keyword models'",
        "scrambled weights), on the rows fully connected kernel's paths (aiotc_nn_fc_rows.h, 4 filters at a time),",
        "as fully connected layers do.",
        "",
        "| " + " | ".join(COLUMNS) + " |",
        "|---|---|" + "---:|" * 4 + "---|" + "---:|" * (len(COLUMNS) - 7),  # the kernels' names left aligned
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]
    args.out.write_text("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
