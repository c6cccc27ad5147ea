"""Per-op-kind breakdown of the int8 kernels on Cortex-M4 (DSP) and Cortex-M55 (MVE).

    python benchmarks/kernels.py [--boards cortex-m4,cortex-m55] [--models kws_ref_model,...] [--json FILE]

For each MLPerf Tiny model (or one-layer model of LAYERS, by its name in --models) and board: instructions of one inference (QEMU -icount
shift=0, after a warm-up), instructions per MAC, the ratio to TFLite Micro + CMSIS-NN
measured on the same QEMU machine (benchmarks/peer/, `--peer DIR`), and per op kind (1x1 conv, 3x3 depthwise,
general conv, fully connected, ...) the instructions, their share and instructions
per MAC. The DSP limit on the M4 is 0.5 instructions per MAC (one SMLAD = 2 MACs).
Not a test: a target missed here is a number to improve. benchmarks/run.py has the
whole table (memory, flash, other models); this is where the time goes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.peer import tflm  # noqa: E402

MODELS = ROOT.parent / "shared" / "models" / "mlperf_tiny"
NAMES = ("kws_ref_model", "vww_96_int8", "pretrainedResnet_quant", "ad01_int8", "str_ww_ref_model")
BOARDS = ("cortex-m4", "cortex-m55")


def matmul_weights():
    """Keras Dense on a sequence: BATCH_MATMUL 1x4x32x64 by constant 64x32 weights."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=1)
    return g.build(g.batch_matmul(g.input((1, 4, 32, 64), zero_point=-3), g.weights((64, 32), None)))


def matmul_qk():
    """Attention's Q.K^T: BATCH_MATMUL of two activations, 1x4x32x16 @ 1x4x16x32."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=1)
    q, k = g.input((1, 4, 32, 16), zero_point=-3), g.input((1, 4, 16, 32), zero_point=5)
    return g.build(g.batch_matmul(q, k))


def conv1d():
    """A Conv1D (a CONV_2D of height 1): 1x1x64x16 -> 32 channels, kernel 5."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=1)
    return g.build(g.conv2d(g.input((1, 1, 64, 16), zero_point=-3), 32, kernel=(1, 5)))


def unet_decoder_tconv():
    """A U-Net decoder's upsampling: TRANSPOSE_CONV 1x16x16x32 -> 1x32x32x16, 3x3, stride 2, SAME."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=20)
    x = g.input((1, 16, 16, 32), scale=0.05, zero_point=-3)
    return g.build(g.transpose_conv(x, 16, (3, 3), (2, 2), "same", activation="relu"))


def unet_decoder_tconv_16x8():
    """The same layer with int16 activations (16x8)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=20, dtype="int16")
    x = g.input((1, 16, 16, 32), scale=0.05 / 200, dtype="int16")
    return g.build(g.transpose_conv(x, 16, (3, 3), (2, 2), "same", activation="relu"))


def mul_rescale():
    """MobileNetV3's input rescaling: MUL 1x128x128x3 by a scalar constant (1/255)."""
    import numpy as np

    from aiotc import ir
    from tests.oplib import OpGraph

    g = OpGraph(seed=1)
    x = g.input((1, 128, 128, 3), scale=0.0369, zero_point=-1)
    quant = ir.Quant(np.array([3.0757e-5], np.float32), np.array([-128]))
    c = g.const(np.array(127, np.int8), quant)
    return g.build(g.binary("mul", x, c, out_scale=0.00421, out_zp=118))


def mul_same_shape():
    """MUL of two activations of one shape, 1x32x32x16 (a gate, as in squeeze-excite blocks)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=1)
    a, b = g.input((1, 32, 32, 16), zero_point=-3), g.input((1, 32, 32, 16), scale=0.02, zero_point=5)
    return g.build(g.binary("mul", a, b, out_scale=0.01, out_zp=-7))


def pointwise_to_one():
    """A U-Net's last layer: 1x1 conv 1x64x64x8 -> one channel (the corpus' unet_bilinear_64)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=2)
    return g.build(g.conv2d(g.input((1, 64, 64, 8), zero_point=-3), 1, kernel=(1, 1)))


def fc_few_outputs():
    """Keyword spotting's classifier: FULLY_CONNECTED 1x4000 -> 4 (tflm_micro_speech_quantized)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=3)
    return g.build(g.fully_connected(g.input((1, 4000), zero_point=-3), 4))


def conv7x7_two_in_16x8():
    """A small-Cin large-kernel 16x8 conv: 1x8x166x2 -> 1x2x160x8, 7x7, valid (tflm_conv0)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=4, dtype="int16")
    x = g.input((1, 8, 166, 2), scale=0.05 / 200, dtype="int16")
    return g.build(g.conv2d(x, 8, kernel=(7, 7), padding="valid"))


def conv3x3_wide_16x8():
    """A 16x8 conv on a wide, short input: 1x4x162x8 -> 1x2x160x8, 3x3, valid (tflm_conv1)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=5, dtype="int16")
    x = g.input((1, 4, 162, 8), scale=0.05 / 200, dtype="int16")
    return g.build(g.conv2d(x, 8, kernel=(3, 3), padding="valid"))


def conv1d_four_in():
    """A Conv1D of few input channels: 1x1x130x4 -> 16 channels, kernel 3, valid (tcn_causal's first)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=6)
    return g.build(
        g.conv2d(g.input((1, 1, 130, 4), zero_point=-3), 16, kernel=(1, 3), padding="valid", activation="relu")
    )


def conv1d_k3_32():
    """A Conv1D of 32 channels: 1x1x495x32 -> 32, kernel 3, valid (audio_raw_m5's second)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=7)
    return g.build(
        g.conv2d(g.input((1, 1, 495, 32), zero_point=-3), 32, kernel=(1, 3), padding="valid", activation="relu")
    )


def conv1d_long_one_in():
    """A raw-audio first layer: 1x1x8000x1 -> 32 channels, kernel 80, stride 4 (audio_raw_m5's first)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=8)
    x = g.input((1, 1, 8000, 1), zero_point=-3)
    return g.build(g.conv2d(x, 32, kernel=(1, 80), stride=(1, 4), padding="valid", activation="relu"))


def conv3x3_three_out():
    """An image decoder's last layer: 1x32x32x16 -> 3 channels, 3x3, same (conv_autoencoder_32's)."""
    from tests.oplib import OpGraph

    g = OpGraph(seed=9)
    return g.build(g.conv2d(g.input((1, 32, 32, 16), zero_point=-3), 3, kernel=(3, 3)))


LAYERS = {  # one-layer models of shapes no MLPerf Tiny model has (issue 20): a kernel alone, against the peer's
    "matmul_weights": matmul_weights,
    "matmul_qk": matmul_qk,
    "conv1d": conv1d,
    "unet_decoder_tconv": unet_decoder_tconv,
    "unet_decoder_tconv_16x8": unet_decoder_tconv_16x8,
    "mul_rescale": mul_rescale,
    "mul_same_shape": mul_same_shape,
    "pointwise_to_one": pointwise_to_one,
    "fc_few_outputs": fc_few_outputs,
    "conv7x7_two_in_16x8": conv7x7_two_in_16x8,
    "conv3x3_wide_16x8": conv3x3_wide_16x8,
    "conv1d_four_in": conv1d_four_in,
    "conv1d_k3_32": conv1d_k3_32,
    "conv1d_long_one_in": conv1d_long_one_in,
    "conv3x3_three_out": conv3x3_three_out,
}


def model_file(name: str, folder: Path) -> Path:
    """The MLPerf model, or the one-layer model `name` of LAYERS written into `folder`."""
    if name not in LAYERS:
        return MODELS / f"{name}.tflite"
    from aiotc.export.tflite import write_tflite

    path = folder / f"{name}.tflite"
    path.write_bytes(write_tflite(LAYERS[name]()))
    return path


def op_class(layer: dict, op) -> str:
    """The kernel family a layer runs in: what the per-kind lines group by."""
    if op.kind == "conv2d":
        kh, kw = op.attrs_kernel
        if (kh, kw) == (1, 1):
            return "conv 1x1"
        return f"conv {kh}x{kw}, {op.in_channels} in" if op.in_channels <= 3 else "conv general"
    if op.kind == "depthwise_conv2d":
        return "depthwise 3x3" if op.attrs_kernel == (3, 3) else "depthwise other"
    return op.kind


class _Shape:
    def __init__(self, kind: str, kernel: tuple[int, int], in_channels: int):
        self.kind, self.attrs_kernel, self.in_channels = kind, kernel, in_channels


def shapes(model: Path) -> dict[str, _Shape]:
    """Per layer name: kind, kernel size and input channels, read from aiotc's graph."""
    from aiotc.frontend import load_model
    from aiotc.passes import run_passes

    graph = run_passes(load_model(model))
    out = {}
    for op in graph.ops:
        kernel = tuple(graph[op.inputs[1]].shape[1:3]) if op.kind in ("conv2d", "depthwise_conv2d") else (0, 0)
        out[op.name] = _Shape(op.kind, kernel, graph[op.inputs[0]].shape[-1])
    return out


def measure(name: str, board: str, peer: Path, peer_absent: str | None) -> dict:
    from aiotc.boards import load_board
    from aiotc.driver import compile_model
    from aiotc.toolchain.qemu import QemuModel

    with tempfile.TemporaryDirectory(prefix="aiotc-kernels-") as tmp:
        model = model_file(name, Path(tmp))
        out = compile_model(model, board=board, out_dir=Path(tmp) / "out").out_dir
        bench = QemuModel.build(out, load_board(board)).bench()
        ops = shapes(model)
        peer_figures = {"error": peer_absent} if peer_absent else tflm.measure(model, board, peer)
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for layer in bench["layers"]:
        kind = op_class(layer, ops[layer["name"]]) if layer["name"] in ops else layer["op"]
        kinds[kind][0] += layer["instructions"]
        kinds[kind][1] += layer["macs"]
    return {
        "model": name,
        "board": board,
        "instructions": bench["instructions"],
        "macs": bench["macs"],
        "kinds": dict(kinds),
        "peer": peer_figures,
    }


def render(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        per_mac = f"{row['instructions'] / row['macs']:5.2f}/MAC" if row["macs"] else "         "  # elementwise: none
        line = f"{row['model']:<24} {row['board']:<11} {row['instructions']:>12,} instr  {per_mac}"
        if "error" in row["peer"]:
            lines.append(f"{line}  CMSIS-NN: {row['peer']['error']}")
        else:
            peer = row["peer"]["instructions"]
            ratio, goal = row["instructions"] / peer, tflm.TARGETS[row["board"]]
            lines.append(
                f"{line}  CMSIS-NN {peer:>11,}  ratio {ratio:4.2f}× (target ≤ {goal}×{'' if ratio <= goal else ', missed'})"
            )
        for kind, (instructions, macs) in sorted(row["kinds"].items(), key=lambda kv: -kv[1][0]):
            per_mac = f"{instructions / macs:5.2f}/MAC" if macs else "         "
            lines.append(
                f"    {kind:<22} {instructions:>12,} instr  {per_mac}  {100 * instructions / row['instructions']:5.1f}%"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boards", default=",".join(BOARDS))
    parser.add_argument("--models", default=",".join(NAMES + tuple(LAYERS)))
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--peer", type=Path, default=tflm.DEFAULT, help="the peer's build (benchmarks/peer/build.sh)")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    boards = args.boards.split(",")
    absent = tflm.prepare(args.peer, boards)
    jobs = [(m, b, args.peer, absent[b]) for m in args.models.split(",") for b in boards]
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = list(pool.map(measure, *zip(*jobs)))
    print(render(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
