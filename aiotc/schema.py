"""report.json's keys as types: what report.py writes and the summary, the HTML report,
the toolchain and verify read (docs/architecture.md names the keys tools and CI rely on).

TypedDicts, so a report stays the plain dict json.dumps writes and json.loads reads;
a type checker catches a key one side misspells. (No `from __future__ import annotations`:
TypedDict reads NotRequired from evaluated annotations.)
"""

import sys

if sys.version_info >= (3, 11):
    from typing import NotRequired, TypedDict
else:  # typing's 3.10 TypedDict knows no NotRequired
    from typing_extensions import NotRequired, TypedDict


class Layer(TypedDict):
    name: str
    op: str
    output_shape: list[int]
    precision: str  # w8a8 | w4a8 | w8a16 | f32
    macs: int
    weights_bytes: int
    live_bytes: int  # arena bytes live while the layer runs
    kernel: str  # the runtime_c function(s) its calls run ("" for a reshape the plan aliases)
    kernel_choice: str  # why that kernel (kernels.Kernel.why)
    output: str  # the tensor it writes
    output_dtype: str
    output_offset: int | None  # the whole output's arena offset after the layer ran (None: not in the arena whole)


class Tensor(TypedDict):
    """A graph input or output as it sits in the caller's buffer."""

    name: str
    shape: list[int]
    dtype: str
    ctype: str
    scale: float | None
    zero_point: int | None
    offset: int
    bytes: int
    source_layout: NotRequired[str]  # "NCHW": the source model's layout of this NHWC input


class Patch(TypedDict):
    """The streamed stage: the first layers run in row bands."""

    split_after: str
    split_index: int
    grid: list[int]  # [rows, cols]
    mac_overhead: float
    mode: str
    band_calls: int


class Tail(TypedDict):
    """The streamed tail: later layers, over layer by layer's peak, run in row bands as
    their inputs allow (at the graph's end, its output written band by band)."""

    split_before: str  # its first layer
    split_index: int  # that layer's index
    last_index: int  # its last layer's index
    mac_overhead: float
    band_calls: int


class Stream(TypedDict):
    """--stream: one frame per call over a window of `window` frames (docs/streaming.md)."""

    window: int  # frames in the window
    window_input: Tensor  # the windowed model's input, what verify and run take (fed frame by frame)
    layers: int  # the first layers run per frame; the rest (the head) on the window's maps
    kept_rows: dict[str, int]  # per map kept in the state: its last rows kept


class Buffer(TypedDict):
    buffer: str
    offset: int  # in the arena; over several memory regions, the regions back to back
    bytes: int
    first_op: int
    last_op: int
    region: NotRequired[str]  # over several memory regions: the one holding it
    region_offset: NotRequired[int]  # its offset in that region's array


class Region(TypedDict):
    """One memory region of an arena spread over several (report.json's `regions`)."""

    name: str
    speed: str  # fast | normal | slow
    base: int | None  # the memory's address on the board, where known
    capacity: int  # bytes aiotc may use there
    bytes: int  # its array: NAME_ARENA_<REGION>_SIZE
    peak_bytes: int  # the most bytes live in it at once
    weights_bytes: int  # --copy-weights: constants copied there at the first invoke
    weights: list[str]  # their C symbols (NAME_weights.c keeps each as SYMBOL_flash)
    start: int  # where it starts in the arena offsets (and in invoke_with_arena's block)


class InPlace(TypedDict):
    """A layer writing over its dying input: `slack` bytes below it, or `lift` above it (bottom band first)."""

    layer: str
    input: str
    output: str
    slack: int
    lift: int | None  # None: the layer does not run in row bands
    bottom_first: bool  # its output overlaps the input from above: band calls bottom band first


class Memory(TypedDict):
    """The arena layout: what `inspect --memory` and report.html draw."""

    timeline: list[int]
    layout: list[Buffer]
    aliases: list[str]
    scratch_aliases: list[str]
    in_place: list[InPlace]


class Stack(TypedDict):
    """The static stack estimate of NAME_invoke on a Cortex-M board."""

    estimate_bytes: int
    deepest_chain: list[str]
    largest_frame: str
    largest_frame_bytes: int
    frames: dict[str, int]
    external_calls: list[str]
    external_frame_bytes: int


class TargetFigures(TypedDict):
    """What linking for a Cortex-M board measures (None on the host or without arm-none-eabi-gcc)."""

    target_build: str  # the compiler and flags, or why there was no build
    flash_bytes: int | None  # weights, graph code and kernels as linked
    stack: Stack | None


class StateEntry(TypedDict):
    tensor: str
    offset: int  # bytes into the state buffer
    bytes: int


class Dequantized(TypedDict):
    """A hybrid model's quantized weights, made float32 constants by the frontend (frontend/hybrid.py)."""

    tensors: int
    stored_bytes: int  # as the model file stores them (int8, float16)
    float32_bytes: int


class Report(TypedDict):
    model: str  # the model file's name
    source: str  # its absolute path
    name: str  # the C name
    board: str
    aiotc_version: str
    macs: int
    arena_bytes: int
    arena_lower_bound: int
    weights_bytes: int
    state_bytes: int  # NAME_STATE_SIZE: recurrent state kept across invokes, outside the arena
    state: list[StateEntry]
    patch: Patch | None
    tail: Tail | None
    io_bytes: dict[str, int]  # {"input": int, "output": int}
    inputs: list[Tensor]
    outputs: list[Tensor]
    kernels: list[str]
    layers: list[Layer]
    memory: Memory
    # TargetFigures, added after the budget check
    target_build: NotRequired[str]
    flash_bytes: NotRequired[int | None]
    stack: NotRequired[Stack | None]
    # a float model aiotc quantized, or a hybrid model's float copy
    oracle_model: NotRequired[str]  # NAME.tflite, what verify compares the C with
    dequantized: NotRequired[Dequantized]  # a hybrid model
    quantization: NotRequired[dict]
    pareto: NotRequired[list[dict]]  # after --precision auto
    stream: NotRequired[Stream]  # compiled with --stream
    regions: NotRequired[list[Region]]  # the arena over several memory regions, fastest first
