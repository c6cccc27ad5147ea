"""Write docs/cli.md from the click commands, so the reference cannot drift from the CLI.

    python3 docs/make_cli_reference.py        # rewrites docs/cli.md
tests/test_docs.py fails when docs/cli.md is not what this script writes.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from aiotc.cli import cli  # noqa: E402

INTRO = """# CLI reference

Generated from the click commands by `docs/make_cli_reference.py`; do not edit by hand.
Every command takes `-h`/`--help`. Exit codes: 0 ok, 1 a check failed (verify mismatch,
budget miss), 2 bad input or usage (one line on stderr). Sizes accept `262144`, `256K`, `1M`.
Options can also come from an `aiotc.toml` in the current folder ([getting started](getting-started.md#aiotctoml)).
"""


def option_row(param: click.Parameter) -> str:
    """One table row: the option's spellings, its value, what it does and its default."""
    names = ", ".join(f"`{n}`" for n in (*param.opts, *param.secondary_opts))
    if param.is_flag:
        value = ""
    elif isinstance(param.type, click.Choice):
        value = " \\| ".join(param.type.choices)
    else:
        value = param.type.name.upper()
    default = param.default if param.show_default and param.default is not None and not param.is_flag else ""
    required = " (required)" if param.required else ""
    text = (param.help or "").replace("|", "\\|")
    return f"| {names} | {value} | {text}{required} | {f'`{default}`' if default != '' else ''} |"


def command_section(name: str, command: click.Command) -> str:
    """A command's usage line, its help text and its options."""
    with click.Context(command, info_name=f"aiotc {name}") as ctx:
        usage = " ".join(command.collect_usage_pieces(ctx))
    lines = [f"## aiotc {name}", "", f"```\naiotc {name} {usage}\n```", "", inspect.cleandoc(command.help or ""), ""]
    options = [p for p in command.params if isinstance(p, click.Option) and p.name != "help"]
    if options:
        lines += ["| option | value | what | default |", "|---|---|---|---|", *map(option_row, options), ""]
    return "\n".join(lines)


def reference() -> str:
    sections = [command_section(name, cli.commands[name]) for name in sorted(cli.commands)]
    return "\n".join([INTRO, *sections]).rstrip() + "\n"


if __name__ == "__main__":
    (HERE / "cli.md").write_text(reference())
