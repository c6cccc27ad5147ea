/* aiotc runtime: the inner loops the fast int8 kernels share (conv 1x1, im2col conv,
 * fully connected): output channels = weight rows times input columns, requantized.
 *
 * What the lowering prepares at compile time, so the loops do less at run time:
 * - each weight row is padded with zeros to a multiple of 4 bytes (`row` bytes apart),
 *   so the DSP path reads whole words and never has a tail;
 * - the bias has input_offset * sum(weight row) folded in, so columns hold the raw
 *   int8 inputs (a padded tap holds the input zero point, which then contributes 0).
 *
 * Three implementations, chosen by what the C compiler targets (as in CMSIS-NN):
 * - MVE (Cortex-M55): int8 columns, 16 multiply-accumulates per VMLADAVA, tail predicated;
 * - DSP (Cortex-M4/M7/M33): each column widened once to int16 pairs in SXTB16 order
 *   (aiotc_col_prepare), then 2 channels x 2 columns per step: 8 SMLADs per 4 inputs;
 * - portable C, which the host build runs.
 * All three compute the same integers: outputs are bit-exact on every target. */
#ifndef AIOTC_NN_GEMM_H
#define AIOTC_NN_GEMM_H

#include <stdint.h>
#include <string.h>

#include "aiotc_nn_support.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#define AIOTC_MVE 1
#elif defined(__ARM_FEATURE_DSP)
#define AIOTC_DSP 1
#endif
#if defined(__ARM_FEATURE_DSP) /* also on the M55: its scalar DSP instructions serve data movement */
#include <arm_acle.h>
#endif

/* The common case of a branch, laid out first by compilers that take the hint. */
#if defined(__GNUC__) || defined(__clang__)
#define AIOTC_LIKELY(c) __builtin_expect(!!(c), 1)
#else
#define AIOTC_LIKELY(c) (c)
#endif

/* Weight rows and DSP columns are padded to this many inputs. */
#define AIOTC_ROW(k) (((k) + 3) & ~3)

/* A column as the gemm reads it: int16 pairs in words on the DSP path, raw int8 elsewhere. */
#if defined(AIOTC_DSP)
typedef int32_t aiotc_col;
#else
typedef int8_t aiotc_col;
#endif

/* Bytes of one prepared column of k inputs, whatever the path (the DSP path's need). */
#define AIOTC_COL_BYTES(k) (2 * AIOTC_ROW(k))

typedef struct {
    const int8_t *weights;      /* rows x row bytes */
    int32_t k;                  /* inputs per output */
    int32_t row;                /* AIOTC_ROW(k) */
    int32_t rows;               /* output channels */
    const int32_t *bias;        /* one per channel, input offset folded in */
    const int32_t *multiplier;  /* one per channel */
    const int32_t *shift;
    int32_t output_offset;
    int32_t act_min, act_max;
} aiotc_gemm;

/* aiotc_requantize in a single rounding step. Exact: TFLite's double rounding
 * RDBP(SRDHM(x, m), r) equals floor((x*m + 2^30 + (2^(r-1) - [x<0]) * 2^31) / 2^(31+r))
 * for m >= 0 (a floor of a floor by powers of two is one floor; SRDHM is
 * floor((x*m + 2^30) / 2^31), and its sign is x's wherever the rounding depends on it). */
static inline int32_t aiotc_requantize_1r(int32_t x, int32_t multiplier, int32_t shift)
{
    if (shift >= 0) {
        return (int32_t)(((int64_t)(int32_t)((uint32_t)x << shift) * multiplier + ((int64_t)1 << 30)) >> 31);
    }
    {
        const int64_t nudge = ((int64_t)1 << (30 - shift)) + (x < 0 ? -((int64_t)1 << 30) : ((int64_t)1 << 30));
        return (int32_t)(((int64_t)x * multiplier + nudge) >> 32) >> (-shift - 1);
    }
}

/* One channel's requantization. */
typedef struct {
    int32_t multiplier, shift;
} aiotc_rq;

static inline aiotc_rq aiotc_rq_channel(int32_t multiplier, int32_t shift)
{
    aiotc_rq q;
    q.multiplier = multiplier;
    q.shift = shift;
    return q;
}

/* aiotc_requantize_1r (aiotc_rq_right: shift = -2 - right); for r >= 2 the 2^(r+30) of
 * the nudge is 2^(r-2) added to the high word, so the 64-bit sum only carries the sign-dependent 2^30 (one SMLAL on a
 * nudge made from x's sign), and (h + 2^(r-2)) >> (r-1) = ((h >> (r-2)) + 1) >> 1. */
static inline int32_t aiotc_rq_right(int32_t x, int32_t multiplier, int32_t right)
{
    const int32_t sign = -(int32_t)((uint32_t)x >> 31); /* 0 or -1 */
    const int64_t nudge = (int64_t)sign * 4294967296 + (int64_t)(0x40000000u | ((uint32_t)sign << 31));
    const int32_t high = (int32_t)(((int64_t)x * multiplier + nudge) >> 32);
    return ((high >> right) + 1) >> 1;
}

static inline int32_t aiotc_rq_apply(aiotc_rq q, int32_t x)
{
    if (AIOTC_LIKELY(q.shift <= -2)) {
        return aiotc_rq_right(x, q.multiplier, -q.shift - 2);
    }
    return aiotc_requantize_1r(x, q.multiplier, q.shift);
}

/* An output from its accumulator: requantized, offset, clamped. Kernels pass the
 * constants as locals: after an int8 store, values read through pointers are read again. */
static inline int8_t aiotc_clamp_s8(int32_t y, int32_t act_min, int32_t act_max)
{
    y = y < act_min ? act_min : y; /* two conditional moves; AIOTC_CLAMP makes gcc branch */
    y = y > act_max ? act_max : y;
    return (int8_t)y;
}

static inline int8_t aiotc_out_s8(aiotc_rq q, int32_t acc, int32_t offset, int32_t act_min, int32_t act_max)
{
    return aiotc_clamp_s8(aiotc_rq_apply(q, acc) + offset, act_min, act_max);
}

/* n accumulators of one channel to outputs `step` bytes apart, the shift tested once. */
static inline void aiotc_requantize_strided(aiotc_rq q, const int32_t *acc, int32_t n, int32_t offset, int32_t act_min,
                                            int32_t act_max, int8_t *out, int32_t step)
{
    const int32_t *const end = acc + n;
    if (q.shift <= -2) {
        const int32_t multiplier = q.multiplier, right = -q.shift - 2;
        for (; acc < end; acc++, out += step) {
            *out = aiotc_clamp_s8(aiotc_rq_right(*acc, multiplier, right) + offset, act_min, act_max);
        }
    } else {
        for (; acc < end; acc++, out += step) {
            *out = aiotc_out_s8(q, *acc, offset, act_min, act_max);
        }
    }
}

#if defined(AIOTC_MVE)
/* TFLite's double rounding on 4 lanes: SRDHM is VQRDMULH; rounding half away from zero
 * is VRSHL after subtracting 1 from negative values (where there is a right shift). */
static inline int32x4_t aiotc_mve_requantize(int32x4_t acc, int32x4_t multiplier, int32x4_t shift)
{
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t y = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(shift, zero)), multiplier);
    const int32x4_t right = vminq_s32(shift, zero);
    return vrshlq_s32(vqaddq_s32(y, vshrq_n_s32(vandq_s32(y, right), 31)), right);
}
#endif

#if defined(__ARM_FEATURE_DSP)
static inline int32_t aiotc_read_word(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes 1 and 3 of x sign-extended to two halfwords (ACLE has no rotated SXTB16). */
static inline int32_t aiotc_sxtb16_ror8(int32_t x)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
#endif

#if defined(AIOTC_DSP)
/* k int8 inputs widened to int16 pairs in SXTB16 order, zero padded to AIOTC_ROW(k):
 * per 4 inputs, the even word (x0, x2) then the odd word (x1, x3), `step` words apart
 * from one group to the next. */
static inline void aiotc_widen(const int8_t *src, int32_t k, int32_t *dst, int32_t step)
{
    int32_t i;
    for (i = 0; i + 4 <= k; i += 4, dst += step) {
        const int32_t v = aiotc_read_word(src + i);
        dst[0] = __sxtb16(v);
        dst[1] = aiotc_sxtb16_ror8(v);
    }
    if (i < k) {
        int8_t last[4] = {0, 0, 0, 0};
        memcpy(last, src + i, (size_t)(k - i));
        dst[0] = __sxtb16(aiotc_read_word(last));
        dst[1] = aiotc_sxtb16_ror8(aiotc_read_word(last));
    }
}
#endif

/* Column j (0 or 1) of k int8 inputs at src in the form the gemm reads: src itself, or
 * on the DSP path int16 pairs in buf (AIOTC_COL_BYTES(k) per column, word aligned),
 * the two columns interleaved word pair by word pair so that one pointer walks both. */
static inline const aiotc_col *aiotc_col_prepare(const int8_t *src, int32_t k, aiotc_col *buf, int32_t j)
{
#if defined(AIOTC_DSP)
    aiotc_widen(src, k, buf + 2 * j, 4);
    return buf;
#else
    (void)k;
    (void)buf;
    (void)j;
    return src;
#endif
}

typedef struct {
    int32_t a0, a1, b0, b1; /* channel a/b x column 0/1 */
} aiotc_acc4;

#if defined(AIOTC_DSP)
/* Channels a and b (b may equal a) against the interleaved column pair at cols:
 * per 4 inputs, 2 weight words, 4 SXTB16 and 8 SMLAD. Rows are word aligned. */
static inline aiotc_acc4 aiotc_dot_2x2(const aiotc_gemm *g, int32_t a, int32_t b, const int32_t *cols,
                                       const int32_t *unused)
{
    const int32_t *wa = (const int32_t *)(const void *)(g->weights + a * g->row);
    const int32_t *wb = (const int32_t *)(const void *)(g->weights + b * g->row);
    const int32_t *const end = wa + g->row / 4;
    aiotc_acc4 s;
    (void)unused;
    s.a0 = s.a1 = g->bias[a];
    s.b0 = s.b1 = g->bias[b];
    while (wa < end) {
        int32_t v = *wa++;
        int32_t even = __sxtb16(v), odd = aiotc_sxtb16_ror8(v);
        s.a0 = __smlad(odd, cols[1], __smlad(even, cols[0], s.a0));
        s.a1 = __smlad(odd, cols[3], __smlad(even, cols[2], s.a1));
        v = *wb++;
        even = __sxtb16(v);
        odd = aiotc_sxtb16_ror8(v);
        s.b0 = __smlad(odd, cols[1], __smlad(even, cols[0], s.b0));
        s.b1 = __smlad(odd, cols[3], __smlad(even, cols[2], s.b1));
        cols += 4;
    }
    return s;
}
#elif defined(AIOTC_MVE)
/* Channels a and b against two columns, 16 inputs per step, the tail predicated. */
static inline aiotc_acc4 aiotc_dot_2x2(const aiotc_gemm *g, int32_t a, int32_t b, const int8_t *c0,
                                       const int8_t *c1)
{
    const int8_t *wa = g->weights + a * g->row, *wb = g->weights + b * g->row;
    aiotc_acc4 s;
    int32_t i;
    s.a0 = s.a1 = g->bias[a];
    s.b0 = s.b1 = g->bias[b];
    for (i = 0; i < g->k; i += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(g->k - i));
        const int8x16_t x0 = vldrbq_z_s8(c0 + i, p), x1 = vldrbq_z_s8(c1 + i, p);
        const int8x16_t va = vldrbq_z_s8(wa + i, p), vb = vldrbq_z_s8(wb + i, p);
        s.a0 = vmladavaq_s8(s.a0, va, x0);
        s.a1 = vmladavaq_s8(s.a1, va, x1);
        s.b0 = vmladavaq_s8(s.b0, vb, x0);
        s.b1 = vmladavaq_s8(s.b1, vb, x1);
    }
    return s;
}
#else
static inline aiotc_acc4 aiotc_dot_2x2(const aiotc_gemm *g, int32_t a, int32_t b, const int8_t *c0,
                                       const int8_t *c1)
{
    const int8_t *wa = g->weights + a * g->row, *wb = g->weights + b * g->row;
    aiotc_acc4 s;
    int32_t i;
    s.a0 = s.a1 = g->bias[a];
    s.b0 = s.b1 = g->bias[b];
    for (i = 0; i < g->k; i++) {
        s.a0 += wa[i] * c0[i];
        s.a1 += wa[i] * c1[i];
        s.b0 += wb[i] * c0[i];
        s.b1 += wb[i] * c1[i];
    }
    return s;
}
#endif

/* All channels for one or two columns (aiotc_col_prepare's results): out0 from c0 and,
 * unless c1 is NULL, out1 from c1. The gemm is copied to a local first: its fields are
 * then registers, where through the pointer every int8 store would force them reloaded. */
static inline void aiotc_gemm_s8(const aiotc_gemm *gemm, const aiotc_col *c0, const aiotc_col *c1, int8_t *out0,
                                 int8_t *out1)
{
    const aiotc_gemm g = *gemm;
    const aiotc_col *second = c1 != 0 ? c1 : c0;
    const int32_t pairs = g.rows & ~1;
    int32_t oc;
    for (oc = 0; oc < pairs; oc += 2) {
        const aiotc_acc4 s = aiotc_dot_2x2(&g, oc, oc + 1, c0, second);
        const aiotc_rq qa = aiotc_rq_channel(g.multiplier[oc], g.shift[oc]);
        const aiotc_rq qb = aiotc_rq_channel(g.multiplier[oc + 1], g.shift[oc + 1]);
        out0[oc] = aiotc_out_s8(qa, s.a0, g.output_offset, g.act_min, g.act_max);
        out0[oc + 1] = aiotc_out_s8(qb, s.b0, g.output_offset, g.act_min, g.act_max);
        if (c1 != 0) {
            out1[oc] = aiotc_out_s8(qa, s.a1, g.output_offset, g.act_min, g.act_max);
            out1[oc + 1] = aiotc_out_s8(qb, s.b1, g.output_offset, g.act_min, g.act_max);
        }
    }
    if (oc < g.rows) { /* an odd last channel: computed as a pair with itself */
        const aiotc_acc4 s = aiotc_dot_2x2(&g, oc, oc, c0, second);
        const aiotc_rq q = aiotc_rq_channel(g.multiplier[oc], g.shift[oc]);
        out0[oc] = aiotc_out_s8(q, s.a0, g.output_offset, g.act_min, g.act_max);
        if (c1 != 0) {
            out1[oc] = aiotc_out_s8(q, s.a1, g.output_offset, g.act_min, g.act_max);
        }
    }
}

#endif /* AIOTC_NN_GEMM_H */
