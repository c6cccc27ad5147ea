"""The Python API, for notebooks and build scripts: what the CLI does, as functions.

    import aiotc
    result = aiotc.compile("model.tflite", "out/kws", board="cortex-m4", sram_budget=64 * 1024)
    result.report["arena_bytes"]
    aiotc.verify("out/kws", board="host", samples=20).ok
    aiotc.verify_layers("out/kws").first_bad  # None, or the first layer that differs

Options are CompileOptions' fields (aiotc/options.py): board, name, patch, patch_overhead,
sram_budget, flash_budget, stream (one frame per call, docs/streaming.md), calib (an
aiotc.quantize.Calibration). Errors a user can cause
raise aiotc.errors.AiotcError subclasses with the CLI's one-line message.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .driver import CompileResult
    from .layers import LayersResult
    from .options import CompileOptions
    from .verification import VerifyResult


def compile(  # noqa: A001
    model: str | Path,
    out_dir: str | Path | None = None,
    *,
    force: bool = False,
    packages: tuple[str, ...] = (),
    **options,
) -> CompileResult:
    """Compile a TFLite or ONNX model into a C library folder (`aiotc compile`); `force`
    replaces a folder holding files aiotc did not write, moving them to a backup; `packages`
    adds build-system layouts ("zephyr", "cmsis-pack", "platformio", "arduino": `--package`)."""
    from .driver import compile_model

    return compile_model(model, out_dir=out_dir, force=force, packages=tuple(packages), **options)


def verify(model_or_out: str | Path, board: str = "host", samples: int = 10, seed: int = 0, **options) -> VerifyResult:
    """Run a compiled folder (or a model, compiled on the fly) on random inputs, on the host or
    in QEMU, and compare every output with the oracle (`aiotc verify`)."""
    from .options import CompileOptions
    from .samples import random_samples
    from .verification import build_runner
    from .verification import verify as compare

    with compiled(Path(model_or_out), CompileOptions(board=board, **options)) as out_dir:
        runner = build_runner(out_dir, board)
        return compare(out_dir, board, random_samples(runner.inputs, samples, seed), runner=runner)


def verify_layers(
    model_or_out: str | Path, board: str = "host", seed: int = 0, dump: str | Path | None = None, **options
) -> LayersResult:
    """One random input through the C with every layer's output captured, each compared with
    the oracle's tensor of the same name (`aiotc verify --layers`)."""
    from .layers import verify_layers as compare
    from .options import CompileOptions

    with compiled(Path(model_or_out), CompileOptions(board=board, **options)) as out_dir:
        return compare(out_dir, board, seed=seed, dump=Path(dump) if dump else None)


def export_tflite(model: str | Path, tflite_path: str | Path, calib=None) -> dict:
    """The model as a .tflite, quantized first when it is float and `calib` is given (`aiotc export`)."""
    from .driver import export_model

    return export_model(model, tflite_path, calib)


@contextmanager
def compiled(model_or_out: Path, options: CompileOptions) -> Iterator[Path]:
    """An output folder as is, or a model compiled into a temporary one (run, verify, bench)."""
    if model_or_out.is_dir():
        yield model_or_out
        return
    from .driver import compile_model

    with tempfile.TemporaryDirectory(prefix="aiotc-") as tmp:
        yield compile_model(model_or_out, options, Path(tmp) / "out").out_dir
