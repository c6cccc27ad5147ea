"""Models the frontend must refuse with one clear line (ModelError), never another exception.

The broken models are written here with the raw flatbuffer builder, so each test
controls exactly what is wrong: several subgraphs, a dynamic dimension, an
unsupported or custom op, a tensor index out of range, a wrong buffer size.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
import tracemalloc

import flatbuffers
import numpy as np
import pytest
import tflite

from aiotc.errors import ModelError, UnsupportedOpsError
from aiotc.frontend import load_model
from aiotc.frontend.checks import MAX_SUBGRAPH_DEPTH
from aiotc.frontend.tflite import load_tflite

from .conftest import shared_model


def _schema(table):
    return importlib.import_module(f"tflite.{table}")


def tiny_model(
    subgraphs=1, signature=None, ops=("RELU",), custom=None, op_input=0, weight_bytes=None, shape=(1, 4), repeat_ops=1
) -> bytes:
    """A float model: tensor 0 (`shape`) -> op -> tensor 1, with the defect asked for
    (`repeat_ops` lists the same operator table that many times)."""
    b = flatbuffers.Builder(1024)
    T, Q, S, OP, OC, M, B = (
        _schema(n)
        for n in ("Tensor", "QuantizationParameters", "SubGraph", "Operator", "OperatorCode", "Model", "Buffer")
    )

    def vec(values, dtype=np.int32):
        return b.CreateNumpyVector(np.asarray(values, dtype=dtype))

    def tensor(name, buffer, shape, sig=None):
        shape_v, name_s = vec(shape), b.CreateString(name)
        sig_v = vec(sig) if sig is not None else None
        T.TensorStart(b)
        T.TensorAddShape(b, shape_v)
        if sig_v is not None:
            T.TensorAddShapeSignature(b, sig_v)
        T.TensorAddType(b, 0)
        T.TensorAddBuffer(b, buffer)
        T.TensorAddName(b, name_s)
        return T.TensorEnd(b)

    def offsets(start, items):
        start(b, len(items))
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    def subgraph():
        tensors = [tensor("in", 0, list(shape), signature), tensor("out", 0, list(shape))]
        if weight_bytes is not None:
            tensors.append(tensor("w", 1, [4, 4]))
        operators = []
        for i, _ in enumerate(ops):
            ins, outs = vec([op_input] + ([2] if weight_bytes is not None else [])), vec([1])
            OP.OperatorStart(b)
            OP.OperatorAddOpcodeIndex(b, i)
            OP.OperatorAddInputs(b, ins)
            OP.OperatorAddOutputs(b, outs)
            operators.append(OP.OperatorEnd(b))
        operators *= repeat_ops
        t_vec, o_vec, i_vec, out_vec = (
            offsets(S.SubGraphStartTensorsVector, tensors),
            offsets(S.SubGraphStartOperatorsVector, operators),
            vec([0]),
            vec([1]),
        )
        S.SubGraphStart(b)
        S.SubGraphAddTensors(b, t_vec)
        S.SubGraphAddOperators(b, o_vec)
        S.SubGraphAddInputs(b, i_vec)
        S.SubGraphAddOutputs(b, out_vec)
        return S.SubGraphEnd(b)

    graphs = [subgraph() for _ in range(subgraphs)]
    codes = []
    for name in ops:
        custom_s = b.CreateString(custom) if name == "CUSTOM" else None
        OC.OperatorCodeStart(b)
        code = getattr(tflite.BuiltinOperator, name)
        OC.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
        OC.OperatorCodeAddBuiltinCode(b, code)
        if custom_s is not None:
            OC.OperatorCodeAddCustomCode(b, custom_s)
        codes.append(OC.OperatorCodeEnd(b))
    buffers = []
    for data in [None] + ([weight_bytes] if weight_bytes is not None else []):
        data_v = b.CreateNumpyVector(np.frombuffer(data, np.uint8)) if data else None
        B.BufferStart(b)
        if data_v is not None:
            B.BufferAddData(b, data_v)
        buffers.append(B.BufferEnd(b))
    c_vec, g_vec, b_vec = (
        offsets(M.ModelStartOperatorCodesVector, codes),
        offsets(M.ModelStartSubgraphsVector, graphs),
        offsets(M.ModelStartBuffersVector, buffers),
    )
    M.ModelStart(b)
    M.ModelAddVersion(b, 3)
    M.ModelAddOperatorCodes(b, c_vec)
    M.ModelAddSubgraphs(b, g_vec)
    M.ModelAddBuffers(b, b_vec)
    b.Finish(M.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def _load(tmp_path, data: bytes):
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    return load_tflite(path)


def test_the_tiny_model_itself_loads(tmp_path):
    graph = _load(tmp_path, tiny_model())
    assert [op.kind for op in graph.ops] == ["relu"]


def test_other_subgraphs_are_read_only_when_called(tmp_path):
    """Subgraph 0 is the model; another one runs only as an op's (CALL_ONCE's) subgraph."""
    assert [op.kind for op in _load(tmp_path, tiny_model(subgraphs=2)).ops] == ["relu"]


def test_dynamic_shape(tmp_path):
    with pytest.raises(ModelError, match="dynamic shape"):
        _load(tmp_path, tiny_model(signature=[1, -1]))


def test_dynamic_batch_is_fixed_by_the_shape(tmp_path):
    assert _load(tmp_path, tiny_model(signature=[-1, 4]))["in"].shape == (1, 4)


def test_all_unsupported_ops_are_listed_at_once(tmp_path):
    with pytest.raises(UnsupportedOpsError) as info:
        _load(tmp_path, tiny_model(ops=("UNIQUE", "RELU", "CUSTOM", "SIGN"), custom="MyOp"))
    message = str(info.value)
    assert "UNIQUE at op 0" in message and "CUSTOM:MyOp at op 2" in message and "SIGN at op 3" in message
    assert "RELU" not in "; ".join(info.value.problems)  # supported: only in the list of what is
    assert len(info.value.problems) == 3


def test_dangling_tensor_index(tmp_path):
    with pytest.raises(ModelError, match="refers to tensor 7"):
        _load(tmp_path, tiny_model(op_input=7))


def test_buffer_size_disagreeing_with_shape(tmp_path):
    with pytest.raises(ModelError, match="holds 12 bytes"):
        _load(tmp_path, tiny_model(ops=("ADD",), weight_bytes=bytes(12)))


def test_bit_flips_never_escape_as_other_exceptions(tmp_path):
    data = bytearray(shared_model("mlperf_tiny/ad01_int8.tflite").read_bytes())
    rng = np.random.default_rng(0)
    for trial in range(40):
        mutated = bytearray(data)
        for position in rng.integers(0, 4096, size=8):  # the flatbuffer tables live near the front
            mutated[position] ^= 1 << int(rng.integers(0, 8))
        path = tmp_path / f"flip{trial}.tflite"
        path.write_bytes(bytes(mutated))
        try:
            load_model(path)
        except ModelError:
            pass


def _refused_quickly(path, expected: str) -> None:
    """Refused with one line naming the limit, in well under a second, allocating little."""
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ModelError, match=expected) as refusal:
        load_model(path)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 1.0 and peak < 64 << 20, (elapsed, peak)
    assert "\n" not in str(refusal.value)


def test_a_tensor_of_2_to_the_40_bytes_is_refused(tmp_path):
    path = tmp_path / "huge.tflite"
    path.write_bytes(tiny_model(shape=(1 << 19, 1 << 19)))
    _refused_quickly(path, r"1,099,511,627,776 B; aiotc refuses tensors over")
    result = subprocess.run([sys.executable, "-m", "aiotc", "inspect", str(path)], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "refuses tensors" in result.stderr, (
        result.stderr
    )


def test_a_million_ops_are_refused(tmp_path):
    path = tmp_path / "long.tflite"
    path.write_bytes(tiny_model(repeat_ops=1_000_000))
    _refused_quickly(path, r"declares 1,000,000 ops; aiotc refuses models over 10,000")


def test_onnx_subgraphs_nested_too_deep_are_refused(tmp_path):
    from onnx import TensorProto, helper

    leaf = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "leaf",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    body = leaf
    for depth in range(MAX_SUBGRAPH_DEPTH + 1):
        node = helper.make_node("If", ["c"], ["y"], then_branch=body, else_branch=leaf)
        body = helper.make_graph(
            [node],
            f"level{depth}",
            [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
        )
    path = tmp_path / "nested.onnx"
    path.write_bytes(helper.make_model(body).SerializeToString())
    _refused_quickly(path, rf"subgraphs nest {MAX_SUBGRAPH_DEPTH + 1} deep")


def test_onnx_external_data_is_refused(tmp_path):
    """An initializer's data in a file the model names would let a model read the host's files."""
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [4], np.zeros(4, np.float32).tobytes(), raw=True)
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    weight.external_data.add(key="location", value="secrets.bin")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
        [weight],
    )
    (tmp_path / "secrets.bin").write_bytes(b"\x01" * 16)
    path = tmp_path / "external.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    _refused_quickly(path, "keeps its data in an external file")
