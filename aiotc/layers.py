"""verify --layers: every layer's output in the C against the oracle's tensor of the same name.

After each layer, model.c.j2's AIOTC_LAYER_END hook copies the arena before the memory
plan reuses the layer's bytes: a Python callback in the host build, the whole arena written
through semihosting in a QEMU image (main.c.j2's mode 3). The oracle
keeps all its tensors (tflite-micro's kPreserveAllTensors, onnxruntime with every node
output made a graph output). Layers are matched by output tensor name: a layer aiotc
folded away (an activation fused into a conv, a reshape removed) has no aiotc tensor,
and a layer of the streamed stage before its last holds only a band of rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .boards import load_board
from .errors import UsageError
from .oracle import OracleTensor, oracle_tensors
from .samples import random_samples
from .toolchain.host import NUMPY_DTYPES, HostModel, read_report
from .toolchain.qemu import QemuModel
from .verification import oracle_model, outputs_match


@dataclass(frozen=True)
class LayerResult:
    index: int
    name: str  # the output tensor's
    op: str
    status: str  # "match", "DIFFERS", or why it was not compared
    max_abs_diff: float | None = None
    sqnr_db: float | None = None  # inf when equal

    @property
    def differs(self) -> bool:
        return self.status == "DIFFERS"


@dataclass(frozen=True)
class LayersResult:
    oracle: str
    layers: list[LayerResult]
    oracle_only: list[str] = field(default_factory=list)  # oracle tensors no aiotc layer writes

    @property
    def first_bad(self) -> LayerResult | None:
        return next((layer for layer in self.layers if layer.differs), None)

    @property
    def ok(self) -> bool:
        return self.first_bad is None

    def as_dict(self) -> dict:
        """JSON-ready: an infinite SQNR (equal tensors) is null, as JSON has no infinity."""
        first = self.first_bad
        layers = [
            asdict(layer)
            | {"sqnr_db": layer.sqnr_db if layer.sqnr_db is None or math.isfinite(layer.sqnr_db) else None}
            for layer in self.layers
        ]
        return {
            "ok": self.ok,
            "first_bad": first.name if first else None,
            "oracle": self.oracle,
            "layers": layers,
            "oracle_only": self.oracle_only,
        }


def verify_layers(
    out_dir: Path, board: str, sample: list[np.ndarray] | None = None, seed: int = 0, dump: Path | None = None
) -> LayersResult:
    """One sample (random from `seed` unless given) through the build with the layer hook and
    through the oracle, layer by layer; `dump` writes both sides' tensors as .npy."""
    report = read_report(out_dir)
    if "stream" in report:
        raise UsageError("verify --layers does not take a --stream folder (its layers run once per frame)")
    if any("output_offset" not in layer for layer in report["layers"]):
        raise UsageError(f"{out_dir} comes from an aiotc before verify --layers: compile the model again")
    target = load_board(board)
    if target.qemu_machine is None:
        model: HostModel | QemuModel = HostModel.build(out_dir, layer_hook=True)
    else:
        model = QemuModel.build(out_dir, target)
    regions = {}
    for index, layer in enumerate(report["layers"]):
        if layer["output_offset"] is not None:
            nbytes = math.prod(layer["output_shape"]) * np.dtype(NUMPY_DTYPES[layer["output_dtype"]]).itemsize
            regions[index] = (layer["output_offset"], nbytes)
    if sample is None:
        sample = random_samples(model.inputs, 1, seed)[0]
    outputs, captured = model.invoke_capturing(sample, regions)
    by_output = {spec.name: values for spec, values in zip(model.outputs, outputs)}
    oracle, want = oracle_tensors(oracle_model(out_dir, report), sample)
    results = []
    for index, layer in enumerate(report["layers"]):
        name, shape = layer["output"], tuple(layer["output_shape"])
        dtype = NUMPY_DTYPES[layer["output_dtype"]]
        got = by_output.get(name)
        if got is None and index in captured:
            got = captured[index].view(dtype).reshape(shape)
        banded = (report["patch"] is not None and index < report["patch"]["split_index"]) or (
            report["tail"] is not None and report["tail"]["split_index"] <= index < report["tail"]["last_index"]
        )
        results.append(_compare(index, layer["op"], name, got, want.get(name), banded))
        if dump is not None and got is not None:
            _save(dump / "aiotc", f"{index:03d}_{name}", got)
    if dump is not None:
        for name, tensor in want.items():
            _save(dump / "oracle", name, tensor.values)
    written = {layer["output"] for layer in report["layers"]}
    return LayersResult(oracle, results, sorted(set(want) - written))


def _compare(
    index: int, op: str, name: str, got: np.ndarray | None, want: OracleTensor | None, banded: bool
) -> LayerResult:
    if want is None:
        return LayerResult(index, name, op, "aiotc's own layer: no oracle tensor")
    if got is None:
        why = "streamed in row bands (--patch off compares it)" if banded else "kept outside the arena"
        return LayerResult(index, name, op, f"not captured: {why}")
    expected = _as_nhwc(want.values, got.shape)
    ok, diff = outputs_match(got, expected)
    return LayerResult(index, name, op, "match" if ok else "DIFFERS", diff, _sqnr(got, expected, want.zero_point))


def _as_nhwc(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """An ONNX NCHW tensor in aiotc's NHWC layout; other shapes as they are."""
    if values.shape != shape and values.ndim == 4 and values.transpose(0, 2, 3, 1).shape == shape:
        return values.transpose(0, 2, 3, 1)
    return values.reshape(shape) if values.size == math.prod(shape) else values


def _sqnr(got: np.ndarray, want: np.ndarray, zero_point: int) -> float | None:
    """Signal (the oracle's values from their zero point) over noise (the difference), in dB."""
    if got.shape != want.shape:
        return None
    signal = float(np.sum((want.astype(np.float64) - zero_point) ** 2))
    noise = float(np.sum((got.astype(np.float64) - want.astype(np.float64)) ** 2))
    if noise == 0:
        return math.inf
    return 10 * math.log10(signal / noise) if signal > 0 else -math.inf


def _save(folder: Path, name: str, values: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:150]
    np.save(folder / f"{safe}.npy", values)
