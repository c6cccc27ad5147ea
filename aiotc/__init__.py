"""aiotc: a TinyML compiler from TFLite/ONNX models to plain C for microcontrollers.

The Python API (docs/python-api.md): aiotc.compile, aiotc.verify, aiotc.verify_layers, aiotc.export_tflite.
"""

__version__ = "0.1.0"

from .api import compile, export_tflite, verify, verify_layers  # noqa: E402,A004  (after __version__, which the modules read)

__all__ = ["__version__", "compile", "export_tflite", "verify", "verify_layers"]
