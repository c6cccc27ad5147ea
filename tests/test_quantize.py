"""Post-training quantization: float ONNX/TFLite models to int8 whose C is bit-exact with
tflite-micro running the exported model, calibration inputs, and the refusals."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from aiotc.driver import compile_model, export_model
from aiotc.errors import UsageError
from aiotc.frontend import load_model
from aiotc.ops import OPS
from aiotc.oracle import run_oracle
from aiotc.passes import run_passes
from aiotc.quantize import Calibration, fidelity
from aiotc.quantize.bias import correct_biases
from aiotc.quantize.fidelity import Int8Runner, Int8Values
from aiotc.quantize.gptq import input_hessians
from aiotc.quantize.observe import FloatRunner, observe
from aiotc.quantize.ptq import free_tensors, initial_ranges, quantize_graph

from .conftest import aiotc, assert_bit_exact, shared_model, verify_folder

ROOT = Path(__file__).resolve().parents[1]


def _bit_exact(out: Path, board: str = "host", samples: int = 4) -> None:
    assert_bit_exact(verify_folder(out, board, samples, seed=3))


@pytest.mark.parametrize(
    "model", ["onnx/tinycnn_28.onnx", "onnx/dscnn_kws.onnx", "onnx/ad01_fp32.onnx", "mlperf_tiny/vww_96_float.tflite"]
)
def test_quantized_model_is_bit_exact_with_tflite_micro_on_its_export(model, tmp_path):
    path = shared_model(model)
    graph = load_model(path)
    calib = tmp_path / "calib.npy"
    shape = graph[graph.inputs[0]].shape
    np.save(calib, np.random.default_rng(0).uniform(0, 1, (16, *shape[1:])).astype(np.float32))
    result = compile_model(path, out_dir=tmp_path / "out", calib=Calibration(str(calib), method="mse"))
    assert (tmp_path / "out" / f"{result.name}.tflite").is_file()
    assert {t.dtype for t in result.graph.activations()} == {"int8"}
    fidelity = result.report["quantization"]["fidelity_on_calibration_data"]
    assert fidelity["samples"] == 16 and fidelity["sqnr_db"] > 10 and len(fidelity["layers"]) >= 1
    _bit_exact(result.out_dir)


@pytest.mark.qemu
def test_quantized_onnx_model_bit_exact_in_qemu(tmp_path):
    out = compile_model(
        shared_model("onnx/kws_ref_model_float32.onnx"),
        board="cortex-m4",
        out_dir=tmp_path / "out",
        calib=Calibration("random", method="mse"),
    ).out_dir
    _bit_exact(out, "cortex-m4", samples=3)


def _photo_crops(folder: Path, count: int, size: int, seed: int) -> None:
    """PNG crops of scikit-image's sample photos, as a user's calibration folder."""
    import skimage
    from PIL import Image

    photos = sorted((Path(skimage.__file__).parent / "data").glob("*.png"))
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for i in range(count):
        with Image.open(photos[rng.integers(len(photos))]) as image:
            image = image.convert("RGB")
            side = int(min(image.size) * rng.uniform(0.4, 1.0))
            left, top = rng.integers(0, image.size[0] - side + 1), rng.integers(0, image.size[1] - side + 1)
            image.crop((left, top, left + side, top + side)).resize((size, size)).save(folder / f"crop{i:03d}.png")


def test_cli_calibrates_on_a_folder_of_photos_and_keeps_top1(tmp_path):
    """vww_96 (trained, inputs in [0, 1]) calibrated on photo crops: the int8 C agrees with the float model."""
    model = shared_model("onnx/vww_96_float.onnx")
    _photo_crops(tmp_path / "calib", 24, 96, seed=0)
    run = aiotc("compile", model, "--calib", tmp_path / "calib", "--std", "255", "-o", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    assert "top-1 agreement" in run.stdout and "SQNR" in run.stdout
    _photo_crops(tmp_path / "held_out", 16, 96, seed=1)
    from aiotc.quantize.calibration import load_image

    images = np.stack(
        [load_image(p, (1, 96, 96, 3), std=(255.0,))[0] for p in sorted((tmp_path / "held_out").iterdir())]
    )
    np.save(tmp_path / "x.npy", images)
    out = aiotc("run", tmp_path / "out", "--input", tmp_path / "x.npy", "-o", tmp_path / "y.npy")
    assert out.returncode == 0, out.stderr
    got = np.load(tmp_path / "y.npy").reshape(len(images), -1)
    want = np.stack([run_oracle(model, [x[None]]).outputs[0][0] for x in images])
    assert got.dtype == np.float32  # real values, as the float model gives
    assert np.mean(got.argmax(-1) == want.argmax(-1)) >= 14 / 16
    assert np.max(np.abs(got - want)) < 0.25


def test_calibration_folder_of_npy_files_and_nchw_arrays(tmp_path):
    """An NCHW PyTorch model calibrates on NCHW .npy samples (transposed to the NHWC the C takes)."""
    model = shared_model("onnx/mbv2_w035_144.onnx")
    folder = tmp_path / "calib"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        np.save(folder / f"{i}.npy", rng.standard_normal((1, 3, 144, 144)).astype(np.float32))
    export_model(model, tmp_path / "q.tflite", Calibration(str(folder), method="minmax"))
    graph = load_model(tmp_path / "q.tflite")
    assert graph[graph.inputs[0]].shape == (1, 144, 144, 3) and graph[graph.inputs[0]].dtype == "int8"


def test_export_writes_a_model_tflite_micro_runs(tmp_path):
    run = aiotc("export", shared_model("onnx/tinycnn_28.onnx"), "--tflite", tmp_path / "q.tflite", "--calib", "random")
    assert run.returncode == 0, run.stderr
    assert "warning: calibrating on random" in run.stderr
    x = np.zeros((1, 28, 28, 1), np.int8)
    assert run_oracle(tmp_path / "q.tflite", [x]).name == "tflite-micro"


def test_export_of_a_float_model_without_calibration_is_refused(tmp_path):
    run = aiotc("export", shared_model("onnx/tinycnn_28.onnx"), "--tflite", tmp_path / "q.tflite")
    assert run.returncode == 2 and "--calib" in run.stderr and run.stderr.count("\n") == 1
    assert not (tmp_path / "q.tflite").exists()


def test_calib_on_an_int8_model_is_refused(tmp_path):
    with pytest.raises(UsageError, match="already quantized"):
        compile_model(
            shared_model("mlperf_tiny/kws_ref_model.tflite"), out_dir=tmp_path / "out", calib=Calibration("random")
        )


@pytest.mark.parametrize(
    "data, message",
    [
        ("missing.npy", "does not exist"),
        ("empty_dir", "holds no .npy or image files"),
        ("wrong.npy", "not a whole number of inputs"),
    ],
)
def test_bad_calibration_data_is_one_clear_line(data, message, tmp_path):
    (tmp_path / "empty_dir").mkdir()
    np.save(tmp_path / "wrong.npy", np.zeros(7, np.float32))
    run = aiotc("compile", shared_model("onnx/tinycnn_28.onnx"), "--calib", tmp_path / data, "-o", tmp_path / "out")
    assert run.returncode == 2 and message in run.stderr and run.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def _float_graph_and_samples(model: str, count: int):
    graph = run_passes(load_model(shared_model(model)))
    shape = graph[graph.inputs[0]].shape
    return graph, [[x] for x in np.random.default_rng(0).uniform(0, 1, (count, *shape)).astype(np.float32)]


@pytest.mark.parametrize("model", ["onnx/tinycnn_28.onnx", "onnx/dscnn_kws.onnx"])
def test_bias_correction_cancels_each_layers_mean_output_error(model):
    """Every conv / depthwise / fully connected layer (activations dropped, so its whole
    output shows) errs less on average per channel after correction; only int32 biases change."""
    graph, samples = _float_graph_and_samples(model, 8)
    graph = graph.with_ops(
        [replace(op, attrs=replace(op.attrs, activation="none")) if OPS[op.kind].weighted else op for op in graph.ops]
    )
    plain = quantize_graph(graph, initial_ranges(graph, observe(graph, samples), "mse"))
    corrected = correct_biases(graph, plain, samples)
    changed = [
        name for name, t in plain.tensors.items() if t.is_const and not np.array_equal(t.data, corrected[name].data)
    ]
    assert changed and all(plain[name].dtype == "int32" for name in changed)
    layers = [op.outputs[0] for op in graph.ops if OPS[op.kind].weighted]
    want = [FloatRunner(graph).run(s, layers) for s in samples]

    def mean_error(int_graph) -> np.ndarray:
        runner = Int8Runner(int_graph)
        got = [runner.run(s, layers) for s in samples]
        return np.array(
            [
                np.abs(
                    np.mean([(w[n] - g[n]).reshape(-1, w[n].shape[-1]).mean(axis=0) for w, g in zip(want, got)], axis=0)
                ).mean()
                for n in layers
            ]
        )

    before, after = mean_error(plain), mean_error(corrected)
    assert np.all(after < before) and after.sum() < 0.5 * before.sum(), (before, after)


def _with_bias_moved(int_graph, layer):
    """`int_graph` with the bias of `layer` (an op) raised by 40 steps in every channel."""
    b = int_graph[layer.inputs[2]]
    return replace(int_graph, tensors={**int_graph.tensors, b.name: replace(b, data=b.data + 40)})


def test_kept_int8_values_rerun_only_the_ops_after_a_change(monkeypatch):
    """After a bias changes, Int8Values runs only the ops from that layer on and gives what
    the whole changed model gives."""
    graph, samples = _float_graph_and_samples("onnx/dscnn_kws.onnx", 3)
    int_graph = quantize_graph(graph, initial_ranges(graph, observe(graph, samples), "mse"))
    layers = [op for op in int_graph.ops if OPS[op.kind].weighted]
    names = [op.outputs[0] for op in int_graph.ops]
    ints = Int8Values(int_graph, samples)
    ints.values(names)
    ran = []
    monkeypatch.setattr(fidelity, "Int8Runner", lambda part, *args: ran.append(part.ops) or Int8Runner(part, *args))
    changed = _with_bias_moved(int_graph, layers[2])
    ints.update(changed)
    got = ints.values(names)
    assert ran == [int_graph.ops[int_graph.ops.index(layers[2]) :]]
    whole = Int8Runner(changed)
    for sample, values in zip(samples, got):
        want = whole.run(sample, names)
        assert all(np.array_equal(values[n], want[n]) for n in names)
    assert not np.array_equal(
        got[0][layers[2].outputs[0]], Int8Values(int_graph, samples).values(names)[0][layers[2].outputs[0]]
    )


def test_reference_kernels_probed_once_per_op_signature(monkeypatch):
    """The subprocess probe of LiteRT's reference kernels runs for a model with a new op
    only: not again for new bias values or a part of a probed model, again for new parameters."""
    graph, samples = _float_graph_and_samples("onnx/tinycnn_28.onnx", 2)
    ranges = initial_ranges(graph, observe(graph, samples), "mse")
    int_graph = quantize_graph(graph, ranges)
    probes = []
    monkeypatch.setattr(fidelity, "_REFERENCE_RUNS", set())
    monkeypatch.setattr(fidelity, "litert_reference_loads", lambda content: probes.append(content) or True)
    layer = next(op for op in int_graph.ops if OPS[op.kind].weighted)
    Int8Runner(int_graph)
    Int8Runner(_with_bias_moved(int_graph, layer))
    Int8Values(int_graph, samples).values([int_graph.ops[1].outputs[0]])  # the first two ops, as a model of their own
    assert len(probes) == 1
    name = free_tensors(graph)[-1]
    Int8Runner(quantize_graph(graph, ranges | {name: (ranges[name][0] / 2, ranges[name][1] / 2)}))
    assert len(probes) == 2


def test_int8_weights_given_input_statistics_are_gptq_rounded():
    """With the layers' input statistics (as method search gives them), each conv / fully
    connected layer's output error from its int8 weights, sum of ((W - Wq) x)^2 over the
    calibration inputs, is below nearest rounding's."""
    graph, samples = _float_graph_and_samples("onnx/tinycnn_28.onnx", 8)
    ranges = initial_ranges(graph, observe(graph, samples), "mse")
    hessians = input_hessians(graph, samples)
    nearest, gptq = quantize_graph(graph, ranges), quantize_graph(graph, ranges, None, hessians)
    assert hessians and {gptq[op.inputs[1]].dtype for op in graph.ops if op.name in hessians} == {"int8"}
    for op in graph.ops:
        if op.name in hessians:
            w = graph[op.inputs[1]].data.reshape(graph[op.inputs[1]].shape[0], -1).astype(np.float64)

            def error(int_graph, op=op, w=w) -> float:
                q = int_graph[op.inputs[1]]
                e = w - q.data.reshape(w.shape) * q.quant.scale.reshape(-1, 1)
                return float(np.trace(e @ hessians[op.name] @ e.T))

            assert error(gptq) < error(nearest), op.name


@pytest.mark.parametrize(
    "array",
    [
        np.full(64, 0.5, np.float32),
        np.float32(1) + np.arange(64, dtype=np.float32) * np.float32(1e-7),
        np.array([1.0, 1.0 + 4.5e-16]),
    ],
    ids=["constant", "float32 steps", "float64 steps"],
)
def test_histogram_of_a_constant_or_tiny_range_counts_every_value(array):
    """np.histogram refuses 2048 bins over a span float64 cannot split; the counts stay whole."""
    from aiotc.quantize.observe import BINS, histogram

    counts = histogram(array, float(array.min()), float(array.max()))
    assert counts.shape == (BINS,) and counts.sum() == array.size


def test_ptq_of_a_model_with_a_constant_and_a_near_constant_tensor(tmp_path):
    """A layer whose output calibration sees as one value (ReLU of negatives) and one
    whose output spans a few float32 steps (tiny weights, bias 1) quantize, compile,
    and match tflite-micro on the export."""
    from aiotc.export.tflite import write_tflite

    from .oplib import OpGraph

    g = OpGraph(seed=4, dtype="float32")
    x = g.input((1, 6, 6, 3))
    dead = g.conv2d(x, 4, kernel=(1, 1), activation="relu")
    conv = g.ops[-1]
    g.tensors[conv.inputs[1]] = replace(g.tensors[conv.inputs[1]], data=np.abs(g.tensors[conv.inputs[1]].data))
    g.tensors[conv.inputs[2]] = replace(
        g.tensors[conv.inputs[2]], data=np.full(4, -100.0, np.float32)
    )  # inputs in [0, 1]: always < 0
    flat = g.conv2d(x, 4, kernel=(1, 1))
    conv = g.ops[-1]
    g.tensors[conv.inputs[1]] = replace(g.tensors[conv.inputs[1]], data=np.full((4, 1, 1, 3), 1e-7, np.float32))
    g.tensors[conv.inputs[2]] = replace(g.tensors[conv.inputs[2]], data=np.ones(4, np.float32))
    y = g.binary("add", dead, flat)
    path = tmp_path / "near_constant.tflite"
    path.write_bytes(write_tflite(g.build(g.conv2d(y, 5, kernel=(3, 3)))))
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(0).uniform(0, 1, (8, 6, 6, 3)).astype(np.float32))
    result = compile_model(path, out_dir=tmp_path / "out", calib=Calibration(str(calib), method="mse"))
    assert {t.dtype for t in result.graph.activations()} == {"int8"}
    _bit_exact(result.out_dir)


def test_ptq_keeps_neg_in_float_as_tflite_micro_runs_it(tmp_path):
    """tflite-micro's NEG takes float32 only: the quantized graph negates between a
    DEQUANTIZE and a QUANTIZE (as the TFLite converter writes it) and matches
    tflite-micro on the export."""
    from aiotc.export.tflite import write_tflite

    from .oplib import OpGraph

    g = OpGraph(seed=5, dtype="float32")
    x = g.input((1, 4, 4, 3))
    y = g.unary("neg", g.conv2d(x, 4, kernel=(1, 1)))
    path = tmp_path / "neg.tflite"
    path.write_bytes(write_tflite(g.build(g.conv2d(y, 2, kernel=(3, 3)))))
    calib = tmp_path / "calib.npy"
    np.save(calib, np.random.default_rng(0).uniform(-1, 1, (8, 4, 4, 3)).astype(np.float32))
    result = compile_model(path, out_dir=tmp_path / "out", calib=Calibration(str(calib), method="minmax"))
    kinds = [(op.kind, result.graph[op.outputs[0]].dtype) for op in result.graph.ops]
    assert kinds[1:4] == [("dequantize", "float32"), ("neg", "float32"), ("quantize", "int8")], kinds
    _bit_exact(result.out_dir)


def test_a_slice_of_a_constant_quantizes(tmp_path):
    """x + SLICE(c): an unrolled Keras LSTM slices a constant (its initial TensorList); PTQ
    looked for the slice's input among the activations (an internal KeyError)."""
    from .tflite_raw import RawModel

    m = RawModel()
    x, y, row = m.tensor((1, 4), "float32"), m.tensor((1, 4), "float32"), m.tensor((1, 4), "float32")
    c = m.const(np.random.default_rng(5).normal(0, 1, (3, 4)), "float32")
    m.op("SLICE", [c, m.const([2, 0]), m.const([1, 4])], [row])
    m.op("ADD", [x, row], [y], "AddOptions")
    path = tmp_path / "model.tflite"
    path.write_bytes(m.build([x], [y]))
    out = compile_model(path, out_dir=tmp_path / "out", calib=Calibration("random", method="mse")).out_dir
    _bit_exact(out)
