"""The random-graph fuzzer (tests/graph_fuzz.py) draws every op kind of the table that
TFLite can express: a new kind without a generator fails here."""

from hypothesis import given, settings
from hypothesis import strategies as st

from aiotc.codegen.emit import LOWERINGS
from aiotc.ops import OPS

from ..graph_fuzz import GENERATORS, Fuzz, eligible


def test_every_tflite_kind_has_a_generator():
    assert {kind for kind, facts in OPS.items() if facts.tflite} - set(GENERATORS) == set()


def test_generators_are_for_kinds_of_the_table():
    assert set(GENERATORS) - set(OPS) == set()


@settings(max_examples=1, database=None, derandomize=True)
@given(st.data())
def test_every_kind_is_eligible_for_a_graph_of_its_dtypes(data):
    """Each kind can be drawn after some input of one of its lowering's dtypes (a bool
    one for the logical ops), so no generator is dead for want of a reader."""
    reachable = set()
    for dtype in ("int8", "int16", "float32", "bool"):
        f = Fuzz(data.draw, "int8" if dtype == "bool" else dtype)
        for shape in ((1, 6, 6, 4), (2, 3, 4), (4, 9), (7,)):
            x = f.input(shape, dtype)
            reachable.update(eligible(f, x))
    assert {
        k for k in GENERATORS if set(LOWERINGS[k].dtypes) & {"int8", "int16", "float32", "bool"}
    } - reachable == set()
