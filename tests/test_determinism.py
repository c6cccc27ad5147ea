"""Compiling is a function: the same model gives byte-identical folders, in one process or many at once."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from aiotc.driver import compile_model

from .conftest import shared_model

MODELS = ["mlperf_tiny/vww_96_int8.tflite", "keras/fire_64_int8.tflite", "mlperf_tiny/ad01_fp32.tflite"]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def compile_to(args: tuple[str, str]) -> dict[str, bytes]:
    model, out = args
    return tree(compile_model(model, board="cortex-m4", out_dir=out).out_dir)


def test_same_model_twice_gives_identical_folders(tmp_path):
    model = shared_model("mlperf_tiny/kws_ref_model.tflite")
    first, second = (compile_to((str(model), str(tmp_path / name))) for name in ("a", "b"))
    assert first.keys() == second.keys() and first == second


def test_parallel_compiles_do_not_interfere(tmp_path):
    jobs = [(str(shared_model(m)), str(tmp_path / f"parallel{i}")) for i, m in enumerate(MODELS)]
    with ProcessPoolExecutor(len(jobs)) as pool:
        parallel = list(pool.map(compile_to, jobs))
    serial = [compile_to((model, str(tmp_path / f"serial{i}"))) for i, (model, _) in enumerate(jobs)]
    assert parallel == serial
