"""Run a model's Cortex-M image in qemu-system-arm: invoke it on inputs, or measure it.

The image (aiotc.toolchain.arm) reads its inputs from and writes its outputs to files
in QEMU's working folder through semihosting, so one QEMU run serves a whole batch
of samples. Every run has a timeout.

Instructions are measured, not estimated: under `-icount shift=0` QEMU's virtual
clock advances exactly 1 ns per executed instruction, and the image reads SysTick,
clocked by the machine's processor clock, around one invoke (after a warm-up
invoke) and between layers. One SysTick tick is therefore 10^9 / clock_hz
instructions: 40 on the MPS2 AN385/AN386/AN500 (25 MHz), 50 on the AN505 (20 MHz),
31.25 on the AN547 (32 MHz). That is the resolution of every figure; the figures
are deterministic, the same on every run. (QEMU 7.2 has no DWT cycle counter.)
"""

from __future__ import annotations

import struct
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..boards import Board
from ..errors import ToolchainError
from ..latency import MARK, latency_known, layer_latency, mark_sled
from ..schema import Report
from .arm import MACHINES, ArmImage, build_image, tool
from .flashread import counts, plugin_args
from .host import IOSpec, buffer_bytes, pack_inputs, read_report, unpack_outputs
from .trace import Listing, trace

QEMU = "qemu-system-arm"
MODE_RUN, MODE_BENCH, MODE_SEQUENCE, MODE_LAYERS = 0, 1, 2, 3
EXIT_MESSAGES = {1: "could not read its input or write its output file", 2: "the model's invoke returned an error"}
EXIT_FAULT = 100
TIMEOUT_S = 60.0  # per run, plus TIMEOUT_PER_SAMPLE_S for each sample
TIMEOUT_PER_SAMPLE_S = 10.0
TRACE_SLOWDOWN = 10  # a traced run (the latency estimate) logs every block it executes: more time
POLL_S = 0.1  # how often a batch run's progress is read


class QemuModel:
    """A generated library linked for a board and run in QEMU: raw tensors in, raw tensors out."""

    def __init__(self, image: ArmImage, report: Report):
        self.image = image
        self.extra_args: tuple[str, ...] = ()  # more QEMU options (benchmarks/profile.py traces with them)
        self.name = report["name"]
        self.inputs = [IOSpec.from_report(e) for e in report["inputs"]]
        self.outputs = [IOSpec.from_report(e) for e in report["outputs"]]
        self.arena_bytes = report["arena_bytes"]
        self.layers = report["layers"]
        self.macs = report["macs"]
        self.input_size = buffer_bytes(self.inputs)
        self.output_size = buffer_bytes(self.outputs)

    @classmethod
    def build(cls, out_dir: Path, board: Board) -> QemuModel:
        image = build_image(out_dir, board)
        tool(QEMU, "qemu-system-arm")
        return cls(image, read_report(out_dir))

    def invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """One sample; the same contract as HostModel.invoke."""
        return self.invoke_batch([inputs])[0]

    def invoke_batch(
        self, samples: list[list[np.ndarray]], tick: Callable[[], None] | None = None
    ) -> list[list[np.ndarray]]:
        """Many samples in one QEMU run: far faster than one run per sample; `tick()` as each one finishes."""
        return self._samples(MODE_RUN, samples, tick)

    def invoke_sequence(self, samples: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """Samples in order in one QEMU run, the state carried from each to the next (a stream's frames)."""
        return self._samples(MODE_SEQUENCE, samples)

    def _samples(
        self, mode: int, samples: list[list[np.ndarray]], tick: Callable[[], None] | None = None
    ) -> list[list[np.ndarray]]:
        data = self._run(
            mode, [pack_inputs(self.inputs, sample) for sample in samples], len(samples) * self.output_size, tick
        )
        buffers = np.frombuffer(data, dtype=np.uint8).reshape(len(samples), self.output_size)
        return [unpack_outputs(self.outputs, buf) for buf in buffers]

    def invoke_capturing(
        self, inputs: list[np.ndarray], regions: dict[int, tuple[int, int]]
    ) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
        """HostModel.invoke_capturing in QEMU: the image writes the whole arena as each layer
        ends (main.c.j2's mode 3), then the outputs; the last copy of a layer wins."""
        data = np.frombuffer(self._run(MODE_LAYERS, [pack_inputs(self.inputs, inputs)], None), dtype=np.uint8)
        record = 4 + self.arena_bytes
        records = (len(data) - self.output_size) // record
        if records < 0 or records * record + self.output_size != len(data):
            raise ToolchainError(f"{self.name} in QEMU wrote {len(data)} bytes of layer captures, not whole records")
        captured = {}
        for at in range(0, records * record, record):
            index = int(data[at : at + 4].view("<u4")[0])
            if index in regions:
                offset, nbytes = regions[index]
                captured[index] = data[at + 4 + offset : at + 4 + offset + nbytes].copy()
        return unpack_outputs(self.outputs, data[records * record :]), captured

    def bench(self, sample: list[np.ndarray] | None = None) -> dict:
        """Instructions of one invoke (after a warm-up), per layer, and the memory the image uses.

        `sample` defaults to zeros in every input. Instructions are SysTick ticks
        times the tick's length in instructions (see the module docstring). On a board
        with a clock and a cost table (aiotc.latency) the run is traced too, and each
        layer gains its estimated cycles and milliseconds on that board.
        """
        sample = sample or [np.zeros(s.shape, dtype=s.np_dtype) for s in self.inputs]
        size = 8 * (2 + max(len(self.layers), 1))
        board = self.image.board
        if latency_known(board):
            listing = Listing.of(self.image.elf)
            start = f"{self.name}_invoke"
            raw: list[bytes] = []
            with tempfile.TemporaryDirectory(prefix="aiotc-flash-") as folder:
                report = Path(folder) / "flash.txt"
                replay = self._flash_replay(listing, start, report) if board.flash_model else ()
                segments = trace(
                    lambda extra: raw.append(
                        self._run(MODE_BENCH, [pack_inputs(self.inputs, sample)], size, extra=extra + replay)
                    ),
                    listing,
                    start=start,
                    boundary=MARK,
                )
                flash = counts(report) if replay else None
            figures = self._figures(np.frombuffer(raw[0], dtype="<u8"))
            return figures | layer_latency(figures, segments, listing, board, flash)
        return self._figures(
            np.frombuffer(self._run(MODE_BENCH, [pack_inputs(self.inputs, sample)], size), dtype="<u8")
        )

    def _flash_replay(self, listing: Listing, start: str, report: Path) -> tuple[str, ...]:
        """QEMU options replaying the image's flash through the board's flash caches, by layer."""
        machine, model = self.image.machine, self.image.board.flash_model
        assert model is not None
        flash = (machine.flash_origin, machine.flash_origin + machine.flash_size)
        sled = mark_sled(listing)
        return plugin_args(model, flash, listing.start(start), report, mark=sled, marks=len(self.layers))

    def _figures(self, figures: np.ndarray) -> dict:
        per_tick = 1e9 / self.image.machine.clock_hz
        image = self.image
        instructions = round(int(figures[0]) * per_tick)
        return {
            "board": image.board.name,
            "qemu_machine": image.board.qemu_machine,
            "instructions": instructions,
            "instructions_resolution": per_tick,
            "macs": self.macs,
            "instructions_per_mac": round(instructions / self.macs, 3) if self.macs else None,
            "flash_bytes": image.flash_bytes,
            "flash_model_bytes": image.flash_model_bytes,
            "flash_rest_bytes": image.flash_bytes - image.flash_model_bytes,
            "ram_bytes": image.ram_bytes,
            "ram_model_bytes": image.ram_model_bytes,
            "arena_bytes": self.arena_bytes,
            "stack_bytes": int(figures[1]),
            "stack_usage": image.stack.as_dict() | {"harness_bytes": image.stack_harness_bytes},
            "layers": [
                {
                    "name": layer["name"],
                    "op": layer["op"],
                    "macs": layer["macs"],
                    "instructions": round(int(ticks) * per_tick),
                }
                for layer, ticks in zip(self.layers, figures[2:])
            ],
        } | (
            {
                "regions": [
                    {"name": r, "address": at, "bytes": n, "arena_address": arena}
                    for r, (at, n, arena) in image.regions.items()
                ]
            }
            if image.regions
            else {}
        )

    def _run(
        self,
        mode: int,
        inputs: list[bytes],
        expected_bytes: int | None,
        tick: Callable[[], None] | None = None,
        extra: tuple[str, ...] = (),
    ) -> bytes:
        return run_image(
            self.image.elf,
            self.image.board,
            self.name,
            mode,
            inputs,
            self.output_size,
            expected_bytes,
            tick,
            (*self.extra_args, *extra),
            TRACE_SLOWDOWN if extra else 1.0,
        )


def run_image(
    elf: Path,
    board: Board,
    name: str,
    mode: int,
    inputs: list[bytes],
    sample_bytes: int,
    expected_bytes: int | None,
    tick: Callable[[], None] | None = None,
    extra_args: tuple[str, ...] = (),
    slowdown: float = 1.0,
) -> bytes:
    """One QEMU run of a test image in a fresh folder: the image reads aiotc_in.bin and writes aiotc_out.bin.
    `slowdown`: how much longer than usual the run may take (a traced run is slower).

    Semihosting writes each sample's outputs (`sample_bytes`) to the host file as the sample
    ends, so the file's growth is the run's progress (`tick()` per sample)."""
    machine = MACHINES[board.qemu_machine]
    command = [
        QEMU, "-machine", board.qemu_machine, "-cpu", machine.cpu, "-nographic", "-monitor", "none",
        "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf),
        *extra_args,
    ]  # fmt: skip
    timeout = (TIMEOUT_S + TIMEOUT_PER_SAMPLE_S * len(inputs)) * slowdown
    with tempfile.TemporaryDirectory(prefix="aiotc-qemu-") as folder:
        (Path(folder) / "aiotc_in.bin").write_bytes(struct.pack("<II", mode, len(inputs)) + b"".join(inputs))
        # No stdin: -nographic would otherwise put the user's terminal in raw mode.
        with subprocess.Popen(
            command, cwd=folder, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process:
            try:
                stdout, stderr = _wait(process, Path(folder) / "aiotc_out.bin", sample_bytes, tick, timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                raise ToolchainError(f"{name} on {board.qemu_machine} did not finish within {timeout:.0f} s") from None
        if process.returncode != 0:
            code = process.returncode
            reason = (
                f"CPU exception {code - EXIT_FAULT}"
                if code >= EXIT_FAULT
                else EXIT_MESSAGES.get(code, f"exit status {code}")
            )
            detail = (stdout + stderr).strip()
            raise ToolchainError(
                f"{name} failed in QEMU {board.qemu_machine}: {reason}" + (f"\n{detail}" if detail else "")
            )
        data = (Path(folder) / "aiotc_out.bin").read_bytes()
    if expected_bytes is not None and len(data) != expected_bytes:
        raise ToolchainError(
            f"{name} in QEMU {board.qemu_machine} wrote {len(data)} bytes of results, not {expected_bytes}"
        )
    return data


def _wait(
    process: subprocess.Popen, out_file: Path, sample_bytes: int, tick: Callable[[], None] | None, timeout: float
) -> tuple[str, str]:
    """Wait for QEMU, ticking once per sample whose outputs appeared in `out_file`; (stdout, stderr)."""
    deadline, ticked = time.monotonic() + timeout, 0
    while tick is not None:
        running = process.poll() is None
        finished = out_file.stat().st_size // max(sample_bytes, 1) if out_file.exists() else 0
        for _ in range(finished - ticked):
            tick()
        ticked = max(ticked, finished)
        if not running:
            break
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(process.args, timeout)
        time.sleep(POLL_S)
    return process.communicate(timeout=max(deadline - time.monotonic(), 0.001))
