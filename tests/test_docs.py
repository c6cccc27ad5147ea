"""The docs stay true: the CLI reference is what the commands say, links resolve, and the
README's quick start, run as written, prints the summary table."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

from .conftest import MODELS, ROOT, shared_model

sys.path.insert(0, str(ROOT / "docs"))
sys.path.insert(0, str(ROOT))
from make_cli_reference import reference  # noqa: E402

from benchmarks import readme  # noqa: E402

LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_cli_reference_is_up_to_date():
    assert (ROOT / "docs" / "cli.md").read_text() == reference(), "run: python3 docs/make_cli_reference.py"


def test_readme_figures_are_the_benchmarks_files():
    """The README's benchmark tables and figures are what benchmarks/readme.py makes of results.json and
    latency.json, every part it makes marked in the README."""
    text = readme.README.read_text()
    assert {m["name"] for m in readme.PART.finditer(text)} == set(readme.parts())
    assert text == readme.update(text), "run: python benchmarks/readme.py"


def test_every_relative_link_resolves():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for target in LINK.findall(page.read_text()):
            if "://" not in target:
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"


def quick_start() -> list[list[str]]:
    """The aiotc commands of the README's Quick start section, as words."""
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line) for line in block.splitlines() if line.startswith("aiotc ")]


def test_readme_quick_start_prints_the_summary(tmp_path):
    """Run from a copy of the layout CI has (the repository beside ../shared), as written."""
    shared_model("mlperf_tiny/vww_96_int8.tflite")
    repo = tmp_path / "main"
    repo.mkdir()
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "models").symlink_to(MODELS)
    env = os.environ | {"PYTHONPATH": str(ROOT), "COLUMNS": "120"}
    outputs = []
    for words in quick_start():
        result = subprocess.run([sys.executable, "-m", *words], capture_output=True, text=True, cwd=repo, env=env)
        assert result.returncode == 0, f"{' '.join(words)}: {result.stderr}"
        outputs.append(result.stdout)
    compile_output, verify_output = outputs
    assert "vww_96_int8.tflite -> vww_96_int8 (stm32f746g-disco)" in compile_output
    assert "depthwise_conv2d" in compile_output and "MACs 7,489,664" in compile_output
    assert re.search(r"board stm32f746g-disco: SRAM [\d.]+% used, flash [\d.]+% used", compile_output)
    assert (repo / "out" / "vww" / "report.html").is_file()
    assert verify_output.startswith("bit-exact: 20/20 samples match tflite-micro")
