"""A group manifest: the models `aiotc compile models.toml` puts in one folder (group.py).

    overlap = [["kws", "ad01"]]       # models that may run at the same time (before the tables)

    [[model]]
    path = "kws_ref_model.tflite"     # relative to the manifest
    name = "kws"                      # its C prefix [default: the file stem]
    sram-budget = "32K"               # an option of `aiotc compile` for this model only

    [[model]]
    path = "vww_96_int8.tflite"

Without `overlap` every model keeps its own static arena; with it (`overlap = []` too) the
models share one arena and only the models of one list get disjoint bytes of it. A model's
keys are `compile`'s options that shape one model (`MODEL_OPTIONS`, spelled as on the
command line or as Python names), converted and checked as if typed; they win over the
command line's.
"""

from __future__ import annotations

from pathlib import Path

import click
import tomllib

from .errors import UsageError

MODEL_OPTIONS = ("name", "patch", "patch_overhead", "stream", "sram_budget", "flash_budget")


def read_manifest(path: Path, command: click.Command) -> tuple[list[tuple[Path, dict]], list[list[str]] | None]:
    """The models (file, their own option values by parameter name) and the overlap lists (None when absent)."""
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: {exc}") from None
    unknown = sorted(set(data) - {"model", "overlap"})
    if unknown:
        raise UsageError(f"{path}: unknown key {unknown[0]!r} (a manifest has [[model]] tables and overlap)")
    tables = data.get("model")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise UsageError(f"{path}: no models: add a [[model]] table with a path for each model")
    overlap = data.get("overlap")
    if overlap is not None and not (
        isinstance(overlap, list)
        and all(isinstance(group, list) and all(isinstance(n, str) for n in group) for group in overlap)
    ):
        raise UsageError(f'{path}: overlap is a list of lists of model names, e.g. overlap = [["kws", "ad01"]]')
    params = {p.name: p for p in command.params if isinstance(p, click.Option) and p.name in MODEL_OPTIONS}
    spellings = {name: name for name in params} | {
        opt.lstrip("-"): p.name for p in params.values() for opt in p.opts if opt.startswith("--")
    }
    models = []
    with click.Context(command) as ctx:
        for index, table in enumerate(tables, 1):
            if not isinstance(table.get("path"), str):
                raise UsageError(f"{path}: model {index} has no path")
            options = {}
            for key, value in table.items():
                if key == "path":
                    continue
                if key not in spellings:
                    raise UsageError(
                        f"{path}: model {index}: {key!r} is not a model option (options: path, {', '.join(spellings)})"
                    )
                try:
                    options[spellings[key]] = params[spellings[key]].type_cast_value(ctx, value)
                except click.BadParameter as exc:
                    raise UsageError(f"{path}: model {index}: {key}: {exc.message}") from None
            models.append((path.parent / table["path"], options))
    return models, overlap
