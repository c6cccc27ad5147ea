"""aiotc: a TinyML compiler from TFLite/ONNX models to plain C for microcontrollers."""

__version__ = "0.1.0"
