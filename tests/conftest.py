"""Shared test fixtures: where the shared models are, and compiled-model helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT.parent / "shared" / "models"


def shared_model(relative: str) -> Path:
    """A model of ../shared/models; the test is skipped where that folder is absent."""
    path = MODELS / relative
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path
