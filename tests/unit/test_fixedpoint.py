"""aiotc.fixedpoint against exact rational arithmetic: the multipliers, shifts and
rounding every integer kernel's constants come from."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiotc.errors import ModelError
from aiotc.fixedpoint import (
    activation_range,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    quantize_multiplier_smaller_than_one,
    rounding_divide_by_pot,
    tflite_round,
)

reals = st.floats(min_value=1e-9, max_value=1e6, allow_nan=False, allow_infinity=False)


@given(reals)
def test_multiplier_represents_the_real_within_half_a_step(real):
    multiplier, shift = quantize_multiplier(real)
    assert 2**30 <= multiplier < 2**31
    represented = Fraction(multiplier) * Fraction(2) ** (shift - 31)
    assert abs(represented - Fraction(real)) <= Fraction(2) ** (shift - 32)


def test_zero_and_out_of_range_multipliers():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0**-40) == (0, 0)  # below what a shift of -31 reaches: TFLite's zero
    with pytest.raises(ModelError):
        quantize_multiplier(2.0**40)
    with pytest.raises(ModelError):
        quantize_multiplier_smaller_than_one(1.5)


@pytest.mark.parametrize(("value", "rounded"), [(0.5, 1), (-0.5, -1), (1.5, 2), (-2.5, -3), (2.4999, 2), (-0.49, 0)])
def test_tflite_round_ties_away_from_zero(value, rounded):
    assert tflite_round(value) == rounded


@given(st.integers(-(2**31), 2**31 - 1), st.integers(0, 30))
def test_rounding_divide_by_pot_rounds_half_away_from_zero(x, exponent):
    exact = Fraction(x, 2**exponent)
    expected = int(exact.numerator // exact.denominator)
    if exact - expected > Fraction(1, 2) or (exact - expected == Fraction(1, 2) and x >= 0):
        expected += 1
    assert int(rounding_divide_by_pot(np.array([x]), exponent)[0]) == expected


@given(st.integers(-(2**20), 2**20), reals.filter(lambda r: r < 1e3))
def test_requantization_is_within_one_step_of_exact(x, real):
    """Double rounding may differ from one exact rounding by one step, never more."""
    multiplier, shift = quantize_multiplier(real)
    exact = Fraction(x) * Fraction(multiplier) * Fraction(2) ** (shift - 31)
    result = int(multiply_by_quantized_multiplier(np.array([x]), multiplier, shift)[0])
    assert abs(result - exact) <= 1


def test_activation_ranges_clamp_to_the_quantized_bounds():
    assert activation_range("none", "int8") == (-128, 127)
    assert activation_range("relu", "int8", 0.1, -10) == (-10, 127)
    assert activation_range("relu6", "int8", 0.1, -10) == (-10, 50)
    assert activation_range("relu_n1_to_1", "int16", 1 / 32768, 0) == (-32768, 32767)
