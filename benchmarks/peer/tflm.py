"""The peer, TFLite Micro + CMSIS-NN, measured on the QEMU machine of an aiotc board.

    prepare(peer, boards)        -> per aiotc board, why the peer cannot run there (None: it can)
    measure(model, board, peer)  -> instructions of one Invoke, per operator, arena
    measure(..., invokes=N)      -> the same, per Invoke over N Invokes carrying the state
    softmax_scale_raised(m, out) -> a copy of m TFLM's softmax accepts (benchmarks/zoo.py)

`peer` is the folder build.sh filled (default ~/.cache/tflm-peer): the library in
build/<core>/, this folder's harness (main.cc) in build/<core>/bench/. The model is
linked into the harness and run under `-icount shift=0` like aiotc's own image, on
zeros like `aiotc bench`: one warm-up Invoke, one timed Invoke, then a second
interpreter's profiled Invoke for the instructions per operator (main.cc says how
they are counted). The Cortex-M7 board runs the M4 build (TFLM's recipe has no M7:
the same DSP code paths) on its own machine.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import tempfile
import time
from pathlib import Path

import tflite

from aiotc.toolchain.flashread import FlashCounts

HERE = Path(__file__).resolve().parent
DEFAULT = Path.home() / ".cache" / "tflm-peer"
BUILDS = {"mps2-an386": "m4", "mps2-an500": "m4", "mps3-an547": "m55"}  # QEMU machine -> build and linker script
HARNESS = ("main.cc", "startup.c", "semihost.h", "build.sh")
TIMEOUT_S = 900.0
INT8 = 9  # tflite TensorType
TARGETS = {"cortex-m4": 0.5, "cortex-m55": 0.75}  # issue 22: aiotc's instructions at most this share of the peer's
SOFTMAX_SCALE_FLOOR = 2.0**-24  # TFLM's softmax needs beta * scale * 2**26 > 1 (softmax_scale_raised)
OP = re.compile(r"^op=(\d+) name=(\S+) ticks=(\d+)$", re.M)
TOTAL = re.compile(r"^ticks=(\d+) arena=(\d+) ops=(\d+) invokes=(\d+)$", re.M)
# main.cc's profiler and clock: their code is no operator's (the boundary between operators is EndEvent)
PROFILER = (
    "_ZN12_GLOBAL__N_113LayerProfiler10BeginEventEPKc",
    "_ZN12_GLOBAL__N_113LayerProfiler8EndEventEm",
    "peer_now",
)
INVOKE = "_ZN6tflite16MicroInterpreter6InvokeEv"


def is_int8(model: Path) -> bool:
    """An int8 model: the peer's CMSIS-NN kernels are int8 (float models run TFLM's reference code)."""
    graph = tflite.Model.GetRootAsModel(model.read_bytes(), 0).Subgraphs(0)
    return any(graph.Tensors(i).Type() == INT8 for i in range(graph.TensorsLength()))


def builtin(tfl, op) -> int:
    """The operator's tflite BuiltinOperator (codes above 127 live in the newer field)."""
    code = tfl.OperatorCodes(op.OpcodeIndex())
    return max(code.BuiltinCode(), code.DeprecatedBuiltinCode())


def operators(model: Path) -> list[dict]:
    """The main subgraph's operators in execution order: first output's name and shape, the data input's shape
    (a TRANSPOSE_CONV's third: its first is the output shape), and the shape of the second input when it is a
    constant (a convolution's or fully connected layer's weights)."""
    tfl = tflite.Model.GetRootAsModel(model.read_bytes(), 0)
    graph = tfl.Subgraphs(0)

    def dims(index: int) -> list[int]:
        t = graph.Tensors(index)
        return [int(d) for d in t.ShapeAsNumpy()] if t.ShapeLength() else []

    def constant(index: int) -> bool:
        return index >= 0 and tfl.Buffers(graph.Tensors(index).Buffer()).DataLength() > 0

    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        inputs = [op.Inputs(k) for k in range(op.InputsLength())]
        data = inputs[2] if builtin(tfl, op) == tflite.BuiltinOperator.TRANSPOSE_CONV else inputs[0] if inputs else -1
        ops.append(
            {
                # the keyword models name none: aiotc's frontend then names a tensor by its index
                "name": (graph.Tensors(op.Outputs(0)).Name() or b"").decode() or f"tensor{op.Outputs(0)}",
                "input_shape": dims(data) if data >= 0 else [],
                "output_shape": dims(op.Outputs(0)),
                "weights_shape": dims(inputs[1]) if len(inputs) > 1 and constant(inputs[1]) else None,
            }
        )
    return ops


def skipped_operator(model: Path) -> str | None:
    """Why the peer would leave part of `model` uncomputed, or None. Its int8 TRANSPOSE is
    CMSIS-NN's, which takes at most 4 dimensions: above that the kernel returns an error
    that TFLM's TransposeEval ignores, so the Invoke succeeds with the output unwritten (a
    ShuffleNet's rank-5 channel shuffle: some 1.7k instructions, whatever its size). Such a
    run is no figure to compare with."""
    tfl = tflite.Model.GetRootAsModel(model.read_bytes(), 0)
    graph = tfl.Subgraphs(0)
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        data = graph.Tensors(op.Inputs(0))
        if builtin(tfl, op) == tflite.BuiltinOperator.TRANSPOSE and data.Type() == INT8 and data.ShapeLength() > 4:
            return f"peer skips: CMSIS-NN's int8 TRANSPOSE refuses {data.ShapeLength()} dimensions, the error ignored"
    return None


def softmax_scale_raised(model: Path, out: Path) -> bool:
    """Write `model` to `out` with every int8 SOFTMAX input scale below SOFTMAX_SCALE_FLOOR raised to it; whether any was.

    TFLM's softmax preparation aborts when beta * input scale * 2**26 is not above one
    (PreprocessSoftmaxScaling): random-weight models have logits scales near 1e-8. The
    scale is a value in the copy's kernels, not work: the copy's instructions stand
    for the model's (the FULLY_CONNECTED before it requantizes with another multiplier)."""
    data = bytearray(model.read_bytes())
    tfl = tflite.Model.GetRootAsModel(data, 0)
    graph, raised = tfl.Subgraphs(0), False
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        quant = graph.Tensors(op.Inputs(0)).Quantization()
        if (
            builtin(tfl, op) == tflite.BuiltinOperator.SOFTMAX
            and quant is not None
            and quant.ScaleLength() == 1
            and quant.Scale(0) < SOFTMAX_SCALE_FLOOR
        ):
            at = quant._tab.Vector(quant._tab.Offset(8))  # QuantizationParameters.scale, a float vector
            struct.pack_into("<f", data, at, SOFTMAX_SCALE_FLOOR)
            raised = True
    out.write_bytes(data)
    return raised


def prepare(peer: Path, boards: list[str]) -> dict[str, str | None]:
    """Per board: None when the peer can run there, else why not.

    Rebuilds the harness (seconds) when main.cc or its neighbours changed; never the
    library, which takes 20 minutes a core (build.sh)."""
    from aiotc.boards import load_board

    reasons: dict[str, str | None] = {}
    built: dict[str, str | None] = {}
    for board in boards:
        machine = load_board(board).qemu_machine
        core = BUILDS.get(machine or "")
        if core is None:
            reasons[board] = f"no peer build for {machine or 'the host'}"
            continue
        if core not in built:
            built[core] = _harness(peer, core)
        reasons[board] = built[core]
    return reasons


def _harness(peer: Path, core: str) -> str | None:
    out = peer / "build" / core
    if not (out / "libtensorflow-microlite.a").is_file():
        return f"no peer build in {out} (benchmarks/peer/build.sh)"
    main = out / "bench" / "main.o"
    newest = max((HERE / name).stat().st_mtime for name in HARNESS)
    if main.is_file() and main.stat().st_mtime >= newest:
        return None
    build = subprocess.run(
        ["nice", str(HERE / "build.sh"), core], env=os.environ | {"SRC": str(peer)}, capture_output=True, text=True
    )
    if build.returncode != 0:
        return f"peer harness build failed: {(build.stderr.strip().splitlines() or ['?'])[-1][:120]}"
    return None


def measure(model: Path, board: str, peer: Path, invokes: int = 1) -> dict:
    """One Invoke of `model` on the peer on `board`'s QEMU machine: instructions, arena, instructions per operator.

    With `invokes` > 1 the instructions are the mean of that many Invokes after the
    warm-up, each carrying the state of the one before (a recurrent model's sequence);
    the operators' figures stay those of one Invoke. A model whose SOFTMAX input scale TFLM
    refuses runs as its `softmax_scale_raised` copy, and the result says so. A failure (TFLM
    rejects the model, QEMU times out) is {"error": one line}."""
    from aiotc.boards import load_board
    from aiotc.toolchain.arm import MACHINES

    skipped = skipped_operator(model)
    if skipped:
        return {"error": skipped}
    machine = load_board(board).qemu_machine
    cpu, clock_hz = MACHINES[machine].cpu, MACHINES[machine].clock_hz
    with tempfile.TemporaryDirectory(prefix="aiotc-peer-") as tmp:
        work = Path(tmp)
        raised = softmax_scale_raised(model, work / "raised.tflite")
        failed = _link(work / "raised.tflite" if raised else model, machine, peer, work, invokes)
        if failed:
            return {"error": failed}
        console = _run_qemu(work, machine, cpu)
    total = TOTAL.search(console)
    if total is None:
        return {"error": _failure(console)}
    per_tick = 1e9 / clock_hz
    ops = operators(model)
    layers = [
        {
            "op": name,
            **(
                ops[int(i)]
                if int(i) < len(ops)
                else {"name": "?", "input_shape": [], "output_shape": [], "weights_shape": None}
            ),
            "instructions": round(int(t) * per_tick),
        }
        for i, name, t in OP.findall(console)
    ]
    timed = int(total.group(4))
    return {"instructions": round(int(total.group(1)) * per_tick / timed), "instructions_resolution": per_tick / timed,
            "invokes": timed, "arena_bytes": int(total.group(2)), "layers": layers} | (
        {"softmax_scale_raised": True} if raised else {})  # fmt: skip


def traced(model: Path, board: str, peer: Path) -> tuple[list, FlashCounts | None]:
    """The blocks the peer executes in one profiled Invoke of `model` (aiotc.toolchain.trace), for
    aiotc.latency.estimate; the profiler's own code counts for nothing, as in `measure`. On a board
    with a flash model also that run's flash misses from the Invoke on to the timer read after it."""
    from aiotc.boards import load_board
    from aiotc.toolchain.arm import MACHINES
    from aiotc.toolchain.flashread import counts, plugin_args
    from aiotc.toolchain.trace import Listing, blocks, trace

    spec = load_board(board)
    machine = MACHINES[spec.qemu_machine]
    with tempfile.TemporaryDirectory(prefix="aiotc-peer-") as tmp:
        work = Path(tmp)
        failed = _link(model, spec.qemu_machine, peer, work)
        if failed:
            raise RuntimeError(failed)
        listing = Listing.of(work / "image.elf")
        replay: tuple[str, ...] = ()
        if spec.flash_model:  # misses charged to one mark: each peer_now, the last one right after Invoke
            flash = (machine.flash_origin, machine.flash_origin + machine.flash_size)
            replay = plugin_args(spec.flash_model, flash, listing.start(INVOKE), work / "flash.txt",
                                 mark=listing.start("peer_now"), marks=1)  # fmt: skip
        segments = trace(
            lambda extra: _run_qemu(work, spec.qemu_machine, machine.cpu, extra + replay),
            listing,
            start=INVOKE,
            boundary=PROFILER[1],
        )
        found = counts(work / "flash.txt") if replay else None
    return [block for segment in segments for block in blocks(segment, listing, PROFILER)], found


def _link(model: Path, machine: str, peer: Path, work: Path, invokes: int = 1) -> str | None:
    """Link the harness with `model` (timing `invokes` Invokes) into work/image.elf; why not, in one line, when it fails."""
    core = BUILDS[machine]
    lib, bench = peer / "build" / core, peer / "build" / core / "bench"
    flags = (bench / "cpu_flags").read_text().split()
    link = [
        ["arm-none-eabi-gcc", *flags, f'-DMODEL_PATH="{model.resolve()}"', f"-DINVOKES={invokes}", "-c", str(HERE / "model.S"), "-o", "model.o"],
        ["arm-none-eabi-g++", *flags, "-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections", f"-L{HERE}",
         "-T", str(HERE / f"link_{core}.ld"), str(bench / "main.o"), str(bench / "startup.o"), "model.o",
         str(lib / "libtensorflow-microlite.a"), "-lm", "-o", "image.elf"],
    ]  # fmt: skip
    for command in link:
        step = subprocess.run(command, cwd=work, capture_output=True, text=True)
        if step.returncode != 0:
            said = [line for line in step.stderr.splitlines() if line.strip() and not line.startswith("collect2:")]
            return f"peer link failed: {(said or ['?'])[-1].split(': ', 1)[-1][:120]}"  # ld's last word, not its path
    return None


def _run_qemu(work: Path, machine: str, cpu: str, extra: tuple[str, ...] = ()) -> str:
    """The image's console. A failed TFLITE_CHECK prints HALTED and spins: QEMU is stopped then."""
    command = ["nice", "qemu-system-arm", "-M", machine, "-cpu", cpu, "-nographic", "-monitor", "none",
               "-semihosting-config", "enable=on,target=native", "-icount", "shift=0", "-kernel", "image.elf",
               *extra]  # fmt: skip
    log = work / "console.txt"
    deadline = time.monotonic() + TIMEOUT_S
    with (
        open(log, "w") as sink,
        subprocess.Popen(command, cwd=work, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT) as qemu,
    ):
        while qemu.poll() is None:
            if "HALTED" in log.read_text(errors="replace") or time.monotonic() > deadline:
                qemu.kill()
                break
            time.sleep(0.2)
    text = log.read_text(errors="replace")
    return text if qemu.returncode == 0 or "HALTED" in text else text + f"\n(QEMU exit status {qemu.returncode})"


def _failure(console: str) -> str:
    """One line: the first thing TFLM or the harness said about why it stopped."""
    if "HALTED" in console:
        said = [line for line in console.splitlines() if line.strip() and "HALTED" not in line]
        return "peer aborts: " + (said[0][:100] if said else "a TFLITE_CHECK failed")
    lines = [line for line in console.splitlines() if line.strip() and not OP.match(line)]
    return "peer failed: " + (lines[0][:100] if lines else "no output (timeout?)")
