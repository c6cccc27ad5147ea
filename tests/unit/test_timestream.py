"""--stream's plan (aiotc/memory/timestream.py) on small graphs: the rows each frame
computes, the rows kept, the warm-up fills, worked out by hand; nothing compiled
(tests/test_stream.py runs the C against the windowed model)."""

from __future__ import annotations

import pytest

from aiotc.errors import UsageError
from aiotc.frontend import load_model
from aiotc.memory.timestream import Fill, plan_time_stream
from aiotc.passes import run_passes

from ..conftest import shared_model
from ..oplib import OpGraph


def rows_per_op(frames) -> list[tuple[int, tuple[int, int]]]:
    return [(c.op_index, c.rows) for c in frames.calls]


def test_valid_layers_compute_one_row_per_frame_and_keep_their_halo():
    g = OpGraph()
    x = g.input((1, 12, 3, 2))
    a = g.conv2d(x, 4, kernel=(3, 3), padding="valid")  # 10 x 1 rows
    b = g.conv2d(a, 4, kernel=(4, 1), padding="valid")  # 7 rows
    graph, frames = plan_time_stream(g.build(g.mean(b, (1, 2))))
    assert rows_per_op(frames) == [(0, (9, 10)), (1, (6, 7))]
    assert [r.rows for r in frames.calls[1].reads if r] == [(6, 10)]
    assert list(frames.kept.values()) == [3, 4, 7]  # input: conv a's 3 rows; a: b's 4; b: whole, the mean reads it
    assert frames.fills == (Fill(a, 3, (0, 3)), Fill(b, 6, (0, 6)))
    assert graph.inputs == (frames.frame,) and graph[frames.frame].shape == (1, 1, 3, 2)
    assert set(graph.state) == set(frames.kept) and frames.last_op == 1


def test_same_padding_recomputes_the_border_rows_of_every_window():
    g = OpGraph()
    a = g.conv2d(g.input((1, 12, 4, 2)), 4)  # SAME: 1 border row at each end
    b = g.depthwise(a)  # 2 at each end
    _, frames = plan_time_stream(g.build(g.mean(b, (1, 2))))
    assert rows_per_op(frames) == [(0, (0, 1)), (0, (10, 12)), (1, (0, 2)), (1, (9, 12))]
    assert set(frames.kept.values()) == {12}  # the top border rows read each map from its first row
    assert frames.fills == (Fill(a, 10, (1, 10)), Fill(b, 9, (2, 9)))


def test_str_ww_streams_every_conv_with_a_few_rows_each():
    graph = run_passes(load_model(shared_model("mlperf_tiny/str_ww_ref_model.tflite")))
    _, frames = plan_time_stream(graph)
    assert frames.last_op == 7 and all(c.rows[1] - c.rows[0] == 1 for c in frames.calls)
    assert list(frames.kept.values()) == [3, 1, 5, 1, 10, 1, 15, 1, 1]


def test_stride_along_time_is_refused_by_layer():
    graph = run_passes(load_model(shared_model("mlperf_tiny/kws_ref_model.tflite")))
    with pytest.raises(UsageError, match=r"layer '.*Conv2D1' \(conv2d\) has stride 2 along time"):
        plan_time_stream(graph)


def test_a_resize_along_time_ends_the_stage():
    """Upsampled rows are no shift of the frames' rows: the resize and what follows it are the head."""
    from aiotc import ir

    g = OpGraph()
    a = g.conv2d(g.input((1, 12, 3, 2)), 4, kernel=(3, 3), padding="valid")  # 10 x 1 rows
    up = g.movement("resize_nearest", [a], (1, 20, 1, 4), ir.Resize())
    _, frames = plan_time_stream(g.build(g.mean(up, (1, 2))))
    assert frames.last_op == 0 and rows_per_op(frames) == [(0, (9, 10))]
