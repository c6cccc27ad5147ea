"""Frontends: model files become IR graphs. `load_model` picks one by the file's content."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError
from ..ir import Graph
from .checks import MAX_FILE_BYTES, check_graph
from .hybrid import dequantize_weights


def load_model(path: str | Path) -> Graph:
    """Load a .tflite (or, by content, any TFLite flatbuffer) or .onnx model into the IR, its
    declarations checked, a hybrid model's quantized weights dequantized (hybrid.py)."""
    graph = dequantize_weights(_load(Path(path)))
    check_graph(graph)
    return graph


def _load(path: Path) -> Graph:
    """The graph as the file declares it, read by the frontend its content asks for."""
    if not path.is_file():
        raise ModelError(f"{path}: no such model file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ModelError(f"{path.name}: {path.stat().st_size:,} B; aiotc refuses model files over {MAX_FILE_BYTES:,} B")
    try:
        head = path.open("rb").read(8)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read ({exc.strerror})") from None
    if head[4:8] == b"TFL3" or path.suffix == ".tflite":
        from .tflite import load_tflite

        return load_tflite(path)
    if path.suffix == ".onnx":
        from .onnx import load_onnx

        return load_onnx(path)
    raise ModelError(f"{path.name}: not a model aiotc reads (expected .tflite or .onnx)")


def supported_ops() -> dict[str, tuple[str, ...]]:
    """The model ops each frontend reads, by format: the same tables its converters dispatch on."""
    from . import onnx, tflite

    return {"TFLite": tflite.SUPPORTED_OPS, "ONNX": onnx.SUPPORTED_OPS}
