"""aiotc.toml defaults (the command line wins), shell completion and --version."""

from __future__ import annotations

import json

import pytest

from aiotc import __version__
from aiotc.demo import stripes_model
from aiotc.export.tflite import write_tflite

from .conftest import aiotc, shared_model


@pytest.fixture
def project(tmp_path):
    """A project folder holding the demo model."""
    (tmp_path / "stripes.tflite").write_bytes(write_tflite(stripes_model()))
    return tmp_path


def test_toml_gives_defaults_and_the_command_line_wins(tmp_path):
    (tmp_path / "aiotc.toml").write_text(
        'board = "stm32f411"\npatch = "off"\n\n[compile]\nout = "build/vww"\nsram-budget = "32K"\n'
    )
    model = shared_model("mlperf_tiny/vww_96_int8.tflite")
    from_file = aiotc("compile", model, "--json", cwd=tmp_path)
    assert from_file.returncode == 1 and "the SRAM budget is 32,768 B" in from_file.stderr  # patch off needs more
    overridden = aiotc("compile", model, "--patch", "auto", "--json", cwd=tmp_path)
    assert overridden.returncode == 0, overridden.stderr
    report = json.loads(overridden.stdout)
    assert report["board"] == "stm32f411" and report["patch"] is not None
    assert (tmp_path / "build" / "vww" / "report.json").is_file()
    other = aiotc(
        "compile", model, "--board", "host", "--sram-budget", "1M", "-o", tmp_path / "elsewhere", "--json", cwd=tmp_path
    )
    assert (
        other.returncode == 0
        and json.loads(other.stdout)["board"] == "host"
        and json.loads(other.stdout)["patch"] is None
    )


@pytest.mark.parametrize(
    "text, words",
    [
        ("board = \n", "aiotc.toml"),
        ('colour = "blue"\n', "'colour' is not an option of any aiotc command"),
        ("[compile]\nsamples = 3\n", "[compile] 'samples' is not an option of `aiotc compile`"),
        ('[compiel]\nboard = "host"\n', "[compiel] is not an aiotc command"),
        ('sram-budget = "lots"\n', "'lots' is not a size"),
        ('board = "stm32f4111"\n', "did you mean stm32f411"),
    ],
)
def test_bad_toml_is_one_line_exit_2(project, text, words):
    (project / "aiotc.toml").write_text(text)
    result = aiotc("compile", "stripes.tflite", "-o", "out", cwd=project)
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert words in result.stderr
    assert not (project / "out").exists()


def test_completion_scripts_and_completing_boards(project):
    for shell, marker in (("bash", "complete -o"), ("zsh", "compdef"), ("fish", "complete --no-files")):
        script = aiotc("completion", shell, cwd=project)
        assert script.returncode == 0 and marker in script.stdout and "_AIOTC_COMPLETE" in script.stdout
    words = aiotc(
        cwd=project,
        env={
            "_AIOTC_COMPLETE": "bash_complete",
            "COMP_WORDS": "aiotc compile m.tflite --board stm32f4",
            "COMP_CWORD": "4",
        },
    )
    assert words.stdout.split() == ["plain,stm32f411"]
    commands = aiotc(cwd=project, env={"_AIOTC_COMPLETE": "bash_complete", "COMP_WORDS": "aiotc ve", "COMP_CWORD": "1"})
    assert commands.stdout.split() == ["plain,verify"]


def test_version(project):
    result = aiotc("--version", cwd=project)
    assert result.returncode == 0 and result.stdout == f"aiotc, version {__version__}\n"
