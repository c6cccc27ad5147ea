"""An unrolled loop's steps are one body for PTQ (aiotc/quantize/steps.py)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from aiotc.frontend import load_model
from aiotc.quantize.ptq import free_tensors
from aiotc.quantize.steps import search_units, step_groups


def test_an_unrolled_rnn_node_searches_one_unit_per_body_tensor(tmp_path):
    steps, hidden = 5, 4
    rng = np.random.default_rng(0)
    weights = [
        numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
        for name, shape in (("W", (1, hidden, 3)), ("R", (1, hidden, hidden)))
    ]
    graph = helper.make_graph(
        [helper.make_node("RNN", ["x", "W", "R"], ["", "y"], hidden_size=hidden)],
        "rnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, 1, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, hidden])],
        weights,
    )
    path = tmp_path / "rnn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), path)
    g = load_model(path)
    groups = step_groups(g)
    hidden_states = groups["y@2/h"]
    assert hidden_states == tuple(f"y@{t}/h" for t in range(steps))
    units = search_units(free_tensors(g), groups)
    assert units == [  # the hidden states are tanh outputs (fixed parameters), step 0's R h a constant
        tuple(f"y@{t}/xh" for t in range(steps)),
        tuple(f"y@{t}/h_in" for t in range(steps)),
        tuple(f"y@{t}/hh" for t in range(1, steps)),
    ]
