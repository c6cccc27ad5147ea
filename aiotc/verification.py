"""Verify: the compiled C against the oracle, sample by sample.

Integer outputs must be equal to the bit; float outputs within 1e-5 of the oracle
output's range (docs/architecture.md: the numeric contract). The C runs on the host (gcc) or in QEMU, per board.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .boards import load_board
from .errors import UsageError
from .oracle import run_oracle
from .schema import Report
from .toolchain.host import HostModel, read_report
from .toolchain.window import WindowRunner

FLOAT_TOLERANCE = 1e-5


@dataclass(frozen=True)
class VerifyResult:
    samples: int
    mismatches: int  # samples whose outputs differ beyond tolerance
    max_abs_diff: float
    oracle: str
    # A hybrid model compiled float: the oracle ran its float copy (weights dequantized, as the
    # C has them); this is the C against LiteRT on the hybrid model itself, whose kernels
    # quantize activations on the fly (informational: no tolerance applies).
    hybrid_max_abs_diff: float | None = None
    hybrid_oracle: str | None = None  # which runtime ran the hybrid model

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def as_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}


def build_runner(out_dir: Path, board: str, sanitize: bool = False):
    """The compiled model, invocable: a host shared library or a QEMU image (a --stream one taking whole windows)."""
    report = read_report(out_dir)
    runner = _build_runner(out_dir, board, sanitize)
    return WindowRunner(runner, report) if "stream" in report else runner


def group_runners(out_dir: Path, board: str) -> dict[Path, Any]:
    """Each model of a group folder (aiotc/group.py), invocable, by its folder: in QEMU all in
    one image built through the folder's models.mk (a --stream model, which takes whole
    windows, in an image of its own), on the host each alone with the group's runtime."""
    from .toolchain.group import GroupImage, ModelInImage, members

    target = load_board(board)
    image = GroupImage.build(out_dir, target) if target.qemu_machine is not None else None
    return {
        m.folder: ModelInImage(image, m)
        if image is not None and "stream" not in read_report(m.folder)
        else build_runner(m.folder, board)
        for m in members(out_dir)
    }


def _build_runner(out_dir: Path, board: str, sanitize: bool):
    target = load_board(board)
    if sanitize and target.qemu_machine is not None:
        raise UsageError(f"--sanitize builds for the host; {board} runs in QEMU")
    if sanitize:
        from .toolchain.sanitize import SanitizedModel

        return SanitizedModel.build(out_dir)
    if target.qemu_machine is None:
        return HostModel.build(out_dir)
    from .toolchain.qemu import QemuModel

    return QemuModel.build(out_dir, target)


def oracle_model(out_dir: Path, report: Report) -> Path:
    """The model the C must reproduce: the int8 model aiotc quantized, else the source."""
    if "oracle_model" in report:
        return Path(out_dir) / report["oracle_model"]
    return Path(report["source"])


def outputs_match(got: np.ndarray, want: np.ndarray) -> tuple[bool, float]:
    """(equal within the numeric contract, max absolute difference)."""
    if got.shape != want.shape:
        return False, float("inf")
    diff = float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if got.size else 0.0
    if np.issubdtype(want.dtype, np.floating):
        span = float(np.max(want) - np.min(want)) if want.size else 0.0
        return diff <= FLOAT_TOLERANCE * max(span, 1.0), diff
    return diff == 0.0, diff


def verify(out_dir: Path, board: str, samples: list[list[np.ndarray]], runner=None, progress=None) -> VerifyResult:
    """Run every sample through the C (one batch: one QEMU run) and the oracle of the report's source model.

    `progress(description, total)` returns a tick function (the CLI's progress bars)."""
    report = read_report(out_dir)
    runner = runner or build_runner(out_dir, board)
    ran = progress(f"running {len(samples)} samples on {board}", len(samples)) if progress else None
    outputs = runner.invoke_batch(samples, ran)
    compared = progress(f"comparing {len(samples)} samples with the oracle", len(samples)) if progress else None
    hybrid = "dequantized" in report and "quantization" not in report
    mismatches, max_diff, oracle_name, hybrid_diff, hybrid_oracle = 0, 0.0, "", 0.0, None
    for sample, got in zip(samples, outputs):
        expected = run_oracle(oracle_model(out_dir, report), sample)
        oracle_name = expected.name
        checks = [outputs_match(g, w) for g, w in zip(got, expected.outputs)]
        mismatches += not all(ok for ok, _ in checks)
        max_diff = max([max_diff, *(d for _, d in checks)])
        if hybrid:
            original = run_oracle(Path(report["source"]), sample)
            hybrid_oracle = original.name
            hybrid_diff = max([hybrid_diff, *(outputs_match(g, w)[1] for g, w in zip(got, original.outputs))])
        if compared:
            compared()
    return VerifyResult(len(samples), mismatches, max_diff, oracle_name, hybrid_diff if hybrid else None, hybrid_oracle)
