"""Mixed precision under a flash budget: the integer program, and --precision auto end to end."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from aiotc.errors import BudgetError
from aiotc.quantize.mixed import LayerChoice, MixedSearch
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verify import verify

from .conftest import shared_model


def _search(table: list[tuple[int, float]]) -> MixedSearch:
    """A search over a made-up sensitivity table, without a model."""
    search = object.__new__(MixedSearch)
    search.choices = [LayerChoice(f"layer{i}", saved, noise) for i, (saved, noise) in enumerate(table)]
    return search


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 5000), st.floats(0, 1)), min_size=1, max_size=8), st.floats(0, 1))
def test_the_integer_program_finds_the_least_noise_that_saves_enough(table, fraction):
    search = _search(table)
    must_save = int(fraction * search.max_saving())
    chosen = search.assign(must_save)
    saved = sum(c.saved_bytes for c in search.choices if c.name in chosen)
    assert saved >= must_save
    best = min(
        sum(noise for (_, noise), x in zip(table, pick) if x)
        for pick in itertools.product((0, 1), repeat=len(table))
        if sum(s for (s, _), x in zip(table, pick) if x) >= must_save
    )
    assert sum(c.noise for c in search.choices if c.name in chosen) <= best + 1e-5 * max(noise for _, noise in table)  # the solver's tolerance


def test_a_budget_int4_cannot_reach_is_refused():
    search = _search([(100, 0.1), (50, 0.2)])
    try:
        search.assign(151)
    except BudgetError as miss:
        assert "1 B over" in str(miss)
    else:
        raise AssertionError("no BudgetError")


def aiotc(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "aiotc", *map(str, args)], capture_output=True, text=True)


def test_precision_auto_fits_the_flash_budget_and_stays_bit_exact(tmp_path):
    model = shared_model("onnx/dscnn_kws.onnx")
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).uniform(0, 1, (8, 1, 1, 49, 10)).astype(np.float32).reshape(8, 1, 49, 10))
    calib = ["--calib", tmp_path / "calib.npy", "--calib-method", "mse"]
    int8 = json.loads(aiotc("compile", model, *calib, "-o", tmp_path / "int8", "--json").stdout)
    budget = int(0.8 * int8["weights_bytes"])
    run = aiotc("compile", model, *calib, "--precision", "auto", "--flash-budget", budget, "-o", tmp_path / "auto")
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "auto" / "report.json").read_text())
    assert report["weights_bytes"] <= budget < int8["weights_bytes"]  # the host's flash figure is the weights
    precisions = [layer["precision"] for layer in report["layers"] if layer["op"] in ("conv2d", "depthwise_conv2d", "fully_connected")]
    assert "w4a8" in precisions and "w8a8" in precisions
    assert sorted(report["quantization"]["precision"]) == sorted(layer["name"] for layer in report["layers"] if layer["precision"] == "w4a8")
    pareto = report["pareto"]
    assert sum(point["chosen"] for point in pareto) == 1 and len(pareto) >= 3
    assert "precision auto:" in run.stdout and "compiled" in run.stdout
    assert (tmp_path / "auto" / "pareto.svg").read_text().startswith("<svg") and "Pareto" in (tmp_path / "auto" / "report.html").read_text()
    runner = HostModel.build(tmp_path / "auto")
    result = verify(tmp_path / "auto", "host", random_samples(runner.inputs, 3, seed=1), runner=runner)
    assert result.oracle == "tflite-micro" and result.mismatches == 0 and result.max_abs_diff == 0


def test_impossible_flash_budget_is_one_line(tmp_path):
    run = aiotc("compile", shared_model("onnx/tinycnn_28.onnx"), "--calib", "random", "--calib-method", "mse", "--precision", "auto", "--flash-budget", "1K", "-o", tmp_path / "out")
    assert run.returncode == 1 and "over the flash budget" in run.stderr and run.stderr.count("\n") == 2  # the random-calibration warning, then the miss
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
    samples = [[x] for x in np.random.default_rng(0).uniform(0, 1, (16, *graph[graph.inputs[0]].shape)).astype(np.float32)]
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
    assert refitted.report["fidelity_on_calibration_data"]["sqnr_db"] > gptq + 1.0, (gptq, refitted.report["fidelity_on_calibration_data"]["sqnr_db"])
