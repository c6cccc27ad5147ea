"""Unit tests of memory regions: the board database's memories and --regions
(aiotc/boards.py), and the planner spreading an arena over them (aiotc/memory/regions.py)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aiotc.boards import Board, Memory, _parse, arena_regions, load_board
from aiotc.errors import UsageError
from aiotc.kernels import Kernel
from aiotc.memory import MemoryOptions, plan_memory
from aiotc.memory.lifetimes import Buffer, lifetimes
from aiotc.memory.placement import ArenaPlan, plan_arena
from aiotc.memory.regions import Region, first_fit, heat, place_in_regions, weight_copies

from ..oplib import OpGraph
from .test_memory import placed_buffers

PLAIN = Kernel(None, 0, None)  # no scratch, never in place


@st.composite
def buffers_and_regions(draw):
    """test_memory's random buffers, 1 to 3 regions of 0 to 320 bytes, and an order."""
    buffers, _ = draw(placed_buffers())
    regions = tuple(Region(f"r{k}", 16 * draw(st.integers(0, 20))) for k in range(draw(st.integers(1, 3))))
    return buffers, regions, list(draw(st.permutations(range(len(buffers)))))


@given(buffers_and_regions())
@settings(max_examples=300, deadline=None, derandomize=True)
def test_first_fit_never_overlaps_live_buffers_in_a_region_and_keeps_each_in_its_size(case):
    buffers, regions, order = case
    fitted = first_fit(buffers, [], regions, order)
    if isinstance(fitted, int):  # a buffer that fits no region: it is larger than each free hole
        assert 0 <= fitted < len(buffers)
        return
    where, offset = fitted
    for i, a in enumerate(buffers):
        assert 0 <= where[i] < len(regions)
        assert offset[i] >= 0 and offset[i] % 16 == 0
        assert offset[i] + a.size <= regions[where[i]].capacity
        for j, b in enumerate(buffers[:i]):
            if where[i] == where[j] and a.overlaps_in_time(b):
                assert offset[i] + a.size <= offset[j] or offset[j] + b.size <= offset[i], (a, b)


@given(buffers_and_regions())
@settings(max_examples=100, deadline=None, derandomize=True)
def test_buffers_that_all_fit_the_fastest_region_all_go_there(case):
    buffers, regions, order = case
    roomy = (Region("fast", 16 * 8 * len(buffers)), *regions)  # room for every buffer side by side
    where, _ = first_fit(buffers, [], roomy, order)
    assert (where == 0).all()


def conv_chain():
    """Four convs on 16x16 maps: each map is read by one conv of 16x16x8x72 MACs."""
    g = OpGraph()
    x = g.input((1, 16, 16, 8))
    for _ in range(4):
        x = g.conv2d(x, 8)
    return g.build(x)


@given(st.lists(st.integers(0, 200), min_size=1, max_size=3))
@settings(max_examples=60, deadline=None, derandomize=True)
def test_a_plan_over_regions_is_verified_inside_each_region(capacities):
    graph = conv_chain()
    kernels = {op.name: PLAIN for op in graph.ops}
    plan = plan_arena(graph, kernels)
    regions = tuple(Region(f"r{k}", 16 * c) for k, c in enumerate(capacities))
    placed = place_in_regions(graph, kernels, plan, (), regions, 16)
    if isinstance(placed, Buffer):  # the buffer that found room in no region
        assert placed in plan.buffers
        return
    assert isinstance(placed, ArenaPlan)  # place_in_regions verified it
    for span, region in zip(placed.regions, regions):
        assert span.size <= region.capacity and span.peak <= span.size
    assert placed.size == sum(span.size for span in placed.regions) >= plan.lower_bound


def test_one_roomy_region_keeps_the_one_arena_plan():
    graph = conv_chain()
    kernels = {op.name: PLAIN for op in graph.ops}
    plan = plan_arena(graph, kernels)
    placed = place_in_regions(graph, kernels, plan, (), (Region("sram", 1 << 20),), 16)
    assert isinstance(placed, ArenaPlan)
    assert placed.offsets == plan.offsets and placed.size == plan.size
    assert [(r.name, r.start, r.size) for r in placed.regions] == [("sram", 0, plan.size)]


def test_the_hottest_buffer_takes_the_fast_region():
    """A 4x4 pooled map read by a 3x3 conv of 64 channels (576 MACs a byte) against the
    16x16 map the pooling reads (8 MACs a byte): the fast region holds only one of them."""
    g = OpGraph()
    big = g.conv2d(g.input((1, 16, 16, 8)), 8, kernel=(1, 1))  # 2,048 B
    pooled = g.pool("max_pool2d", big, kernel=(4, 4), stride=(4, 4))  # 128 B
    graph = g.build(g.conv2d(g.conv2d(pooled, 64), 4))
    kernels = {op.name: PLAIN for op in graph.ops}
    warmth = heat(graph, lifetimes(graph, kernels, 16))
    assert max(warmth, key=warmth.get) == pooled and min(warmth, key=warmth.get) == big
    regions = (Region("fast", 2048), Region("slow", 1 << 20))
    plan = plan_memory(graph, kernels, MemoryOptions(stream="off", regions=regions)).arena
    fast = plan.regions[0]
    assert plan.offsets[pooled] < fast.start + fast.size <= plan.offsets[big]


def test_boards_list_their_memories_and_regions_pick_among_them():
    board = load_board("mps2-an386")
    assert [m.name for m in arena_regions(board)] == ["bram", "sram", "psram"]
    chosen = arena_regions(board, (("sram", 8192), ("bram", None)))
    assert chosen == (Memory("bram", 16384, "fast", 0x01000000), Memory("sram", 8192, "normal", 0x20000000))
    assert arena_regions(load_board("cortex-m4")) == ()  # no memories listed: the one arena of old
    for regions, message in (
        ((("itcm", None),), "has no memory 'itcm'"),
        ((("bram", 1 << 20),), "bram has 16,384 B"),
        ((("bram", None), ("bram", None)), "named twice"),
    ):
        with pytest.raises(UsageError, match=message):
            arena_regions(board, regions)


def test_a_board_memory_must_be_named_as_c_and_have_a_known_speed():
    text = (
        'cpu = "cortex-m4"\nflash_bytes = 1024\nsram_bytes = 1024\n[[memory]]\nname = "{}"\nsize = 64\nspeed = "{}"\n'
    )
    assert isinstance(_parse("b", text.format("dtcm", "fast")), Board)
    with pytest.raises(UsageError, match="lower-case"):
        _parse("b", text.format("D-TCM", "fast"))
    with pytest.raises(UsageError, match="speed 'warp'"):
        _parse("b", text.format("dtcm", "warp"))


def test_region_spans_cover_the_flat_offsets():
    graph = conv_chain()
    kernels = {op.name: PLAIN for op in graph.ops}
    plan = plan_arena(graph, kernels)
    placed = place_in_regions(graph, kernels, plan, (), (Region("a", 2048), Region("b", 1 << 20)), 16)
    assert isinstance(placed, ArenaPlan)
    first, second = placed.regions
    assert (first.start, second.start, placed.size) == (0, first.size, first.size + second.size)
    assert first.size == 2048 and second.size > 0  # two 2,048 B maps live at once
    assert all(first.start <= at < second.start + second.size for at in placed.offsets.values())


def test_weight_copies_take_the_hottest_constants_while_there_is_room():
    consts = [("filter", 2560, 640_000), ("bias", 256, 640_000), ("dense", 4000, 4000), ("table", 64, 0)]
    # MACs per byte: bias 2,500, filter 250, dense 1; a constant no layer with MACs reads stays in flash
    assert weight_copies(consts, [("dtcm", 3000)], 16) == {"bias": "dtcm", "filter": "dtcm"}
    assert weight_copies(consts, [("dtcm", 2000), ("itcm", 8192)], 16) == {
        "bias": "dtcm",
        "filter": "itcm",
        "dense": "itcm",
    }
    assert weight_copies(consts, [], 16) == {}
