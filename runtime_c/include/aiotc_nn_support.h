/* aiotc runtime: fixed-point primitives shared by the kernels.
 *
 * These reproduce TFLite Micro's reference arithmetic bit for bit (gemmlowp's
 * double rounding: SaturatingRoundingDoublingHighMul, then RoundingDivideByPOT),
 * so every kernel built on them matches the tflite-micro interpreter exactly. */
#ifndef AIOTC_NN_SUPPORT_H
#define AIOTC_NN_SUPPORT_H

#include <stdint.h>

/* As std::max and std::min: a NaN first operand comes through (a float activation clamps NaN to NaN). */
#define AIOTC_MAX(a, b) ((a) < (b) ? (b) : (a))
#define AIOTC_MIN(a, b) ((b) < (a) ? (b) : (a))
#define AIOTC_CLAMP(x, lo, hi) AIOTC_MIN(AIOTC_MAX((x), (lo)), (hi))

/* (a * b * 2) >> 32 with rounding to nearest, saturating the single overflow case.
 * gemmlowp truncates (ab + nudge) / 2^31 toward zero, the nudge 2^30 or 1 - 2^30 by ab's
 * sign; for either sign that is floor((ab + 2^30) / 2^31): one add and one shift. */
static inline int32_t aiotc_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded half away from zero. */
static inline int32_t aiotc_rounding_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite's MultiplyByQuantizedMultiplier: x * multiplier * 2^(shift - 31). */
static inline int32_t aiotc_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    return aiotc_rounding_divide_by_pot(
        aiotc_sat_rounding_doubling_high_mul((int32_t)((uint32_t)x << left), multiplier), right);
}

/* The taps [*first, *last) of a window of `size` taps spaced `dilation` apart from
 * `origin` that land inside [0, extent): the rest are padding and are skipped. */
static inline void aiotc_window(int32_t origin, int32_t size, int32_t dilation, int32_t extent, int32_t *first,
                                int32_t *last)
{
    int32_t lo = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    int32_t hi = extent > origin ? (extent - origin + dilation - 1) / dilation : 0;
    hi = AIOTC_MIN(hi, size);
    *first = AIOTC_MIN(lo, hi);
    *last = hi;
}

/* A transposed convolution's inputs [*first, *last) that reach output `origin` (output
 * index + padding): input i lands there through filter tap origin - i * stride, which
 * must lie in [0, size), and i in [0, extent). */
static inline void aiotc_transpose_window(int32_t origin, int32_t size, int32_t stride, int32_t extent, int32_t *first,
                                          int32_t *last)
{
    const int32_t lowest = origin - size + 1; /* the input at tap size - 1 */
    *first = lowest <= 0 ? 0 : (lowest + stride - 1) / stride;
    *last = AIOTC_MIN(extent, origin / stride + 1);
}

/* Four float dot products of x (n values) with rows w0..w3, each summed in order from 0
 * (TFLM's order): each x read once for the 4 products. */
static inline void aiotc_dot4_f32(const float *x, int32_t n, const float *w0, const float *w1, const float *w2,
                                  const float *w3, float *sums)
{
    float a0 = 0.0f, a1 = 0.0f, a2 = 0.0f, a3 = 0.0f;
    int32_t i;
    for (i = 0; i < n; i++) {
        const float v = x[i];
        a0 += v * w0[i];
        a1 += v * w1[i];
        a2 += v * w2[i];
        a3 += v * w3[i];
    }
    sums[0] = a0;
    sums[1] = a1;
    sums[2] = a2;
    sums[3] = a3;
}

#endif /* AIOTC_NN_SUPPORT_H */
