"""The generated C under AddressSanitizer and UndefinedBehaviorSanitizer, on the host.

An ASan runtime cannot be loaded into a running Python (it must come first in the
process), so the sanitized build is a small program of its own: it takes the samples
on stdin and writes the outputs to stdout. Its arena, input and output are heap
blocks of exactly their sizes, so ASan's redzones turn any byte touched outside the
planned arena into a report, and the report into an error here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import ToolchainError
from ..resources import template_env
from ..schema import Report
from .host import SANITIZE, WARNINGS, IOSpec, buffer_bytes, cached_build, pack_inputs, read_report, unpack_outputs

TIMEOUT_S = 120.0
EXIT_MESSAGES = {
    1: "its input was short or its output failed",
    2: "the model's invoke returned an error",
}  # sanitize_main.c.j2


class SanitizedModel:
    """A generated library linked into a sanitizer-instrumented program: the HostModel contract."""

    def __init__(self, program: Path, report: Report):
        self.program = program
        self.name = report["name"]
        self.inputs = [IOSpec.from_report(e) for e in report["inputs"]]
        self.outputs = [IOSpec.from_report(e) for e in report["outputs"]]
        self.output_size = buffer_bytes(self.outputs)

    @classmethod
    def build(cls, out_dir: Path) -> SanitizedModel:
        report = read_report(out_dir)
        name = report["name"]
        main = (
            template_env("host")
            .get_template("sanitize_main.c.j2")
            .render(name=name, NAME=name.upper(), version=__version__)
        )
        flags = ["-std=c99", "-O1", "-g", *WARNINGS, *SANITIZE]
        return cls(
            cached_build(out_dir, name, flags, f"{name}_sanitized", extra_sources={"aiotc_sanitize_main.c": main}),
            report,
        )

    def invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self.invoke_batch([inputs])[0]

    def invoke_sequence(self, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """The same contract as QemuModel.invoke_sequence: the state carried from sample to sample."""
        return self.invoke_batch(samples, carry=True)

    def invoke_batch(
        self, samples: list[list[np.ndarray]], tick: Callable[[], None] | None = None, carry: bool = False
    ) -> list[list[np.ndarray]]:
        """The same contract as QemuModel.invoke_batch; one process runs the batch, so the ticks come at its end."""
        header = np.array([len(samples), carry], dtype="<u4").tobytes()
        stdin = header + b"".join(pack_inputs(self.inputs, s) for s in samples)
        try:
            result = subprocess.run(
                [str(self.program)],
                input=stdin,
                capture_output=True,
                timeout=TIMEOUT_S,
                env={"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"},
            )
        except subprocess.TimeoutExpired:
            raise ToolchainError(f"sanitized {self.name} did not finish within {TIMEOUT_S:.0f} s") from None
        if result.returncode != 0:
            report = result.stderr.decode(errors="replace").strip()
            fallback = EXIT_MESSAGES.get(result.returncode, f"exit status {result.returncode}")
            summary = next(
                (line for line in report.splitlines() if "SUMMARY" in line or "runtime error" in line),
                report.splitlines()[0] if report else fallback,
            )
            raise ToolchainError(f"sanitized {self.name} failed: {summary}\n{report}")
        expected = len(samples) * self.output_size
        if len(result.stdout) != expected:
            raise ToolchainError(f"sanitized {self.name} wrote {len(result.stdout)} bytes of outputs, not {expected}")
        buffers = np.frombuffer(result.stdout, dtype=np.uint8).reshape(len(samples), self.output_size)
        for _ in samples if tick else ():
            tick()
        return [unpack_outputs(self.outputs, buffer) for buffer in buffers]
