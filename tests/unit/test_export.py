"""aiotc.export.tflite: a graph written as .tflite reads back as the same graph
(ops, attributes, shapes, types, quantization and constants)."""

from __future__ import annotations

import numpy as np

from aiotc import ir
from aiotc.export.tflite import write_tflite
from aiotc.frontend import load_model

from ..conftest import shared_model
from ..oplib import OpGraph


def int8_graph() -> ir.Graph:
    g = OpGraph(seed=5)
    x = g.input((1, 8, 8, 3), scale=0.05, zero_point=-128)
    y = g.conv2d(x, out_channels=6, stride=(2, 2), activation="relu")
    y = g.depthwise(y, multiplier=2)
    y = g.pool("avg_pool2d", y)
    y = g.binary("add", y, y)
    y = g.movement("reshape", (y,), (1, 48), ir.NoAttrs())
    y = g.fully_connected(y, 10)
    return g.build(g.unary("softmax", y, out_scale=1 / 256, out_zp=-128, attrs=ir.Softmax(1.0)))


def assert_same_graph(a: ir.Graph, b: ir.Graph) -> None:
    assert [(op.kind, op.attrs) for op in a.ops] == [(op.kind, op.attrs) for op in b.ops]
    assert len(a.inputs) == len(b.inputs) and len(a.outputs) == len(b.outputs)
    for op_a, op_b in zip(a.ops, b.ops, strict=True):
        for name_a, name_b in zip(op_a.inputs + op_a.outputs, op_b.inputs + op_b.outputs, strict=True):
            ta, tb = a[name_a], b[name_b]
            assert (ta.shape, ta.dtype, ta.quant) == (tb.shape, tb.dtype, tb.quant), name_a
            assert (ta.data is None) == (tb.data is None)
            if ta.data is not None:
                np.testing.assert_array_equal(ta.data, tb.data)


def test_written_graph_reads_back(tmp_path):
    graph = int8_graph()
    path = tmp_path / "g.tflite"
    path.write_bytes(write_tflite(graph))
    assert_same_graph(graph, load_model(path))


def test_a_real_model_survives_a_round_trip(tmp_path):
    graph = load_model(shared_model("mlperf_tiny/kws_ref_model.tflite"))
    path = tmp_path / "kws.tflite"
    path.write_bytes(write_tflite(graph))
    assert_same_graph(graph, load_model(path))
