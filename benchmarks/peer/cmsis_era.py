"""The MLPerf Tiny models' layers on the CMSIS-NN a published submission ran, for benchmarks/latency.py.

    kernels(model, era)               -> per layer: the traced blocks (aiotc.latency.estimate's input)
    harness_flash(model, era, caches) -> flash fetches, reads and cache misses over the layers
    flash(elf, start, caches)         -> the same for any image, from the last execution of `start` on

The published TFLite Micro figures ran older software than the peer (TFLite Micro +
CMSIS-NN of 2025): the v0.5 reference on the NUCLEO-L4R5ZI TFLM v2.3.1 with the
CMSIS-NN of 2020, built by mbed-os' default profile (-Os); Renesas' v0.7 on the
EK-RA6M4 CMSIS_5's NN library of January 2021 at -O3 (its e2 studio project). Their
TFLM trees are not rebuilt here; their CMSIS-NN kernels are: CMSIS_5 is exported at
the era's commit from a bare clone (MIRROR/ARM-software+CMSIS_5/repo, MIRROR default
/work/.mirror: the build machine's mirrors) into CACHE (`missing` says what is absent), and
a harness generated from the .tflite calls the kernels TFLM's cmsis-nn glue of that
era calls, one per layer, with the layer's shapes, strides and padding, on zeros
(as the peer and `aiotc bench`). What it leaves out: TFLM's own code around each
kernel (about 1% of the peer's instructions) and RESHAPE (a copy).
The harness is this file's; no CMSIS code is kept in the project.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from math import prod
from pathlib import Path

import tflite

from aiotc.boards import FlashModel
from aiotc.toolchain.flashread import counts, plugin_args
from aiotc.toolchain.trace import Listing, blocks, trace

HERE = Path(__file__).resolve().parent
MIRROR = Path(os.environ.get("MIRROR", "/work/.mirror")) / "ARM-software+CMSIS_5" / "repo"
CACHE = Path.home() / ".cache" / "tflm-old"
MACHINE = ("-M", "mps2-an386", "-cpu", "cortex-m4")
START, MARK = "run_layers", "layer_mark"
SCRATCH_BYTES = 65536  # bytes of kernel scratch the harness offers (checked per layer)


@dataclass(frozen=True)
class Era:
    commit: str  # ARM-software/CMSIS_5
    date: str  # the commit's
    optimization: str
    project: str  # the build whose flags these are

    @property
    def source(self) -> str:
        return f"CMSIS_5 of {self.date}, {self.optimization} ({self.project})"


ERAS = {
    # TF v2.3.1 (branch cut June 2020) downloads CMSIS_5 at a pinned commit; the pin is not
    # recorded in mlcommons/tiny: CMSIS_5 as of 2020-07-01 (arm_nnfunctions.h V.6.0.1), the
    # newest NN library a June 2020 pin can be. mbed-os' default profile (`mbed compile` as
    # in v0.1/reference_submissions/*/README.md): -Os.
    "nucleo-l4r5zi": Era("378acfb6490a82ba90e1ffb4bfd4e602668b180a", "2020-07-01", "-Os", "mbed-os"),
    # tiny_results_v0.7 closed/renesas/code: arm_nnfunctions.h V.6.5.3 of 19 January 2021
    # (CMSIS_5 d36676fc8), .cproject optimization level "most" (-O3).
    "ek-ra6m4": Era("d36676fc869635df2f26fce490496c6e583cebfb", "2021-01-19", "-O3", "e2 studio"),
}


def missing() -> str | None:
    """Why an era's CMSIS_5 cannot be exported (one line saying how to provide it), or None."""
    for era in ERAS.values():
        if (CACHE / era.commit[:12] / "CMSIS" / "NN").is_dir():
            continue
        found = subprocess.run(["git", "-C", str(MIRROR), "cat-file", "-e", f"{era.commit}^{{commit}}"],
                               capture_output=True)  # fmt: skip
        if found.returncode:
            return (
                f"CMSIS_5 commit {era.commit[:12]} is not in {MIRROR}: "
                f"`git clone --bare https://github.com/ARM-software/CMSIS_5 {MIRROR}` "
                "(or set MIRROR to the folder holding ARM-software+CMSIS_5/repo)"
            )
    return None


def source(era: Era) -> Path:
    """CMSIS_5's NN library, DSP and Core headers at the era's commit (exported once)."""
    out = CACHE / era.commit[:12]
    if not (out / "CMSIS" / "NN").is_dir():
        out.mkdir(parents=True, exist_ok=True)
        paths = ["CMSIS/NN/Include", "CMSIS/NN/Source", "CMSIS/Core/Include", "CMSIS/DSP/Include"]
        archive = subprocess.run(
            ["git", "-C", str(MIRROR), "archive", era.commit, *paths], capture_output=True, check=True
        )
        subprocess.run(["tar", "x", "-C", str(out)], input=archive.stdout, check=True)
    return out


def _options(op, kind):
    table = op.BuiltinOptions()
    options = kind()
    options.Init(table.Bytes, table.Pos)
    return options


def _padding(options, size: int, kernel: int, stride: int, dilation: int, out: int) -> int:
    """TFLM's SAME padding (the smaller half before), 0 for VALID."""
    if options.Padding() != tflite.Padding.SAME:
        return 0
    return max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0) // 2


def layers(model: Path) -> list[str]:
    """One C statement per kernel call of `model`, in execution order (RESHAPE has none)."""
    tfl = tflite.Model.GetRootAsModel(model.read_bytes(), 0)
    graph = tfl.Subgraphs(0)
    opnames = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    calls = []

    def shape(index: int) -> list[int]:
        return [int(d) for d in graph.Tensors(index).ShapeAsNumpy()]

    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = tfl.OperatorCodes(op.OpcodeIndex())
        name = opnames[max(code.BuiltinCode(), code.DeprecatedBuiltinCode())]
        x, y = shape(op.Inputs(0)), shape(op.Outputs(0))
        if name in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            w = shape(op.Inputs(1))
            depthwise = name == "DEPTHWISE_CONV_2D"
            o = _options(op, tflite.DepthwiseConv2DOptions if depthwise else tflite.Conv2DOptions)
            sh, sw, dh, dw = o.StrideH(), o.StrideW(), o.DilationHFactor(), o.DilationWFactor()
            ph = _padding(o, x[1], w[1], sh, dh, y[1])
            pw = _padding(o, x[2], w[2], sw, dw, y[2])
            dims = f"i = {{1, {x[1]}, {x[2]}, {x[3]}}}, b = {{1, 1, 1, {y[3]}}}, o = {{1, {y[1]}, {y[2]}, {y[3]}}}"
            geometry = f"{{{sw}, {sh}}}, {{{pw}, {ph}}}, {{{dw}, {dh}}}, {{-128, 127}}"
            if depthwise:
                params = f"cmsis_nn_dw_conv_params p = {{128, -128, {y[3] // x[3]}, {geometry}}};"
                call, size = (
                    "arm_depthwise_conv_wrapper_s8",
                    "arm_depthwise_conv_wrapper_s8_get_buffer_size(&p, &i, &f, &o)",
                )
                filt = f"f = {{1, {w[1]}, {w[2]}, {y[3]}}}"
            else:
                params = f"cmsis_nn_conv_params p = {{128, -128, {geometry}}};"
                call, size = "arm_convolve_wrapper_s8", "arm_convolve_wrapper_s8_get_buffer_size(&p, &i, &f, &o)"
                filt = f"f = {{{w[0]}, {w[1]}, {w[2]}, {w[3]}}}"
            calls.append(
                f"{params} cmsis_nn_dims {dims}, {filt};\n"
                f"        WEIGHTS q7_t w[{prod(w)}]; WEIGHTS int32_t bias[{y[3]}];\n"
                f"        check({size}); {call}(&ctx, &p, &q, &i, in_a, &f, w, &b, bias, &o, out);"
            )
        elif name == "AVERAGE_POOL_2D":
            o = _options(op, tflite.Pool2DOptions)
            fh, fw, sh, sw = o.FilterHeight(), o.FilterWidth(), o.StrideH(), o.StrideW()
            ph, pw = _padding(o, x[1], fh, sh, 1, y[1]), _padding(o, x[2], fw, sw, 1, y[2])
            calls.append(
                f"cmsis_nn_pool_params p = {{{{{sw}, {sh}}}, {{{pw}, {ph}}}, {{-128, 127}}}};\n"
                f"        cmsis_nn_dims i = {{1, {x[1]}, {x[2]}, {x[3]}}}, f = {{1, {fh}, {fw}, 1}}, "
                f"o = {{1, {y[1]}, {y[2]}, {y[3]}}};\n"
                f"        check(arm_avgpool_s8_get_buffer_size({y[2]}, {x[3]})); "
                f"arm_avgpool_s8(&ctx, &p, &i, in_a, &f, &o, out);"
            )
        elif name == "FULLY_CONNECTED":
            w = shape(op.Inputs(1))
            calls.append(
                "cmsis_nn_fc_params p = {128, 0, -128, {-128, 127}}; cmsis_nn_per_tensor_quant_params t = {1 << 30, -7};\n"
                f"        cmsis_nn_dims i = {{{prod(x) // w[1]}, 1, 1, {w[1]}}}, f = {{{w[1]}, 1, 1, {w[0]}}}, "
                f"b = {{1, 1, 1, {w[0]}}}, o = {{1, 1, 1, {w[0]}}};\n"
                f"        WEIGHTS q7_t w[{prod(w)}]; WEIGHTS int32_t bias[{w[0]}];\n"
                f"        check(arm_fully_connected_s8_get_buffer_size(&f)); "
                f"arm_fully_connected_s8(&ctx, &p, &t, &i, in_a, &f, w, &b, bias, &o, out);"
            )
        elif name == "SOFTMAX":
            calls.append(f"arm_softmax_s8(in_a, {prod(x[:-1])}, {x[-1]}, 1 << 30, 5, -248, out);")
        elif name == "ADD":
            calls.append(
                "arm_elementwise_add_s8(in_a, in_b, 128, 1 << 30, -1, 128, 1 << 30, -1, 20, out, -128, 1 << 30, -18, "
                f"-128, 127, {prod(y)});"
            )
        elif name != "RESHAPE":
            raise ValueError(f"{model.name}: no CMSIS-NN call for {name}")
    return calls


def harness(model: Path) -> str:
    """A bare-metal C program that calls `model`'s kernels once each, `layer_mark()` after each."""
    graph = tflite.Model.GetRootAsModel(model.read_bytes(), 0).Subgraphs(0)
    largest = max(prod(int(d) for d in graph.Tensors(i).ShapeAsNumpy()) for i in range(graph.TensorsLength()))
    body = "\n".join(f"    {{\n        {call}\n    }}\n    layer_mark();" for call in layers(model))
    return f"""/* Generated by benchmarks/peer/cmsis_era.py from {model.name}. */
#include "arm_nnfunctions.h"
#include "semihost.h"

/* weights and biases in flash, as on the boards (zeros: the counts do not depend on them) */
#define WEIGHTS static const __attribute__((section(".rodata.weights")))

static q7_t in_a[{largest}], in_b[{largest}], out[{largest}];
static int16_t scratch[{SCRATCH_BYTES // 2}];
static int32_t mult[1024], shift[1024];

__attribute__((noinline)) void {MARK}(void) {{ __asm__ volatile(""); }}

static void check(int32_t bytes)
{{
    if (bytes > (int32_t)sizeof scratch) {{
        semihost(SH_SYS_WRITE0, "cmsis_era: scratch too small\\n");
        peer_exit(4);
    }}
}}

__attribute__((noinline)) void {START}(void)
{{
    cmsis_nn_context ctx = {{scratch, sizeof scratch}};
    cmsis_nn_per_channel_quant_params q = {{mult, shift}};
    (void)q;
{body}
}}

int main(void)
{{
    for (int i = 0; i < 1024; i++) {{
        mult[i] = 1 << 30;
        shift[i] = -7;
    }}
    peer_timer_start();
    uint64_t t0 = peer_now();
    {START}();
    uint64_t ticks = peer_now() - t0;
    char line[40] = "ticks=";
    int n = 6;
    for (uint64_t d = 1000000000000ull; d > 0; d /= 10) {{
        if (ticks >= d || d == 1 || n > 6) {{
            line[n++] = (char)('0' + ticks / d % 10);
        }}
    }}
    line[n++] = '\\n';
    semihost(SH_SYS_WRITE0, line);
    return 0;
}}
"""


def build(model: Path, era: Era, work: Path) -> Path:
    """The harness of `model` compiled with the era's CMSIS-NN and flags for the Cortex-M4."""
    root = source(era)
    nn = root / "CMSIS" / "NN"
    (work / "layers.c").write_text(harness(model))
    sources = sorted(str(p) for p in (nn / "Source").glob("*/*.c"))
    flags = ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard", "-mthumb", era.optimization,
             "-ffunction-sections", "-fdata-sections", "-DARM_MATH_DSP", "-DARM_MATH_CM4",
             f"-I{nn / 'Include'}", f"-I{root / 'CMSIS' / 'DSP' / 'Include'}", f"-I{root / 'CMSIS' / 'Core' / 'Include'}",
             f"-I{HERE}"]  # fmt: skip
    elf = work / "layers.elf"
    subprocess.run(
        ["arm-none-eabi-gcc", *flags, "-w", "-o", str(elf), str(work / "layers.c"), str(HERE / "startup.c"), *sources,
         "-nostartfiles", "--specs=nosys.specs", "-Wl,--gc-sections", f"-L{HERE}", "-T", str(HERE / "link_m4.ld")],
        check=True, capture_output=True,
    )  # fmt: skip
    return elf


def _qemu(elf: Path, extra: tuple[str, ...] = ()) -> str:
    command = ["qemu-system-arm", *MACHINE, "-nographic", "-monitor", "none", "-semihosting-config",
               "enable=on,target=native", "-icount", "shift=0", "-kernel", str(elf), *extra]  # fmt: skip
    run = subprocess.run(command, capture_output=True, text=True, timeout=1200, check=True)
    return run.stdout + run.stderr  # semihosting writes to stderr


def kernels(model: Path, era: Era) -> list[list]:
    """Per kernel call, in order: the blocks it executed (trace.blocks)."""
    with tempfile.TemporaryDirectory(prefix="aiotc-era-") as tmp:
        elf = build(model, era, Path(tmp))
        listing = Listing.of(elf)
        segments = trace(lambda extra: _qemu(elf, extra), listing, start=START, boundary=MARK)
    return [blocks(segment, listing, (MARK,)) for segment in segments]


def flash(elf: Path, start: int, model: FlashModel, flash_end: int = 0x400000) -> dict[str, int]:
    """Instruction fetches and data reads from flash (addresses below `flash_end`) from the last
    execution of `start` on, and the misses of `model`'s caches (aiotc's QEMU plugin)."""
    with tempfile.TemporaryDirectory(prefix="aiotc-flash-") as tmp:
        report = Path(tmp) / "flash.txt"
        _qemu(elf, plugin_args(model, (0, flash_end), start, report))
        found = counts(report)
    return {"fetches": found.fetches, "icache_misses": found.icache_misses, "reads": found.reads,
            "dcache_misses": found.dcache_misses}  # fmt: skip


def harness_flash(model: Path, era: Era, caches: FlashModel) -> dict[str, int]:
    """`flash` over one pass of the era's kernels of `model`."""
    with tempfile.TemporaryDirectory(prefix="aiotc-era-") as tmp:
        elf = build(model, era, Path(tmp))
        return flash(elf, Listing.of(elf).start(START), caches)
