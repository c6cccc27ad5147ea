"""Mixed precision under a flash budget: the integer program, and --precision auto end to end."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aiotc.errors import BudgetError
from aiotc.quantize.mixed import LayerChoice, MixedSearch

from .conftest import aiotc, assert_bit_exact, shared_model, verify_folder


def _search(table: list[tuple[int, float, float | None]]) -> MixedSearch:
    """A search over a made-up sensitivity table, without a model: per layer int4's
    (saving, added noise) and w8a16's noise change (None: not offered)."""
    search = object.__new__(MixedSearch)
    search.choices = [LayerChoice(f"layer{i}", "w4a8", saved, noise) for i, (saved, noise, _) in enumerate(table)]
    search.choices += [
        LayerChoice(f"layer{i}", "w8a16", -8, gain) for i, (_, _, gain) in enumerate(table) if gain is not None
    ]
    return search


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 5000), st.floats(0, 1), st.none() | st.floats(-1, 0)), min_size=1, max_size=7),
    st.floats(0, 1),
)
@example([(1, 0.0, None), (1, 2.2565082789655503e-127, None)], 0.5)  # noise too small for a fixed scaling floor
def test_the_integer_program_finds_the_least_noise_that_saves_enough(table, fraction):
    search = _search(table)
    must_save = int(fraction * search.max_saving())
    chosen = search.assign(must_save)
    picked = [c for c in search.choices if chosen.get(c.name) == c.precision]
    assert len(picked) == len(chosen) and sum(c.saved_bytes for c in picked) >= must_save
    options = [[(0, 0.0), (saved, noise)] + ([(-8, gain)] if gain is not None else []) for saved, noise, gain in table]
    best = min(sum(n for _, n in pick) for pick in itertools.product(*options) if sum(s for s, _ in pick) >= must_save)
    assert sum(c.noise for c in picked) <= best + 1e-5 * max(
        abs(c.noise) for c in search.choices
    )  # the solver's tolerance


def test_int16_activations_are_chosen_where_they_gain_and_not_where_excluded():
    search = _search([(100, 0.5, -0.3), (100, 0.1, None), (100, 0.2, -0.1)])
    assert search.assign(-100) == {"layer0": "w8a16", "layer2": "w8a16"}  # room: every gain taken
    assert search.assign(84) == {
        "layer0": "w8a16",
        "layer1": "w4a8",
        "layer2": "w8a16",
    }  # their int64 biases paid by int4
    assert search.assign(93) == {"layer0": "w8a16", "layer1": "w4a8", "layer2": "w4a8"}
    excluded = frozenset(c for c in search.choices if c.name == "layer0" and c.precision == "w8a16")
    assert search.assign(-100, excluded) == {"layer2": "w8a16"}
    assert search.assign(-100, wide_code=1000) == {}  # the 16x8 kernels' code does not fit
    assert search.assign(-1100, wide_code=1000) == {"layer0": "w8a16", "layer2": "w8a16"}


def test_a_budget_int4_cannot_reach_is_refused():
    search = _search([(100, 0.1, None), (50, 0.2, -0.1)])
    try:
        search.assign(151)
    except BudgetError as miss:
        assert "1 B over" in str(miss)
    else:
        raise AssertionError("no BudgetError")


def test_precision_auto_fits_the_flash_budget_and_stays_bit_exact(tmp_path):
    model = shared_model("onnx/dscnn_kws.onnx")
    np.save(
        tmp_path / "calib.npy",
        np.random.default_rng(0).uniform(0, 1, (8, 1, 1, 49, 10)).astype(np.float32).reshape(8, 1, 49, 10),
    )
    calib = ["--calib", tmp_path / "calib.npy", "--calib-method", "mse"]
    int8 = json.loads(aiotc("compile", model, *calib, "-o", tmp_path / "int8", "--json").stdout)
    budget = int(0.8 * int8["weights_bytes"])
    run = aiotc("compile", model, *calib, "--precision", "auto", "--flash-budget", budget, "-o", tmp_path / "auto")
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "auto" / "report.json").read_text())
    assert report["weights_bytes"] <= budget < int8["weights_bytes"]  # the host's flash figure is the weights
    precisions = [
        layer["precision"]
        for layer in report["layers"]
        if layer["op"] in ("conv2d", "depthwise_conv2d", "fully_connected")
    ]
    assert "w4a8" in precisions and "w8a8" in precisions
    assert sorted(report["quantization"]["precision"]) == sorted(
        layer["name"] for layer in report["layers"] if layer["precision"] == "w4a8"
    )
    pareto = report["pareto"]
    assert sum(point["chosen"] for point in pareto) == 1 and len(pareto) >= 3
    assert "precision auto:" in run.stdout and "compiled" in run.stdout
    assert (tmp_path / "auto" / "pareto.svg").read_text().startswith("<svg") and "Pareto" in (
        tmp_path / "auto" / "report.html"
    ).read_text()
    assert_bit_exact(verify_folder(tmp_path / "auto"))


def test_impossible_flash_budget_is_one_line(tmp_path):
    run = aiotc(
        "compile",
        shared_model("onnx/tinycnn_28.onnx"),
        "--calib",
        "random",
        "--calib-method",
        "mse",
        "--precision",
        "auto",
        "--flash-budget",
        "1K",
        "-o",
        tmp_path / "out",
    )
    assert (
        run.returncode == 1 and "over the flash budget" in run.stderr and run.stderr.count("\n") == 2
    )  # the random-calibration warning, then the miss
    assert not (tmp_path / "out").exists()
    bare = aiotc("compile", shared_model("onnx/tinycnn_28.onnx"), "--precision", "auto", "-o", tmp_path / "out")
    assert bare.returncode == 2 and "--calib" in bare.stderr and bare.stderr.count("\n") == 1


def test_gptq_rounding_keeps_the_layer_outputs_closer_than_nearest_rounding():
    from aiotc.quantize.gptq import gptq_round

    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 24)) @ rng.standard_normal((24, 24))  # correlated inputs
    w = rng.standard_normal((8, 24))
    scale = np.abs(w).max(axis=1) / 7
    nearest = np.clip(np.round(w / scale[:, None]), -7, 7)
    chosen, q = gptq_round(w, scale[None], x.T @ x, 7)
    assert q.dtype == np.int8 and np.abs(q).max() <= 7 and np.array_equal(chosen, scale)
    error = lambda ints, s: np.linalg.norm(x @ (w - ints * s[:, None]).T)  # noqa: E731
    assert error(q, scale) < 0.8 * error(nearest, scale)


def test_int4_scales_are_clipped_where_the_layer_output_errs_less():
    """Each channel's scale is the candidate clipping of least output error; a per-tensor
    candidate list gives one scale for the whole tensor."""
    from aiotc.quantize.gptq import gptq_round
    from aiotc.quantize.ptq import INT4_CLIPPING

    rng = np.random.default_rng(1)
    x = rng.standard_normal((512, 32))
    w = rng.laplace(size=(16, 32)) * rng.uniform(0.5, 2, (16, 1))  # trained weights' heavy tails
    peak = np.abs(w).max(axis=1) / 7
    h = x.T @ x
    error = lambda ints, s: float(np.linalg.norm(x @ (w - ints * s[:, None]).T))  # noqa: E731
    chosen, q = gptq_round(w, np.outer(INT4_CLIPPING, peak).astype(np.float32), h, 7)
    assert not np.allclose(chosen, peak) and np.all(chosen <= peak * 1.0001) and np.all(chosen >= 0.5 * peak * 0.9999)
    assert error(q, chosen.astype(np.float64)) < 0.95 * error(gptq_round(w, peak[None], h, 7)[1], peak)
    one, q = gptq_round(w, np.outer(INT4_CLIPPING, [peak.max()]), h, 7)
    assert one.shape == (1,) and one[0] in INT4_CLIPPING * peak.max()


def _kws_all_int4():
    """dscnn_kws (float), 16 random samples, its MSE ranges, GPTQ statistics and every layer w4a8."""
    from aiotc.frontend import load_model
    from aiotc.passes import run_passes
    from aiotc.quantize.gptq import input_hessians
    from aiotc.quantize.observe import observe
    from aiotc.quantize.ptq import initial_ranges

    graph = run_passes(load_model(shared_model("onnx/dscnn_kws.onnx")))
    samples = [
        [x] for x in np.random.default_rng(0).uniform(0, 1, (16, *graph[graph.inputs[0]].shape)).astype(np.float32)
    ]
    int4 = {op.name: "w4a8" for op in graph.ops if op.kind in ("conv2d", "depthwise_conv2d", "fully_connected")}
    return graph, samples, initial_ranges(graph, observe(graph, samples), "mse"), input_hessians(graph, samples), int4


def test_int4_layers_given_statistics_take_clipped_scales():
    from aiotc.quantize.ptq import quantize_graph

    graph, _, ranges, hessians, int4 = _kws_all_int4()
    quantized = quantize_graph(graph, ranges, int4, hessians)
    for op in graph.ops:
        if op.name in hessians and op.kind == "conv2d":
            w = graph[op.inputs[1]].data
            peak = np.abs(w.reshape(w.shape[0], -1)).max(axis=1) / 7
            assert np.any(quantized[op.inputs[1]].quant.scale < 0.97 * peak), op.name


def test_refitting_to_the_quantized_inputs_beats_gptq_on_the_float_inputs():
    """Every layer int4: with_precision's weights, refitted layer by layer to the inputs
    the int4 layers before them give, keep the output closer than GPTQ on the float inputs."""
    from aiotc.quantize import Quantized
    from aiotc.quantize.fidelity import measure
    from aiotc.quantize.ptq import quantize_graph

    graph, samples, ranges, hessians, int4 = _kws_all_int4()
    gptq = measure(graph, quantize_graph(graph, ranges, int4, hessians), samples, per_layer=False)["sqnr_db"]
    int8 = quantize_graph(graph, ranges, None, hessians)
    refitted = Quantized(int8, graph, {}, samples=tuple(samples), ranges=ranges, hessians=hessians).with_precision(int4)
    assert refitted.report["fidelity_on_calibration_data"]["sqnr_db"] > gptq + 1.0, (
        gptq,
        refitted.report["fidelity_on_calibration_data"]["sqnr_db"],
    )


def test_w8a16_layers_run_in_int16_between_quantize_ops_as_tflite_micro_takes_them(tmp_path):
    """The quantized graph's structure for w8a16, and tflite-micro runs its export (16x8
    conv and fully connected, QUANTIZE int8 <-> int16) as LiteRT's reference kernels do."""
    from aiotc.export.tflite import write_tflite
    from aiotc.frontend import load_model
    from aiotc.oracle import run_oracle
    from aiotc.passes import run_passes
    from aiotc.quantize.fidelity import Int8Runner, quantize
    from aiotc.quantize.observe import observe
    from aiotc.quantize.precision import choosable_layers
    from aiotc.quantize.ptq import initial_ranges, quantize_graph

    graph = run_passes(load_model(shared_model("onnx/tinycnn_28.onnx")))
    samples = [
        [x[None]]
        for x in np.random.default_rng(0).uniform(0, 1, (4, *graph[graph.inputs[0]].shape[1:])).astype(np.float32)
    ]
    layers = choosable_layers(graph)
    wide = set(layers[:-1])  # all but the last: a chain in int16, then back to int8
    q = quantize_graph(graph, initial_ranges(graph, observe(graph, samples), "mse"), {name: "w8a16" for name in wide})
    assert len({op.name for op in q.ops}) == len(q.ops)
    for op in q.ops:
        if op.name in layers:
            assert q[op.inputs[0]].dtype == q[op.outputs[0]].dtype == ("int16" if op.name in wide else "int8")
            assert q[op.inputs[2]].dtype == ("int64" if op.name in wide else "int32")
            if op.name in wide:
                assert int(q[op.inputs[0]].quant.zero_point[0]) == 0 and int(q[op.outputs[0]].quant.zero_point[0]) == 0
    conversions = [(q[op.inputs[0]].dtype, q[op.outputs[0]].dtype) for op in q.ops if op.kind == "quantize"]
    assert conversions.count(("int8", "int16")) >= 1 and conversions.count(("int16", "int8")) >= 1
    assert all(q[name].dtype == "int8" for name in [*q.inputs, *q.outputs])
    path = tmp_path / "w8a16.tflite"
    path.write_bytes(write_tflite(q))
    reference = Int8Runner(q)
    for sample in samples:
        x = quantize(sample[0], q[q.inputs[0]])
        result = run_oracle(path, [x])
        reference.interpreter.set_tensor(reference.inputs[0], x)
        reference.interpreter.invoke()
        assert result.name == "tflite-micro"
        np.testing.assert_array_equal(result.outputs[0], reference.interpreter.get_tensor(reference.output_index[0]))


@pytest.mark.slow
def test_precision_auto_takes_int16_activations_within_the_sram_budget(tmp_path):
    """Where w8a16 gains, auto takes it (bit-exact with tflite-micro); an SRAM budget at
    the int8 arena excludes w8a16 layers until the arena fits."""
    from aiotc.driver import compile_model
    from aiotc.quantize import Calibration

    model = shared_model("mlperf_tiny/pretrainedResnet.tflite")
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).uniform(0, 1, (16, 32, 32, 3)).astype(np.float32))
    calib = Calibration(str(tmp_path / "calib.npy"), method="mse", precision="auto")
    wide = compile_model(model, out_dir=tmp_path / "wide", calib=calib)
    precision = wide.report["quantization"]["precision"]
    assert "w8a16" in precision.values()
    assert {p for layer in wide.report["layers"] if (p := layer["precision"]) != "w8a8"} <= {"w8a16", "w4a8"}
    assert any(k.endswith("_s16") for k in wide.report["kernels"])
    assert_bit_exact(verify_folder(tmp_path / "wide"))

    int8 = compile_model(model, out_dir=tmp_path / "int8", calib=replace(calib, precision="int8"))
    assert int8.report["arena_bytes"] < wide.report["arena_bytes"]
    fitted = compile_model(model, out_dir=tmp_path / "fitted", calib=calib, sram_budget=int8.report["arena_bytes"])
    assert fitted.report["arena_bytes"] <= int8.report["arena_bytes"]
    assert sum(p == "w8a16" for p in fitted.report["quantization"]["precision"].values()) < sum(
        p == "w8a16" for p in precision.values()
    )


def test_layers_sharing_a_bias_get_their_own_in_their_precision():
    """Keras exports share one all-zero bias among layers; a w8a16 layer needs it int64,
    its int8 neighbours int32, each at its own scale: each layer gets its own copy."""
    from collections import Counter

    from aiotc.frontend import load_model
    from aiotc.passes import run_passes
    from aiotc.quantize.fidelity import Int8Runner
    from aiotc.quantize.observe import observe
    from aiotc.quantize.precision import choosable_layers
    from aiotc.quantize.ptq import initial_ranges, quantize_graph

    graph = run_passes(load_model(shared_model("keras/mbv2_w035_144_float.tflite")))
    biased = [
        op
        for op in graph.ops
        if op.kind in ("conv2d", "depthwise_conv2d", "fully_connected") and len(op.inputs) > 2 and op.inputs[2]
    ]
    assert any(n > 1 for n in Counter(op.inputs[2] for op in biased).values())
    samples = [[np.random.default_rng(0).uniform(0, 1, (1, 144, 144, 3)).astype(np.float32)]]
    wide = set(choosable_layers(graph)[1::2])
    q = quantize_graph(
        graph, initial_ranges(graph, observe(graph, samples), "minmax"), {name: "w8a16" for name in wide}
    )
    for op in q.ops:
        if op.name in {b.name for b in biased}:
            assert q[op.inputs[2]].dtype == ("int64" if op.name in wide else "int32"), op.name
    assert np.isfinite(Int8Runner(q).outputs(samples[0])[0]).all()  # LiteRT prepares every 16x8 layer


@pytest.mark.qemu
def test_latency_budget_is_one_line_when_impossible_and_needs_a_clock(tmp_path):
    model = shared_model("onnx/tinycnn_28.onnx")
    calib = ("--calib", "random", "--calib-method", "mse", "--precision", "auto")
    run = aiotc("compile", model, *calib, "-b", "nucleo-l4r5zi", "--latency-budget", "0.001ms", "-o", tmp_path / "out")
    assert run.returncode == 1 and run.stderr.count("\n") == 2  # the random-calibration warning, then the miss
    assert "over the latency budget of 0.001 ms" in run.stderr and "on nucleo-l4r5zi" in run.stderr
    assert not (tmp_path / "out").exists()
    clockless = aiotc("compile", model, *calib, "-b", "cortex-m4", "--latency-budget", "50ms", "-o", tmp_path / "out")
    assert clockless.returncode == 2 and "no clock for cortex-m4" in clockless.stderr
    unsearched = aiotc("compile", model, "-b", "nucleo-l4r5zi", "--latency-budget", "50ms", "-o", tmp_path / "out")
    assert unsearched.returncode == 2 and "--precision auto" in unsearched.stderr
    assert unsearched.stderr.count("\n") == 1
