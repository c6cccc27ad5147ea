"""Several models in one image: `aiotc compile a b c` (or a manifest) writes one runtime with
each kernel once and one library per model; the folder links into one Cortex-M image
through its Make fragment and through CMake, every model bit-exact in QEMU; a runtime of
another aiotc version refuses to link."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from aiotc.boards import load_board
from aiotc.codegen import emit
from aiotc.group import arena_offsets
from aiotc.oracle import run_oracle
from aiotc.samples import random_samples
from aiotc.toolchain.group import GroupImage, build_with_cmake, build_with_make
from aiotc.toolchain.host import read_report
from aiotc.verification import oracle_model

from .conftest import aiotc, assert_bit_exact, shared_model, verify_folder

MODELS = {"kws": "kws_ref_model.tflite", "vww": "vww_96_int8.tflite", "ad01": "ad01_int8.tflite"}
BOARD = "cortex-m4"


def manifest(tmp_path, overlap: str | None = '[["kws", "ad01"]]') -> str:
    """A models.toml for the three MLPerf Tiny models: kws and ad01 may run at the same time."""
    tables = "".join(
        f'\n[[model]]\npath = "{shared_model(f"mlperf_tiny/{file}")}"\nname = "{name}"\n'
        for name, file in MODELS.items()
    )
    path = tmp_path / "models.toml"
    path.write_text((f"overlap = {overlap}\n" if overlap is not None else "") + tables)
    return path


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    """The three models compiled together for a Cortex-M4 board, sharing one arena."""
    tmp = tmp_path_factory.mktemp("group")
    result = aiotc("compile", manifest(tmp), "-b", BOARD, "-o", tmp / "out", "-q")
    assert result.returncode == 0, result.stderr
    return tmp / "out"


def models_json(out) -> dict:
    return json.loads((out / "models.json").read_text())


def test_one_runtime_holds_each_kernel_once(group):
    """The runtime's kernels are the union of what the models call alone; no model folder has its own."""
    alone = set()
    for name in MODELS:
        assert not (group / name / "aiotc_runtime").exists()
        alone |= set(read_report(group / name)["kernels"])
    runtime = {p.stem for p in (group / "aiotc_runtime").glob("aiotc_*.c")} - {"aiotc_version", "aiotc_arena"}
    assert runtime == alone == set(models_json(group)["runtime"]["kernels"])
    assert "aiotc_fully_connected_packed_s8" in runtime  # what every model calls, and once
    assert "aiotc_runtime_v" in (group / "kws" / "kws.c").read_text()


def test_shared_arena_is_sized_for_the_worst_overlap(group):
    arena = models_json(group)["arena"]
    sizes = {m["name"]: m["arena_bytes"] for m in models_json(group)["models"]}
    offsets = {m["name"]: m["arena_offset"] for m in models_json(group)["models"]}
    assert arena["shared"] and arena["summed_bytes"] == sum(sizes.values())
    assert offsets["ad01"] >= offsets["kws"] + sizes["kws"] or offsets["kws"] >= offsets["ad01"] + sizes["ad01"]
    assert arena["bytes"] == max(offsets[n] + sizes[n] for n in sizes) == sizes["vww"]  # vww alone is the worst
    assert arena["bytes"] < arena["summed_bytes"]
    assert f"aiotc_shared_arena[{arena['bytes']}]" in (group / "aiotc_runtime" / "aiotc_arena.c").read_text()


def test_arena_offsets_keep_overlapping_models_apart():
    sizes = {"a": 100, "b": 60, "c": 50, "d": 10}
    assert arena_offsets(sizes, []) == {"a": 0, "b": 0, "c": 0, "d": 0}
    offsets = arena_offsets(sizes, [["b", "c"], ["c", "d"]])
    assert offsets["a"] == 0 and offsets["b"] == 0 and offsets["c"] == 64 and offsets["d"] == 0
    chain = arena_offsets(sizes, [["a", "b", "c"]])
    spans = sorted((chain[n], chain[n] + sizes[n]) for n in "abc")
    assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))


def test_the_group_c_builds_strict(group, tmp_path):
    """The generated C of the folder (the models, the stamp, the shared arena) as test_warnings builds folders."""
    from .test_warnings import _compile

    sources = [*group.glob("*/*.c")]
    assert group / "aiotc_runtime" / "aiotc_arena.c" in sources
    _compile("gcc", [group / "aiotc_runtime"], sources, tmp_path)


def test_a_model_of_the_folder_verifies_alone(group):
    """`aiotc verify OUT/NAME` finds the group's runtime beside the model's folder."""
    assert_bit_exact(verify_folder(group / "ad01"))


def assert_image_bit_exact(out, elf):
    image = GroupImage(elf, out, load_board(BOARD))
    samples = [{m.name: random_samples(m.inputs, 1, seed=k)[0] for m in image.models} for k in range(3)]
    results = image.invoke_batch(samples)
    for model in image.models:
        oracle = oracle_model(model.folder, read_report(model.folder))
        for sample, got in zip(samples, results):
            want = run_oracle(oracle, sample[model.name])
            assert want.name == "tflite-micro"
            for g, w in zip(got[model.name], want.outputs):
                np.testing.assert_array_equal(g, np.asarray(w).reshape(g.shape), err_msg=model.name)


@pytest.mark.qemu
def test_make_links_the_three_models_into_one_image_bit_exact_in_qemu(group, tmp_path):
    assert_image_bit_exact(group, build_with_make(group, load_board(BOARD), tmp_path / "make"))


@pytest.mark.qemu
def test_cmake_links_the_three_models_into_one_image_bit_exact_in_qemu(group, tmp_path):
    assert_image_bit_exact(group, build_with_cmake(group, load_board(BOARD), tmp_path / "cmake"))


@pytest.mark.qemu
def test_a_single_model_folder_links_through_its_own_fragment(tmp_path):
    """The same harness takes one model's folder (its NAME.mk): the benchmark's alone figures."""
    out = tmp_path / "ad01"
    assert aiotc("compile", shared_model("mlperf_tiny/ad01_int8.tflite"), "-b", BOARD, "-o", out, "-q").returncode == 0
    assert_image_bit_exact(out, build_with_make(out, load_board(BOARD), tmp_path / "make"))


@pytest.mark.qemu
def test_verify_of_the_folder_runs_every_model_in_one_image(group):
    result = aiotc("verify", group, "-b", BOARD, "--samples", "3", "--json")
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout)
    assert sorted(results) == sorted(MODELS)
    for name, figures in results.items():
        assert figures == {"samples": 3, "mismatches": 0, "max_abs_diff": 0.0, "oracle": "tflite-micro"}, name


def test_a_runtime_of_another_version_does_not_link(group, tmp_path, monkeypatch):
    """The model libraries and the runtime read each other's version-stamped symbols: the link fails naming both versions."""
    out = tmp_path / "out"
    shutil.copytree(group, out)
    kernels = set(models_json(group)["runtime"]["kernels"])
    monkeypatch.setattr(emit, "__version__", "9.9.9")
    for rel, text in emit.emit_runtime(kernels, models_json(group)["arena"]["bytes"], False).items():
        (out / "aiotc_runtime" / rel).write_text(text)
    (tmp_path / "main.c").write_text(
        '#include "ad01.h"\nstatic int8_t x[AD01_INPUT_SIZE], y[AD01_OUTPUT_SIZE];\n'
        "int main(void) { return ad01_invoke(x, y); }\n"
    )
    (tmp_path / "Makefile").write_text(
        f"include {out}/models.mk\napp: main.c $(AIOTC_MODELS_SOURCES)\n"
        "\t$(CC) -std=c99 -O2 -ffunction-sections -fdata-sections -Wl,--gc-sections $(AIOTC_MODELS_INCLUDES) $^ -lm -o $@\n"
    )
    result = subprocess.run(["make", "-C", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode != 0
    undefined = re.findall(r"undefined reference to [`'](\w+)'", result.stderr)
    assert set(undefined) == {"aiotc_runtime_v0_1_0", "aiotc_models_v9_9_9"}, result.stderr  # both versions


def test_several_models_without_a_manifest_keep_their_own_arenas(tmp_path):
    files = [shared_model(f"mlperf_tiny/{MODELS[n]}") for n in ("kws", "ad01")]
    result = aiotc("compile", *files, "-o", tmp_path / "out", "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert not summary["arena"]["shared"] and summary["arena"]["bytes"] == summary["arena"]["summed_bytes"]
    assert "static uint8_t ad01_int8_arena[" in (tmp_path / "out" / "ad01_int8" / "ad01_int8.c").read_text()
    assert not (tmp_path / "out" / "aiotc_runtime" / "aiotc_arena.c").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ('[[model]]\nname = "a"\n', "model 1 has no path"),
        ('[[model]]\npath = "a.tflite"\ncolour = "red"\n', "'colour' is not a model option"),
        ('[[model]]\npath = "a.tflite"\nsram-budget = "lots"\n', "sram-budget: 'lots' is not a size"),
        ('overlap = "all"\n[[model]]\npath = "a.tflite"\n', "overlap is a list of lists of model names"),
        ('board = "x"\n', "unknown key 'board'"),
        ("", "no models"),
    ],
)
def test_a_bad_manifest_is_one_line_and_exit_2(tmp_path, text, message):
    (tmp_path / "models.toml").write_text(text)
    result = aiotc("compile", tmp_path / "models.toml", "-o", tmp_path / "out")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_overlap_must_name_models_of_the_group(tmp_path):
    path = manifest(tmp_path, overlap='[["kws", "asr"]]')
    result = aiotc("compile", path, "-o", tmp_path / "out")
    assert result.returncode == 2 and "overlap names asr" in result.stderr, result.stderr


def test_two_models_of_one_name_are_refused(tmp_path):
    model = shared_model("mlperf_tiny/ad01_int8.tflite")
    result = aiotc("compile", model, model, "-o", tmp_path / "out")
    assert result.returncode == 2 and "two models are named 'ad01_int8'" in result.stderr, result.stderr
    result = aiotc("compile", model, model, "--name", "x", "-o", tmp_path / "out")
    assert result.returncode == 2 and "--name names one model" in result.stderr, result.stderr
    result = aiotc("compile", model, model, "--package", "zephyr", "-o", tmp_path / "out")
    assert result.returncode == 2 and "--package lays out one model's folder" in result.stderr, result.stderr


def test_bench_figures_of_a_model_join_the_group_manifest(tmp_path):
    """`aiotc bench OUT/NAME` adds bench.json as aiotc's: the next compile of the group replaces it."""
    from aiotc.output import files_at_risk, rewrite_file, write_folder

    files = {"models.json": "{}\n", "a/report.json": "{}\n"}
    write_folder(tmp_path / "out", files)
    rewrite_file(tmp_path / "out" / "a", "bench.json", b"{}\n")
    assert files_at_risk(tmp_path / "out", files) == ([], [])


def test_one_model_keeps_the_single_folder(tmp_path):
    """One model file: the folder of docs/c-api.md, its own kernels and arena, no stamp."""
    result = aiotc("compile", shared_model("mlperf_tiny/ad01_int8.tflite"), "-o", tmp_path / "out", "-q")
    assert result.returncode == 0, result.stderr
    out = tmp_path / "out"
    assert (out / "aiotc_runtime" / "aiotc_fully_connected_packed_s8.c").is_file()
    assert (out / "Makefile").is_file() and (out / "example_main.c").is_file()
    assert not (out / "models.json").exists() and not (out / "aiotc_runtime" / "aiotc_version.c").exists()
    assert "aiotc_runtime_v" not in (out / "ad01_int8.c").read_text()


def test_manifest_paths_are_relative_to_the_manifest(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    shutil.copy(shared_model("mlperf_tiny/ad01_int8.tflite"), folder / "ad01_int8.tflite")
    (folder / "models.toml").write_text('overlap = []\n\n[[model]]\npath = "ad01_int8.tflite"\nname = "ad01"\n')
    result = aiotc("compile", "project/models.toml", "-o", "out", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert [m["name"] for m in json.loads(result.stdout)["models"]] == ["ad01"]
    assert (tmp_path / "out" / "ad01" / "ad01.c").is_file()
