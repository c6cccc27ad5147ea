"""The memory plan: placements never overlap live buffers (property tests), in-place ops
keep the outputs exact, and every schedule computes what layer by layer computes."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiotc.driver import compile_model
from aiotc.export.tflite import write_tflite
from aiotc.kernels import Kernel, select_kernels
from aiotc.memory import STREAM_MODES
from aiotc.memory.inplace import InPlace
from aiotc.memory.lifetimes import Buffer, live_profile
from aiotc.memory.placement import ORDERS, ArenaPlan, pack, place, plan_arena, verify_plan
from aiotc.memory.streaming import input_rows, kernel_geometry, least_calls, stage_rows, stream_stage, streamable
from aiotc.ops import OPS
from aiotc.samples import random_samples
from aiotc.toolchain.host import HostModel
from aiotc.verification import verify

from .conftest import shared_model
from .oplib import OpGraph, assert_matches_oracle, assert_matches_oracle_in_qemu, conv1d_net


@st.composite
def buffer_sets(draw):
    """Random lifetimes and sizes (multiples of 16), with in-place pairs where an output starts as an input dies."""
    ops = draw(st.integers(2, 12))
    buffers = []
    for k in range(draw(st.integers(1, 14))):
        first = draw(st.integers(0, ops - 1))
        last = draw(st.integers(first, ops - 1))
        buffers.append(Buffer(f"b{k}", 16 * draw(st.integers(1, 40)), first, last))
    pairs = []
    for a in buffers:
        for b in buffers:
            if a is not b and a.last == b.first and draw(st.booleans()):
                lift = draw(st.one_of(st.none(), st.integers(0, a.size // 16 - 1).map(lambda n: 16 * n)))
                pairs.append(InPlace(a.last, a.name, b.name, 16 * draw(st.integers(0, b.size // 16)), lift))
    return buffers, pairs, ops


def overlapping_pairs(buffers, offsets):
    """Independent of verify_plan: pairs of buffers sharing a byte while both live."""
    for i, a in enumerate(buffers):
        for b in buffers[i + 1 :]:
            if (
                a.overlaps_in_time(b)
                and offsets[a.name] < offsets[b.name] + b.size
                and offsets[b.name] < offsets[a.name] + a.size
            ):
                yield a, b


@settings(max_examples=300, deadline=None, derandomize=True)
@given(buffer_sets())
def test_placements_never_overlap_live_buffers(case):
    buffers, pairs, ops = case
    pair = {(p.input, p.output): p for p in pairs}
    for key in ORDERS.values():
        placed = place(buffers, sorted(range(len(buffers)), key=lambda i: key(buffers[i])), pairs)
        offsets = {buffers[i].name: at for i, at in placed.items()}
        size = max(offsets[b.name] + b.size for b in buffers)
        for a, b in overlapping_pairs(buffers, offsets):
            # only an in-place output may overlap its input: `slack` below it, or `lift` above it
            legal = [
                (x, y)
                for x, y in ((a, b), (b, a))
                if (p := pair.get((x.name, y.name)))
                and (
                    offsets[y.name] <= offsets[x.name] - p.slack
                    or (p.lift is not None and offsets[y.name] >= offsets[x.name] + p.lift)
                )
            ]
            assert legal, f"{a} and {b} overlap at {offsets[a.name]}, {offsets[b.name]}"
        plan = ArenaPlan(offsets, {}, size, 0, tuple(buffers), ops, tuple(pairs))
        verify_plan(plan)
        for p in pairs:  # bottom band first exactly where an output overlaps its input from above
            above = offsets[p.output] > offsets[p.input] - p.slack and (p.input, p.output) in {
                (a.name, b.name) for x, y in overlapping_pairs(buffers, offsets) for a, b in ((x, y), (y, x))
            }
            assert (p.op_index in plan.bottom_first()) >= above


def test_verify_plan_rejects_an_overlap():
    a, b = Buffer("a", 64, 0, 1), Buffer("b", 64, 1, 2)
    with pytest.raises(AssertionError, match="overlap"):
        verify_plan(ArenaPlan({"a": 0, "b": 32}, {}, 96, 0, (a, b), 3))
    with pytest.raises(AssertionError, match="overlap"):  # in place, but not far enough below
        verify_plan(ArenaPlan({"a": 32, "b": 0}, {}, 96, 0, (a, b), 3, (InPlace(1, "a", "b", 48),)))
    verify_plan(ArenaPlan({"a": 48, "b": 0}, {}, 112, 0, (a, b), 3, (InPlace(1, "a", "b", 48),)))
    with pytest.raises(AssertionError, match="overlap"):  # above it, but under its lift
        verify_plan(ArenaPlan({"a": 0, "b": 16}, {}, 96, 0, (a, b), 3, (InPlace(1, "a", "b", 48, 32),)))
    above = ArenaPlan({"a": 0, "b": 32}, {}, 96, 0, (a, b), 3, (InPlace(1, "a", "b", 48, 32),))
    verify_plan(above)
    assert above.bottom_first() == {1}


def test_in_place_chains_need_not_drift_down():
    """A chain of in-place layers, each output `slack` under its input, descends by the sum
    of the slacks: placed only below, it needs room for that descent. Run bottom band first
    where that helps (output `lift` above its input), the chain zigzags within its peak."""
    sizes = [320, 320, 480, 480, 640]
    buffers = [Buffer(f"t{k}", size, k, k + 1) for k, size in enumerate(sizes)]
    below = [InPlace(k + 1, f"t{k}", f"t{k + 1}", 160) for k in range(len(sizes) - 1)]
    either = [replace(p, lift=64) for p in below]
    bound = max(live_profile(buffers, len(sizes) + 1, below))
    assert pack(buffers, below, None, bound)[1] > bound
    at, size = pack(buffers, either, None, bound)
    plan = ArenaPlan({b.name: at[i] for i, b in enumerate(buffers)}, {}, size, bound, tuple(buffers), 6, tuple(either))
    verify_plan(plan)
    assert size <= bound and plan.bottom_first()


BOTTOM_FIRST_CHAIN = (
    ["conv3x3s2", "conv3x3", "conv1x1", "relu", "conv3x3", "dw5x5", "dw3x3", "dw3x3", "residual"],
    13,
    12,
    6,
)


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_layers_run_bottom_band_first_over_their_input(tmp_path, dtype):
    """In a chain of in-place layers the plan puts some outputs above their input (a
    depthwise and a conv among them), which run bottom band first: bit-exact with the oracle."""
    result = assert_matches_oracle(build_chain(*BOTTOM_FIRST_CHAIN, seed=3, dtype=dtype), tmp_path, patch="off")
    kinds = {result.graph.ops[i].kind for i in result.plan.bottom_first()}
    assert {"depthwise_conv2d", "conv2d"} <= kinds, kinds
    code = (result.out_dir / f"{result.name}.c").read_text()
    assert "bottom band first: in place above its input" in code


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_bottom_band_first_matches_in_qemu(tmp_path, board):
    """The same layers' band calls, bottom band first, on the DSP and MVE kernels: bit-exact."""
    result = assert_matches_oracle_in_qemu(build_chain(*BOTTOM_FIRST_CHAIN, seed=3), board, tmp_path, patch="off")
    assert {result.graph.ops[i].kind for i in result.plan.bottom_first()} >= {"depthwise_conv2d", "conv2d"}


def test_kws_runs_in_place_below_half_of_tflite_micro(tmp_path):
    """kws's layer-by-layer bound is 16,000 B; only in-place depthwise and pointwise layers go under 12,136 (0.5x TFLM)."""
    result = compile_model(shared_model("mlperf_tiny/kws_ref_model.tflite"), board="host", out_dir=tmp_path / "kws")
    assert result.plan.in_place and result.report["arena_bytes"] <= 12_136
    runner = HostModel.build(result.out_dir)
    outcome = verify(result.out_dir, "host", random_samples(runner.inputs, 10, seed=7), runner=runner)
    assert outcome.mismatches == 0 and outcome.max_abs_diff == 0


LAYERS = (
    "conv3x3",
    "conv3x3s2",
    "conv1x1",
    "conv1x1s2",
    "dw3x3",
    "dw3x3s2",
    "dw5x5",
    "maxpool",
    "avgpool",
    "residual",
    "relu",
)


def build_chain(layers: list[str], height: int, width: int, channels: int, seed: int, dtype: str = "int8"):
    """A CNN of the given layer kinds, in order; `residual` adds a 1x1 branch back onto its input."""
    g = OpGraph(seed=seed, dtype=dtype)
    x = g.input((1, height, width, channels), scale=0.05, zero_point=-3)
    for layer in layers:
        h, w, c = g.tensors[x].shape[1:]
        if layer.startswith("conv"):
            stride = (2, 2) if layer.endswith("s2") and min(h, w) >= 4 else (1, 1)
            kernel = (1, 1) if layer.startswith("conv1x1") else (3, 3)
            x = g.conv2d(x, out_channels=int(g.rng.integers(2, 9)), kernel=kernel, stride=stride, activation="relu")
        elif layer.startswith("dw"):
            stride = (2, 2) if layer.endswith("s2") and min(h, w) >= 4 else (1, 1)
            kernel = (5, 5) if layer == "dw5x5" else (3, 3)
            x = g.depthwise(x, kernel=kernel, stride=stride, activation="relu6")
        elif layer.endswith("pool") and min(h, w) >= 2:
            x = g.pool(f"{layer[:3]}_pool2d", x, kernel=(2, 2), stride=(2, 2), padding="same")
        elif layer == "residual":
            branch = g.conv2d(x, out_channels=c, kernel=(1, 1))
            x = g.binary("add", x, branch)
        elif layer == "relu":
            x = g.unary("relu", x)
    return g.build(x)


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    layers=st.lists(st.sampled_from(LAYERS), min_size=2, max_size=7),
    size=st.tuples(st.integers(6, 24), st.integers(5, 20), st.integers(1, 6)),
    seed=st.integers(0, 99),
)
def test_every_schedule_computes_what_layer_by_layer_computes(tmp_path_factory, layers, size, seed):
    """Streamed stage and in-place ops (patch auto) against layer by layer (patch off) and the oracle."""
    tmp = tmp_path_factory.mktemp("chain")
    model = Path(tmp) / "chain.tflite"
    model.write_bytes(write_tflite(build_chain(layers, *size, seed)))
    results = {}
    for patch in ("off", "auto"):
        out = compile_model(model, board="host", out_dir=tmp / patch, patch=patch).out_dir
        runner = HostModel.build(out)
        samples = random_samples(runner.inputs, 3, seed)
        results[patch] = runner.invoke_batch(samples)
        assert verify(out, "host", samples, runner=runner).mismatches == 0
    for a, b in zip(results["off"], results["auto"]):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def replay(graph, stage):
    """Run `stage` on row labels instead of data: every buffer slot holds the image row it stores.

    Each band call must find in its input buffers exactly the rows that its output rows
    read layer by layer, at the buffer rows it names, and write its rows in order, each
    once, inside its output's buffer (never below it: a 1x1 stride-2 layer skips rows its
    producer still writes); at the end every stage output holds all its rows (a row sum's:
    its input's, each summed once). So a shift that drops a row still needed, or a buffer too small, fails here."""
    produced = {graph.ops[i].outputs[0] for i in range(stage.first_op, stage.last_op + 1)}
    slots = {t: [None] * (stage_rows(graph, t) if t in stage.outputs else stage.cached_rows[t]) for t in produced}
    done = dict.fromkeys(produced, 0)
    for calls, shifts in stage.steps:
        for call in calls:
            op = graph.ops[call.op_index]
            a, b = call.rows
            for tensor, read in zip(op.inputs, call.reads):
                if read is None:
                    assert tensor is None or graph[tensor].is_const
                    continue
                assert read.tensor == tensor and read.rows == input_rows(op, graph, tensor, a, b), (op.name, call)
                ia, ib = read.rows
                held = (
                    slots[tensor][read.buffer_row : read.buffer_row + ib - ia]
                    if tensor in slots
                    else list(range(ia, ib))
                )
                assert read.buffer_row >= 0 and held == list(range(ia, ib)), (
                    f"{op.name} rows {a}..{b} read {held}, not {ia}..{ib}"
                )
            out = slots[op.outputs[0]]
            assert a == done[op.outputs[0]] < b and 0 <= call.buffer_row and call.buffer_row + b - a <= len(out), (
                op.name,
                call,
            )
            out[call.buffer_row : call.buffer_row + b - a] = range(a, b)
            done[op.outputs[0]] = b
        for shift in shifts:
            buffer = slots[shift.tensor]
            assert shift.drop + shift.keep <= len(buffer)
            slots[shift.tensor] = buffer[shift.drop : shift.drop + shift.keep] + [None] * (len(buffer) - shift.keep)
    assert all(
        done[t] == stage_rows(graph, t) for t in stage.outputs
    )  # inner rows no one reads (under a stride) may stay uncomputed
    assert all(slots[t] == list(range(stage_rows(graph, t))) for t in stage.outputs)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    layers=st.lists(st.sampled_from(LAYERS), min_size=2, max_size=7),
    size=st.tuples(st.integers(6, 24), st.integers(5, 9), st.integers(1, 4)),
    seed=st.integers(0, 99),
)
def test_every_stream_mode_reads_the_rows_layer_by_layer_reads(layers, size, seed):
    """All modes plan_memory tries (pull, push, paced push), at every streamable prefix and
    suffix, on row labels."""
    graph = build_chain(layers, *size, seed)
    replay_every_stage(graph)


def replay_every_stage(graph) -> int:
    """Replay every head and tail stage in every mode; how many there were."""
    n, replayed = len(graph.ops), 0
    for push, rows, paced in STREAM_MODES:
        for last_op in range(1, n):
            if not streamable(graph.ops[last_op], graph):
                break
            stage = stream_stage(graph, last_op, rows, push, paced)
            if stage is not None:
                replay(graph, stage)
                replayed += 1
        for first_op in range(n - 2, 0, -1):
            if not streamable(graph.ops[first_op], graph):
                break
            stage = stream_stage(graph, n - 1, rows, push, paced, first_op)
            if stage is not None:
                replay(graph, stage)
                replayed += 1
    return replayed


def small_unet(resize: str, attrs, rows: int = 16, seed: int = 0, nchw: bool = False):
    """A U-Net's shape: a skip connection across a pooled middle (its rows reversed, which
    does not stream, then a transposed conv), upsampled by `resize` and joined back at full
    resolution, where the arena's peak is (as unet_bilinear_64)."""
    from aiotc import ir

    g = OpGraph(seed=seed)
    x = g.input((1, rows, 12, 3), scale=0.05, zero_point=-3)
    skip = g.conv2d(x, out_channels=8, activation="relu")
    q = g.tensors[skip].quant  # the concat's operands share one quantization
    pooled = g.pool("max_pool2d", skip, padding="same")
    flipped = g.movement("reverse", [pooled], g.tensors[pooled].shape, ir.Reverse((1,)))
    middle = g.transpose_conv(flipped, 8, stride=(1, 1))
    middle = g.conv2d(middle, 8, out_scale=float(q.scale[0]), out_zp=int(q.zero_point[0]))
    up = g.movement(resize, [middle], (1, rows, 12, 8), attrs)
    x = g.movement("concat", [up, skip], (1, rows, 12, 16), ir.Concat(3, "none"))
    x = g.conv2d(x, out_channels=4, activation="relu")
    x = g.unary("logistic", g.conv2d(x, out_channels=2, kernel=(1, 1)), 1 / 256, -128)
    return g.build(g.movement("transpose", [x], (1, 2, rows, 12), ir.Transpose((0, 3, 1, 2))) if nchw else x)


UPSAMPLES = {
    "bilinear half pixel": ("resize_bilinear", {"half_pixel_centers": True}),
    "bilinear corners": ("resize_bilinear", {"align_corners": True}),
    "nearest": ("resize_nearest", {}),
}


@pytest.mark.parametrize("upsample", UPSAMPLES)
def test_a_tail_stage_streams_the_decoder_to_the_output(tmp_path, upsample):
    """The last layers (upsample, concat with the skip, convolutions, the output's logistic) run
    in row bands, writing the caller's output band by band: every band reads the rows layer by
    layer reads, the arena falls below layer by layer's, and the C matches it and the oracle."""
    from aiotc import ir

    kind, attrs = UPSAMPLES[upsample]
    graph = small_unet(kind, ir.Resize(**attrs))
    assert replay_every_stage(graph) > 0
    assert replay_every_stage(small_unet(kind, ir.Resize(**attrs), rows=13)) > 0  # 7 rows upsampled to 13
    model = tmp_path / "unet.tflite"
    model.write_bytes(write_tflite(graph))
    results, arenas = {}, {}
    for patch in ("off", "auto"):
        result = compile_model(model, board="host", out_dir=tmp_path / patch, patch=patch)
        arenas[patch] = result.report["arena_bytes"]
        runner = HostModel.build(result.out_dir)
        samples = random_samples(runner.inputs, 3, seed=3)
        results[patch] = runner.invoke_batch(samples)
        assert verify(result.out_dir, "host", samples, runner=runner).mismatches == 0
    tail = result.report["tail"]
    assert tail is not None and result.graph.ops[tail["split_index"]].kind in (kind, "concat", "conv2d")
    assert "streamed tail" in (result.out_dir / "report.html").read_text()
    assert arenas["auto"] < arenas["off"]
    for a, b in zip(results["off"], results["auto"]):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_tail_stage_ends_where_its_layers_stop_streaming(tmp_path):
    """Before an output transposed to NCHW (as an ONNX model's), the tail ends on the layer
    before the transpose, its map stored whole; bit-exact with tflite-micro."""
    from aiotc import ir

    graph = small_unet("resize_bilinear", ir.Resize(half_pixel_centers=True), nchw=True)
    assert_matches_oracle(graph, tmp_path)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["tail"] is not None and report["tail"]["last_index"] == len(report["layers"]) - 2
    assert report["layers"][-2]["output_offset"] is not None  # stored whole, where verify --layers reads it


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_a_tail_stage_matches_in_qemu(tmp_path, board):
    """The tail's band calls on the boards (a bilinear resize cut into bands, the output
    written band by band): bit-exact with tflite-micro."""
    from aiotc import ir

    graph = small_unet("resize_bilinear", ir.Resize(half_pixel_centers=True))
    assert_matches_oracle_in_qemu(graph, board, tmp_path, {"aiotc_resize_bilinear_s8"})
    assert json.loads((tmp_path / "out" / "report.json").read_text())["tail"] is not None


def test_tail_bounds_hold_and_the_search_keeps_the_best_schedule():
    """Every head, tail and pair of them in every mode on a U-Net: no candidate's arena is
    below the bound the search skips it by, and the schedule chosen is the cheapest of all."""
    from itertools import product

    from aiotc import ir
    from aiotc.memory import BYTES_PER_CALL, MemoryOptions, choose_schedule
    from aiotc.memory.lifetimes import stage_lower_bound
    from aiotc.memory.streaming import band_rows

    graph = small_unet("resize_bilinear", ir.Resize(half_pixel_centers=True))
    kernels, n = select_kernels(graph), len(graph.ops)
    live, rows = plan_arena(graph, kernels).live_bytes(), band_rows(graph)
    ok = [streamable(op, graph) for op in graph.ops]
    heads = [None, *((0, last) for last in range(1, n) if all(ok[: last + 1]))]
    tails = [None, *((first, n - 1) for first in range(1, n - 1) if all(ok[first:]))]
    costs = []
    for head, tail in product(heads, tails):
        if head and tail and head[1] >= tail[0]:
            continue
        outside = live[head[1] + 1 if head else 0 : tail[0] if tail else n]
        spans = [span for span in (head, tail) if span]
        bound = max([stage_lower_bound(graph, kernels, last, 16, rows, first) for first, last in spans] + outside)
        for modes in product(STREAM_MODES, repeat=len(spans)):
            stages = tuple(
                stream_stage(graph, last, r, push, paced, first)
                for (first, last), (push, r, paced) in zip(spans, modes)
            )
            if None not in stages:
                size = plan_arena(graph, kernels, stages=stages).size
                assert bound <= size, (head, tail, modes)
                costs.append(size + BYTES_PER_CALL * sum(stage.calls for stage in stages))
    assert len(costs) > 100
    stages, arena = choose_schedule(graph, kernels, MemoryOptions())
    assert [stage.first_op > 0 for stage in stages] == [True]  # a tail alone
    assert arena.size + BYTES_PER_CALL * sum(stage.calls for stage in stages) == min(costs)


def window(op, graph) -> int:
    """Input rows one output row of `op` reads: what a band buffer feeding it must hold at least."""
    if not OPS[op.kind].windowed:
        return 1
    k, _, d, _ = kernel_geometry(op, graph)
    return (k - 1) * d + 1


def autoencoder(dtype: str, size: int = 32):
    """conv_autoencoder_32's shape: two stride-2 convs down, two stride-2 transposed convs
    back up (the last one's map the largest, size x size x 16), a conv to the output."""
    g = OpGraph(seed=8, dtype=dtype)
    x = g.input((1, size, size, 3), scale=0.05)
    x = g.conv2d(x, 16, stride=(2, 2), activation="relu")
    x = g.conv2d(x, 8, stride=(2, 2), activation="relu")
    x = g.transpose_conv(x, 8, activation="relu")
    x = g.transpose_conv(x, 16, activation="relu")
    return g.build(g.conv2d(x, 3))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_transposed_convs_stream(tmp_path, dtype):
    """A transposed conv's output rows read a band of its input's rows (those whose taps
    reach them): it streams as a resize does, each band a transposed conv of its own
    rows, the top padding shifted. The autoencoder's largest map is then never whole: the
    arena falls below a quarter of it (layer by layer: it and its input, 73,728 B float).
    Every band reads the rows layer by layer reads; the C matches the oracle."""
    graph = autoencoder(dtype)
    assert replay_every_stage(graph) > 0
    result = assert_matches_oracle(graph, tmp_path)
    assert result.report["arena_bytes"] < graph[graph.ops[3].outputs[0]].nbytes // 4


TRANSPOSE_GEOMETRIES = {  # kernel, stride, padding
    "3x3 s2 same": ((3, 3), (2, 2), "same"),
    "4x4 s2 valid": ((4, 4), (2, 2), "valid"),
    "2x2 s1 same": ((2, 2), (1, 1), "same"),
    "5x1 s3 valid": ((5, 1), (3, 3), "valid"),
    "3x2 s3x1 same": ((3, 2), (3, 1), "same"),
}


@pytest.mark.parametrize("dtype", ["int8", "float32"])
@pytest.mark.parametrize("geometry", TRANSPOSE_GEOMETRIES)
def test_a_streamed_transposed_conv_matches_the_oracle(tmp_path, geometry, dtype):
    """Each band of a transposed conv between two convs, at strides 1 to 3 (a band's first
    output row at every phase of the stride), SAME and VALID: the stage runs through it
    and its C matches the oracle (int8: the gemm kernel's phases, float: the reference loop)."""
    kernel, stride, padding = TRANSPOSE_GEOMETRIES[geometry]
    g = OpGraph(seed=9, dtype=dtype)
    x = g.conv2d(g.input((1, 10, 7, 3)), 8, activation="relu")
    x = g.transpose_conv(x, 8, kernel, stride, padding)
    graph = g.build(g.conv2d(x, 2, kernel=(1, 1)))
    assert replay_every_stage(graph) > 0
    result = assert_matches_oracle(graph, tmp_path)
    assert result.report["patch"]["split_index"] == 2  # one stage through all three layers
    if dtype == "int8":
        assert "aiotc_transpose_conv_gemm_s8" in result.report["kernels"]


def test_a_transposed_conv_with_rows_no_input_reaches_does_not_stream():
    """A 2x2 kernel at stride 3 leaves every third output row to the bias alone: such a
    row reads no input row, and a band of it would be an empty image."""
    g = OpGraph(seed=9)
    graph = g.build(g.transpose_conv(g.input((1, 5, 4, 3)), 4, (2, 2), (3, 3), "same"))
    assert not streamable(graph.ops[0], graph)


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_streamed_transposed_convs_match_in_qemu(tmp_path, board, dtype):
    """The autoencoder's band calls (the gemm kernel's phases on a band, int8; the reference
    loop, float) on the boards: bit-exact with the oracle."""
    kernels = {"aiotc_transpose_conv_gemm_s8"} if dtype == "int8" else {"aiotc_transpose_conv_f32"}
    result = assert_matches_oracle_in_qemu(autoencoder(dtype, size=16), board, tmp_path, kernels)
    assert result.report["patch"] is not None


def dscnn(dtype: str, pool: str = "mean"):
    """audio_dscnn_mfcc's shape: a 10x4 stride-2 conv, three depthwise-pointwise pairs on a
    25x5x32 map, the global average pool (MEAN, or an AVERAGE_POOL_2D of the whole map as
    micronet_kws has), a dense layer."""
    g = OpGraph(seed=10, dtype=dtype)
    x = g.conv2d(g.input((1, 49, 10, 1)), 32, kernel=(10, 4), stride=(2, 2), activation="relu")
    for _ in range(3):
        x = g.conv2d(g.depthwise(x, activation="relu"), 32, kernel=(1, 1), activation="relu")
    pooled = g.mean(x, (1, 2), keepdims=False) if pool == "mean" else g.pool("avg_pool2d", x, (25, 5), (1, 1))
    return g.build(g.fully_connected(pooled, 12))


@pytest.mark.parametrize("pool", ["mean", "avg_pool2d"])
def test_a_float_mean_sums_its_input_band_by_band(tmp_path, pool):
    """A float global average pool takes its input a band of rows at a time, adding each
    to its output's per-channel sums in the order the whole-map kernel adds them: the
    stage runs on through it, the last 25x5x32 map (16,000 B) is never whole, and the
    outputs equal layer by layer's bit for bit (and the oracle's). An AVERAGE_POOL_2D of
    the whole map is the same mean (passes.global_pools_as_means)."""
    graph = dscnn("float32", pool)
    assert replay_every_stage(graph) > 0
    results, arenas = {}, {}
    for patch in ("off", "auto"):
        result = assert_matches_oracle(graph, tmp_path / patch, patch=patch)
        arenas[patch] = result.report["arena_bytes"]
        runner = HostModel.build(result.out_dir)
        results[patch] = runner.invoke_batch(random_samples(runner.inputs, 3, seed=3))
    assert result.graph.ops[result.report["patch"]["split_index"]].kind == "mean"
    assert "aiotc_mean_rows_f32" in result.report["kernels"]
    assert arenas["auto"] < 16_000 // 2 + 1_000 < arenas["off"]
    for a, b in zip(results["off"], results["auto"]):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_only_a_float_mean_over_rows_and_columns_streams_and_ends_its_stage():
    """int8 means (whose int32 sums have no room in their int8 output) and means over other
    axes do not stream; nor does a mean whose input something else reads too (an SE block's:
    that map is whole anyway). An op reading a streamed mean's sums does not either: the
    sums are whole only once the stage ends."""
    float_graph, int8_graph = dscnn("float32"), dscnn("int8")
    assert streamable(float_graph.ops[-2], float_graph) and not streamable(int8_graph.ops[-2], int8_graph)
    g = OpGraph(seed=11, dtype="float32")
    x, y = g.conv2d(g.input((1, 8, 6, 4)), 8), g.conv2d(g.input((1, 8, 6, 4)), 8)
    graph = g.build(g.conv2d(g.mean(x, (1, 2)), 8, kernel=(1, 1)), g.mean(y, (1, 3)))
    assert [(op.kind, streamable(op, graph)) for op in graph.ops][2:] == [
        ("mean", True),
        ("conv2d", False),
        ("mean", False),
    ]
    assert stream_stage(graph, 2) is not None
    g = OpGraph(seed=12, dtype="float32")
    x = g.conv2d(g.input((1, 8, 6, 4)), 8)
    se = g.build(g.binary("mul", x, g.conv2d(g.mean(x, (1, 2)), 8, kernel=(1, 1))))
    assert [(op.kind, streamable(op, se)) for op in se.ops][1:3] == [("mean", False), ("conv2d", True)]


@pytest.mark.qemu
def test_a_float_mean_band_by_band_matches_in_qemu(tmp_path):
    """The row sum's band calls on the M4's FPU: equal to the oracle."""
    result = assert_matches_oracle_in_qemu(dscnn("float32"), "cortex-m4", tmp_path, {"aiotc_mean_rows_f32"})
    assert result.graph.ops[result.report["patch"]["split_index"]].kind == "mean"


def test_paced_push_holds_only_the_kernel_windows():
    """A 5x5 layer's bottom padding releases its last rows at once: push lets that burst swell
    the bands below it; paced push computes them one band at a time, so each band buffer holds
    just the window its consumer reads (as mcunet_like_160, whose arena fell by a third)."""
    graph = build_chain(["conv1x1", "dw5x5", "conv1x1", "dw3x3", "conv1x1", "dw3x3s2", "conv1x1"], 20, 6, 3, seed=1)
    last = len(graph.ops) - 1
    consumer = {op.inputs[0]: op for op in graph.ops}
    paced, push = stream_stage(graph, last, 1, push=True, paced=True), stream_stage(graph, last, 1, push=True)
    for stage in (paced, push):
        replay(graph, stage)
    assert paced.cached_rows == {t: window(consumer[t], graph) for t in paced.cached_rows}
    assert sum(push.cached_rows.values()) > sum(paced.cached_rows.values())
    kernels = select_kernels(graph)
    assert plan_arena(graph, kernels, stages=(paced,)).size < plan_arena(graph, kernels, stages=(push,)).size


def test_paced_stage_computes_what_layer_by_layer_computes(tmp_path, monkeypatch):
    """The only mode on offer is paced push, and an SRAM budget just under layer by layer's
    arena takes a stage: the C of its band calls matches patch off and the oracle bit for bit."""
    import aiotc.memory

    model = tmp_path / "chain.tflite"
    model.write_bytes(
        write_tflite(build_chain(["conv3x3s2", "dw5x5", "conv1x1", "dw3x3s2", "residual", "conv1x1"], 23, 9, 3, seed=4))
    )
    monkeypatch.setattr(aiotc.memory, "STREAM_MODES", [(True, 1, True)])
    results: dict[str, list] = {}
    budget = {}
    for patch in ("off", "auto"):
        result = compile_model(model, board="host", out_dir=tmp_path / patch, patch=patch, **budget)
        budget = {"sram_budget": result.report["arena_bytes"] - 16}
        assert (result.report["patch"] is None) == (patch == "off")
        if result.report["patch"]:  # the band calls take turns in one scratch buffer
            staged = [
                op.name
                for op in result.graph.ops[: result.report["patch"]["split_index"] + 1]
                if op.name in result.plan.scratch_offsets
            ]
            assert len(staged) >= 2 and len({result.plan.scratch_offsets[name] for name in staged}) == 1
        runner = HostModel.build(result.out_dir)
        samples = random_samples(runner.inputs, 3, seed=3)
        results[patch] = runner.invoke_batch(samples)
        assert verify(result.out_dir, "host", samples, runner=runner).mismatches == 0
    for a, b in zip(results["off"], results["auto"]):
        assert all(np.array_equal(x, y) for x, y in zip(a, b))


def test_a_stage_shares_one_scratch_buffer():
    """Band calls run one at a time: the stage's ops hold one scratch buffer, the largest of theirs, placed apart from the bands."""
    graph = build_chain(["conv3x3", "dw3x3", "conv1x1", "conv1x1"], 12, 6, 3, seed=2)
    stage = stream_stage(graph, 2, 1, push=True, paced=True)
    kernels = {op.name: Kernel(None, 32 * (i + 1), None) for i, op in enumerate(graph.ops)}
    plan = plan_arena(graph, kernels, stages=(stage,))
    assert len({plan.scratch_offsets[op.name] for op in graph.ops[:3]}) == 1
    assert sorted(b.size for b in plan.buffers if b.name.startswith("scratch:")) == [96, 128]
    assert plan.lower_bound == max(plan.live_bytes()) and plan.live_bytes()[0] == sum(
        b.size for b in plan.buffers if b.first == 0
    )


def test_branches_run_in_the_order_of_least_memory(tmp_path):
    """Two wide branches built breadth-first: reordering runs each to its small end first, and stays exact."""
    from aiotc import ir
    from aiotc.memory.reorder import best_order

    g = OpGraph(seed=1)
    x = g.input((1, 16, 16, 4))
    wide = [g.conv2d(x, 32, kernel=(1, 1), out_scale=0.1) for _ in range(2)]
    small = [g.pool("max_pool2d", t, kernel=(4, 4), stride=(4, 4)) for t in wide]
    graph = g.build(g.movement("concat", small, (1, 4, 4, 64), ir.Concat(3, "none")))
    reordered = best_order(graph)
    assert [op.kind for op in reordered.ops] == ["conv2d", "max_pool2d", "conv2d", "max_pool2d", "concat"]
    assert plan_arena(reordered, select_kernels(reordered)).size < plan_arena(graph, select_kernels(graph)).size
    assert_matches_oracle(graph, tmp_path)  # compiled through the driver, which reorders
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [layer["op"] for layer in report["layers"]] == [op.kind for op in reordered.ops]


def test_a_scratch_on_the_peak_takes_the_scratch_free_kernel(tmp_path):
    """conv -> reshape -> a 3,200-input fully connected layer of 16 rows: the packed kernel's
    6,400 B scratch would be the arena's peak, so the layer runs the scratch-free rows
    kernel (a smaller arena, bit-exact); the convolution's small im2col scratch is not
    worth its speed."""
    from aiotc import ir
    from aiotc.memory import MemoryOptions, choose_schedule, plan_memory
    from aiotc.memory.reorder import best_order

    g = OpGraph(seed=4)
    x = g.input((1, 20, 20, 4), scale=0.05, zero_point=-3)
    conv = g.conv2d(x, out_channels=8, kernel=(3, 3), padding="same", activation="relu")
    flat = g.movement("reshape", [conv], (1, 3200), ir.NoAttrs())
    graph = g.build(g.fully_connected(flat, 16))
    fast = select_kernels(graph)
    conv_op, _, fc_op = graph.ops
    assert fast[fc_op.name].name == "aiotc_fully_connected_packed_s8" and fast[fc_op.name].scratch_bytes == 6400

    planned = plan_memory(graph, fast)
    _, with_scratch = choose_schedule(best_order(graph), fast, MemoryOptions())
    assert planned.kernels[fc_op.name].name == "aiotc_fully_connected_rows_s8"
    assert planned.kernels[fc_op.name].scratch_bytes == 0
    assert planned.kernels[conv_op.name] == fast[conv_op.name]  # 115 k MACs: its scratch stays
    assert planned.arena.size < with_scratch.size - 6000
    # with a budget the fast kernels already fit, they stay
    roomy = plan_memory(graph, fast, MemoryOptions(sram_budget=with_scratch.size))
    assert roomy.kernels == fast and roomy.arena.size == with_scratch.size

    assert_matches_oracle(graph, tmp_path)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    layer = next(layer for layer in report["layers"] if layer["op"] == "fully_connected")
    assert layer["kernel"] == "aiotc_fully_connected_rows_s8" and layer["kernel_choice"].startswith("scratch-free")
    assert report["arena_bytes"] == planned.arena.size


def test_a_quad_scratch_on_the_peak_takes_the_pair_kernel():
    """A 1x1 layer of 256 inputs (197 k MACs) runs 4 pixels per pass on a DSP core (the quad kernel, 4
    prepared columns of scratch); where those columns are the arena's peak (layer by layer,
    above half the interpreter floor), the 2 of its pair twin save more bytes than its few
    extra instructions are worth (0.19 B per thousand MACs), unless a budget already fits
    the quads."""
    from aiotc.memory import MemoryOptions, plan_memory

    g = OpGraph(seed=4)
    wide = g.conv2d(g.input((1, 8, 8, 16)), out_channels=256, kernel=(1, 1))
    graph = g.build(g.conv2d(wide, out_channels=12, kernel=(1, 1)))
    fast = select_kernels(graph, dsp=True)
    name = graph.ops[1].name
    assert fast[name].name == "aiotc_convolve_1x1_quad_s8" and fast[name].scratch_bytes == 4 * 512
    planned = plan_memory(graph, fast, MemoryOptions(stream="off"))
    assert planned.kernels[name].name == "aiotc_convolve_1x1_s8" and planned.kernels[name].scratch_bytes == 2 * 512
    assert planned.kernels[name].why.startswith("aiotc_convolve_1x1_s8 kernel (1,024 B scratch)")
    roomy = plan_memory(graph, fast, MemoryOptions(stream="off", sram_budget=1 << 20))
    assert roomy.kernels == fast and roomy.arena.size == planned.arena.size + 1024


def test_an_arena_under_half_the_interpreter_floor_keeps_the_fast_kernels(monkeypatch):
    """pretrainedResnet_quant's streamed arena on a DSP core (19,200 B with every quad kernel)
    stays under half of what tflite-micro needs at the least (its largest layer's activations
    in their own buffers), so no quad is traded for its pair twin's 576 B smaller scratch;
    with no such floor conv2d_4's quads sit on the arena's peak and are traded."""
    from aiotc.frontend import load_model
    from aiotc.memory import kernel_choice, plan_memory
    from aiotc.memory.reorder import best_order
    from aiotc.passes import run_passes

    graph = best_order(run_passes(load_model(shared_model("mlperf_tiny/pretrainedResnet_quant.tflite"))))
    fast = select_kernels(graph, dsp=True)
    planned = plan_memory(graph, fast)
    assert planned.kernels == fast and 2 * planned.arena.size <= kernel_choice.interpreter_floor(graph)
    monkeypatch.setattr(kernel_choice, "interpreter_floor", lambda graph: 0)
    traded = plan_memory(graph, fast)
    changed = [name for name in fast if traded.kernels[name] != fast[name]]
    assert [(fast[n].name, traded.kernels[n].name) for n in changed] == [
        ("aiotc_convolve_im2col_quad_s8", "aiotc_convolve_im2col_s8")
    ]
    assert traded.arena.size == planned.arena.size - 576


@pytest.mark.parametrize("model", ["mlperf_tiny/vww_96_int8.tflite", "keras/mcunet_like_160_int8.tflite"])
def test_stage_bounds_hold_for_every_candidate(model):
    """The search skips a stage whose lower bounds cannot win: they must never exceed the
    arena the stage gets and its band calls, in any mode (else a better stage could be skipped)."""
    from aiotc.frontend import load_model
    from aiotc.memory import BYTES_PER_CALL, MemoryOptions, choose_schedule
    from aiotc.memory.lifetimes import stage_lower_bound
    from aiotc.memory.reorder import best_order
    from aiotc.memory.streaming import band_rows
    from aiotc.passes import run_passes

    graph = best_order(run_passes(load_model(shared_model(model))))
    kernels = select_kernels(graph)
    live = plan_arena(graph, kernels).live_bytes()
    rows, sizes = band_rows(graph), []
    for last in range(1, len(graph.ops)):
        if not streamable(graph.ops[last], graph):
            break
        bound = max(stage_lower_bound(graph, kernels, last, 16, rows), *live[last + 1 :], 0)
        for push, rows_per_step, paced in STREAM_MODES:
            stage = stream_stage(graph, last, rows_per_step, push, paced)
            if stage is not None:
                sizes.append(plan_arena(graph, kernels, stages=(stage,)).size + BYTES_PER_CALL * stage.calls)
                assert bound <= sizes[-1] - BYTES_PER_CALL * stage.calls, (last, push, rows_per_step, paced)
                assert least_calls(graph, last, rows_per_step, push, paced) <= stage.calls
    (chosen,), arena = choose_schedule(graph, kernels, MemoryOptions())
    assert arena.size + BYTES_PER_CALL * chosen.calls == min(sizes)  # what trying them all picks


def test_taller_bands_win_when_they_cost_little_arena():
    """kws_ref_model's smallest arena streams its first two layers: in one-row bands (50
    calls) or two-row ones (26 calls) for no more bytes, while four-row ones (14 calls) cost
    hundreds of bytes more than the calls saved are worth: the planner takes the two-row
    bands, each layer computing its 25 rows two at a time, also within a budget of that arena."""
    from aiotc.frontend import load_model
    from aiotc.memory import BYTES_PER_CALL, MemoryOptions, choose_schedule
    from aiotc.memory.reorder import best_order
    from aiotc.passes import run_passes

    graph = best_order(run_passes(load_model(shared_model("mlperf_tiny/kws_ref_model.tflite"))))
    kernels = select_kernels(graph)
    one_row, four_rows = (stream_stage(graph, 1, rows, push=True, paced=True) for rows in (1, 4))
    assert one_row is not None and one_row.calls == 50 and four_rows is not None and four_rows.calls == 14
    smallest = plan_arena(graph, kernels, stages=(one_row,)).size
    (chosen,), arena = choose_schedule(graph, kernels, MemoryOptions())
    assert arena.size == smallest and chosen.calls < one_row.calls / 1.5
    assert plan_arena(graph, kernels, stages=(four_rows,)).size > smallest + BYTES_PER_CALL * (chosen.calls - 14)
    per_layer = Counter(c.op_index for calls, _ in chosen.steps for c in calls)
    assert max(per_layer.values()) <= 13  # 25 rows a layer, two at a time
    (tight,), _ = choose_schedule(graph, kernels, MemoryOptions(sram_budget=smallest))
    assert tight.calls == chosen.calls


def densenet_stem():
    """A DenseNet's stem and first layers: PAD -> 7x7 conv, PAD -> 3x3 max pool, then layers
    that append their features to their input (concat)."""
    from aiotc import ir

    g = OpGraph(seed=6)
    x = g.input((1, 24, 24, 3), scale=0.05, zero_point=-3)
    x = g.movement("pad", [x], (1, 30, 30, 3), ir.Pad(((0, 0), (3, 3), (3, 3), (0, 0))))
    x = g.conv2d(x, out_channels=16, kernel=(7, 7), stride=(2, 2), padding="valid", activation="relu", out_zp=-128)
    x = g.movement("pad", [x], (1, 14, 14, 16), ir.Pad(((0, 0), (1, 1), (1, 1), (0, 0))))
    x = g.pool("max_pool2d", x, kernel=(3, 3), stride=(2, 2))
    for _ in range(3):
        channels, q = g.tensors[x].shape[3], g.tensors[x].quant  # a concat's operands share one quantization
        y = g.conv2d(x, 8, activation="relu", out_scale=float(q.scale[0]), out_zp=int(q.zero_point[0]))
        x = g.movement("concat", [x, y], (1, 6, 6, channels + 8), ir.Concat(3, "none"))
    return g.build(g.conv2d(x, out_channels=4, kernel=(1, 1)))


def on_their_input(result, kind: str = "concat") -> list:
    """The in-place pairs of `kind` layers whose output the plan placed over their input (from below or above)."""
    plan, kinds = result.plan, [op.kind for op in result.graph.ops]
    size = {b.name: b.size for b in plan.buffers}
    return [
        p
        for p in plan.in_place
        if kinds[p.op_index] == kind
        and plan.offsets[p.output] < plan.offsets[p.input] + size[p.input]
        and plan.offsets[p.input] < plan.offsets[p.output] + size[p.output]
    ]


def test_pads_fold_and_concatenations_append_in_place(tmp_path):
    """Each PAD becomes its layer's padding, so nothing is stored padded and the stem
    streams; a concat ends on the input it grows, no second copy of it. Bit-exact with
    tflite-micro, which runs the PADs."""
    from aiotc import ir

    result = assert_matches_oracle(densenet_stem(), tmp_path / "whole", patch="off")
    kinds = [op.kind for op in result.graph.ops]
    assert "pad" not in kinds and result.graph.ops[0].attrs.padding == ir.Padding(3, 3, 3, 3)
    assert on_their_input(result), "every concatenation copies its input"
    streamed = assert_matches_oracle(densenet_stem(), tmp_path / "streamed")
    assert streamed.report["patch"] is not None and streamed.report["arena_bytes"] < result.report["arena_bytes"]


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_in_place_concatenations_match_in_qemu(tmp_path, board):
    """The concat's in-place copies (memmove) on the boards: bit-exact with tflite-micro."""
    assert on_their_input(assert_matches_oracle_in_qemu(densenet_stem(), board, tmp_path, patch="off"))


def shifted_pool(dtype: str):
    """NASNet's adjust path: a map shifted a pixel up and left (PAD at the bottom and right,
    then STRIDED_SLICE off the top and left) and average-pooled at stride 2."""
    from aiotc import ir

    g = OpGraph(seed=3, dtype=dtype)
    x = g.conv2d(g.input((1, 11, 11, 4)), 8, kernel=(3, 3), padding="same", activation="relu")
    x = g.movement("pad", [x], (1, 12, 12, 8), ir.Pad(((0, 0), (0, 1), (0, 1), (0, 0))))
    x = g.movement("strided_slice", [x], (1, 11, 11, 8), ir.StridedSlice((0, 1, 1, 0), (1, 12, 12, 8), (1, 1, 1, 1)))
    return g.build(g.conv2d(g.pool("avg_pool2d", x, kernel=(1, 1), stride=(2, 2)), 4, kernel=(1, 1)))


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_pads_and_slices_copy_onto_their_input(tmp_path, dtype):
    """A PAD writes its output over the input it pads, starting as far below it as the
    padding runs ahead; a unit-stride slice over the input it crops: no second copy of
    either map. Bit-exact with the oracle (tflite-micro, LiteRT for floats)."""
    result = assert_matches_oracle(shifted_pool(dtype), tmp_path, patch="off")
    assert on_their_input(result, "pad") and on_their_input(result, "strided_slice")
    one_map = 12 * 12 * 8 * (4 if dtype == "float32" else 1)
    assert result.plan.lower_bound < 2 * one_map


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
def test_in_place_pads_and_slices_match_in_qemu(tmp_path, board):
    """The in-place PAD and slice (rows moved down onto their input) on the boards: bit-exact with tflite-micro."""
    result = assert_matches_oracle_in_qemu(shifted_pool("int8"), board, tmp_path, patch="off")
    assert on_their_input(result, "pad") and on_their_input(result, "strided_slice")


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_prelu_runs_in_place_and_streams(tmp_path, dtype):
    """PReLU is element-wise with a broadcast alpha: it writes over its input layer by layer,
    and a streamed stage runs through it. Bit-exact with the oracle both ways."""
    g = OpGraph(seed=6, dtype=dtype)
    x = g.conv2d(g.input((1, 16, 16, 3)), 8, kernel=(3, 3), padding="same")
    x = g.prelu(x, (1, 1, 8), out_scale=0.05)
    graph = g.build(g.conv2d(g.pool("max_pool2d", x, kernel=(2, 2), stride=(2, 2)), 4, kernel=(1, 1)))
    assert on_their_input(assert_matches_oracle(graph, tmp_path / "whole", patch="off"), "prelu")
    streamed = assert_matches_oracle(graph, tmp_path / "streamed")
    assert streamed.report["patch"]["split_index"] >= 1  # the stage runs past the prelu (layer 1)


def test_views_of_the_input_read_it_where_the_caller_keeps_it(tmp_path):
    """Reshapes of the graph input (one of another) are no copies: the conv and the fully
    connected layer read the caller's input; a reshape to a graph output still copies."""
    from aiotc import ir

    g = OpGraph()
    source = g.input((1, 8, 6), zero_point=-5)
    x = g.movement("reshape", (source,), (1, 8, 1, 6), ir.NoAttrs())
    flat = g.movement("reshape", (x,), (1, 48), ir.NoAttrs())
    out = g.movement("reshape", (source,), (1, 48), ir.NoAttrs())
    graph = g.build(g.conv2d(x, 4, kernel=(3, 1)), g.fully_connected(flat, 5), out)
    compiled = assert_matches_oracle(graph, tmp_path)
    code = (compiled.out_dir / f"{compiled.name}.c").read_text()
    assert code.count("memcpy(") == 1  # the output's copy


@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_a_conv1d_net_streams_along_time_by_default(tmp_path, dtype):
    """One-row maps stream on their side (time along the rows), from the input's reshape to
    the residual add; the arena falls below half of layer by layer's, and stays exact."""
    model = write_model(conv1d_net(dtype=dtype), tmp_path)
    result = compile_model(model, board="host", out_dir=tmp_path / "out")
    whole = compile_model(model, board="host", out_dir=tmp_path / "whole", patch="off")
    assert result.graph[result.graph.ops[1].outputs[0]].shape == (1, 396, 1, 16)  # the first conv, on its side
    assert result.graph.ops[result.report["patch"]["split_index"]].kind == "add"  # the stage ends with the residual sum
    assert result.report["arena_bytes"] * 2 < whole.report["arena_bytes"]
    runner = HostModel.build(result.out_dir)
    check = verify(result.out_dir, "host", random_samples(runner.inputs, 5, seed=3), runner=runner)
    assert check.samples == 5 and check.mismatches == 0 and check.max_abs_diff == 0, check


@pytest.mark.qemu
@pytest.mark.parametrize("board", ["cortex-m4", "cortex-m55"])
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_a_conv1d_net_streamed_along_time_matches_in_qemu(tmp_path, board, dtype):
    """The sideways stage's band calls (reshape, conv, pool, add on a few rows; the conv and
    pool windows of whole rows, one run each) on the boards: bit-exact with the oracle."""
    from aiotc.boards import load_board
    from aiotc.toolchain.qemu import QemuModel

    result = compile_model(write_model(conv1d_net(dtype=dtype), tmp_path), board=board, out_dir=tmp_path / "out")
    assert result.report["patch"] is not None
    qemu = QemuModel.build(result.out_dir, load_board(board))
    check = verify(result.out_dir, board, random_samples(qemu.inputs, 3, seed=5), runner=qemu)
    assert check.samples == 3 and check.mismatches == 0 and check.max_abs_diff == 0, check


def write_model(graph, tmp_path: Path) -> Path:
    model = tmp_path / "model.tflite"
    model.write_bytes(write_tflite(graph))
    return model
