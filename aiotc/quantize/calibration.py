"""Calibration data: what the user hands `--calib`, as float samples in the graph's input shapes.

Accepted: a .npy (one input; a leading N holds N samples), a .npz (one array per
input, in input order), a folder of .npy files (one sample each) or of images
(.png/.jpg/.bmp, resized to the input's height and width, RGB or grayscale by its
channels, then (pixel - mean) / std), or `random` (N(0,1) noise, with a warning:
ranges from noise rarely fit real data). Arrays given in a model's NCHW layout are
transposed to the NHWC the compiled C takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..ir import Graph
from ..samples import nhwc_batch

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@dataclass(frozen=True)
class Calibration:
    """How to calibrate: the data, image normalization, range method and sample limit."""

    data: str
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    method: str = "search"  # "minmax", "mse" (least error per tensor) or "search" (mse refined for the output)
    limit: int = 500
    seed: int = 0
    precision: str = "int8"  # "auto": int4 weights where the flash budget needs them (mixed.py)


def load_calibration(calib: Calibration, graph: Graph) -> list[list[np.ndarray]]:
    """Float samples, one array per graph input, in the IR's (NHWC) shapes."""
    shapes = [graph[name].shape for name in graph.inputs]
    layouts = [graph.layouts.get(name) for name in graph.inputs]
    if calib.data == "random":
        rng = np.random.default_rng(calib.seed)
        return [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(min(calib.limit, 32))]
    path = Path(calib.data)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES | {".npy"})
        if not files:
            raise UsageError(f"calibration folder {path} holds no .npy or image files")
        if len(shapes) != 1:
            raise UsageError(f"a calibration folder feeds one input; the model has {len(shapes)} (use an .npz)")
        files = files[: calib.limit]
        return [[_one_file(f, shapes[0], layouts[0], calib)] for f in files]
    if not path.is_file():
        raise UsageError(f"calibration data {path} does not exist (give a .npy, .npz, a folder, or 'random')")
    arrays = _arrays(path)
    if len(arrays) < len(shapes):
        raise UsageError(f"{path} holds {len(arrays)} array(s); the model has {len(shapes)} input(s)")
    batches = [_batch(a, s, layout, path) for a, s, layout in zip(arrays, shapes, layouts)]
    count = min(b.shape[0] for b in batches)
    return [[b[i] for b in batches] for i in range(min(count, calib.limit))]


def _arrays(path: Path) -> list[np.ndarray]:
    try:
        if path.suffix == ".npz":
            with np.load(path) as archive:
                return [archive[key] for key in archive.files]
        return [np.load(path, allow_pickle=False)]
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read calibration data {path}: {exc}") from None


def _batch(array: np.ndarray, shape: tuple[int, ...], layout: str | None, path: Path) -> np.ndarray:
    return nhwc_batch(np.asarray(array, dtype=np.float32), shape, layout, path)


def _one_file(path: Path, shape: tuple[int, ...], layout: str | None, calib: Calibration) -> np.ndarray:
    if path.suffix == ".npy":
        return _batch(_arrays(path)[0], shape, layout, path)[0]
    return load_image(path, shape, calib.mean, calib.std)


def load_image(path: Path, shape: tuple[int, ...], mean=(0.0,), std=(1.0,)) -> np.ndarray:
    """An image file as one NHWC input sample: resized, RGB or grayscale, normalized."""
    from PIL import Image, UnidentifiedImageError

    if len(shape) != 4 or shape[3] not in (1, 3):
        raise UsageError(f"images calibrate 1- or 3-channel NHWC inputs; the model's input is {list(shape)}")
    try:
        with Image.open(path) as image:
            image = image.convert("L" if shape[3] == 1 else "RGB").resize(
                (shape[2], shape[1]), Image.Resampling.BILINEAR
            )
            pixels = np.asarray(image, dtype=np.float32).reshape(shape[1:])
    except (OSError, UnidentifiedImageError) as exc:
        raise UsageError(f"cannot read image {path}: {exc}") from None
    return ((pixels - np.float32(mean)) / np.float32(std)).reshape(shape).astype(np.float32)
