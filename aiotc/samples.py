"""Input samples for run and verify: loaded from .npy/.npz/.bin files or drawn at random.

A sample is a list with one array per graph input, in the graph input's shape and
dtype. Float data given for an integer input is quantized with the input's own
scale and zero point (TFLite rounding), so real-valued features can drive int8 models.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import UsageError
from .fixedpoint import INT_RANGE
from .toolchain.host import IOSpec


def random_samples(specs: list[IOSpec], count: int, seed: int = 0) -> list[list[np.ndarray]]:
    """Deterministic random inputs covering each input's whole integer range (floats: N(0,1))."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        sample = []
        for spec in specs:
            if spec.dtype in INT_RANGE:
                lo, hi = INT_RANGE[spec.dtype]
                sample.append(rng.integers(lo, hi + 1, size=spec.shape, dtype=np.int64).astype(spec.np_dtype))
            else:
                sample.append(rng.standard_normal(spec.shape).astype(spec.np_dtype))
        samples.append(sample)
    return samples


def load_samples(path: Path, specs: list[IOSpec]) -> list[list[np.ndarray]]:
    """Samples from a file: .npy (one input), .npz (arrays in input order) or raw float32 .bin."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"input file {path} does not exist")
    try:
        if path.suffix == ".npz":
            with np.load(path) as archive:
                arrays = [archive[key] for key in archive.files]
        elif path.suffix == ".bin":
            arrays = [np.fromfile(path, dtype=np.float32)]
        else:
            arrays = [np.load(path, allow_pickle=False)]
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read inputs from {path}: {exc}") from None
    if len(arrays) < len(specs):
        raise UsageError(f"{path} holds {len(arrays)} array(s); the model has {len(specs)} input(s)")
    batches = [_as_batch(array, spec, path) for array, spec in zip(arrays, specs)]
    count = batches[0].shape[0]
    if any(b.shape[0] != count for b in batches):
        raise UsageError(f"the arrays in {path} hold different numbers of samples")
    return [[batch[i] for batch in batches] for i in range(count)]


def _as_batch(array: np.ndarray, spec: IOSpec, path: Path) -> np.ndarray:
    batch = nhwc_batch(array, spec.shape, spec.source_layout, path)
    return (
        quantize_input(batch, spec)
        if spec.dtype in INT_RANGE and batch.dtype.kind == "f"
        else batch.astype(spec.np_dtype)
    )


def nhwc_batch(array: np.ndarray, shape: tuple[int, ...], source_layout: str | None, path: Path) -> np.ndarray:
    """`array` as [N, *shape]; data in the source model's NCHW layout is transposed to NHWC."""
    if array.size == 0 or array.size % int(np.prod(shape)):
        raise UsageError(
            f"{path}: an array of shape {list(array.shape)} is not a whole number of inputs of shape {list(shape)}"
        )
    if source_layout == "NCHW" and len(shape) == 4:
        nchw = (shape[3], shape[1], shape[2])
        if array.shape[-3:] == nchw and nchw != tuple(shape[1:]):
            return np.ascontiguousarray(array.reshape(-1, *nchw).transpose(0, 2, 3, 1)).reshape(-1, *shape)
    return array.reshape(-1, *shape)


def quantize_input(values: np.ndarray, spec: IOSpec) -> np.ndarray:
    """Real values to the input's integer type: round half away from zero, as TFLite quantizes."""
    lo, hi = INT_RANGE[spec.dtype]
    scaled = values.astype(np.float32) / np.float32(spec.scale)
    rounded = np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)
    return np.clip(rounded + spec.zero_point, lo, hi).astype(spec.np_dtype)


def dequantize_output(values: np.ndarray, spec: IOSpec) -> np.ndarray:
    """Integer outputs back to real values with the output's scale and zero point."""
    return ((values.astype(np.float32) - spec.zero_point) * np.float32(spec.scale)).astype(np.float32)
