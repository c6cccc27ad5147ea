"""The op table (aiotc/ops.py) and the code registered per kind must not drift apart."""

import tflite

from aiotc.codegen.emit import LOWERINGS
from aiotc.frontend import checks, onnx, supported_ops
from aiotc.ops import OPS

ONNX_WITHOUT_KIND = {"Identity", "Dropout", "QuantizeLinear", "DequantizeLinear"}  # their converters emit no op


def test_every_kind_has_a_lowering_and_every_lowering_a_kind():
    assert set(LOWERINGS) == set(OPS)


def test_the_tflite_frontend_reads_exactly_the_builtins_of_the_table():
    assert set(supported_ops()["TFLite"]) == {name for facts in OPS.values() for name in facts.tflite}


def test_export_writes_real_builtins():
    assert all(facts.tflite and hasattr(tflite.BuiltinOperator, facts.tflite[0]) for facts in OPS.values())


def test_every_onnx_converter_emits_a_kind_of_the_table():
    in_table = {name for facts in OPS.values() for name in facts.onnx}
    assert in_table <= set(onnx.CONVERTERS)
    assert set(onnx.CONVERTERS) - in_table == ONNX_WITHOUT_KIND


def test_shape_rules_name_kinds_of_the_table():
    assert set(checks.SHAPE_RULES) <= set(OPS)


def test_weighted_kinds_take_a_filter():
    assert all(facts.min_inputs >= 2 for facts in OPS.values() if facts.weighted)
