"""Unit tests of the memory planner's pieces (aiotc/memory/), of kernel selection and of
the streamed stage's loop folding (codegen/stage.py): small graphs built by hand, figures
worked out by hand, nothing compiled. test_plan.py checks the pieces together, against
the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiotc import ir
from aiotc.codegen.stage import Loop, Statement, compress, resolve
from aiotc.kernels import DW_BAND, GROUP, Kernel, select_kernel, select_kernels
from aiotc.memory import MemoryOptions, calls, plan_memory
from aiotc.memory.analysis import op_macs, op_weight_bytes, total_macs
from aiotc.memory.inplace import InPlace, in_place_pairs
from aiotc.memory.lifetimes import Buffer, lifetimes, live_profile
from aiotc.memory.placement import ArenaPlan, plan_arena, verify_plan

from ..oplib import OpGraph, conv1d_net, quant

PLAIN = Kernel(None, 0, None)  # no scratch, never in place


def test_macs_count_each_multiply_accumulate_once():
    g = OpGraph()
    conv = g.conv2d(g.input((1, 8, 8, 3)), 4)  # 8x8x4 outputs of 3x3x3 taps
    depthwise = g.depthwise(conv, stride=(2, 2))  # 4x4x4 outputs of 3x3 taps
    graph = g.build(g.pool("max_pool2d", depthwise))
    assert [op_macs(op, graph) for op in graph.ops] == [8 * 8 * 4 * 27, 4 * 4 * 4 * 9, 0]
    assert total_macs(graph) == 8 * 8 * 4 * 27 + 4 * 4 * 4 * 9
    assert op_weight_bytes(graph.ops[0], graph) == 4 * 27 + 4 * 4  # int8 weights, int32 bias
    g = OpGraph()
    graph = g.build(g.fully_connected(g.input((2, 16)), 5))
    assert op_macs(graph.ops[0], graph) == 2 * 16 * 5


def chain() -> ir.Graph:
    """input -> conv -> relu -> reshape -> fully connected -> output."""
    g = OpGraph()
    conv = g.conv2d(g.input((1, 4, 4, 8)), 8, kernel=(1, 1))
    relu = g.unary("relu", conv)
    flat = g.movement("reshape", [relu], (1, 128), ir.NoAttrs())
    return g.build(g.fully_connected(flat, 3))


def test_lifetimes_run_from_writer_to_last_reader_and_leave_out_the_caller_buffers():
    graph = chain()
    conv, relu, reshape, fc = graph.ops
    kernels = dict.fromkeys((op.name for op in graph.ops), PLAIN) | {fc.name: Kernel(None, 40, None)}
    life = lifetimes(graph, kernels, alignment=16)
    assert {b.name: (b.first, b.last, b.size) for b in life.buffers} == {
        conv.outputs[0]: (0, 1, 128),
        relu.outputs[0]: (1, 3, 128),  # the reshape of it dies with it: one buffer, read by the fc
        f"scratch:{fc.name}": (3, 3, 48),  # aligned
    }
    assert life.alias == {reshape.outputs[0]: relu.outputs[0]}
    assert live_profile(life.buffers, len(graph.ops)) == [128, 256, 128, 176]


def test_an_elementwise_kernel_writes_over_its_dying_input_one_group_below():
    graph = chain()
    conv, relu = graph.ops[:2]
    dies_at = {conv.outputs[0]: 1, relu.outputs[0]: 3}
    kernels = select_kernels(graph)
    assert in_place_pairs(graph, kernels, dies_at, 16) == [
        InPlace(1, conv.outputs[0], relu.outputs[0], 16)
    ]  # GROUP int8 elements, aligned
    assert in_place_pairs(graph, kernels | {relu.name: PLAIN}, dies_at, 16) == []  # a kernel without the contract
    life = lifetimes(graph, kernels, 16)
    assert live_profile(life.buffers, len(graph.ops), life.in_place)[1] == 128 + 16


def test_kernel_selection_decides_scratch_and_write_group():
    g = OpGraph()
    wide = g.depthwise(g.input((1, 10, 12, 8), zero_point=-3))
    narrow = g.depthwise(g.input((1, 10, 6, 8), zero_point=-3))
    graph = g.build(wide, narrow)
    banded, opt = (select_kernel(op, graph) for op in graph.ops)
    assert (
        banded.name == "aiotc_depthwise_conv_3x3_s8" and banded.write_group == DW_BAND * 12 and banded.scratch_bytes > 0
    )
    assert opt.name == "aiotc_depthwise_conv_opt_s8" and opt.write_group == GROUP and opt.scratch_bytes > 0
    graph = chain()
    assert select_kernel(graph.ops[2], graph) == PLAIN  # a reshape: aliased, never computed in place


def test_an_mve_core_runs_3x3_depthwise_on_many_channels_with_the_channel_vectors():
    """On the M55 the opt kernel's channel vectors beat the banded kernel's column vectors
    from 1.25 channels per output column (issue 22); without MVE the banded kernel runs
    every 3x3 shape, and the write group stays the band's whichever kernel runs it."""
    g = OpGraph()
    many = g.depthwise(g.input((1, 24, 24, 32), zero_point=-3), stride=(2, 2))  # 32 channels, 12 columns
    few = g.depthwise(g.input((1, 40, 40, 48), zero_point=-3))  # 48 channels, 40 columns
    graph = g.build(many, few)
    assert [select_kernel(op, graph, mve=True).name for op in graph.ops] == [
        "aiotc_depthwise_conv_opt_s8",
        "aiotc_depthwise_conv_3x3_s8",
    ]
    assert {select_kernel(op, graph).name for op in graph.ops} == {"aiotc_depthwise_conv_3x3_s8"}
    assert select_kernel(graph.ops[0], graph, mve=True).write_group == DW_BAND * 12


def test_compact_int4_takes_the_reference_loops():
    g = OpGraph()
    graph = g.build(g.int4(g.conv2d(g.input((1, 6, 6, 8), zero_point=-3), 4)))
    op = graph.ops[0]
    assert select_kernel(op, graph).name == "aiotc_convolve_im2col_s4"
    assert select_kernel(op, graph, compact_int4=True) == Kernel(None, 0, GROUP)


def test_a_budget_picks_the_simplest_schedule_that_fits():
    g = OpGraph(seed=1)
    x = g.conv2d(g.input((1, 24, 24, 3)), 16, stride=(2, 2))
    x = g.depthwise(x)
    graph = g.build(g.conv2d(x, 8, kernel=(1, 1)))
    kernels = select_kernels(graph)
    whole = plan_memory(graph, kernels, MemoryOptions(stream="off"))
    assert whole.stages == () and whole.arena.size == plan_arena(graph, kernels).size
    streamed = plan_memory(graph, kernels)
    assert streamed.stages and streamed.arena.size < whole.arena.size
    assert plan_memory(graph, kernels, MemoryOptions(sram_budget=whole.arena.size)).stages == ()
    tight = plan_memory(graph, kernels, MemoryOptions(sram_budget=streamed.arena.size))
    assert tight.arena.size <= streamed.arena.size and calls(tight.stages) <= calls(streamed.stages)


@st.composite
def placed_buffers(draw):
    """Random lifetimes, sizes and offsets, all multiples of 16."""
    count = draw(st.integers(1, 8))
    buffers = []
    for k in range(count):
        first = draw(st.integers(0, 5))
        buffers.append(Buffer(f"b{k}", 16 * draw(st.integers(1, 6)), first, draw(st.integers(first, 5))))
    offsets = {b.name: 16 * draw(st.integers(0, 12)) for b in buffers}
    return buffers, offsets


@settings(max_examples=300, deadline=None, derandomize=True)
@given(placed_buffers())
def test_the_verifier_rejects_exactly_the_placements_where_live_buffers_share_a_byte(case):
    buffers, offsets = case
    clash = any(
        a.overlaps_in_time(b)
        and offsets[a.name] < offsets[b.name] + b.size
        and offsets[b.name] < offsets[a.name] + a.size
        for i, a in enumerate(buffers)
        for b in buffers[i + 1 :]
    )
    plan = ArenaPlan(offsets, {}, max(offsets[b.name] + b.size for b in buffers), 0, tuple(buffers), 6)
    if clash:
        with pytest.raises(AssertionError, match="overlap"):
            verify_plan(plan)
    else:
        verify_plan(plan)


def band(text: str, offset: int) -> list[Statement]:
    """One step of a stage: a band call whose input pointer sits `offset` bytes in."""
    return [Statement(0, None, text, (("x", offset),), "", True)]


def test_repeated_band_steps_fold_into_a_loop_with_advancing_pointers():
    steps = [band("head(@@0@@);", 0)] + [band("call(@@0@@);", 16 * k) for k in range(1, 6)]
    head, loop = compress(steps)
    assert head.text == "head(@@0@@);"
    assert isinstance(loop, Loop) and loop.repeats == 5 and loop.strides == [16]

    class Pointers:
        def ptr(self, tensor, offset, advance=None):
            return f"{tensor}+{offset}" + (f"+{advance}" if advance else "")

    assert resolve(loop.body[0], Pointers(), loop.strides) == "call(x+16+16 * band);"
    assert compress(steps[:3]) == [s for step in steps[:3] for s in step]  # two repeats stay unrolled


def test_a_conv1d_net_turns_on_its_side_and_streams_from_its_input_reshape():
    """One-row maps become one-column ones (time along the rows), the caller's I/O shapes kept;
    the input's reshape, the add and the reshape back to a sequence stream row by row."""
    from aiotc.memory.streaming import streamable
    from aiotc.memory.timestream import on_its_side

    graph = conv1d_net()
    turned = on_its_side(graph)
    assert [turned[op.outputs[0]].shape for op in turned.ops[:4]] == [
        (1, 400, 1, 3),
        (1, 396, 1, 16),
        (1, 198, 1, 16),
        (1, 198, 1, 16),
    ]
    assert [turned[t].shape for t in (*turned.inputs, *turned.outputs)] == [(1, 400, 3), (1, 3)]
    assert [op.kind for op in turned.ops] == [
        *("reshape", "conv2d", "max_pool2d", "conv2d", "add"),  # the sequences' reshapes gone: the add adds images
        *("reshape", "mean", "fully_connected"),  # the mean reads the sum as a sequence
    ]
    assert [streamable(op, turned) for op in turned.ops] == [True] * 6 + [False] * 2  # not the mean, not the dense
    assert not streamable(graph.ops[0], graph)  # upright, the input's 400 rows become one: no stage starts


def test_only_one_row_graphs_with_their_io_kept_turn_on_their_side():
    from aiotc.memory.timestream import on_its_side

    g = OpGraph()
    image = g.build(g.conv2d(g.input((1, 8, 8, 2)), 4))
    g = OpGraph()
    one_row_out = g.build(g.conv2d(g.input((1, 1, 16, 2)), 4, kernel=(1, 3)))  # the caller's map would turn
    assert on_its_side(image) is None and on_its_side(one_row_out) is None


def test_rows_of_sequences_and_reshapes_stream_only_where_each_row_stays_a_row():
    from aiotc.memory.streaming import streamable

    g = OpGraph()
    x = g.input((1, 6, 4))
    flat = g.movement("reshape", (x,), (1, 24), ir.NoAttrs())
    image = g.movement("reshape", (x,), (1, 6, 1, 4), ir.NoAttrs())
    by_channel = g.binary("mul", x, g.const(np.ones((4,), np.int8), quant(0.1)))
    by_row = g.binary("mul", x, g.const(np.ones((6, 1), np.int8), quant(0.1)))
    graph = g.build(flat, image, by_channel, by_row)
    assert [streamable(op, graph) for op in graph.ops] == [False, True, True, False]


def test_a_reshape_in_a_stage_writes_its_own_band_buffer():
    """A stage's tensors are bands: a reshape ending the stage cannot alias its input's band."""
    from aiotc.memory.streaming import stream_stage
    from aiotc.memory.timestream import on_its_side

    graph = on_its_side(conv1d_net())
    stage = stream_stage(graph, 5, push=True, paced=True)  # through the reshape of the sum
    life = lifetimes(graph, {op.name: PLAIN for op in graph.ops}, 16, (stage,))
    total, reshaped = graph.ops[5].inputs[0], graph.ops[5].outputs[0]
    assert total in stage.cached_rows and reshaped not in stage.cached_rows  # a band, and a map stored whole
    assert reshaped not in life.alias and reshaped in {b.name for b in life.buffers}


def test_the_smaller_plan_of_upright_and_sideways_wins_and_within_a_budget_the_simpler():
    from aiotc.memory import least_plan
    from aiotc.memory.timestream import on_its_side

    graphs = [conv1d_net(), on_its_side(conv1d_net())]
    upright, sideways = (plan_memory(g, select_kernels(g)) for g in graphs)
    assert upright.stages == () and sideways.stages
    assert sideways.arena.size * 2 < upright.arena.size
    assert least_plan([upright, sideways], None) is sideways
    assert least_plan([upright, sideways], upright.arena.size) is upright  # fits with no band call


def test_a_stage_may_start_after_the_reshape_opening_the_graph():
    """Keras' Conv1D opens with an ExpandDims of the caller's input: in a stage it copies
    each band into the arena (conv1d_ts on the M55: 969 instructions, CMSIS-NN's 531). It is
    a view of the input instead, no arena bytes and no copy: the stage from the next op on
    reads the input where it is (1,728 B, not 1,808 B)."""
    g = OpGraph()
    source = g.input((1, 128, 3))
    x = g.movement("reshape", (source,), (1, 128, 1, 3), ir.NoAttrs())
    a = g.pool("max_pool2d", g.conv2d(x, 16, kernel=(5, 1), padding="valid", activation="relu"), (2, 1), (2, 1))
    b = g.conv2d(a, 32, kernel=(3, 1), stride=(2, 1), padding="valid", activation="relu")
    c = g.conv2d(b, 32, kernel=(3, 1), activation="relu")
    graph = g.build(g.fully_connected(g.mean(c, (1, 2), keepdims=False), 6))
    plan = plan_memory(graph, select_kernels(graph))
    assert [(stage.first_op, stage.last_op) for stage in plan.stages] == [(1, 3)]
    assert plan.arena.views == {x: source} and x not in plan.arena.offsets
    assert plan.arena.size == 1728


def test_a_reshape_of_the_input_is_a_view_unless_it_is_an_output():
    """A view is read wherever the input is, by any number of ops; a reshape to a graph
    output still copies (the caller's output buffer is its own)."""
    g = OpGraph()
    source = g.input((1, 8, 6))
    x = g.movement("reshape", (source,), (1, 8, 1, 6), ir.NoAttrs())
    flat = g.movement("reshape", (x,), (1, 48), ir.NoAttrs())  # a view of a view
    out = g.movement("reshape", (source,), (1, 48), ir.NoAttrs())
    graph = g.build(g.conv2d(x, 4, kernel=(3, 1)), g.fully_connected(flat, 5), out)
    life = lifetimes(graph, select_kernels(graph), 16)
    assert life.views == {x: source, flat: source}
    assert out not in life.views and not {x, flat} & {b.name for b in life.buffers}


def test_the_fewest_band_calls_bound_every_stage_and_are_exact_when_paced():
    """choose_schedule skips a stage whose calls alone cannot win: least_calls must never
    exceed a stage's calls (else a better stage could be skipped). Pushed and paced one row a
    step, each op computes one row a call: the bound is the stage's calls."""
    from aiotc.memory import STREAM_MODES
    from aiotc.memory.streaming import least_calls, stream_stage
    from aiotc.memory.timestream import on_its_side

    graph = on_its_side(conv1d_net())
    for last in range(1, 6):
        for push, rows, paced in STREAM_MODES:
            stage = stream_stage(graph, last, rows, push, paced)
            assert 0 < least_calls(graph, last, rows, push, paced) <= stage.calls, (last, push, rows, paced)
            if push and paced and rows == 1:
                assert least_calls(graph, last, rows, push, paced) == stage.calls


def test_tail_stages_cover_the_peak_to_the_end_of_its_run():
    """A tail starts anywhere from its streamable run's start (never op 0: that is a head)
    to the peak and ends where the run ends, at the graph's end or before an op that
    cannot stream (an ONNX model's output transpose); a peak that cannot stream has none."""
    from aiotc.memory import tail_spans

    streams = [True, True, False, True, True, True, False, True]
    assert tail_spans(streams, 4) == [(3, 5), (4, 5)]
    assert tail_spans(streams, 5) == [(3, 5), (4, 5)]  # a stage has two ops at least
    assert tail_spans(streams, 2) == []
    assert tail_spans([True] * 5, 2) == [(1, 4), (2, 4)]


def test_int16_weight_kernels_give_way_to_int8_ones_over_the_flash():
    """aiotc_convolve_1x1_few_s8 and aiotc_depthwise_conv_pairs_s8 hold their weights as int16:
    where the image would outgrow the flash, the layers take the kernels of int8 weights."""
    g = OpGraph()
    x = g.depthwise(g.conv2d(g.input((1, 8, 8, 16)), 16, kernel=(1, 1)), stride=(2, 2))
    graph = g.build(x)
    wide = select_kernels(graph, dsp=True, flash=1 << 20)
    assert sorted(k.name for k in wide.values()) == ["aiotc_convolve_1x1_few_s8", "aiotc_depthwise_conv_pairs_s8"]
    assert all("fit the 1,048,576 B of flash" in k.why for k in wide.values())
    narrow = select_kernels(graph, dsp=True, flash=1024)
    assert not {k.name for k in narrow.values()} & {"aiotc_convolve_1x1_few_s8", "aiotc_depthwise_conv_pairs_s8"}
    assert all("int16 weights" in k.why and "over the 1,024 B of flash" in k.why for k in narrow.values())
