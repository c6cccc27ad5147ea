"""Where the shipped data folders are (inside the installed package, or the source tree), and the templates' environment."""

from functools import cache
from pathlib import Path

import jinja2

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """`templates`, `runtime_c` or `boards`: packaged beside the modules, or at the repo root."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"aiotc installation is missing its {name}/ folder")


@cache
def template_env(folder: str = "", autoescape: bool = False) -> jinja2.Environment:
    """Jinja for the templates: undefined values are errors, blocks leave no stray lines (HTML escapes values).
    One per folder and process: an environment keeps its compiled templates, which otherwise
    cost more than the rest of a small model's compile."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates") / folder)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
