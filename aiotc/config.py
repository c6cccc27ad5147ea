"""aiotc.toml: the options a project repeats, read from the current folder.

    board = "stm32f746g-disco"      # top-level keys: every command that has the option
    sram-budget = "256K"
    [compile]                       # a table: that command only
    out = "build/kws"

Keys are option names as typed on the command line (`sram-budget`, `out`) or their
Python names (`sram_budget`). The file gives defaults; an option on the command line
always wins. It becomes click's `default_map`, so values are converted and checked
exactly as if typed.
"""

from __future__ import annotations

from pathlib import Path

import click
import tomllib

from .errors import UsageError

FILENAME = "aiotc.toml"


def option_names(command: click.Command) -> dict[str, str]:
    """Every spelling of the command's options (`sram-budget`, `sram_budget`, `out`) -> parameter name."""
    names = {}
    for param in command.params:
        if isinstance(param, click.Option):
            names[param.name] = param.name
            names.update({opt.lstrip("-"): param.name for opt in param.opts if opt.startswith("--")})
    return names


def project_defaults(group: click.Group, folder: Path | None = None) -> dict:
    """click's default_map from `folder`/aiotc.toml ({} without the file)."""
    path = (folder or Path.cwd()) / FILENAME
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    shared = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    for name in tables:
        if name not in group.commands:
            raise UsageError(
                f"{path}: [{name}] is not an aiotc command (commands: {', '.join(sorted(group.commands))})"
            )
    everywhere = {spelling for command in group.commands.values() for spelling in option_names(command)}
    for key in shared:
        if key not in everywhere:
            raise UsageError(f"{path}: {key!r} is not an option of any aiotc command")
    defaults = {}
    for name, command in group.commands.items():
        names = option_names(command)
        own = tables.get(name, {})
        for key in own:
            if key not in names:
                raise UsageError(f"{path}: [{name}] {key!r} is not an option of `aiotc {name}`")
        values = {names[k]: v for k, v in shared.items() if k in names} | {names[k]: v for k, v in own.items()}
        if values:
            defaults[name] = values
    return defaults
