"""The `aiotc` command line: a thin layer mapping options to the driver and errors to exit codes.

Exit codes (docs/architecture.md): 0 ok, 1 a check failed (verify mismatch, budget miss),
2 bad input or usage (one line on stderr, no traceback). Set AIOTC_DEBUG=1 to see
the traceback of an internal error.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from . import __version__
from .api import compiled
from .errors import AiotcError, CheckFailed, ModelError
from .package import PACKAGES
from .summary import out_console

err_console = Console(stderr=True)
MAX_ERROR_CHARS = 4000  # of a model error's line: it may quote names of any length
# Model names reach the tables and lines printed: the consoles that print them have rich markup off.


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="aiotc")
def cli() -> None:
    """aiotc: TFLite/ONNX models to plain C for microcontrollers, bit-exact with TFLite Micro."""


def board_names(ctx, param, incomplete: str) -> list[str]:
    """Shell completion of --board: the board database's names."""
    from .boards import all_boards

    return [b.name for b in all_boards() if b.name.startswith(incomplete)]


board_option = click.option(
    "--board",
    "-b",
    default="host",
    show_default=True,
    shell_complete=board_names,
    help="Target board (`aiotc boards` lists them).",
)


class Size(click.ParamType):
    """Bytes as `262144`, `256K`, `1M` (K = 1024)."""

    name = "size"
    UNITS = {"": 1, "B": 1, "K": 1024, "KB": 1024, "KIB": 1024, "M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20}

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().upper()
        digits = text.rstrip("KMIB")
        try:
            number, unit = float(digits), self.UNITS[text[len(digits) :]]
        except (ValueError, KeyError):
            self.fail(f"{value!r} is not a size (examples: 262144, 256K, 1M)", param, ctx)
        if number < 0:
            self.fail(f"{value!r}: a size cannot be negative", param, ctx)
        return int(number * unit)


class Milliseconds(click.ParamType):
    """A latency as `50ms`, `0.05s` or `50` (milliseconds), returned in milliseconds."""

    name = "latency"

    def convert(self, value, param, ctx):
        if isinstance(value, float):
            return value
        text = str(value).strip().lower()
        scale = 1000.0 if text.endswith("s") and not text.endswith("ms") else 1.0
        try:
            number = float(text.removesuffix("ms").removesuffix("s")) * scale
        except ValueError:
            self.fail(f"{value!r} is not a latency (examples: 50ms, 0.05s)", param, ctx)
        if number <= 0:
            self.fail(f"{value!r}: a latency budget must be positive", param, ctx)
        return number


class Percent(click.ParamType):
    """A tolerance as `2%` or `2` (percent), returned as a fraction (0.02)."""

    name = "percent"

    def convert(self, value, param, ctx):
        try:
            number = float(str(value).strip().removesuffix("%"))
        except ValueError:
            self.fail(f"{value!r} is not a percentage (examples: 2%, 0.5)", param, ctx)
        if number < 0:
            self.fail(f"{value!r}: a tolerance cannot be negative", param, ctx)
        return number / 100


class Regions(click.ParamType):
    """Memories of the board free for the arena: `dtcm,sram` or `dtcm:64K,sram` (a smaller size)."""

    name = "regions"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        regions = []
        for item in str(value).split(","):
            memory, _, size = item.strip().partition(":")
            if not memory:
                self.fail(f"{value!r}: name the memories, comma-separated (examples: dtcm,sram or dtcm:64K,sram)")
            regions.append((memory, Size().convert(size, param, ctx) if size else None))
        return tuple(regions)


class Floats(click.ParamType):
    """Comma-separated numbers, one per channel or one for all: `127.5` or `123.7,116.3,103.5`."""

    name = "floats"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return tuple(float(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"{value!r} is not a comma-separated list of numbers", param, ctx)


def calib_options(command):
    """How a float model is quantized: the data and its normalization (compile, export, ...)."""
    options = [
        click.option(
            "--calib",
            help="Quantize a float model to int8 with this data: .npy/.npz, a folder of .npy or images, or 'random'.",
        ),
        click.option(
            "--mean",
            type=Floats(),
            default="0",
            show_default=True,
            help="Images: subtracted from the 0-255 pixels (per channel or one value).",
        ),
        click.option(
            "--std",
            type=Floats(),
            default="1",
            show_default=True,
            help="Images: the pixels minus mean are divided by this.",
        ),
        click.option(
            "--calib-method",
            type=click.Choice(["search", "mse", "minmax"]),
            default="search",
            show_default=True,
            help="Activation ranges: least-error clipping refined for the output (with GPTQ-rounded weights and bias correction), per tensor only, or min/max.",
        ),
        click.option(
            "--precision",
            type=click.Choice(["int8", "auto"]),
            default="int8",
            show_default=True,
            help="auto: int4 weights (w4a8) in the layers that lose least, as many as the flash budget needs; "
            "int16 activations (w8a16) where they gain and the SRAM budget allows.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def calibration(options: dict):
    """Pop the calibration options into a Calibration (None without --calib)."""
    from .quantize import Calibration

    calib, mean, std, method, precision = (
        options.pop(k) for k in ("calib", "mean", "std", "calib_method", "precision")
    )
    if calib is None:
        if precision != "int8":
            from .errors import UsageError

            raise UsageError("--precision auto chooses per-layer precision while quantizing: give --calib DATA")
        return None
    if 0.0 in std:
        raise click.BadParameter("must not be zero", param_hint="--std")
    if calib == "random":
        click.echo(
            "aiotc: warning: calibrating on random N(0,1) inputs; int8 ranges from noise rarely fit real data", err=True
        )
    return Calibration(calib, mean, std, method, precision=precision)


def compile_settings(options: dict, **fields):
    """The command's compile options (and `fields`: board, name) as the one CompileOptions the pipeline takes."""
    from .options import CompileOptions

    options = dict(options)
    return CompileOptions(calib=calibration(options), **options, **fields)


@contextmanager
def progress_bars(enabled: bool = True):
    """A factory of progress bars on stderr: `tick = start(description, total)`."""
    with Progress(console=err_console, transient=True, disable=not (enabled and err_console.is_terminal)) as progress:

        def start(description: str, total: int):
            task = progress.add_task(description, total=total)
            return lambda: progress.advance(task)

        yield start


def compile_options(command):
    """The options of `compile` that shape the generated code; run/verify/bench take them too."""
    command = calib_options(command)
    options = [
        click.option(
            "--patch",
            type=click.Choice(["auto", "off"]),
            default="auto",
            show_default=True,
            help="Stream the first layers in row bands (auto: when it lowers the arena).",
        ),
        click.option(
            "--patch-overhead",
            type=click.FloatRange(0),
            default=0.2,
            show_default=True,
            help="Largest MAC overhead a streamed stage may add (fraction).",
        ),
        click.option(
            "--stream",
            is_flag=True,
            help="One frame per call: slide the model's window along its input rows (time), keeping the "
            "feature maps of the window between calls (docs/streaming.md).",
        ),
        click.option(
            "--sram-budget",
            type=Size(),
            help="SRAM the arena may use [default: the board's SRAM]; the simplest schedule that fits wins.",
        ),
        click.option(
            "--regions",
            type=Regions(),
            help="The board's memories the arena may use, each with an optional smaller size (dtcm:64K,sram): "
            "buffers go to the fastest with room, hottest first [default: all the board lists] (docs/memory.md).",
        ),
        click.option(
            "--copy-weights",
            is_flag=True,
            help="With memory regions: copy the hottest weights into the fast regions' room left by the arena, "
            "at the first invoke (they stay in flash too).",
        ),
        click.option(
            "--flash-budget",
            type=Size(),
            help="Flash the model may use: weights, graph code and kernels as linked for a Cortex-M board, the "
            "weights on the host [default: the board's flash].",
        ),
        click.option(
            "--latency-budget",
            type=Milliseconds(),
            help="With --precision auto: milliseconds per inference on the board, as `aiotc bench` estimates "
            "them from the board's clock and core (docs/latency.md) [default: unbounded].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


@cli.command()
@click.argument("models", metavar="MODEL...", nargs=-1, required=True, type=click.Path(path_type=Path))
@board_option
@click.option(
    "-o",
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    help="Output folder [default: out/NAME; several models: out/models].",
)
@click.option("--name", help="C name of the model [default: the file stem].")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing on success.")
@click.option("--json", "as_json", is_flag=True, help="Print report.json (models.json for several models) to stdout.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace OUT even when it holds files aiotc did not write or edited ones: they move to OUT.backup (without it, such files stop the compile).",
)
@click.option(
    "--package",
    "packages",
    type=click.Choice(PACKAGES),
    multiple=True,
    help="Also lay OUT out for this build system (repeatable): a Zephyr module, a CMSIS-Pack .pdsc, a PlatformIO "
    "library.json, an Arduino library in OUT/arduino/NAME (docs/integrating.md).",
)
@compile_options
def compile(
    models: tuple[Path, ...],
    board: str,
    out_dir: Path | None,
    name: str | None,
    quiet: bool,
    as_json: bool,
    force: bool,
    packages: tuple[str, ...],
    **options,
) -> None:
    """Compile MODEL (.tflite or .onnx) into a C library folder (int8 from a float model with --calib).

    Several models (or a manifest, models.toml: docs/integrating.md) go into one folder with
    one runtime, each kernel once, and one library per model under its own name; models that
    never run at the same time can share one arena (the manifest's overlap).

    OUT is replaced whole, in one atomic swap: an interrupted compile leaves the old folder
    or the new one. OUT/manifest.sha256 records what aiotc wrote; a file in OUT that aiotc did
    not write, or one of its files edited since, stops the compile (exit 2, nothing changed)
    and is named, unless --force moves it to OUT.backup."""
    from .boards import load_board
    from .driver import compile_model
    from .summary import hybrid_note, pareto_table, print_summary, quantization_lines

    if len(models) > 1 or models[0].suffix == ".toml":
        from .errors import UsageError

        if name is not None:
            raise UsageError("--name names one model: several take their file stems, or a manifest's names")
        if packages:
            raise UsageError("--package lays out one model's folder: compile the model alone for a package")
        return compile_models(models, board, out_dir, quiet, as_json, force, options)
    with progress_bars(not (quiet or as_json)) as progress:
        result = compile_model(
            models[0], compile_settings(options, board=board, name=name), out_dir, progress, force, packages
        )
    if result.backup:
        click.echo(f"aiotc: moved the files aiotc did not write or that were edited to {result.backup}", err=True)
    if note := hybrid_note(result.report):
        click.echo(f"aiotc: note: {note}", err=True)
    if as_json:
        click.echo(json.dumps(result.report, indent=2))
    elif not quiet:
        print_summary(result.report, load_board(board))
        for line in quantization_lines(result.report):
            out_console().print(line, highlight=False)
        if result.report.get("pareto"):
            out_console().print(pareto_table(result.report))
        out_console().print(f"wrote {result.out_dir}")


def compile_models(
    models: tuple[Path, ...], board: str, out_dir: Path | None, quiet: bool, as_json: bool, force: bool, options: dict
) -> None:
    """`compile` of several models, or of a manifest: one folder, one runtime (group.py)."""
    from dataclasses import replace

    from .errors import UsageError
    from .group import Member, compile_group
    from .manifest import read_manifest

    overlap = None
    if any(m.suffix == ".toml" for m in models):
        if len(models) > 1:
            raise UsageError("give either one manifest (.toml) or model files, not both")
        entries, overlap = read_manifest(models[0], compile)
    else:
        entries = [(m, {}) for m in models]
    settings = compile_settings(options, board=board)
    members = [Member(path, replace(settings, **own)) for path, own in entries]
    with progress_bars(not (quiet or as_json)) as progress:
        result = compile_group(members, overlap, out_dir or Path("out") / "models", progress, force)
    if result.backup:
        click.echo(f"aiotc: moved the files aiotc did not write or that were edited to {result.backup}", err=True)
    if as_json:
        click.echo(json.dumps(result.summary, indent=2))
    elif not quiet:
        arena = result.summary["arena"]
        for model in result.summary["models"]:
            at = f" at offset {model['arena_offset']:,}" if model["arena_offset"] is not None else ""
            click.echo(f"{model['name']}: arena {model['arena_bytes']:,} B{at}")
        kind = "shared" if arena["shared"] else "separate"
        click.echo(
            f"arena {arena['bytes']:,} B ({kind}; the models' own arenas sum to {arena['summed_bytes']:,} B), "
            f"runtime: {len(result.summary['runtime']['kernels'])} kernels"
        )
        click.echo(f"wrote {result.out_dir}")


@cli.command()
@click.argument("model_or_out", metavar="MODEL|OUT", type=click.Path(exists=True, path_type=Path))
@board_option
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help=".npy/.npz/.bin input; a leading dimension N holds N samples.",
)
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(path_type=Path),
    help="Write the outputs to this .npy (.npz for several outputs).",
)
@click.option(
    "--raw", is_flag=True, help="For a float model aiotc quantized: print the int8 outputs, not their real values."
)
@click.option("--sanitize", is_flag=True, help="Host only: build with AddressSanitizer and UBSan.")
@compile_options
def run(
    model_or_out: Path, board: str, input_path: Path, output_path: Path | None, raw: bool, sanitize: bool, **options
) -> None:
    """Run MODEL|OUT on inputs, on the host (gcc) or in QEMU (cortex-m boards)."""
    from .samples import dequantize_output, load_samples
    from .toolchain.host import read_report
    from .verification import build_runner

    with compiled(model_or_out, compile_settings(options, board=board)) as out_dir:
        runner = build_runner(out_dir, board, sanitize=sanitize)
        samples = load_samples(input_path, runner.inputs)
        with progress_bars() as progress:
            results = runner.invoke_batch(samples, progress(f"running {len(samples)} samples on {board}", len(samples)))
        quantized_by_aiotc = "quantization" in read_report(out_dir)
    stacked = [np.stack([r[i] for r in results]) for i in range(len(runner.outputs))]
    if quantized_by_aiotc and not raw:  # the float model's outputs, as it was given
        stacked = [dequantize_output(values, spec) for values, spec in zip(stacked, runner.outputs)]
    if output_path is None:
        for spec, values in zip(runner.outputs, stacked):
            click.echo(f"{spec.name} {values.dtype} {list(values.shape)}:")
            click.echo(np.array2string(values, threshold=64))
            if values.ndim == 2:
                click.echo(f"argmax: {values.argmax(axis=-1).tolist()}")
    elif len(stacked) == 1:
        np.save(output_path, stacked[0])
    else:
        np.savez(output_path, *stacked)


@cli.command()
@click.argument("model_or_out", metavar="MODEL|OUT", type=click.Path(exists=True, path_type=Path))
@board_option
@click.option("--samples", default=20, show_default=True, help="Random inputs to compare.")
@click.option("--seed", default=0, show_default=True)
@click.option(
    "--input", "input_path", type=click.Path(path_type=Path), help="Compare on these inputs instead of random ones."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--sanitize", is_flag=True, help="Host only: build with AddressSanitizer and UBSan.")
@click.option(
    "--layers",
    is_flag=True,
    help="Compare every layer's output with the oracle's tensor on the first sample; name the first that differs.",
)
@click.option(
    "--dump",
    type=click.Path(path_type=Path),
    help="With --layers: write both sides' tensors as .npy to DIR/aiotc and DIR/oracle.",
)
@compile_options
def verify(
    model_or_out: Path,
    board: str,
    samples: int,
    seed: int,
    input_path: Path | None,
    as_json: bool,
    sanitize: bool,
    layers: bool,
    dump: Path | None,
    **options,
) -> None:
    """Compare MODEL|OUT with the oracle (tflite-micro): exit 0 equal, 1 differs.

    A hybrid model compiled float is compared with its float copy (OUT/NAME.tflite, its weights
    dequantized as compiled); the difference from the hybrid model in LiteRT or onnxruntime,
    which quantize activations on the fly, is printed beside it for information.

    OUT of several models (`aiotc compile a b c`): each model against its oracle, all of them
    linked into one image through OUT/models.mk on a Cortex-M board.

    With --layers (host or QEMU), one sample runs through a build that copies every layer's output
    as the layer ends, and the oracle keeps all its tensors (tflite-micro, or onnxruntime
    for ONNX): a table gives each layer's max |diff| and SQNR against the oracle's tensor of
    the same name and names the first layer that differs. Layers of a streamed stage hold
    only a band of rows (compile with --patch off to compare them); oracle tensors aiotc
    folded away (an activation fused into a conv) are listed."""
    from .errors import UsageError
    from .samples import load_samples, random_samples
    from .verification import build_runner
    from .verification import verify as run_verify

    if dump and not layers:
        raise UsageError("--dump writes the tensors of --layers: add --layers")
    with compiled(model_or_out, compile_settings(options, board=board)) as out_dir:
        if (out_dir / "models.json").is_file():
            if layers or sanitize or input_path:
                raise UsageError(
                    f"{out_dir} holds several models: give one of its folders for --layers, --sanitize or --input"
                )
            return verify_models(out_dir, board, samples, seed, as_json)
        if layers:
            return verify_layers(out_dir, board, input_path, seed, as_json, dump)
        runner = build_runner(out_dir, board, sanitize=sanitize)
        inputs = load_samples(input_path, runner.inputs) if input_path else random_samples(runner.inputs, samples, seed)
        with progress_bars(not as_json) as progress:
            result = run_verify(out_dir, board, inputs, runner=runner, progress=progress)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        click.echo(verdict_line(result))
    if not result.ok:
        raise CheckFailed(f"{result.mismatches} of {result.samples} samples differ from {result.oracle}")


def verdict_line(result) -> str:
    verdict = (
        "bit-exact" if result.ok and result.max_abs_diff == 0 else ("within tolerance" if result.ok else "MISMATCH")
    )
    line = f"{verdict}: {result.samples - result.mismatches}/{result.samples} samples match {result.oracle} (max abs diff {result.max_abs_diff:g})"
    if result.hybrid_max_abs_diff is None:
        return line
    return (
        f"{line}\n  oracle: {result.oracle} on the hybrid model's float copy (its weights dequantized, as compiled); "
        f"{result.hybrid_oracle} on the hybrid model itself, which quantizes activations on the fly: "
        f"max abs diff {result.hybrid_max_abs_diff:g} (informational)"
    )


def verify_models(out_dir: Path, board: str, samples: int, seed: int, as_json: bool) -> None:
    """verify of a folder of several models: each against its oracle, in one image on a Cortex-M board."""
    from .samples import random_samples
    from .verification import group_runners
    from .verification import verify as run_verify

    results = {
        folder.name: run_verify(folder, board, random_samples(runner.inputs, samples, seed), runner=runner)
        for folder, runner in group_runners(out_dir, board).items()
    }
    if as_json:
        click.echo(json.dumps({name: result.as_dict() for name, result in results.items()}))
    else:
        for name, result in results.items():
            click.echo(f"{name}: {verdict_line(result)}")
    failed = [name for name, result in results.items() if not result.ok]
    if failed:
        raise CheckFailed(f"{', '.join(failed)} differ from their oracles")


def verify_layers(out_dir: Path, board: str, input_path: Path | None, seed: int, as_json: bool, dump: Path | None):
    """verify --layers: the table, the first layer that differs, exit 1 when one does."""
    from .layers import verify_layers as compare_layers
    from .samples import load_samples
    from .summary import layers_table
    from .toolchain.host import IOSpec, read_report

    specs = [IOSpec.from_report(entry) for entry in read_report(out_dir)["inputs"]]
    sample = load_samples(input_path, specs)[0] if input_path else None
    result = compare_layers(out_dir, board, sample, seed, dump)
    if as_json:
        click.echo(json.dumps(result.as_dict()))
    else:
        console = out_console()
        console.print(layers_table(result))
        if result.oracle not in ("tflite-micro", "onnxruntime"):
            console.print(
                f"{result.oracle} answered (the float oracle, or tflite-micro cannot load the model):"
                " its integer kernels may round layers apart from tflite-micro's"
            )
        if result.oracle_only:
            console.print(f"oracle tensors aiotc folded away (no layer writes them): {', '.join(result.oracle_only)}")
        first = result.first_bad
        console.print(
            f"first layer that differs: #{first.index} {first.name}" if first else "every compared layer matches"
        )
    if not result.ok:
        raise CheckFailed(f"layer #{result.first_bad.index} {result.first_bad.name!r} is the first that differs")


@cli.command()
@click.argument("model_or_out", metavar="MODEL|OUT", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--board",
    "-b",
    required=True,
    shell_complete=board_names,
    help="A Cortex-M board (`aiotc boards`); bench runs in QEMU.",
)
@click.option("--input", "input_path", type=click.Path(path_type=Path), help="Bench on this input (default: zeros).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@compile_options
def bench(model_or_out: Path, board: str, input_path: Path | None, as_json: bool, **options) -> None:
    """Measure MODEL|OUT in QEMU: instructions per inference and per layer, flash, RAM, stack.

    On a board whose clock the board database knows, also the estimated milliseconds per
    inference and per layer (docs/latency.md). Given an OUT folder, its report.html gains
    the instructions per layer and OUT/bench.json the figures (`aiotc check` reads them)."""
    from .boards import load_board
    from .check import BENCH_FILE
    from .errors import UsageError
    from .output import rewrite_file
    from .report_html import render_html
    from .samples import load_samples
    from .summary import bench_lines, bench_table
    from .toolchain.host import read_report
    from .toolchain.qemu import QemuModel

    target = load_board(board)
    if target.qemu_machine is None:
        raise UsageError(f"bench measures in QEMU; {board} has no emulator: choose a Cortex-M board (`aiotc boards`)")
    with compiled(model_or_out, compile_settings(options, board=board)) as out_dir:
        qemu = QemuModel.build(out_dir, target)
        sample = load_samples(input_path, qemu.inputs)[0] if input_path else None
        with progress_bars(not as_json) as progress:
            progress(f"running {qemu.name} in {target.qemu_machine}", None)
            figures = qemu.bench(sample)
        if out_dir == model_or_out:
            rewrite_file(out_dir, "report.html", render_html(read_report(out_dir), target, figures).encode())
            rewrite_file(out_dir, BENCH_FILE, (json.dumps(figures, indent=2) + "\n").encode())
    if as_json:
        click.echo(json.dumps(figures, indent=2))
        return
    console = out_console()
    console.print(bench_table(figures))
    for line in bench_lines(figures):
        console.print(line)


@cli.command()
@click.argument("candidates", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@board_option
@calib_options
@click.option(
    "--eval",
    "eval_data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Scoring data: an .npz of inputs (images are resized to each candidate) and 'labels'; without "
    "labels, top-1 agreement with each float candidate.",
)
@click.option("--samples", default=200, show_default=True, help="Evaluation samples per candidate.")
@click.option("--flash-budget", type=Size(), help="Flash a candidate may use [default: the board's flash].")
@click.option("--sram-budget", type=Size(), help="SRAM a candidate may use [default: the board's SRAM].")
@click.option(
    "--latency-budget",
    type=Milliseconds(),
    help="Estimated ms per inference a candidate may take (a board with a clock, `aiotc boards`); with "
    "--precision auto each candidate's precision search also bounds it.",
)
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=Path("out/search"), show_default=True)
@click.option("--jobs", type=click.IntRange(1), help="Candidates evaluated at once [default: the CPU count].")
@click.option("--ray", "ray_address", help="Run the candidates on this Ray cluster ('local': start one here).")
@click.option(
    "--cache",
    type=click.Path(path_type=Path),
    help="Finished candidates, so a sweep resumes [default: ~/.cache/aiotc/search].",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def search(
    candidates: tuple[Path, ...],
    board: str,
    eval_data: Path | None,
    samples: int,
    flash_budget: int | None,
    sram_budget: int | None,
    latency_budget: float | None,
    out_dir: Path,
    jobs: int | None,
    ray_address: str | None,
    cache: Path | None,
    as_json: bool,
    **options,
) -> None:
    """Compile each candidate model (a folder of them or files) under the budgets, score it, bench it
    in QEMU, and write the most accurate one that fits to OUT with the table (search.md), the Pareto
    front (search.svg) and every figure (search.json).

    Candidates that cannot fit are rejected by lower bounds before any calibration; finished ones are
    cached by content, so an interrupted search resumes."""
    from .boards import load_board
    from .driver import compile_model
    from .errors import BudgetError, UsageError
    from .latency import latency_known
    from .model_search import Job, best, find_candidates, markdown, pareto_svg, table, worker_count
    from .model_search import search as run_search
    from .output import rewrite_file

    target = load_board(board)
    if latency_budget is not None and not latency_known(target):
        raise UsageError(f"--latency-budget needs a board with a clock (`aiotc boards`); {board} has none")
    calib = calibration(options)
    models = find_candidates(candidates)
    data = str(eval_data) if eval_data else None
    job_list = [Job(str(m), board, calib, data, samples, flash_budget, sram_budget, latency_budget) for m in models]
    cache = cache or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "aiotc" / "search"
    workers = 1 if ray_address else worker_count(jobs)
    where = f"Ray at {ray_address}" if ray_address else f"{workers} worker(s)"
    err_console.print(f"aiotc: searching {len(job_list)} candidate(s) for {board} on {where}", highlight=False)
    finished = []

    def tick(result: dict, cached: bool) -> None:
        finished.append(result)
        figures = f"score {result['score']:.3f}" if result.get("score") is not None else result.get("reason", "")
        origin = " (cached)" if cached else ""
        err_console.print(
            f"  [{len(finished)}/{len(job_list)}] {result['name']}: {result['status']}{origin}; {figures}",
            markup=False,
            highlight=False,
        )

    results = run_search(job_list, cache, workers, ray_address, tick)
    rows = table(results)
    metric = next((r.get("metric") for r in results if r.get("metric")), "score")
    chosen = best(results)
    console = out_console()
    if not as_json:
        console.print(markdown(rows, metric, board), highlight=False)
    if chosen is None:
        raise BudgetError(f"no candidate fits {board} within the budgets (the table says why each does not)")
    compile_model(
        chosen["model"],
        out_dir=out_dir,
        board=board,
        calib=calib,
        flash_budget=flash_budget,
        sram_budget=sram_budget,
        latency_budget=job_list[0].latency_budget if calib is not None and calib.precision == "auto" else None,
    )
    summary = {"board": target.name, "best": chosen["name"], "candidates": results}
    rewrite_file(out_dir, "search.json", (json.dumps(summary, indent=1) + "\n").encode())
    rewrite_file(out_dir, "search.md", markdown(rows, metric, board).encode())
    rewrite_file(out_dir, "search.svg", pareto_svg(rows, metric).encode())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    console.print(f"best: {chosen['name']}; wrote {out_dir}", highlight=False)


@cli.command()
@click.argument("out_dir", metavar="OUT", type=click.Path(path_type=Path))
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    help="An earlier report.json of the model, or a file --write-baseline wrote (it may hold limits).",
)
@click.option(
    "--tolerance",
    type=Percent(),
    default="0%",
    show_default=True,
    help="Growth past the baseline that still passes, in percent.",
)
@click.option("--max-arena", type=Size(), help="Limit of the arena (plus recurrent state), bytes.")
@click.option(
    "--max-flash",
    type=Size(),
    help="Limit of the flash: weights, graph code and kernels as linked for a Cortex-M board, the weights on the host.",
)
@click.option(
    "--max-instructions",
    type=click.IntRange(0),
    help="Limit of the instructions per inference (needs `aiotc bench OUT` first).",
)
@click.option(
    "--write-baseline",
    type=click.Path(path_type=Path),
    help="Write OUT's figures (and the limits) to this file, after the check.",
)
def check(
    out_dir: Path,
    baseline: Path | None,
    tolerance: float,
    max_arena: int | None,
    max_flash: int | None,
    max_instructions: int | None,
    write_baseline: Path | None,
) -> None:
    """The budget gate of a CI job: OUT's figures against a baseline and limits; exit 1 when one grew past them.

    Figures: arena, flash, weights, stack estimate and MACs from OUT/report.json, instructions
    from OUT/bench.json when `aiotc bench OUT -b BOARD` measured them."""
    from .check import check_table, compare, folder_figures, read_baseline
    from .check import write_baseline as write_baseline_file

    now = folder_figures(out_dir)
    before = read_baseline(baseline) if baseline else None
    given = {"arena_bytes": max_arena, "flash_bytes": max_flash, "instructions": max_instructions}
    limits = (before.limits if before else {}) | {k: v for k, v in given.items() if v is not None}
    rows = compare(now, before, limits, tolerance)
    console = out_console()
    console.print(check_table(rows))
    if write_baseline:
        write_baseline_file(write_baseline, now, limits)
        console.print(f"wrote {write_baseline}")
    failures = [row.failure for row in rows if row.failure]
    if failures:
        raise CheckFailed("; ".join(failures))


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@board_option
@click.option(
    "--memory", is_flag=True, help="Show the memory plan: bytes live per layer, the arena layout, the streamed stage."
)
@compile_options
def inspect(model: Path, board: str, memory: bool, **options) -> None:
    """Layers, shapes, MACs and memory of MODEL, without generating code (for the board's kernels and memories)."""
    from .codegen.escape import plain_text
    from .driver import plan_model
    from .memory.analysis import op_macs
    from .report import memory_report
    from .summary import memory_lines

    planned = plan_model(model, compile_settings(options, board=board))
    graph = planned.graph
    console = out_console()
    table = Table(title=f"{model.name}: {len(graph.ops)} layers", title_justify="left")
    for column in ("#", "layer", "op", "inputs", "output", "dtype", "MACs"):
        table.add_column(column, justify="right" if column in ("#", "MACs") else "left")
    for index, op in enumerate(graph.ops):
        out = graph[op.outputs[0]]
        ins = ", ".join("x".join(map(str, graph[t].shape)) for t in op.inputs if t and not graph[t].is_const)
        table.add_row(
            str(index),
            plain_text(op.name),
            op.kind,
            ins,
            "x".join(map(str, out.shape)),
            out.dtype,
            f"{op_macs(op, graph):,}",
        )
    console.print(table)
    console.print(f"MACs {sum(op_macs(op, graph) for op in graph.ops):,}")
    if memory:
        for line in memory_lines(
            graph,
            memory_report(graph, planned.plan),
            planned.plan.size,
            planned.plan.lower_bound,
            [(stage.first_op, stage.last_op) for stage in planned.stages],
        ):
            console.print(line, highlight=False)


@cli.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "--tflite", "tflite_path", required=True, type=click.Path(path_type=Path), help="Write the (quantized) model here."
)
@calib_options
def export(model: Path, tflite_path: Path, **options) -> None:
    """Write MODEL as a .tflite for other runtimes (tflite-micro); a float model is quantized with --calib."""
    from .driver import export_model
    from .summary import quantization_lines

    with progress_bars() as progress:
        report = export_model(model, tflite_path, calibration(options), progress)
    for line in quantization_lines(report):
        out_console().print(line, highlight=False)
    out_console().print(f"wrote {tflite_path}")


@cli.command()
def boards() -> None:
    """The board database: cores, clocks (for the latency estimate), memories (the RAMs --regions picks from) and the QEMU machine emulating each."""
    from .boards import all_boards

    table = Table()
    for column in (
        "board", "cpu", "clock", "flash", "SRAM", "arena regions", "DSP", "MVE", "QEMU machine", "description"
    ):  # fmt: skip
        table.add_column(column)
    for b in all_boards():
        table.add_row(
            b.name,
            b.cpu,
            f"{b.clock_mhz:g} MHz" if b.clock_mhz else "",
            f"{b.flash_bytes // 1024:,} KiB",
            f"{b.sram_bytes // 1024:,} KiB",
            ", ".join(f"{m.name} {m.size // 1024:,}K" for m in b.memories),
            "yes" if b.dsp else "",
            "yes" if b.mve else "",
            b.qemu_machine or "(host gcc)",
            b.description,
        )
    out_console().print(table)


@cli.command()
def ops() -> None:
    """The supported ops, from the op table: the model ops each kind is read from and the types its kernels handle."""
    from .frontend import supported_ops
    from .frontend.tflite import FOLDERS
    from .ops import OPS

    table = Table(title="op kinds (aiotc/ops.py)", title_justify="left")
    for column in ("op", "TFLite", "ONNX"):
        table.add_column(column)
    table.add_column("types", max_width=13)  # leaves the names room to print whole at 80 columns
    for kind, facts in OPS.items():
        table.add_row(kind, ", ".join(facts.tflite), ", ".join(facts.onnx), ", ".join(kernel_types(kind)))
    console = out_console()
    console.print(table)
    tflite_folded = sorted(set(FOLDERS) - {name for facts in OPS.values() for name in facts.tflite})
    onnx_without_kind = sorted(set(supported_ops()["ONNX"]) - {name for facts in OPS.values() for name in facts.onnx})
    tflite_without_kind = sorted(
        set(supported_ops()["TFLite"]) - set(FOLDERS) - {name for facts in OPS.values() for name in facts.tflite}
    )
    console.print(
        f"TFLite also evaluates {', '.join(tflite_folded)} at compile time (on constants and static shapes) and "
        f"takes {', '.join(tflite_without_kind)} (no op of their own: variables become state, loops are unrolled); "
        f"ONNX also reads {', '.join(onnx_without_kind)} (no op of their own) and folds any node whose inputs are all constant."
    )


def kernel_types(kind: str) -> tuple[str, ...]:
    """The activation types an op kind's kernels take (its lowering's), and int4 weights where int8 layers take them."""
    from .codegen.emit import LOWERINGS
    from .codegen.lowering import WEIGHT_DTYPES
    from .ops import OPS

    dtypes = LOWERINGS[kind].dtypes
    int4 = OPS[kind].weighted and any("int4" in WEIGHT_DTYPES.get(d, ()) for d in dtypes)
    return (*dtypes, *(["int4 weights"] if int4 else []))


@cli.command()
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
def completion(shell: str) -> None:
    """Print the shell completion script: `eval "$(aiotc completion bash)"` in ~/.bashrc."""
    from click.shell_completion import get_completion_class

    click.echo(get_completion_class(shell)(cli, {}, "aiotc", "_AIOTC_COMPLETE").source())


def main() -> None:
    """Entry point: one line and an exit code for every error a user can cause."""
    from .config import project_defaults

    try:
        cli.main(prog_name="aiotc", standalone_mode=False, default_map=project_defaults(cli))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.UsageError as exc:  # one line, like every other error
        command = exc.ctx.command_path if exc.ctx else "aiotc"
        click.echo(f"aiotc: error: {exc.format_message()} (see `{command} --help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except AiotcError as exc:
        from .codegen.escape import plain_text

        # A model error quotes the model's names: one printable line, whatever they hold.
        click.echo(
            f"aiotc: error: {plain_text(str(exc), MAX_ERROR_CHARS) if isinstance(exc, ModelError) else exc}", err=True
        )
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug in aiotc: still one line, the traceback on request
        if os.environ.get("AIOTC_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"aiotc: internal error: {type(exc).__name__}: {exc} (set AIOTC_DEBUG=1 for the traceback; please report it)",
            err=True,
        )
        sys.exit(3)
    sys.exit(0)
