"""Host toolchain: build a generated library with gcc and call it through cffi.

Builds go to the build cache (cache.py), shared with the Arm builds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ToolchainError, UsageError
from ..schema import Report, Tensor
from .cache import build_key, build_once, content_key, runtime_dir

WARNINGS = ["-Wall", "-Wextra", "-Werror", "-pedantic"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
# verify --layers: AIOTC_LAYER_END (model.c.j2's hook between layers) calls a function
# pointer the caller sets, which copies the layer's output out of the arena before a later
# layer reuses its bytes.
LAYER_HOOK_FLAG = (
    "-DAIOTC_LAYER_END(index)=do { extern void (*aiotc_layer_hook)(int32_t);"
    " if (aiotc_layer_hook) { aiotc_layer_hook(index); } } while (0)"
)
LAYER_HOOK_SOURCE = "#include <stdint.h>\nvoid (*aiotc_layer_hook)(int32_t) = 0;\n"
NUMPY_DTYPES = {
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "float32": np.float32,
    "bool": np.uint8,
}


@dataclass(frozen=True)
class IOSpec:
    """One graph input or output as the library lays it out in the caller's buffer."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int
    nbytes: int
    scale: float | None
    zero_point: int | None
    source_layout: str | None = None  # "NCHW": the source model's layout of this NHWC input

    @classmethod
    def from_report(cls, entry: Tensor) -> IOSpec:
        return cls(
            entry["name"],
            tuple(entry["shape"]),
            entry["dtype"],
            entry["offset"],
            entry["bytes"],
            entry["scale"],
            entry["zero_point"],
            entry.get("source_layout"),
        )

    @property
    def np_dtype(self):
        return NUMPY_DTYPES[self.dtype]


def read_report(out_dir: Path) -> Report:
    path = Path(out_dir) / "report.json"
    if not path.is_file():
        raise UsageError(f"{out_dir} is not an aiotc output folder (no report.json)")
    return json.loads(path.read_text())


def library_sources(out_dir: Path, name: str) -> list[Path]:
    out_dir = Path(out_dir)
    return [out_dir / f"{name}.c", out_dir / f"{name}_weights.c", *sorted(runtime_dir(out_dir).glob("*.c"))]


def _compiler() -> str:
    cc = os.environ.get("CC", "gcc")
    if shutil.which(cc) is None:
        raise ToolchainError(f"C compiler {cc!r} not found: install gcc (Debian package 'gcc') or set CC")
    return cc


def build_shared_library(out_dir: Path, name: str, extra_flags: tuple[str, ...] = ()) -> Path:
    """Compile the library into a shared object for cffi."""
    flags = ["-std=c99", "-O2", "-fPIC", "-shared", *WARNINGS, *extra_flags]
    return cached_build(out_dir, name, flags, f"lib{name}.so")


def _run(command: list[str], what: Path) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise ToolchainError(f"{command[0]} failed to build {what}:\n{result.stderr.strip()}")


def _kernel_object(cc: str, flags: list[str], source: Path) -> Path:
    """One runtime kernel compiled alone, once per compiler, flags, source and runtime headers:
    kernels are the same files from model to model, so a new model compiles only its own C."""
    runtime = source.parent
    compile_flags = [flag for flag in flags if flag != "-shared"]
    files = {h.name: h.read_bytes() for h in runtime.glob("*.h")} | {source.name: source.read_bytes()}
    key = content_key([cc, *compile_flags, "-c"], files)
    product = f"{source.stem}.o"

    def build(staging: Path) -> None:
        _run([cc, *compile_flags, "-I", str(runtime), "-c", str(source), "-o", str(staging / product)], source)

    return build_once(key, product, build) / product


def cached_build(
    out_dir: Path, name: str, flags: list[str], product: str, extra_sources: dict[str, str] | None = None
) -> Path:
    """Compile the library's sources (and `extra_sources`, name -> text) into `product`, once per content (cache.py)."""
    cc = _compiler()
    extra_sources = extra_sources or {}
    key = build_key(
        [cc, *flags, product], out_dir, {src_name: text.encode() for src_name, text in extra_sources.items()}
    )

    def build(staging: Path) -> None:
        model, weights, *kernels = library_sources(out_dir, name)
        sources = [str(model), str(weights)]
        for src_name, text in extra_sources.items():
            (staging / src_name).write_text(text)
            sources.append(str(staging / src_name))
        objects = [str(_kernel_object(cc, flags, kernel)) for kernel in kernels]
        runtime = runtime_dir(out_dir)
        _run(
            [
                cc,
                *flags,
                "-I",
                str(out_dir),
                "-I",
                str(runtime),
                *sources,
                *objects,
                "-o",
                str(staging / product),
                "-lm",
            ],
            Path(out_dir),
        )

    return build_once(key, product, build) / product


class HostModel:
    """A generated library loaded into this process: raw tensors in, raw tensors out."""

    def __init__(
        self,
        library: Path,
        name: str,
        inputs: list[IOSpec],
        outputs: list[IOSpec],
        arena_size: int,
        stateful: bool = False,
    ):
        from cffi import FFI

        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self._ffi = FFI()
        self._ffi.cdef(f"int {name}_invoke_with_arena(const void *input, void *output, void *arena);")
        self._lib = self._ffi.dlopen(str(library))
        self._invoke = getattr(self._lib, f"{name}_invoke_with_arena")
        self.stateful = stateful  # has recurrent state: invoke carries it on, invoke_batch resets it per sample
        if stateful:
            self._ffi.cdef(f"void {name}_reset(void);")
        # A fresh, poisoned arena every call would hide nothing the sanitizer build does not
        # catch; one reused arena keeps 100-sample verifies fast.
        self._arena = np.full(max(arena_size, 1) + 16, 0xA5, dtype=np.uint8)
        start = (-self._arena.ctypes.data) % 16
        self._arena_view = self._arena[start : start + max(arena_size, 1)]

    @classmethod
    def build(cls, out_dir: Path, layer_hook: bool = False) -> HostModel:
        """The library as a shared object; with `layer_hook`, invoke_capturing can copy each layer's output."""
        report = read_report(out_dir)
        name = report["name"]
        if layer_hook:
            flags = ["-std=c99", "-O2", "-fPIC", "-shared", *WARNINGS, LAYER_HOOK_FLAG]
            library = cached_build(
                out_dir, name, flags, f"lib{name}_layers.so", {"aiotc_layer_hook.c": LAYER_HOOK_SOURCE}
            )
        else:
            library = build_shared_library(out_dir, name)
        return cls(
            library,
            name,
            [IOSpec.from_report(e) for e in report["inputs"]],
            [IOSpec.from_report(e) for e in report["outputs"]],
            report["arena_bytes"],
            report.get("state_bytes", 0) > 0,
        )

    def reset(self) -> None:
        """Clear the recurrent state, as tflite-micro's interpreter.reset() does."""
        if self.stateful:
            getattr(self._lib, f"{self.name}_reset")()

    def invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        in_buf = np.frombuffer(bytearray(pack_inputs(self.inputs, inputs)), dtype=np.uint8)
        out_buf = np.zeros(buffer_bytes(self.outputs), dtype=np.uint8)
        status = self._invoke(
            self._ffi.from_buffer(in_buf), self._ffi.from_buffer(out_buf), self._ffi.from_buffer(self._arena_view)
        )
        if status != 0:
            raise ToolchainError(f"{self.name}_invoke returned error {status}")
        return unpack_outputs(self.outputs, out_buf)

    def invoke_capturing(
        self, inputs: list[np.ndarray], regions: dict[int, tuple[int, int]]
    ) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
        """invoke, also copying arena bytes [offset, offset + nbytes) of `regions` (layer index ->
        region) when that layer ends; needs a build with layer_hook. The last copy of a layer
        called once per band wins."""
        captured: dict[int, np.ndarray] = {}

        def layer_end(index: int) -> None:
            if index in regions:
                offset, nbytes = regions[index]
                captured[index] = self._arena_view[offset : offset + nbytes].copy()

        self._ffi.cdef("extern void (*aiotc_layer_hook)(int32_t);", override=True)
        hook = self._ffi.callback("void(int32_t)", layer_end)
        self._lib.aiotc_layer_hook = hook
        try:
            self.reset()
            outputs = self.invoke(inputs)
        finally:
            self._lib.aiotc_layer_hook = self._ffi.NULL
        return outputs, captured

    def invoke_sequence(self, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """Samples in order, the state carried from each to the next (a stream's frames): as QemuModel's."""
        return [self.invoke(sample) for sample in samples]

    def invoke_batch(
        self, samples: list[list[np.ndarray]], tick: Callable[[], None] | None = None
    ) -> list[list[np.ndarray]]:
        """The same contract as QemuModel.invoke_batch: independent samples, each from a fresh state."""
        results = []
        for sample in samples:
            self.reset()
            results.append(self.invoke(sample))
            if tick:
                tick()
        return results


def buffer_bytes(specs: list[IOSpec]) -> int:
    """The caller's input (output) buffer: to the end of its last tensor (codegen's io_offsets)."""
    return max((s.offset + s.nbytes for s in specs), default=0)


def pack_inputs(specs: list[IOSpec], sample: list[np.ndarray]) -> bytes:
    """One sample's input arrays as the bytes of the model's input buffer."""
    if len(sample) != len(specs):
        raise UsageError(f"model takes {len(specs)} input(s), got {len(sample)}")
    buffer = np.zeros(buffer_bytes(specs), dtype=np.uint8)
    for spec, array in zip(specs, sample):
        array = np.ascontiguousarray(array, dtype=spec.np_dtype)
        if array.size * array.itemsize != spec.nbytes:
            raise UsageError(f"input {spec.name!r} expects shape {list(spec.shape)}, got {list(array.shape)}")
        buffer[spec.offset : spec.offset + spec.nbytes] = array.view(np.uint8).ravel()
    return buffer.tobytes()


def unpack_outputs(specs: list[IOSpec], buffer: np.ndarray) -> list[np.ndarray]:
    """The model's output buffer (uint8) as one array per output."""
    return [buffer[s.offset : s.offset + s.nbytes].view(s.np_dtype).reshape(s.shape).copy() for s in specs]
