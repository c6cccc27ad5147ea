"""Where the shipped data folders are: inside the installed package, or the source tree."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`templates`, `runtime_c` or `boards`: packaged beside the modules, or at the repo root."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"aiotc installation is missing its {name}/ folder")
