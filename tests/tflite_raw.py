"""TFLite flatbuffers written op by op with the `tflite` schema builders, for models
aiotc's own writer never produces: shape subgraphs (SHAPE, PACK), shape signatures,
tensors without names, options of ops aiotc does not run, odd quantization fields.

    m = RawModel()
    x = m.tensor((1, 8), "int8", quant=(0.05, 0))
    y = m.tensor((1, 8), "int8", quant=(0.05, 0))
    m.op("RELU", [x], [y])
    data = m.build([x], [y])
"""

from __future__ import annotations

import importlib

import flatbuffers
import numpy as np
import tflite

TYPES = {
    "float32": 0,
    "float16": 1,
    "int32": 2,
    "int64": 4,
    "bool": 6,
    "int16": 7,
    "int8": 9,
    "uint64": 12,
    "uint32": 15,
}


def _schema(table: str):
    return importlib.import_module(f"tflite.{table}")


class RawModel:
    def __init__(self):
        self.b = flatbuffers.Builder(4096)
        self.tensors: list[int] = []
        self.buffers: list[int] = [self._buffer(None)]
        self.operators: list[int] = []
        self.codes: list[int] = []

    def tensor(self, shape, dtype: str, data=None, quant=None, signature=None, name: str | None = "") -> int:
        """A tensor's index; `quant` is (scales, zero points[, quantized_dimension]);
        name None leaves the name out (name "" gives t<index>)."""
        b, T = self.b, _schema("Tensor")
        buffer = 0
        if data is not None:
            self.buffers.append(self._buffer(np.ascontiguousarray(np.asarray(data, dtype=dtype)).tobytes()))
            buffer = len(self.buffers) - 1
        q = self._quant(*quant) if quant is not None else None
        shape_v = b.CreateNumpyVector(np.asarray(shape, np.int32))
        sig_v = b.CreateNumpyVector(np.asarray(signature, np.int32)) if signature is not None else None
        name_s = b.CreateString(name or f"t{len(self.tensors)}") if name is not None else None
        T.TensorStart(b)
        T.TensorAddShape(b, shape_v)
        if sig_v is not None:
            T.TensorAddShapeSignature(b, sig_v)
        T.TensorAddType(b, TYPES[dtype])
        T.TensorAddBuffer(b, buffer)
        if name_s is not None:
            T.TensorAddName(b, name_s)
        if q is not None:
            T.TensorAddQuantization(b, q)
        self.tensors.append(T.TensorEnd(b))
        return len(self.tensors) - 1

    def const(self, values, dtype: str = "int32", **kwargs) -> int:
        values = np.asarray(values, dtype=dtype)
        return self.tensor(values.shape, dtype, values, **kwargs)

    def op(self, opname: str | int, inputs, outputs, options: str | None = None, **fields) -> None:
        """An operator; `options` names its options table, `fields` fill it (vectors as lists)."""
        b, OP = self.b, _schema("Operator")
        code = getattr(tflite.BuiltinOperator, opname) if isinstance(opname, str) else opname
        if code not in self.codes:
            self.codes.append(code)
        table = self._options(options, fields) if options else None
        ins, outs = (
            b.CreateNumpyVector(np.asarray(inputs, np.int32)),
            b.CreateNumpyVector(np.asarray(outputs, np.int32)),
        )
        OP.OperatorStart(b)
        OP.OperatorAddOpcodeIndex(b, self.codes.index(code))
        OP.OperatorAddInputs(b, ins)
        OP.OperatorAddOutputs(b, outs)
        if table is not None:
            OP.OperatorAddBuiltinOptionsType(b, getattr(tflite.BuiltinOptions, options))
            OP.OperatorAddBuiltinOptions(b, table)
        self.operators.append(OP.OperatorEnd(b))

    def build(self, inputs, outputs) -> bytes:
        b = self.b
        S, OC, M = _schema("SubGraph"), _schema("OperatorCode"), _schema("Model")
        tensors, operators = (
            self._vector(S.SubGraphStartTensorsVector, self.tensors),
            self._vector(S.SubGraphStartOperatorsVector, self.operators),
        )
        ins, outs = (
            b.CreateNumpyVector(np.asarray(inputs, np.int32)),
            b.CreateNumpyVector(np.asarray(outputs, np.int32)),
        )
        S.SubGraphStart(b)
        S.SubGraphAddTensors(b, tensors)
        S.SubGraphAddOperators(b, operators)
        S.SubGraphAddInputs(b, ins)
        S.SubGraphAddOutputs(b, outs)
        subgraph = S.SubGraphEnd(b)
        codes = []
        for code in self.codes:
            OC.OperatorCodeStart(b)
            OC.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            OC.OperatorCodeAddBuiltinCode(b, code)
            OC.OperatorCodeAddVersion(b, 1)
            codes.append(OC.OperatorCodeEnd(b))
        codes_v = self._vector(M.ModelStartOperatorCodesVector, codes)
        graphs_v = self._vector(M.ModelStartSubgraphsVector, [subgraph])
        buffers_v = self._vector(M.ModelStartBuffersVector, self.buffers)
        M.ModelStart(b)
        M.ModelAddVersion(b, 3)
        M.ModelAddOperatorCodes(b, codes_v)
        M.ModelAddSubgraphs(b, graphs_v)
        M.ModelAddBuffers(b, buffers_v)
        b.Finish(M.ModelEnd(b), file_identifier=b"TFL3")
        return bytes(b.Output())

    def _options(self, table: str, fields: dict) -> int:
        module, b = _schema(table), self.b
        vectors = {
            k: b.CreateNumpyVector(np.asarray(v, np.int32)) for k, v in fields.items() if isinstance(v, (list, tuple))
        }
        getattr(module, f"{table}Start")(b)
        for field, value in fields.items():
            getattr(module, f"{table}Add{field}")(b, vectors.get(field, value))
        return getattr(module, f"{table}End")(b)

    def _quant(self, scales, zero_points, axis: int = 0) -> int:
        b, Q = self.b, _schema("QuantizationParameters")
        scale_v = b.CreateNumpyVector(np.atleast_1d(np.asarray(scales, np.float32)))
        zp_v = b.CreateNumpyVector(
            np.broadcast_to(np.asarray(zero_points, np.int64), np.atleast_1d(scales).shape).copy()
        )
        Q.QuantizationParametersStart(b)
        Q.QuantizationParametersAddScale(b, scale_v)
        Q.QuantizationParametersAddZeroPoint(b, zp_v)
        Q.QuantizationParametersAddQuantizedDimension(b, axis)
        return Q.QuantizationParametersEnd(b)

    def _buffer(self, raw: bytes | None) -> int:
        B, b = _schema("Buffer"), self.b
        data = b.CreateNumpyVector(np.frombuffer(raw, np.uint8)) if raw else None
        B.BufferStart(b)
        if data is not None:
            B.BufferAddData(b, data)
        return B.BufferEnd(b)

    def _vector(self, start, offsets: list[int]) -> int:
        start(self.b, len(offsets))
        for offset in reversed(offsets):
            self.b.PrependUOffsetTRelative(offset)
        return self.b.EndVector()
