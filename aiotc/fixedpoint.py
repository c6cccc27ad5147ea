"""Compile-time quantization arithmetic, matching TFLite Micro to the bit.

Everything the generated C needs as integers (multipliers, shifts, activation
clamps) is computed here, once, in Python. The functions mirror TFLite's
quantization_util.cc / kernel_util.cc, including their float/double choices,
because a different rounding of one multiplier changes outputs.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ModelError

MAX_SHIFT = 31  # the kernels shift an int32 left by at most this much before the multiply

INT_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-(2**31), 2**31 - 1)}


def tflite_round(x: float) -> int:
    """std::round: ties away from zero (TfLiteRound)."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def tflite_round_array(values: np.ndarray) -> np.ndarray:
    """Round half away from zero, elementwise, as TFLite's converter does."""
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real ~= multiplier * 2^(shift - 31), multiplier in [2^30, 2^31)."""
    real = float(real)
    if real == 0.0:
        return 0, 0
    q, shift = math.frexp(real)
    if not math.isfinite(real) or shift > MAX_SHIFT:
        raise ModelError(
            f"a requantization scale ratio of {real:g} is out of range: the model's quantization scales are inconsistent"
        )
    q_fixed = tflite_round(q * (1 << 31))
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q_fixed, shift


def quantize_multiplier_smaller_than_one(real: float) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp: shift <= 0 for multipliers < 1."""
    if not 0.0 <= real < 1.0:
        raise ModelError(
            f"a requantization scale ratio of {real:g} must be in [0, 1) here: the model's quantization scales are inconsistent"
        )
    return quantize_multiplier(real)


def quantize_multiplier_array(reals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel multipliers and shifts as int32 arrays."""
    pairs = [quantize_multiplier(float(r)) for r in np.asarray(reals, dtype=np.float64).ravel()]
    return np.array([m for m, _ in pairs], dtype=np.int32), np.array([s for _, s in pairs], dtype=np.int32)


def quantize_value(scale: float, zero_point: int, value: float) -> int:
    """kernel_util.cc Quantize(): the division is done in float32, as TFLite does."""
    return int(zero_point) + tflite_round(float(np.float32(value) / np.float32(scale)))


def activation_range(activation: str, dtype: str, scale: float | None = None, zero_point: int = 0) -> tuple[int, int]:
    """CalculateActivationRangeQuantized: the clamp a fused activation becomes."""
    qmin, qmax = INT_RANGE[dtype]
    if activation == "none":
        return qmin, qmax
    low, high = {"relu": (0.0, None), "relu6": (0.0, 6.0), "relu_n1_to_1": (-1.0, 1.0)}[activation]
    lo = max(qmin, quantize_value(scale, zero_point, low))
    hi = qmax if high is None else min(qmax, quantize_value(scale, zero_point, high))
    return lo, hi


def activation_range_float(activation: str) -> tuple[float, float]:
    """CalculateActivationRange for float kernels."""
    return {
        "none": (-math.inf, math.inf),
        "relu": (0.0, math.inf),
        "relu6": (0.0, 6.0),
        "relu_n1_to_1": (-1.0, 1.0),
    }[activation]


# --- integer reference of the runtime primitives (for tests and numpy references) ---


def saturating_rounding_doubling_high_mul(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp SaturatingRoundingDoublingHighMul on int32 arrays."""
    a = np.asarray(a, dtype=np.int64)
    overflow = (a == -(2**31)) & (b == -(2**31))
    ab = a * np.int64(b)
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    # C++ integer division truncates toward zero.
    num = ab + nudge
    res = np.where(num >= 0, num >> 31, -((-num) >> 31))
    return np.where(overflow, 2**31 - 1, res).astype(np.int64)


def rounding_divide_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp RoundingDivideByPOT: round half away from zero."""
    x = np.asarray(x, dtype=np.int64)
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLite's double-rounding MultiplyByQuantizedMultiplier."""
    left = max(shift, 0)
    right = max(-shift, 0)
    return rounding_divide_by_pot(
        saturating_rounding_doubling_high_mul(np.asarray(x, np.int64) * (1 << left), multiplier), right
    )


# ---------------------------------------------------------------- gemmlowp's logistic and tanh
# TFLite Micro's int8 LOGISTIC and TANH (gemmlowp fixed point, per element in its reference
# kernels) depend on the input byte alone: the lowering makes their 256 outputs here.
# Scalar Python ints; _wrap is C's int32 arithmetic where gemmlowp's adds wrap.

_EXP_MULTIPLIERS = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)  # exp(-2^e), e = -2..4
_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1


def _wrap(x: int) -> int:
    return (x + 2**31) % 2**32 - 2**31


def _mul(a: int, b: int) -> int:
    """SaturatingRoundingDoublingHighMul: floor((ab + 2^30) / 2^31), the one overflow saturated."""
    return _INT32_MAX if a == b == _INT32_MIN else (a * b + (1 << 30)) >> 31


def _divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    return (x >> exponent) + int((x & mask) > (mask >> 1) + int(x < 0))


def _mul_by_pot(x: int, exponent: int) -> int:
    if exponent <= 0:
        return _divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    return _INT32_MAX if x > threshold else _INT32_MIN if x < -threshold else _wrap(x << exponent)


def _exp_on_interval(a: int) -> int:
    """exp(a) for a in [-1/4, 0), Q0: Taylor series around -1/8."""
    constant, third = 1895147668, 715827883
    x = _wrap(a + (1 << 28))
    x2 = _mul(x, x)
    x3, x4 = _mul(x2, x), _mul(x2, x2)
    poly = _mul_by_pot(_wrap(_mul(_wrap(_mul_by_pot(x4, -2) + x3), third) + x2), -1)
    return _wrap(constant + _mul(constant, _wrap(x + poly)))


def _exp_on_negative_values(a: int, integer_bits: int) -> int:
    fractional = 31 - integer_bits
    quarter = 1 << (fractional - 2)
    mod_minus_quarter = _wrap((a & (quarter - 1)) - quarter)
    remainder = _wrap(mod_minus_quarter - a)
    result = _exp_on_interval(_mul_by_pot(mod_minus_quarter, integer_bits))
    for exponent in range(-2, 5):
        if integer_bits > exponent and remainder & (1 << (fractional + exponent)):
            result = _mul(result, _EXP_MULTIPLIERS[exponent + 2])
    if integer_bits > 5 and a < -(1 << (36 - integer_bits)):
        result = 0
    return _INT32_MAX if a == 0 else result


def _reciprocal_one_plus_q2(a: int) -> int:
    """1 / (1 + a) for a in [0, 1), Q2: gemmlowp's Newton-Raphson (3 steps)."""
    total = a + _INT32_MAX
    half = (total + 1) // 2 if total >= 0 else -((-total + 1) // 2)
    x = _wrap(1515870810 + _mul(half, -1010580540))
    for _ in range(3):
        one_minus_dx = _wrap((1 << 29) - _mul(half, x))
        x = _wrap(x + _mul_by_pot(_mul(x, one_minus_dx), 2))
    return x


def _logistic(a: int, integer_bits: int) -> int:
    if a == 0:
        return 1 << 30
    positive = _mul_by_pot(_reciprocal_one_plus_q2(_exp_on_negative_values(-abs(a), integer_bits)), 1)
    return positive if a > 0 else _INT32_MAX - positive


def _tanh(a: int, integer_bits: int) -> int:
    if a == 0:
        return 0
    t = _exp_on_negative_values(-abs(a), integer_bits + 1)
    t = _mul_by_pot(_wrap(_reciprocal_one_plus_q2(t) - (1 << 29)), 2)
    return -t if a < 0 else t


def sigmoid_table(kind: str, zero_point: int, radius: int, multiplier: int, shift: int) -> np.ndarray:
    """The int8 LOGISTIC (output scale 1/256, zero point -128) or TANH (1/128, 0) of each int8
    input, indexed by its byte (uint8 order): the input less its zero point saturated beyond
    `radius`, else brought to Q4.27 (multiplier, shift: sigmoid_params) and run through
    gemmlowp's function, as tflite-micro's reference kernels compute it."""
    out = np.empty(256, np.int8)
    for byte in range(256):
        x = (byte if byte < 128 else byte - 256) - zero_point
        if x <= -radius:
            value = -128
        elif x >= radius:
            value = 127
        else:
            q4 = _divide_by_pot(_mul(_wrap(x << max(shift, 0)), multiplier), max(-shift, 0))
            value = (
                _divide_by_pot(_logistic(q4, 4), 23) - 128 if kind == "logistic" else _divide_by_pot(_tanh(q4, 4), 24)
            )
        out[byte] = min(max(value, -128), 127)
    return out


_INT16_MIN, _INT16_MAX = -(2**15), 2**15 - 1


def _mul16(a: int, b: int, rounding: bool) -> int:
    """gemmlowp's int16 SaturatingRoundingDoublingHighMul (or its truncating twin): the product
    over 2^15, rounded half away from zero or truncated, the one overflow saturated."""
    if a == b == _INT16_MIN:
        return _INT16_MAX
    ab = a * b
    ab += ((1 << 14) if ab >= 0 else 1 - (1 << 14)) if rounding else 0
    return abs(ab) >> 15 if ab >= 0 else -(abs(ab) >> 15)


def _divide_by_pot16(x: int, exponent: int) -> int:
    """gemmlowp's int16 RoundingDivideByPOT, its mask wrapping to int16 from an exponent of 16 on."""
    mask = ((1 << exponent) - 1 + 2**15) % 2**16 - 2**15
    return (x >> exponent) + int((x & mask) > (mask >> 1) + int(x < 0))


def hard_swish_table(
    input_zero_point: int, output_zero_point: int, reluish: tuple[int, int], output: tuple[int, int]
) -> np.ndarray:
    """The int8 HARD_SWISH of each int8 input, indexed by its byte (uint8 order), in the int16
    fixed point of tflite-micro's reference kernel (reluish and output: int16 multiplier and
    exponent, as its Prepare derives them), so that the C only looks the results up."""
    out = np.empty(256, np.int8)
    for byte in range(256):
        hires = ((byte if byte < 128 else byte - 256) - input_zero_point) * 128
        preshift = _mul16(hires, output[0], rounding=True)
        value = hires
        if reluish[1] > 0:
            value = min(max(value << (reluish[1] - 1), _INT16_MIN), _INT16_MAX)
        value = _mul16(value, reluish[0], rounding=True)
        if reluish[1] > 0:
            value = min(max(value << 1, _INT16_MIN), _INT16_MAX)
        elif reluish[1] < 0:
            value = _divide_by_pot16(value, -reluish[1])
        value = (value + (1 << 15)) >> 1  # [-1, 1] -> [0, 1]
        result = _divide_by_pot16(_mul16(value, preshift, rounding=False), -output[1]) + output_zero_point
        out[byte] = min(max(result, -128), 127)
    return out
