"""The options of a compile, in one frozen object: the command line builds it once, every stage reads it."""

from __future__ import annotations

from dataclasses import dataclass

from .quantize import Calibration


@dataclass(frozen=True)
class CompileOptions:
    """What shapes the generated library (`aiotc compile --help` says what each does)."""

    board: str = "host"
    name: str | None = None  # the model's C name; None: the model file's stem
    patch: str = "auto"  # "auto": stream the first layers when it lowers the arena; "off"
    patch_overhead: float = 0.2  # the largest MAC overhead a streamed stage may add
    sram_budget: int | None = None  # None: the board's SRAM
    flash_budget: int | None = None  # None: the board's flash
    latency_budget: float | None = None  # ms per inference on the board (aiotc.latency); None: unbounded
    stream: bool = False  # one frame per call, the window's feature maps kept (memory/timestream.py)
    calib: Calibration | None = None  # quantize a float model with this data
    # --regions: the board's memories for the arena, (name, bytes or None: all of it); None: all it lists
    regions: tuple[tuple[str, int | None], ...] | None = None
    copy_weights: bool = False  # copy the hottest constants into the fast regions' room left by the arena
