"""A --stream library seen as the windowed model it was compiled from (verify, run).

It takes whole windows and feeds their frames one by one, with no reset in between:
after T frames the library's window is exactly those T frames, whatever came before,
so the output after a window's last frame is the windowed model's on that window.
One sequence of frames serves a whole batch (one QEMU run).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..schema import Report
from .host import IOSpec


class WindowRunner:
    def __init__(self, runner, report: Report):
        self.runner = runner  # a HostModel or QemuModel of the --stream library
        self.window = report["stream"]["window"]
        self.inputs = [IOSpec.from_report(report["stream"]["window_input"])]
        self.outputs = runner.outputs

    def invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self.invoke_batch([inputs])[0]

    def invoke_batch(
        self, samples: list[list[np.ndarray]], tick: Callable[[], None] | None = None
    ) -> list[list[np.ndarray]]:
        frame = self.runner.inputs[0].shape
        frames = [
            [np.ascontiguousarray(window[:, t]).reshape(frame)]
            for sample in samples
            for window in [np.asarray(sample[0]).reshape(self.inputs[0].shape)]
            for t in range(self.window)
        ]
        outputs = self.runner.invoke_sequence(frames)[self.window - 1 :: self.window]
        for _ in outputs if tick else ():
            tick()
        return outputs
