"""The static stack estimate (gcc's call graph) bounds the painted-stack peak measured in QEMU."""

from __future__ import annotations

import json

import pytest

from aiotc.boards import load_board
from aiotc.driver import compile_model
from aiotc.toolchain.qemu import QemuModel
from aiotc.toolchain.stack import EXTERNAL_FRAME_BYTES, stack_usage

from .conftest import shared_model

CALL_GRAPH = """graph: { title: "m.c"
node: { title: "m_invoke" label: "m_invoke\\nm.c:3:5\\n16 bytes (static)" }
node: { title: "m.c:helper" label: "helper\\nm.c:9:5\\n40 bytes (static)" }
node: { title: "kernel" label: "kernel\\nk.c:1:1\\n100 bytes (static)" }
node: { title: "memcpy" label: "__builtin_memcpy\\n<built-in>" shape : ellipse }
node: { title: "unused" label: "unused\\nm.c:20:1\\n999 bytes (static)" }
edge: { sourcename: "m_invoke" targetname: "m.c:helper" label: "m.c:4:9" }
edge: { sourcename: "m_invoke" targetname: "kernel" label: "m.c:5:9" }
edge: { sourcename: "m.c:helper" targetname: "memcpy" }
edge: { sourcename: "kernel" targetname: "m_invoke" }
}
"""


def test_deepest_chain_from_a_call_graph(tmp_path):
    (tmp_path / "m.ci").write_text(CALL_GRAPH)
    usage = stack_usage(tmp_path, "m_invoke")
    assert usage.frames == {"helper": 40, "kernel": 100, "m_invoke": 16}  # `unused` is not reachable
    assert (usage.largest_frame, usage.largest_frame_bytes) == ("kernel", 100)
    assert (
        usage.estimate_bytes == 16 + 40 + EXTERNAL_FRAME_BYTES > 16 + 100
    )  # memcpy's allowance makes helper the deeper chain
    assert usage.path == ["m_invoke", "helper", "__builtin_memcpy"]
    assert usage.external_calls == ["__builtin_memcpy"] and usage.recursive == ["kernel"]


@pytest.mark.qemu
@pytest.mark.parametrize(
    "relative",
    ["mlperf_tiny/kws_ref_model.tflite", "mlperf_tiny/pretrainedResnet_quant.tflite", "keras/fire_64_float.tflite"],
)
def test_measured_stack_within_the_static_estimate(relative, tmp_path):
    out = compile_model(shared_model(relative), board="cortex-m4", out_dir=tmp_path / "out").out_dir
    qemu = QemuModel.build(out, load_board("cortex-m4"))
    figures = qemu.bench()
    usage = figures["stack_usage"]
    report = json.loads((out / "report.json").read_text())
    assert (
        report["stack"]["estimate_bytes"] == usage["estimate_bytes"] and report["stack"]["frames"] == usage["frames"]
    )  # compile stated what bench measures against
    assert report["flash_bytes"] == figures["flash_model_bytes"]
    assert usage["path"][0] == f"{qemu.name}_invoke" and usage["recursive"] == [] and usage["dynamic"] == []
    assert usage["largest_frame_bytes"] == max(usage["frames"].values()) > 0
    assert any(kernel.startswith("aiotc_") for kernel in usage["frames"])
    # The test program measures from inside measure_stack; what it adds below that point is `harness_bytes`.
    assert 0 < figures["stack_bytes"] <= usage["estimate_bytes"] + usage["harness_bytes"]
    assert usage["harness_bytes"] <= 64


def test_compile_states_the_stack_and_flash_for_a_cortex_m_board(tmp_path):
    """report.json carries every function's frame (-fstack-usage), the largest, and the deepest chain."""
    report = compile_model(
        shared_model("mlperf_tiny/kws_ref_model.tflite"), board="cortex-m4", out_dir=tmp_path / "m4"
    ).report
    stack = report["stack"]
    kernels = {
        name for name in stack["frames"] if name.startswith("aiotc_") and name not in ("aiotc_now", "aiotc_layer_end")
    }
    assert {layer["kernel"] for layer in report["layers"] if layer["kernel"]} <= kernels  # every layer's kernel
    assert stack["largest_frame_bytes"] == max(stack["frames"].values()) == stack["frames"][stack["largest_frame"]]
    assert (
        stack["deepest_chain"][0] == "kws_ref_model_invoke" and stack["estimate_bytes"] >= stack["largest_frame_bytes"]
    )
    assert report["flash_bytes"] > report["weights_bytes"]  # the code and kernels on top
    host = compile_model(shared_model("mlperf_tiny/kws_ref_model.tflite"), out_dir=tmp_path / "host").report
    assert host["stack"] is None and host["flash_bytes"] is None and host["target_build"].startswith("none")
