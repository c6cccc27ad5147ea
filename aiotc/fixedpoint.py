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
