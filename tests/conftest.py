"""Shared test helpers: where the shared models are, the CLI as a subprocess, and
running a compiled folder against its oracle."""

from __future__ import annotations

import os
import subprocess
import sys
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


def aiotc(*args, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m aiotc ARGS` as a user runs it, with this checkout's aiotc whatever the folder."""
    environment = os.environ | {"PYTHONPATH": str(ROOT)} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "aiotc", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=environment
    )


def verify_folder(out: Path, board: str = "host", samples: int = 3, seed: int = 1):
    """The compiled folder built for `board` (host gcc or QEMU) against its oracle on random inputs."""
    from aiotc.samples import random_samples
    from aiotc.verification import build_runner, verify

    runner = build_runner(out, board)
    return verify(out, board, random_samples(runner.inputs, samples, seed), runner=runner)


def assert_bit_exact(result, oracle: str = "tflite-micro") -> None:
    assert result.oracle == oracle and result.samples > 0, result
    assert result.mismatches == 0 and result.max_abs_diff == 0, result


def assert_sequence_matches(
    model: Path, out_dir: Path, steps: int = 20, tolerance: float = 0, board: str = "host", shows_state: bool = True
):
    """`steps` invokes with no reset in between: tflite-micro and the C (host, or `board` in
    QEMU) agree on every output at every step, the outputs do depend on the state (unless
    the model's never `shows_state`), and a reset starts the sequence over, as a freshly
    loaded tflite-micro does (its own reset zeroes resource variables instead of
    initializing them again)."""
    import numpy as np
    from tflite_micro.python.tflite_micro import runtime

    from aiotc.driver import compile_model
    from aiotc.samples import random_samples
    from aiotc.verification import build_runner

    runner = build_runner(compile_model(model, board=board, out_dir=out_dir).out_dir, board)
    oracle = runtime.Interpreter.from_file(str(model))
    samples = random_samples(runner.inputs, steps, seed=4)

    def oracle_outputs(sequence):
        outputs = []
        for sample in sequence:
            oracle.set_input(sample[0], 0)
            oracle.invoke()
            outputs.append([np.array(oracle.get_output(i)) for i in range(len(runner.outputs))])
        return outputs

    if board == "host":
        runner.reset()
        got = [runner.invoke(sample) for sample in samples]
        runner.reset()
        fresh = runner.invoke(samples[-1])
    else:
        got = runner.invoke_sequence(samples)
        fresh = runner.invoke(samples[-1])
    for step, (want, have) in enumerate(zip(oracle_outputs(samples), got)):
        for index, (a, b) in enumerate(zip(have, want)):
            np.testing.assert_allclose(a, b, rtol=0, atol=tolerance, err_msg=f"step {step}, output {index}")
    oracle = runtime.Interpreter.from_file(str(model))
    for a, b in zip(fresh, oracle_outputs(samples[-1:])[0]):
        np.testing.assert_allclose(a, b, rtol=0, atol=tolerance)
    assert not shows_state or any(not np.array_equal(a, b) for a, b in zip(fresh, got[-1])), (
        "the last step's outputs should depend on the state before it"
    )
