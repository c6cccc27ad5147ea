/* aiotc runtime: the 16x8 inner loop (int16 activations, int8 weights, int64 bias and
 * accumulators) that aiotc_convolve_s16, aiotc_transpose_conv_gemm_s16 and
 * aiotc_fully_connected_s16 share, the convolutions' gather of int16 columns, and the
 * int64 requantization of TFLite's 16x8 kernels.
 *
 * Weights come as the int8 gemm's byte pairs (aiotc_nn_gemm.h): channel pairs (a, b),
 * per input a_i then b_i - [a_i < 0], rows zero padded to AIOTC_ROW_S16(k) inputs, an
 * odd last channel paired with a zero row. A halfword of them read as int16 is
 * 256 * b_i + a_i, SXTB16 of the same word gives a_i: one SMLALD of each against a word
 * of two int16 inputs accumulates sum(a.x) and 256 * sum(b.x) + sum(a.x) in 64 bits,
 * where the difference is always exact (|256 * b.x| < 2^31 per input, sums < 2^47).
 * DSP: per 4 inputs of a channel pair, 2 words of weights, 2 SXTB16 and per column 2
 * words of inputs and 4 SMLALD. MVE (the M55): per 8 inputs, one load of the pair's 16
 * bytes (lanes 256 * b + a), VMOVLB.S8 of them (lanes a), and per column one load of 8
 * inputs and 2 VMLALDAVA. The portable C computes the same integers from the same bytes. */
#ifndef AIOTC_NN_GEMM_S16_H
#define AIOTC_NN_GEMM_S16_H

#include <stdint.h>
#include <string.h>

#include "aiotc_nn_gemm.h" /* AIOTC_INLINE */
#include "aiotc_nn_support.h"
#include "aiotc_nn_types.h" /* aiotc_dims, aiotc_tile */

#if defined(__ARM_FEATURE_DSP)
#include <arm_acle.h>
#endif
#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif

/* Weight rows (and gathered columns) are padded to a multiple of 8 inputs: one MVE vector. */
#define AIOTC_ROW_S16(k) (((k) + 7) & ~7)

/* TFLite's MultiplyByQuantizedMultiplier(int64_t x, ...) with what it derives on every
 * call precomputed by the lowering: the multiplier reduced to 16 bits (rounded, at most
 * 0x7FFF) m, the total right shift 15 - shift t, and per channel the bias folded with
 * the rounding, scaled = bias * m + 2^(t - 1). Then TFLite's (acc * m + 2^(t-1)) >> t,
 * acc = sum + bias, is (sum * m + scaled) >> t: one SMLAL where the sum is an int32.
 * This takes q = sum * m + scaled and keeps bits t.. of it, as TFLite's
 * (int32_t)(q >> t) does, on the two words (a variable 64-bit shift costs a Cortex-M
 * without MVE some 15 instructions). */
static inline int32_t aiotc_requantize_s64(int64_t q, int32_t total_shift)
{
#if defined(__ARM_FEATURE_MVE)
    return (int32_t)asrl(q, total_shift); /* the M55's 64-bit shift: one ASRL */
#else
    /* total_shift >= 1 (TFLite's rounding term 2^(t - 1), folded into scaled, needs it), so
     * high is never shifted by 32. */
    const uint32_t low = (uint32_t)q, high = (uint32_t)(q >> 32);
    if (total_shift >= 32) {
        return (int32_t)high >> (total_shift - 32);
    }
    return (int32_t)((low >> total_shift) | (high << (32 - total_shift)));
#endif
}

static inline int16_t aiotc_sat_s16(int32_t y)
{
#if defined(__ARM_FEATURE_SAT)
    return (int16_t)__ssat(y, 16);
#else
    return (int16_t)(y < -32768 ? -32768 : y > 32767 ? 32767 : y);
#endif
}

static inline int16_t aiotc_out_s16(int64_t q, int32_t total_shift, int32_t act_min, int32_t act_max)
{
    int32_t y = aiotc_requantize_s64(q, total_shift);
    y = y < act_min ? act_min : y; /* not AIOTC_CLAMP, which gcc compiles to twice the compares */
    y = y > act_max ? act_max : y;
    return (int16_t)y;
}

#if defined(__ARM_FEATURE_DSP)
static inline int32_t aiotc_load32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

/* sum(a.x) and sum(b.x) over k inputs of the channel pair at w (row = AIOTC_ROW_S16(k)). */
static inline void aiotc_dot_pair_s16(const int8_t *w, const int16_t *x, int32_t k, int64_t *sum_a, int64_t *sum_b)
{
    int64_t lo = 0, hi = 0;
    int32_t i = 0;
#if defined(__ARM_FEATURE_DSP)
    for (; i + 8 <= k; i += 8) { /* two groups of 4 per loop test */
        const int32_t w0 = aiotc_load32(w + 2 * i), w1 = aiotc_load32(w + 2 * i + 4);
        const int32_t w2 = aiotc_load32(w + 2 * i + 8), w3 = aiotc_load32(w + 2 * i + 12);
        const int32_t x0 = aiotc_load32(x + i), x1 = aiotc_load32(x + i + 2);
        const int32_t x2 = aiotc_load32(x + i + 4), x3 = aiotc_load32(x + i + 6);
        lo = __smlald(__sxtb16(w0), x0, lo);
        hi = __smlald(w0, x0, hi);
        lo = __smlald(__sxtb16(w1), x1, lo);
        hi = __smlald(w1, x1, hi);
        lo = __smlald(__sxtb16(w2), x2, lo);
        hi = __smlald(w2, x2, hi);
        lo = __smlald(__sxtb16(w3), x3, lo);
        hi = __smlald(w3, x3, hi);
    }
    for (; i + 2 <= k; i += 2) {
        const int32_t w0 = aiotc_load32(w + 2 * i), x0 = aiotc_load32(x + i);
        lo = __smlald(__sxtb16(w0), x0, lo);
        hi = __smlald(w0, x0, hi);
    }
#endif
    for (; i < k; i++) {
        const int32_t a = w[2 * i];
        const int32_t pair = (int32_t)(uint8_t)w[2 * i] + 256 * (int32_t)w[2 * i + 1]; /* 256 * b + a */
        lo += (int64_t)a * x[i];
        hi += (int64_t)pair * x[i];
    }
    *sum_a = lo;
    *sum_b = (hi - lo) >> 8; /* exact: a multiple of 256 */
}

/* sum(a.x) and sum(b.x) of the channel pair at w for two columns at once, the second
 * AIOTC_ROW_S16(k) inputs after the first, both zero padded to that length: the pair's
 * weights serve both columns. sums: a.x0, b.x0, a.x1, b.x1. */
static inline void aiotc_dot_pair2_s16(const int8_t *w, const int16_t *cols, int32_t k, int64_t sums[4])
{
    int64_t lo0 = 0, hi0 = 0, lo1 = 0, hi1 = 0;
    const int16_t *x0 = cols, *x1 = cols + AIOTC_ROW_S16(k);
    int32_t n; /* groups of 8 inputs left: a counted loop, LE on the M55 */
#if defined(__ARM_FEATURE_MVE)
    for (n = AIOTC_ROW_S16(k) / 8; n > 0; n--, w += 16, x0 += 8, x1 += 8) {
        const int8x16_t bytes = vldrbq_s8(w);
        const int16x8_t pairs = vreinterpretq_s16_s8(bytes), a = vmovlbq_s8(bytes);
        const int16x8_t v0 = vldrhq_s16(x0), v1 = vldrhq_s16(x1);
        lo0 = vmlaldavaq_s16(lo0, a, v0);
        hi0 = vmlaldavaq_s16(hi0, pairs, v0);
        lo1 = vmlaldavaq_s16(lo1, a, v1);
        hi1 = vmlaldavaq_s16(hi1, pairs, v1);
    }
#elif defined(__ARM_FEATURE_DSP)
    for (n = AIOTC_ROW_S16(k) / 8; n > 0; n--, w += 16, x0 += 8, x1 += 8) {
        int32_t h;
        for (h = 0; h < 8; h += 4) { /* unrolled: two halves of the 8 inputs */
            const int32_t w0 = aiotc_load32(w + 2 * h), w1 = aiotc_load32(w + 2 * h + 4);
            const int32_t s0 = __sxtb16(w0), s1 = __sxtb16(w1);
            const int32_t x00 = aiotc_load32(x0 + h), x01 = aiotc_load32(x0 + h + 2);
            const int32_t x10 = aiotc_load32(x1 + h), x11 = aiotc_load32(x1 + h + 2);
            lo0 = __smlald(s0, x00, lo0);
            hi0 = __smlald(w0, x00, hi0);
            lo1 = __smlald(s0, x10, lo1);
            hi1 = __smlald(w0, x10, hi1);
            lo0 = __smlald(s1, x01, lo0);
            hi0 = __smlald(w1, x01, hi0);
            lo1 = __smlald(s1, x11, lo1);
            hi1 = __smlald(w1, x11, hi1);
        }
    }
#else
    for (n = AIOTC_ROW_S16(k); n > 0; n--, w += 2, x0++, x1++) {
        const int32_t a = w[0], pair = (int32_t)(uint8_t)w[0] + 256 * (int32_t)w[1];
        lo0 += (int64_t)a * *x0;
        hi0 += (int64_t)pair * *x0;
        lo1 += (int64_t)a * *x1;
        hi1 += (int64_t)pair * *x1;
    }
#endif
    sums[0] = lo0;
    sums[1] = (hi0 - lo0) >> 8;
    sums[2] = lo1;
    sums[3] = (hi1 - lo1) >> 8;
}

#if defined(AIOTC_DSP) /* aiotc_nn_gemm.h: a build for speed on a DSP core without MVE */
/* 2 inputs of aiotc_dot_pair2_small_s16's loop; written out, not .rept: gcc sizes an asm by
 * its lines when it picks the branches around it */
#define AIOTC_S16_2                                                                                                  \
    "ldr %[wv], [%[w]], #4\n\t"                                                                                     \
    "ldr %[xv], [%[x], %[gap]]\n\t"                                                                                 \
    "sxtb16 %[sv], %[wv]\n\t"                                                                                       \
    "smlad %[lo1], %[sv], %[xv], %[lo1]\n\t"                                                                        \
    "smlald %Q[hi1], %R[hi1], %[wv], %[xv]\n\t"                                                                     \
    "ldr %[xv], [%[x]], #4\n\t"                                                                                     \
    "smlad %[lo0], %[sv], %[xv], %[lo0]\n\t"                                                                        \
    "smlald %Q[hi0], %R[hi0], %[wv], %[xv]\n\t"
#endif

/* As aiotc_dot_pair2_s16 where every sum fits an int32 (k < AIOTC_S16_INT32_SUMS), over two
 * columns that need not be gathered: `runs` runs of n inputs (a multiple of 8), `stride`
 * apart, from x0 and x1 (a window's kernel rows in the image, or one run of a gathered
 * column), against the weights' consecutive inputs; n > 0. sum(a.x) accumulates in 32 bits
 * (SMLAD, VMLADAVA), which frees the registers that on the M4 its 64-bit twin took from
 * the loop (it spilled its accumulators); the sums come as int32. */
static inline void aiotc_dot_pair2_small_s16(const int8_t *w, const int16_t *x0, const int16_t *x1, int32_t runs,
                                             int32_t n, int32_t stride, int32_t sums[4])
{
    int32_t lo0 = 0, lo1 = 0;
    int64_t hi0 = 0, hi1 = 0;
#if defined(AIOTC_DSP)
    const int32_t gap = (int32_t)((const char *)x1 - (const char *)x0);
#endif
    for (; runs > 0; runs--, x0 += stride - n, x1 += stride - n) {
        int32_t i; /* groups of 8 inputs left: a counted loop, LE on the M55 */
#if defined(__ARM_FEATURE_MVE)
        for (i = n / 8; i > 0; i--, w += 16, x0 += 8, x1 += 8) {
            const int8x16_t bytes = vldrbq_s8(w);
            const int16x8_t pairs = vreinterpretq_s16_s8(bytes), a = vmovlbq_s8(bytes);
            const int16x8_t v0 = vldrhq_s16(x0), v1 = vldrhq_s16(x1);
            lo0 = vmladavaq_s16(lo0, a, v0);
            hi0 = vmlaldavaq_s16(hi0, pairs, v0);
            lo1 = vmladavaq_s16(lo1, a, v1);
            hi1 = vmlaldavaq_s16(hi1, pairs, v1);
        }
#elif defined(AIOTC_DSP) /* not at -O0 or -Os: 13 registers */
        /* per 2 inputs: a word of weights, its SXTB16, a word of each column, 2 SMLAD and 2
         * SMLALD; in assembly, as C left the M4 short of registers (13 here) and spilled */
        int32_t wv, sv, xv;
        i = (int32_t)((uint32_t)n / 8);
        __asm__(".Laiotc_s16_%=:\n\t" AIOTC_S16_2 AIOTC_S16_2 AIOTC_S16_2 AIOTC_S16_2
                "subs %[i], %[i], #1\n\t"
                "bne.w .Laiotc_s16_%="
                : [w] "+r"(w), [x] "+r"(x0), [i] "+r"(i), [lo0] "+r"(lo0), [lo1] "+r"(lo1), [hi0] "+r"(hi0),
                  [hi1] "+r"(hi1), [wv] "=&r"(wv), [sv] "=&r"(sv), [xv] "=&r"(xv)
                : [gap] "r"(gap)
                : "cc", "memory");
#else
        for (i = n; i > 0; i--, w += 2, x0++, x1++) {
            const int32_t a = w[0], pair = (int32_t)(uint8_t)w[0] + 256 * (int32_t)w[1];
            lo0 += a * *x0;
            hi0 += (int64_t)pair * *x0;
            lo1 += a * *x1;
            hi1 += (int64_t)pair * *x1;
        }
#endif
    }
    /* hi - lo is a multiple of 256, so (hi - lo) / 256 = (hi >> 8) - (lo >> 8), of which
     * an int32 takes the low words */
    sums[0] = lo0;
    sums[1] = (int32_t)(hi0 >> 8) - (lo0 >> 8);
    sums[2] = lo1;
    sums[3] = (int32_t)(hi1 >> 8) - (lo1 >> 8);
}

/* n int16 from src to dst: the gather's runs are short, a call to memcpy would cost
 * more than the copy. (This and aiotc_zero_s16 rather than aiotc_nn_bytes.h's
 * aiotc_copy_run / aiotc_fill_run on 2n bytes: with those a 16x8 conv model took 2.8%
 * more instructions on the M4, 1.4% on the M55; the zeros were memset calls.) */
static inline void aiotc_copy_s16(int16_t *dst, const int16_t *src, int32_t n)
{
#if defined(__ARM_FEATURE_MVE)
    for (; n >= 8; n -= 8, dst += 8, src += 8) {
        vstrhq_s16(dst, vldrhq_s16(src));
    }
    if (n > 0) {
        const mve_pred16_t p = vctp16q((uint32_t)n);
        vstrhq_p_s16(dst, vldrhq_z_s16(src, p), p);
    }
#else
    for (; n >= 2; n -= 2, dst += 2, src += 2) { /* a word at a time (unaligned words are fine on Cortex-M) */
        memcpy(dst, src, 2 * sizeof(int16_t));
    }
    if (n > 0) {
        *dst = *src;
    }
#endif
}

/* n int16 zeros (the int16 zero point) to dst. */
static inline void aiotc_zero_s16(int16_t *dst, int32_t n)
{
    for (; n > 0; n--) {
        *dst++ = 0;
    }
}

/* rows runs of n int16, stride apart from src, one after the other to dst: a window wholly
 * inside the image whose kernel rows lie side by side in it. */
static inline void aiotc_copy_rows_s16(int16_t *dst, const int16_t *src, int32_t rows, int32_t n, int32_t stride)
{
    for (; rows > 0; rows--, dst += n, src += stride) {
        aiotc_copy_s16(dst, src, n);
    }
}

/* The window at (y0, x0) of the image (filter_dims->h x w taps `dilation` apart), input
 * channels [first, first + filter_dims->c), into col, row by row of the kernel; taps
 * outside the image hold 0 (the int16 zero point). Where the taps of a kernel row lie
 * side by side in the image (all its channels, no dilation across), the row's inside
 * part is one copy. */
static inline void aiotc_gather_s16(const aiotc_tile *dilation, const aiotc_dims *input_dims, const int16_t *image,
                                    const aiotc_dims *filter_dims, int32_t y0, int32_t x0, int32_t first,
                                    int16_t *col)
{
    /* in locals: the copies' stores could alias the structs for all the compiler knows */
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c, line = in_w * in_c;
    const int32_t f_h = filter_dims->h, f_w = filter_dims->w, f_c = filter_dims->c, row = f_w * f_c;
    const int32_t d_h = dilation->h, d_w = dilation->w;
    const int32_t runs = f_c == in_c && (d_w == 1 || f_w == 1); /* a row's inside taps side by side */
    int32_t ky, kx, lo, over, hi;
    if (runs && x0 >= 0 && x0 + (f_w - 1) * d_w < in_w && y0 >= 0 && y0 + (f_h - 1) * d_h < in_h) {
        aiotc_copy_rows_s16(col, image + y0 * line + x0 * in_c + first, f_h, row, d_h * line);
        return;
    }
    /* the kernel columns inside the image: kx in [lo, hi) */
    lo = x0 >= 0 ? 0 : AIOTC_MIN(f_w, (-x0 + d_w - 1) / d_w);
    over = x0 + (f_w - 1) * d_w - (in_w - 1); /* how far the last tap is past the image */
    hi = AIOTC_MAX(lo, over <= 0 ? f_w : f_w - (over + d_w - 1) / d_w);
    for (ky = 0; ky < f_h; ky++, col += row) {
        const int32_t iy = y0 + ky * d_h;
        const int32_t at = iy * line + (x0 + lo * d_w) * in_c + first; /* tap lo */
        if (iy < 0 || iy >= in_h) {
            aiotc_zero_s16(col, row);
        } else {
            aiotc_zero_s16(col, lo * f_c);
            if (runs) {
                aiotc_copy_s16(col + lo * f_c, image + at, (hi - lo) * f_c);
            } else {
                for (kx = lo; kx < hi; kx++) {
                    aiotc_copy_s16(col + kx * f_c, image + (at + (kx - lo) * d_w * in_c), f_c);
                }
            }
            aiotc_zero_s16(col + hi * f_c, row - hi * f_c);
        }
    }
}

/* A layer's weights (channel pairs of byte pairs) and requantization for the gemms below. */
typedef struct {
    const int8_t *weights;
    int32_t k;    /* inputs per output */
    int32_t rows; /* output channels */
    const int64_t *scaled_bias; /* per channel, see aiotc_requantize_s64 */
    const int32_t *multiplier;  /* reduced, per channel */
    const int32_t *shift;       /* total right shift, per channel */
    int32_t act_min, act_max;
} aiotc_gemm16;

/* Two columns for the gemm: runs of n inputs, stride apart, from x0 and x1 (see
 * aiotc_dot_pair2_small_s16); the int64 sums read one gathered run from x0, x1 right after it. */
typedef struct {
    const int16_t *x0, *x1;
    int32_t runs, n, stride;
} aiotc_cols16;

/* Sums below 512 inputs fit an int32 (|product| <= 2^22): the requantization's product is
 * then one SMLAL. */
#define AIOTC_S16_INT32_SUMS 512

/* sum * m + scaled (see aiotc_requantize_s64); `small`: the sum fits an int32. */
static inline int64_t aiotc_scale_s16(int32_t small, int64_t sum, int32_t m, int64_t scaled)
{
    if (small) {
#if defined(__ARM_FEATURE_DSP)
        /* gcc multiplied some int32 sums as int64 (3 multiplies and an add) */
        __asm__("smlal %Q0, %R0, %1, %2" : "+r"(scaled) : "r"((int32_t)sum), "r"(m));
        return scaled;
#else
        return (int64_t)(int32_t)sum * m + scaled;
#endif
    }
    return sum * m + scaled;
}

#if defined(__ARM_FEATURE_MVE)
/* aiotc_requantize_s64 of the int32 sums s, lanes of channels oc + ch: (s * m + scaled) >> t
 * in 64 bits made of 32-bit lanes. VMULH and VMUL give the product's words, the low words'
 * sum carries into the high ones', and bits t.. of the two are the high word shifted left
 * by 32 - t (right by t - 32 past 32) and the low word right by t (all gone past 32). */
static AIOTC_INLINE int32x4_t aiotc_mve_requantize_s16(int32x4_t s, const aiotc_gemm16 *g, int32_t oc, uint32x4_t ch)
{
    const int32x4_t m = vldrwq_gather_shifted_offset_s32(g->multiplier + oc, ch);
    const int32x4_t t = vldrwq_gather_shifted_offset_s32(g->shift + oc, ch);
    const uint32x4_t words = vshlq_n_u32(ch, 1); /* int64 scaled: low words, then high */
    const uint32_t *scaled = (const uint32_t *)(const void *)(g->scaled_bias + oc);
    const uint32x4_t product_low = vreinterpretq_u32_s32(vmulq_s32(s, m));
    const uint32x4_t low = vaddq_u32(product_low, vldrwq_gather_shifted_offset_u32(scaled, words));
    int32x4_t high = vaddq_s32(vmulhq_s32(s, m), vldrwq_gather_shifted_offset_s32((const int32_t *)scaled + 1, words));
    high = vaddq_m_n_s32(high, high, 1, vcmphiq_u32(product_low, low)); /* the carry */
    return vorrq_s32(vshlq_s32(high, vsubq_s32(vdupq_n_s32(32), t)),
                     vreinterpretq_s32_u32(vshlq_u32(low, vnegq_s32(t))));
}
#endif

/* Output channel oc of one pixel's sum s0 to out0 and of another's s1 to out1 (NULL: no
 * second pixel): the channel's constants loaded once for both. */
static inline void aiotc_out_channel_s16(const aiotc_gemm16 *g, int32_t small, int32_t full, int32_t oc, int64_t s0,
                                         int64_t s1, int16_t *out0, int16_t *out1)
{
    const int32_t m = g->multiplier[oc], t = g->shift[oc];
    const int64_t scaled = g->scaled_bias[oc];
    if (full) { /* no activation: the clamp to int16's range is one SSAT */
        out0[oc] = aiotc_sat_s16(aiotc_requantize_s64(aiotc_scale_s16(small, s0, m, scaled), t));
        if (out1 != 0) {
            out1[oc] = aiotc_sat_s16(aiotc_requantize_s64(aiotc_scale_s16(small, s1, m, scaled), t));
        }
        return;
    }
    out0[oc] = aiotc_out_s16(aiotc_scale_s16(small, s0, m, scaled), t, g->act_min, g->act_max);
    if (out1 != 0) {
        out1[oc] = aiotc_out_s16(aiotc_scale_s16(small, s1, m, scaled), t, g->act_min, g->act_max);
    }
}

/* One column of k int16 inputs against every output channel; out strided by 1. */
static inline void aiotc_gemm_s16(const aiotc_gemm16 *g, const int16_t *x, int16_t *out)
{
    const int8_t *w = g->weights;
    const int32_t small = g->k < AIOTC_S16_INT32_SUMS;
    int32_t oc;
    for (oc = 0; oc < g->rows; oc += 2, w += 2 * AIOTC_ROW_S16(g->k)) {
        int64_t a, b;
        aiotc_dot_pair_s16(w, x, g->k, &a, &b);
        aiotc_out_channel_s16(g, small, 0, oc, a, 0, out, 0);
        if (oc + 1 < g->rows) {
            aiotc_out_channel_s16(g, small, 0, oc + 1, b, 0, out, 0);
        }
    }
}

/* aiotc_gemm2_s16 where every sum fits an int32 (`small`, a constant where this is
 * inlined: the requantization's product is then one SMLAL) or not; `full` (DSP, a
 * constant too): no activation, the clamp is one SSAT. */
static AIOTC_INLINE void aiotc_gemm2_sums_s16(const aiotc_gemm16 *g, const aiotc_cols16 *x, int16_t *out0,
                                             int16_t *out1, int32_t small, int32_t full)
{
    const int8_t *w = g->weights;
    int32_t oc;
#if defined(__ARM_FEATURE_MVE)
    const uint32_t gap = out1 != 0 ? (uint32_t)(out1 - out0) * sizeof(int16_t) : 0;
    const uint32x4_t offsets = {0, sizeof(int16_t), gap, gap + sizeof(int16_t)};
    const int32x4_t act_min = vdupq_n_s32(g->act_min), act_max = vdupq_n_s32(g->act_max);
    const mve_pred16_t pixels = out1 != 0 ? 0xFFFF : 0x00FF;
    const uint32x4_t pair = {0, 1, 0, 1}, single = vdupq_n_u32(0); /* each lane's channel, from oc */
    (void)full;
    for (oc = 0; oc < g->rows; oc += 2, w += 2 * AIOTC_ROW_S16(g->k)) {
        const int32_t two = oc + 1 < g->rows, c1 = oc + two; /* no second channel: the first's constants */
        int32x4_t y = vdupq_n_s32(0);
        if (small) {
            int32_t s[4];
            aiotc_dot_pair2_small_s16(w, x->x0, x->x1, x->runs, x->n, x->stride, s);
            y = vsetq_lane_s32(s[0], y, 0);
            y = vsetq_lane_s32(s[1], y, 1);
            y = vsetq_lane_s32(s[2], y, 2);
            y = vsetq_lane_s32(s[3], y, 3);
            y = aiotc_mve_requantize_s16(y, g, oc, two ? pair : single);
        } else {
            const int32_t m0 = g->multiplier[oc], m1 = g->multiplier[c1], t0 = g->shift[oc], t1 = g->shift[c1];
            const int64_t b0 = g->scaled_bias[oc], b1 = g->scaled_bias[c1];
            int64_t s[4];
            aiotc_dot_pair2_s16(w, x->x0, g->k, s);
            y = vsetq_lane_s32(aiotc_requantize_s64(s[0] * m0 + b0, t0), y, 0);
            y = vsetq_lane_s32(aiotc_requantize_s64(s[1] * m1 + b1, t1), y, 1);
            y = vsetq_lane_s32(aiotc_requantize_s64(s[2] * m0 + b0, t0), y, 2);
            y = vsetq_lane_s32(aiotc_requantize_s64(s[3] * m1 + b1, t1), y, 3);
        }
        y = vminq_s32(vmaxq_s32(y, act_min), act_max);
        vstrhq_scatter_offset_p_s32(out0 + oc, offsets, y, two ? pixels : pixels & 0x0F0F);
    }
#else
    for (oc = 0; oc < g->rows; oc += 2, w += 2 * AIOTC_ROW_S16(g->k)) {
        if (small) {
            int32_t s[4];
            aiotc_dot_pair2_small_s16(w, x->x0, x->x1, x->runs, x->n, x->stride, s);
            aiotc_out_channel_s16(g, 1, full, oc, s[0], s[2], out0, out1);
            if (oc + 1 < g->rows) {
                aiotc_out_channel_s16(g, 1, full, oc + 1, s[1], s[3], out0, out1);
            }
        } else {
            int64_t s[4];
            aiotc_dot_pair2_s16(w, x->x0, g->k, s);
            aiotc_out_channel_s16(g, 0, 0, oc, s[0], s[2], out0, out1);
            if (oc + 1 < g->rows) {
                aiotc_out_channel_s16(g, 0, 0, oc + 1, s[1], s[3], out0, out1);
            }
        }
    }
#endif
}

/* aiotc_gemm2_s16 over two windows read in place (k < AIOTC_S16_INT32_SUMS); on a DSP core not
 * inlined, so that its loops have all the registers (inlined in aiotc_convolve_s16, it spilled
 * its sums), on the M55 inlined (the call cost more than it saved). */
#if defined(__ARM_FEATURE_MVE)
#define AIOTC_S16_WINDOWS AIOTC_INLINE
#else
#define AIOTC_S16_WINDOWS AIOTC_NOINLINE
#endif
static AIOTC_S16_WINDOWS void aiotc_gemm2_windows_s16(const aiotc_gemm16 *g, const aiotc_cols16 *x, int16_t *out0,
                                           int16_t *out1)
{
#if !defined(__ARM_FEATURE_MVE) /* (MVE clamps 4 outputs at once) */
    if (g->act_min == -32768 && g->act_max == 32767) {
        aiotc_gemm2_sums_s16(g, x, out0, out1, 1, 1);
        return;
    }
#endif
    aiotc_gemm2_sums_s16(g, x, out0, out1, 1, 0);
}

/* Two columns (aiotc_dot_pair2_s16) to out0 and out1 (NULL: not stored). MVE: a channel
 * pair's four outputs clamped and stored as one vector (lanes: channels oc, oc + 1 of
 * pixel 0, then of pixel 1), the lanes of a missing pixel or channel predicated off. */
static inline void aiotc_gemm2_s16(const aiotc_gemm16 *g, const int16_t *cols, int16_t *out0, int16_t *out1)
{
#if defined(__ARM_FEATURE_MVE)
    const int32_t runs = 1;
#else
    const int32_t runs = g->k > 0; /* none for a transposed conv's phase without taps: the DSP loop runs once */
#endif
    const aiotc_cols16 x = {cols, cols + AIOTC_ROW_S16(g->k), runs, AIOTC_ROW_S16(g->k), 0};
    if (g->k < AIOTC_S16_INT32_SUMS) {
        aiotc_gemm2_windows_s16(g, &x, out0, out1);
    } else {
        aiotc_gemm2_sums_s16(g, &x, out0, out1, 0, 0);
    }
}

#endif /* AIOTC_NN_GEMM_S16_H */
