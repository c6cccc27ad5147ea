"""Codegen's C initializer text: the table-driven path for small integers writes what
one str() per value joined 16 to a line writes."""

from __future__ import annotations

import numpy as np
import pytest

from aiotc.codegen.emit import format_values


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16])
@pytest.mark.parametrize("count", [1, 16, 17, 40])
def test_small_integers_format_as_one_value_per_item(dtype, count):
    info = np.iinfo(dtype)
    values = np.random.default_rng(count).integers(info.min, info.max, count, endpoint=True).astype(dtype)
    items = [str(v) for v in values.tolist()]
    lines = [", ".join(items[i : i + 16]) for i in range(0, count, 16)]
    assert format_values(values, "int8_t") == ",\n    ".join(lines)


def test_floats_format_as_the_exact_value_of_each_float32():
    values = np.array([0.1, -0.0, 3.0, 1e-38, 3.4e38, 1.0 / 3.0], np.float32)
    assert format_values(values, "float") == ", ".join(f"{float(v)!r}f" for v in values.tolist())
    assert format_values(np.array([np.nan, -np.inf], np.float32), "float") == "(0.0f / 0.0f), (-1.0f / 0.0f)"
