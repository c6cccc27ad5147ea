/* aiotc runtime: the inner loops the fast int8 kernels share (conv 1x1, im2col conv,
 * fully connected): output channels = weight rows times input columns, requantized.
 *
 * What the lowering prepares at compile time, so the loops do less at run time:
 * - the bias has input_offset * sum(weight row) folded in, so columns hold the raw
 *   int8 inputs (a padded tap holds the input zero point, which then contributes 0);
 * - the gemm's weights come in channel pairs (a, b), byte pairs per input: a_i,
 *   then b_i - [a_i < 0] (see below) or, packed for an MVE core, b_i itself
 *   (AIOTC_PAIRS_PLAIN, aiotc_nn_layout.h); rows padded with zeros to a multiple of 4
 *   inputs (`row`), an odd last channel paired with a zero row, the array padded to a
 *   multiple of 32 bytes for the MVE path's 32-byte loads.
 *
 * Why byte pairs: a halfword of the packed weights read as int16 is 256 * b_i + a_i
 * (that is what the - [a_i < 0] is for), and SXTB16 of the same word gives a_i. One
 * SMLAD of each against the inputs accumulates sum(a.x) and 256 * sum(b.x) + sum(a.x):
 * two channels for one sign extension of their weights instead of two. Their difference
 * is exact as long as 256 * sum(b.x) fits an int32, so it is taken every
 * AIOTC_GEMM_CHUNK inputs (|b.x| <= 128 * 128 per input). The lowering refuses the fast
 * kernels where a byte cannot hold b_i - [a_i < 0] (b_i = -128 with a_i < 0, outside
 * TFLite's symmetric [-127, 127] weights). The M55 needs none of this: its VLD2 gives
 * each channel its own vector, so its weights come plain, and a build of them for a DSP
 * core without MVE takes the portable C.
 *
 * Three implementations, chosen by what the C compiler targets (as in CMSIS-NN):
 * - MVE (Cortex-M55): int8 columns; per 16 inputs one VLD2 splits a pair's bytes into
 *   the two channels' vectors, 4 VMLADAVA, the first k % 16 predicated;
 *   rows over 32 inputs take two pairs (4 channels) per pass, the column pair interleaved
 *   in the scratch so that one pointer walks both, all the blocks of 4 channels in one
 *   assembly loop (aiotc_gemm_blocks);
 * - DSP (Cortex-M4/M7/M33): each column widened once to int16 pairs (x_i, x_i+1)
 *   (aiotc_col_prepare), then 2 channels x 2 columns per step: per 4 inputs one LDRD of
 *   weights, 2 SXTB16, 2 LDRD of columns and 8 SMLAD (13 instructions for 16 MACs); the
 *   quad kernels run 4 columns at a time (aiotc_nn_gemm_quad.h: 12 instructions for 16
 *   MACs, each weight read from flash once per 4 pixels);
 * - portable C, which the host build runs.
 * All three compute the same integers: outputs are bit-exact on every target. */
#ifndef AIOTC_NN_GEMM_H
#define AIOTC_NN_GEMM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "aiotc_nn_layout.h"
#include "aiotc_nn_support.h"

/* The DSP and MVE paths, whose inline asm takes up to 14 general registers: gcc frees that
 * many only when it optimizes for speed without a frame pointer, so every function after
 * this line is built as at -O2 -fomit-frame-pointer (-O1, -Og and -fno-omit-frame-pointer
 * would stop at "'asm' operand has impossible constraints"). -O0 and -Os builds, which that
 * does not rescue, take the portable C paths. The generated build files compile the kernels
 * at -O2 -fomit-frame-pointer whatever the build type (docs/integrating.md). */
#if defined(__OPTIMIZE__) && !defined(__OPTIMIZE_SIZE__) && (defined(__ARM_FEATURE_MVE) || defined(__ARM_FEATURE_DSP))
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O2", "omit-frame-pointer")
#endif
#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#define AIOTC_MVE 1
#elif !AIOTC_PAIRS_PLAIN /* the SMLAD trick needs the corrected byte pairs */
#define AIOTC_DSP 1
#endif
#endif
#if defined(__ARM_FEATURE_DSP) || defined(__ARM_FEATURE_SAT) /* the M55 too: scalar DSP moves data */
#include <arm_acle.h>
#endif

/* The common case of a branch, laid out first by compilers that take the hint;
 * functions inlined even where called twice (their callers pass constants); and kept
 * apart (a rare variant whose registers must not weigh on its caller's loops). */
#if defined(__GNUC__) || defined(__clang__)
#define AIOTC_LIKELY(c) __builtin_expect(!!(c), 1)
#define AIOTC_INLINE inline __attribute__((always_inline))
#define AIOTC_NOINLINE __attribute__((noinline))
#else
#define AIOTC_LIKELY(c) (c)
#define AIOTC_INLINE inline
#define AIOTC_NOINLINE
#endif

/* Weight rows and DSP columns are padded to this many inputs. */
#define AIOTC_ROW(k) (((k) + 3) & ~3)

/* Channel b's weight from its byte pair's bytes (AIOTC_PAIRS_PLAIN: stored as is). */
static inline int32_t aiotc_pair_b(int32_t a, int32_t b)
{
    return AIOTC_PAIRS_PLAIN ? b : b + (a < 0);
}

/* Inputs per exact difference of the byte-pair sums: 508 * 128 * 128 * 256 < 2^31 (b may
 * be -128 beside a >= 0, inputs -128). */
#define AIOTC_GEMM_CHUNK 508

/* A column as the gemm reads it: int16 pairs in words on the DSP path, raw int8 elsewhere. */
#if defined(AIOTC_DSP)
typedef int32_t aiotc_col;
#else
typedef int8_t aiotc_col;
#endif

/* Bytes of one prepared column of k inputs, whatever the path (the DSP path's need). */
#define AIOTC_COL_BYTES(k) (2 * AIOTC_ROW(k))

typedef struct {
    const int8_t *weights;      /* channel pairs of byte pairs (above) */
    int32_t k;                  /* inputs per output */
    int32_t row;                /* AIOTC_ROW(k) */
    int32_t rows;               /* output channels */
    const int32_t *bias;        /* one per channel, input offset folded in */
    const int32_t *multiplier;  /* one per channel */
    const int32_t *shift;
    int32_t output_offset;
    int32_t act_min, act_max;
    int32_t common; /* quant_params->right_shifts: shift[] holds right shifts (2: clamped at act_min) */
    /* MVE: scratch for a column pair interleaved, 32 bytes per 16 inputs (used for k > 32,
     * where that is at most the 4 * AIOTC_ROW(k) bytes of the DSP path's columns), or NULL */
    int8_t *pairs;
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

/* aiotc_requantize_1r for shift = -2 - right, right >= 0, plus the output offset: the
 * 2^(r+30) of the nudge is 2^(r-2) added to the high word, so the 64-bit sum only
 * carries the sign-dependent 2^30 (one SMLAL on a nudge made from x's sign), and
 * (h + 2^(r-2)) >> (r-1) = ((h >> (r-2)) + 1) >> 1; the offset joins the last rounding
 * as ((h >> right) + offset2) >> 1 with offset2 = 2 * offset + 1 (one add for both). */
static inline int32_t aiotc_rq_right(int32_t x, int32_t multiplier, int32_t right, int32_t offset2)
{
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
    /* The nudge's high word is x's sign, its low word 2^30 with the sign in bit 31: with
     * 2^30 in a register (hoisted out of the caller's loop) that is 2 instructions, not 3. */
    int32_t low, high;
    __asm__("asr %[hi], %[x], #31\n\t"
            "orr %[lo], %[c], %[hi], lsl #31\n\t"
            "smlal %[lo], %[hi], %[x], %[m]"
            : [lo] "=&r"(low), [hi] "=&r"(high)
            : [x] "r"(x), [m] "r"(multiplier), [c] "r"(0x40000000));
#else
    const int32_t sign = -(int32_t)((uint32_t)x >> 31); /* 0 or -1 */
    const int64_t nudge = (int64_t)sign * 4294967296 + (int64_t)(0x40000000u | ((uint32_t)sign << 31));
    const int32_t high = (int32_t)(((int64_t)x * multiplier + nudge) >> 32);
#endif
    return ((high >> right) + offset2) >> 1;
}

/* TFLite's requantization (double rounding) of a small x, for the elementwise kernels:
 * |x| << left below 2^30, right <= 29 (the SRDHM result then stays below 2^30 - 2^right).
 * SRDHM(X, m) is SMMULR(2X, m) (both round (2Xm + 2^31) / 2^32 down), and the division
 * by 2^right, half away from zero, is (2y + 2^right - [y < 0]) >> (right + 1) for every
 * right >= 0: for right >= 1 the odd numerator never lands on a multiple of 2^(right+1),
 * so subtracting 1 floors as TFLite's 2 does, and for right = 0 it is y. No test of the
 * shift's sign in the loop. */
typedef struct {
    int32_t multiplier, left, right;
} aiotc_rq_small;

static inline aiotc_rq_small aiotc_rq_small_of(int32_t multiplier, int32_t shift)
{
    aiotc_rq_small q;
    q.multiplier = multiplier;
    q.left = shift > 0 ? shift : 0;
    q.right = shift > 0 ? 0 : -shift;
    return q;
}

static AIOTC_INLINE int32_t aiotc_requantize_small(int32_t x, aiotc_rq_small q)
{
    const int32_t a = (int32_t)((uint32_t)x << (q.left + 1));
    int32_t y;
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
    __asm__("smmulr %0, %1, %2" : "=r"(y) : "r"(a), "r"(q.multiplier));
#else
    y = (int32_t)(((int64_t)a * q.multiplier + 0x80000000LL) >> 32);
#endif
    return (2 * y + (1 << q.right) + (y >> 31)) >> (q.right + 1);
}

#if defined(AIOTC_MVE)
/* aiotc_requantize_small on 4 lanes of x << q.left, shifted by the caller (a widening
 * shift may do it): VQRDMULH is SRDHM, VRSHL rounds half up. */
static AIOTC_INLINE int32x4_t aiotc_mve_requantize_small_shifted(int32x4_t shifted, aiotc_rq_small q)
{
    const int32x4_t y = vqrdmulhq_n_s32(shifted, q.multiplier);
    return vrshlq_n_s32(vaddq_s32(vaddq_s32(y, y), vshrq_n_s32(y, 31)), -1 - q.right);
}

static AIOTC_INLINE int32x4_t aiotc_mve_requantize_small(int32x4_t x, aiotc_rq_small q)
{
    return aiotc_mve_requantize_small_shifted(vshlq_r_s32(x, q.left), q);
}
#endif

/* Requantized and offset. */
static inline int32_t aiotc_rq_offset(aiotc_rq q, int32_t x, int32_t offset)
{
    if (AIOTC_LIKELY(q.shift <= -2)) {
        return aiotc_rq_right(x, q.multiplier, -q.shift - 2, 2 * offset + 1);
    }
    return aiotc_requantize_1r(x, q.multiplier, q.shift) + offset;
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
    return aiotc_clamp_s8(aiotc_rq_offset(q, acc, offset), act_min, act_max);
}

/* aiotc_out_s8; where `common` is the constant 1 (quant_params->right_shifts: the shift
 * is the right shift of aiotc_rq_right, the clamp the whole int8 range) there is no
 * shift test and the clamp is one SSAT (the last shift folded in); 2 (the clamp's top
 * 127): SSAT, then act_min (>= -128, so the same as act_min first). */
static AIOTC_INLINE int8_t aiotc_out_s8_mode(aiotc_rq q, int32_t acc, int32_t offset, int32_t act_min, int32_t act_max,
                                            int32_t common)
{
    if (common) {
#if defined(__ARM_FEATURE_SAT)
        int32_t y = __ssat(aiotc_rq_right(acc, q.multiplier, q.shift, 2 * offset + 1), 8);
#else
        int32_t y = aiotc_clamp_s8(aiotc_rq_right(acc, q.multiplier, q.shift, 2 * offset + 1), -128, 127);
#endif
        if (common == 2) {
            y = y < act_min ? act_min : y;
        }
        return (int8_t)y;
    }
    return aiotc_out_s8(q, acc, offset, act_min, act_max);
}

/* Right shifts (`common` 1 or 2, a constant where inlined) from acc to end, two at a
 * time (one loop test for both). */
static AIOTC_INLINE void aiotc_requantize_right2(aiotc_rq q, const int32_t *acc, const int32_t *end, int32_t offset,
                                                int32_t act_min, int32_t common, int8_t *out, int32_t step)
{
    for (; acc + 2 <= end; acc += 2, out += 2 * step) {
        out[0] = aiotc_out_s8_mode(q, acc[0], offset, act_min, 127, common);
        out[step] = aiotc_out_s8_mode(q, acc[1], offset, act_min, 127, common);
    }
    if (acc < end) {
        *out = aiotc_out_s8_mode(q, *acc, offset, act_min, 127, common);
    }
}

/* n accumulators of one channel to outputs `step` bytes apart (aiotc_out_s8_mode), the
 * mode and shift tested once. */
static inline void aiotc_requantize_strided(aiotc_rq q, const int32_t *acc, int32_t n, int32_t offset, int32_t act_min,
                                            int32_t act_max, int32_t common, int8_t *out, int32_t step)
{
    const int32_t *const end = acc + n;
    if (common == 1) {
        aiotc_requantize_right2(q, acc, end, offset, -128, 1, out, step);
    } else if (common) {
        aiotc_requantize_right2(q, acc, end, offset, act_min, 2, out, step);
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

/* aiotc_mve_requantize where every lane shifts right (shift < 0: quant_params->right_shifts,
 * shift = -2 - right): no left shift, and the sign of y alone says where to subtract 1. */
static inline int32x4_t aiotc_mve_requantize_right(int32x4_t acc, int32x4_t multiplier, int32x4_t shift)
{
    const int32x4_t y = vqrdmulhq_s32(acc, multiplier);
    return vrshlq_s32(vqaddq_s32(y, vshrq_n_s32(y, 31)), shift);
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
/* 4 int8 inputs as two words of int16 pairs in order: (x0, x1), (x2, x3), `gap` words
 * apart. The halfword packs are written out: gcc, given them in C, takes 5 instructions
 * for the 2. */
static AIOTC_INLINE void aiotc_widen_word(int32_t v, int32_t *dst, int32_t gap)
{
    const int32_t even = __sxtb16(v), odd = aiotc_sxtb16_ror8(v); /* (x0, x2), (x1, x3) */
    int32_t low, high;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(low) : "r"(even), "r"(odd));
    __asm__("pkhtb %0, %1, %2, asr #16" : "=r"(high) : "r"(odd), "r"(even));
    dst[0] = low;
    dst[gap] = high;
}

/* k int8 inputs widened to int16 pairs in order, zero padded to AIOTC_ROW(k), `step`
 * words apart from one group of 4 to the next and the group's two words `gap` apart
 * (2, 1: contiguous; 4, 1: a gemm column, the two columns of a pair interleaved; 8, 2:
 * a column of a quad, aiotc_col_quad). */
static inline void aiotc_widen_pairs(const int8_t *src, int32_t k, int32_t *dst, int32_t step, int32_t gap)
{
    int32_t i;
    for (i = 0; i + 8 <= k; i += 8, dst += 2 * step) { /* two groups per loop test */
        aiotc_widen_word(aiotc_read_word(src + i), dst, gap);
        aiotc_widen_word(aiotc_read_word(src + i + 4), dst + step, gap);
    }
    if (i + 4 <= k) {
        aiotc_widen_word(aiotc_read_word(src + i), dst, gap);
        i += 4;
        dst += step;
    }
    if (i < k) {
        int8_t last[4] = {0, 0, 0, 0};
        memcpy(last, src + i, (size_t)(k - i));
        aiotc_widen_word(aiotc_read_word(last), dst, gap);
    }
}
#endif

/* Column j (0 or 1) of k int8 inputs at src in the form the gemm reads: src itself, or
 * on the DSP path int16 pairs in buf (AIOTC_COL_BYTES(k) per column, word aligned),
 * the two columns interleaved word pair by word pair so that one pointer walks both. */
static inline const aiotc_col *aiotc_col_prepare(const int8_t *src, int32_t k, aiotc_col *buf, int32_t j)
{
#if defined(AIOTC_DSP)
    aiotc_widen_pairs(src, k, buf + 2 * j, 4, 1);
    return buf;
#else
    (void)k;
    (void)buf;
    (void)j;
    return src;
#endif
}

/* Column 1 of a pair (c1) as a lone column the gemm can read: on the DSP path both
 * prepared columns share one buffer, column 1 two words in. */
static inline const aiotc_col *aiotc_col_second(const aiotc_col *c0, const aiotc_col *c1)
{
#if defined(AIOTC_DSP)
    (void)c1;
    return c0 + 2;
#else
    (void)c0;
    return c1;
#endif
}

typedef struct {
    int32_t a0, a1, b0, b1; /* channel a/b x column 0/1 */
} aiotc_acc4;

#if defined(AIOTC_DSP)
/* The byte-pair sums of one channel pair and two columns: lo = bias_a + sum(a.x),
 * hi = lo + 256 * sum(b.x) since the last chunk, b = bias_b + the chunks' sum(b.x). */
typedef struct {
    int32_t lo0, hi0, lo1, hi1, b0, b1;
} aiotc_pair_sums;

/* 4 inputs of both channels (one weight word pair at w) against the column pair at
 * cols (column 0's two words, then column 1's), both pointers post-incremented. In
 * assembly: gcc, left to itself, spills the accumulators here. */
static AIOTC_INLINE void aiotc_mac_2x2(aiotc_pair_sums *s, const int32_t **w, const int32_t **cols)
{
    int32_t w0, w1, s0, s1, x0, x1;
    __asm__("ldrd %[w0], %[w1], [%[w]], #8\n\t"
            "ldrd %[x0], %[x1], [%[c]], #8\n\t"
            "sxtb16 %[s0], %[w0]\n\t"
            "sxtb16 %[s1], %[w1]\n\t"
            "smlad %[lo0], %[s0], %[x0], %[lo0]\n\t"
            "smlad %[hi0], %[w0], %[x0], %[hi0]\n\t"
            "smlad %[lo0], %[s1], %[x1], %[lo0]\n\t"
            "smlad %[hi0], %[w1], %[x1], %[hi0]\n\t"
            "ldrd %[x0], %[x1], [%[c]], #8\n\t"
            "smlad %[lo1], %[s0], %[x0], %[lo1]\n\t"
            "smlad %[hi1], %[w0], %[x0], %[hi1]\n\t"
            "smlad %[lo1], %[s1], %[x1], %[lo1]\n\t"
            "smlad %[hi1], %[w1], %[x1], %[hi1]"
            : [lo0] "+r"(s->lo0), [hi0] "+r"(s->hi0), [lo1] "+r"(s->lo1), [hi1] "+r"(s->hi1), [w] "+r"(*w),
              [c] "+r"(*cols), [w0] "=&r"(w0), [w1] "=&r"(w1), [s0] "=&r"(s0), [s1] "=&r"(s1), [x0] "=&r"(x0),
              [x1] "=&r"(x1)
            :
            : "memory");
}

/* aiotc_mac_2x2 for a lone column (column 0 of the pair at cols): 8 instructions. */
static AIOTC_INLINE void aiotc_mac_1x2(aiotc_pair_sums *s, const int32_t **w, const int32_t **cols)
{
    int32_t w0, w1, s0, s1, x0, x1;
    __asm__("ldrd %[w0], %[w1], [%[w]], #8\n\t"
            "ldrd %[x0], %[x1], [%[c]], #16\n\t"
            "sxtb16 %[s0], %[w0]\n\t"
            "sxtb16 %[s1], %[w1]\n\t"
            "smlad %[lo0], %[s0], %[x0], %[lo0]\n\t"
            "smlad %[hi0], %[w0], %[x0], %[hi0]\n\t"
            "smlad %[lo0], %[s1], %[x1], %[lo0]\n\t"
            "smlad %[hi0], %[w1], %[x1], %[hi0]"
            : [lo0] "+r"(s->lo0), [hi0] "+r"(s->hi0), [w] "+r"(*w), [c] "+r"(*cols), [w0] "=&r"(w0), [w1] "=&r"(w1),
              [s0] "=&r"(s0), [s1] "=&r"(s1), [x0] "=&r"(x0), [x1] "=&r"(x1)
            :
            : "memory");
}

/* One step of 4 inputs for `columns` (1 or 2, a constant where inlined) columns. */
static AIOTC_INLINE void aiotc_mac_step(aiotc_pair_sums *s, const int32_t **w, const int32_t **cols, int32_t columns)
{
    if (columns == 2) {
        aiotc_mac_2x2(s, w, cols);
    } else {
        aiotc_mac_1x2(s, w, cols);
    }
}

static AIOTC_INLINE void aiotc_mac_4steps(aiotc_pair_sums *s, const int32_t **w, const int32_t **cols, int32_t columns)
{
    aiotc_mac_step(s, w, cols, columns);
    aiotc_mac_step(s, w, cols, columns);
    aiotc_mac_step(s, w, cols, columns);
    aiotc_mac_step(s, w, cols, columns);
}

/* n groups of 4 inputs, then channel b's part of hi moved into b (exact: <= a chunk). */
static AIOTC_INLINE void aiotc_mac_chunk(aiotc_pair_sums *s, const int32_t **w, const int32_t **cols, int32_t groups,
                                         int32_t columns)
{
    int32_t n;
    if (columns == 2) { /* 8 steps per loop test (the lone column's rare copy stays short) */
        for (n = groups >> 3; n != 0; n--) {
            aiotc_mac_4steps(s, w, cols, columns);
            aiotc_mac_4steps(s, w, cols, columns);
        }
        if (groups & 4) {
            aiotc_mac_4steps(s, w, cols, columns);
        }
    } else {
        for (n = groups >> 2; n != 0; n--) {
            aiotc_mac_4steps(s, w, cols, columns);
        }
    }
    if (groups & 2) {
        aiotc_mac_step(s, w, cols, columns);
        aiotc_mac_step(s, w, cols, columns);
    }
    if (groups & 1) {
        aiotc_mac_step(s, w, cols, columns);
    }
    s->b0 += (s->hi0 - s->lo0) >> 8;
    s->b1 += (s->hi1 - s->lo1) >> 8;
    s->hi0 = s->lo0;
    s->hi1 = s->lo1;
}

/* A channel pair's weights at *w (left at the next pair's) against the interleaved
 * column pair at cols, or against its column 0 alone (`columns` 1: a pixel without a
 * partner), `groups` groups of 4 inputs (0: a transposed conv's phase without taps), from
 * the channels' biases. The first
 * chunk takes what whole chunks leave, so that the loop holds one copy of the chunk's
 * code: two made the channel pair's loop 2 KB, twice a flash cache's (STM32's ART). */
static AIOTC_INLINE aiotc_acc4 aiotc_dot_pair(const int32_t **w, int32_t groups, int32_t bias_a, int32_t bias_b,
                                             const int32_t *cols, int32_t columns)
{
    const int32_t chunk = AIOTC_GEMM_CHUNK / 4;
    int32_t rest = groups > 0 ? (int32_t)((uint32_t)(groups - 1) / (uint32_t)chunk) * chunk : 0;
    aiotc_pair_sums s;
    aiotc_acc4 r;
    s.lo0 = s.hi0 = s.lo1 = s.hi1 = bias_a;
    s.b0 = s.b1 = bias_b;
    for (groups -= rest;; groups = chunk, rest -= chunk) {
        aiotc_mac_chunk(&s, w, &cols, groups, columns);
        if (rest == 0) {
            break;
        }
    }
    r.a0 = s.lo0;
    r.a1 = s.lo1;
    r.b0 = s.b0;
    r.b1 = s.b1;
    return r;
}

/* Channel pair `pair` (channels a, b) against the interleaved column pair at cols, or
 * against its column 0 alone (`columns` 1). */
static AIOTC_INLINE aiotc_acc4 aiotc_dot_2x2(const aiotc_gemm *g, int32_t pair, int32_t a, int32_t b, const int32_t *cols,
                                            const int32_t *unused, int32_t columns)
{
    const int32_t *w = (const int32_t *)(const void *)(g->weights + pair * 2 * g->row);
    (void)unused;
    /* rows are whole words: no signed division */
    return aiotc_dot_pair(&w, (int32_t)((uint32_t)g->row / 4u), g->bias[a], g->bias[b], cols, columns);
}

/* The column pair at cols through every channel pair (rows even) by walking pointers:
 * the weights go on from one pair to the next, and no channel index is scaled, so a
 * tile costs little beyond its MACs on small layers. */
static AIOTC_INLINE void aiotc_gemm_pairs(const aiotc_gemm *g, const int32_t *cols, int8_t *out0, int8_t *out1,
                                         int32_t common)
{
    const int32_t *w = (const int32_t *)(const void *)g->weights;
    const int32_t *bias = g->bias, *multiplier = g->multiplier, *shift = g->shift;
    const int32_t groups = (int32_t)((uint32_t)g->row / 4u);
    const int32_t offset = g->output_offset, lo = g->act_min, hi = g->act_max;
    const int8_t *const end = out0 + g->rows;
    for (; out0 != end; out0 += 2, out1 += 2, bias += 2, multiplier += 2, shift += 2) {
        const aiotc_acc4 s = aiotc_dot_pair(&w, groups, bias[0], bias[1], cols, 2);
        const aiotc_rq qa = aiotc_rq_channel(multiplier[0], shift[0]), qb = aiotc_rq_channel(multiplier[1], shift[1]);
        out0[0] = aiotc_out_s8_mode(qa, s.a0, offset, lo, hi, common);
        out1[0] = aiotc_out_s8_mode(qa, s.a1, offset, lo, hi, common);
        out0[1] = aiotc_out_s8_mode(qb, s.b0, offset, lo, hi, common);
        out1[1] = aiotc_out_s8_mode(qb, s.b1, offset, lo, hi, common);
    }
}

/* aiotc_gemm_pairs for a lone column (column 0 of the pair at col): a band's odd last
 * pixel, or an odd last channel (rows odd: the last channel is paired with the zero row
 * the weights end with). Pointers walked, no index scaled per channel pair (Cortex-M4:
 * micronet_kws_49x10's 1x1 layers, bands of 5 pixels, a lone one in each: 0.7% fewer). */
static AIOTC_INLINE void aiotc_gemm_lone(const aiotc_gemm *g, const int32_t *col, int8_t *out, int32_t common)
{
    const int32_t *w = (const int32_t *)(const void *)g->weights;
    const int32_t *bias = g->bias, *multiplier = g->multiplier, *shift = g->shift;
    const int32_t groups = (int32_t)((uint32_t)g->row / 4u);
    const int32_t offset = g->output_offset, lo = g->act_min, hi = g->act_max;
    const int8_t *const end = out + (g->rows & ~1);
    for (; out != end; out += 2, bias += 2, multiplier += 2, shift += 2) {
        const aiotc_acc4 s = aiotc_dot_pair(&w, groups, bias[0], bias[1], col, 1);
        out[0] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[0], shift[0]), s.a0, offset, lo, hi, common);
        out[1] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[1], shift[1]), s.b0, offset, lo, hi, common);
    }
    if (g->rows & 1) {
        const aiotc_acc4 s = aiotc_dot_pair(&w, groups, bias[0], 0, col, 1);
        out[0] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[0], shift[0]), s.a0, offset, lo, hi, common);
    }
}
#elif defined(AIOTC_MVE)
/* Channel b's weights of a VLD2 of byte pairs, and the same in assembly on a's and b's
 * registers (q6 scratch): as loaded, or corrected pairs undone (+ 1 where a < 0). */
static AIOTC_INLINE int8x16_t aiotc_mve_pair_b(int8x16x2_t ab)
{
#if AIOTC_PAIRS_PLAIN
    return ab.val[1];
#else
    return vsubq_s8(ab.val[1], vshrq_n_s8(ab.val[0], 7));
#endif
}
#if AIOTC_PAIRS_PLAIN
#define AIOTC_PAIR_B(a, b) ""
#else
#define AIOTC_PAIR_B(a, b) "vshr.s8 q6, " a ", #7\n\tvsub.i8 " b ", " b ", q6\n\t"
#endif

/* 16 inputs of both channels (VLD2 of bytes splits the pair's 32 bytes into channel a's
 * and b's weights) against two columns' vectors. */
static AIOTC_INLINE void aiotc_mve_mac(aiotc_acc4 *s, const int8_t *w, int8x16_t x0, int8x16_t x1)
{
    const int8x16x2_t ab = vld2q_s8(w);
    const int8x16_t va = ab.val[0], vb = aiotc_mve_pair_b(ab);
    s->a0 = vmladavaq_s8(s->a0, va, x0);
    s->a1 = vmladavaq_s8(s->a1, va, x1);
    s->b0 = vmladavaq_s8(s->b0, vb, x0);
    s->b1 = vmladavaq_s8(s->b1, vb, x1);
}

/* The k % 16 first inputs predicated (the columns' other lanes zero, times whatever
 * weights follow), then whole 16-input steps unpredicated, the pointers advancing. */
static AIOTC_INLINE aiotc_acc4 aiotc_dot_2x2(const aiotc_gemm *g, int32_t pair, int32_t a, int32_t b, const int8_t *c0,
                                            const int8_t *c1, int32_t columns)
{
    const int8_t *w = g->weights + pair * 2 * g->row;
    const int32_t first = g->k & 15;
    aiotc_acc4 s;
    int32_t n;
    (void)columns; /* a lone column is computed twice */
    s.a0 = s.a1 = g->bias[a];
    s.b0 = s.b1 = g->bias[b];
    if (first) {
        const mve_pred16_t p = vctp8q((uint32_t)first);
        aiotc_mve_mac(&s, w, vldrbq_z_s8(c0, p), vldrbq_z_s8(c1, p));
        __asm__("" : "+r"(w)); /* else gcc 12 folds the step into a VLD21 writeback it cannot encode */
        w += 2 * first;
        c0 += first;
        c1 += first;
    }
    for (n = g->k >> 4; n > 0; n--, w += 32, c0 += 16, c1 += 16) {
        aiotc_mve_mac(&s, w, vldrbq_s8(c0), vldrbq_s8(c1));
    }
    return s;
}
#else
static AIOTC_INLINE aiotc_acc4 aiotc_dot_2x2(const aiotc_gemm *g, int32_t pair, int32_t a, int32_t b, const int8_t *c0,
                                            const int8_t *c1, int32_t columns)
{
    const int8_t *w = g->weights + pair * 2 * g->row;
    aiotc_acc4 s;
    int32_t i;
    (void)columns; /* a lone column is computed twice */
    s.a0 = s.a1 = g->bias[a];
    s.b0 = s.b1 = g->bias[b];
    for (i = 0; i < g->k; i++) {
        const int32_t wa = w[2 * i], wb = aiotc_pair_b(wa, w[2 * i + 1]);
        s.a0 += wa * c0[i];
        s.a1 += wa * c1[i];
        s.b0 += wb * c0[i];
        s.b1 += wb * c1[i];
    }
    return s;
}
#endif

/* All channels for one column, or (columns 2) the column pair c0, c1, with `common`
 * (aiotc_out_s8_mode) and `columns` constant in each copy. Odd `rows` only with one
 * column: the last channel is paired with the zero row the weights end with, and its
 * partner's output is not written. */
#if defined(AIOTC_MVE)
/* 4 channels' shifts as aiotc_mve_store4 takes them (`common`: quant_params->right_shifts,
 * shift = -2 - right). */
static AIOTC_INLINE int32x4_t aiotc_mve_shift(const int32_t *shift, int32_t common)
{
    const int32x4_t loaded = vldrwq_s32(shift);
    return common ? vsubq_s32(vdupq_n_s32(-2), loaded) : loaded;
}

/* 4 channels' accumulators y requantized, offset and clamped to out[0..3]. */
static AIOTC_INLINE void aiotc_mve_store4(int32x4_t y, int32x4_t multiplier, int32x4_t shift, int32_t offset,
                                         int32x4_t lo, int32x4_t hi, int8_t *out, int32_t common)
{
    y = common ? aiotc_mve_requantize_right(y, multiplier, shift) : aiotc_mve_requantize(y, multiplier, shift);
    vstrbq_s32(out, vminq_s32(vmaxq_s32(vaddq_n_s32(y, offset), lo), hi));
}

/* The vector (l0, l1, l2, l3) in two VMOVs of lane pairs (gcc sets the lanes one by one). */
static AIOTC_INLINE int32x4_t aiotc_mve_lanes(int32_t l0, int32_t l1, int32_t l2, int32_t l3)
{
    int32x4_t v;
    __asm__("vmov %q[v][2], %q[v][0], %[l0], %[l2]\n\t" /* as GNU as reads it: l0 to lane 0, l2 to lane 2 */
            "vmov %q[v][3], %q[v][1], %[l1], %[l3]"
            : [v] "=w"(v)
            : [l0] "r"(l0), [l1] "r"(l1), [l2] "r"(l2), [l3] "r"(l3));
    return v;
}

/* Two columns' sums of 4 channels (two pairs' a and b: x for out0, z for out1, where
 * `columns` is 2) requantized as vectors to out0[0..3], out1[0..3], the channels'
 * constants loaded once (`common`: quant_params->right_shifts, a constant where inlined). */
static AIOTC_INLINE void aiotc_gemm_store8(const aiotc_gemm *g, int32_t oc, int32_t xa0, int32_t xb0, int32_t xa1,
                                          int32_t xb1, int32_t za0, int32_t zb0, int32_t za1, int32_t zb1,
                                          int8_t *out0, int8_t *out1, int32_t common, int32_t columns)
{
    const int32x4_t multiplier = vldrwq_s32(g->multiplier + oc), shift = aiotc_mve_shift(g->shift + oc, common);
    const int32x4_t lo = vdupq_n_s32(g->act_min), hi = vdupq_n_s32(g->act_max);
    aiotc_mve_store4(aiotc_mve_lanes(xa0, xb0, xa1, xb1), multiplier, shift, g->output_offset, lo, hi, out0, common);
    if (columns == 2) {
        aiotc_mve_store4(aiotc_mve_lanes(za0, zb0, za1, zb1), multiplier, shift, g->output_offset, lo, hi, out1,
                         common);
    }
}

/* TFLite's requantization of the column vectors x and z (multipliers k, shifts s; t a
 * temporary; m the aiotc_mve_blocks; each the text of a register): right shifts only
 * (`common`, s = -2 - right) or the general one. */
#define AIOTC_RQ_RIGHT(v, k, s, t)                                                                                     \
    "vqrdmulh.s32 " v ", " v ", " k "\n\t"                                                                             \
    "vshr.s32 " t ", " v ", #31\n\t"                                                                                   \
    "vqadd.s32 " v ", " v ", " t "\n\t"                                                                                \
    "vrshl.s32 " v ", " v ", " s "\n\t"
#define AIOTC_RQ_COMMON(x, z, k, s, t, m)                                                                           \
    "vldrw.u32 " t ", [" m ", #32]\n\t"                                                                                \
    "vsub.i32 " s ", " t ", " s "\n\t" AIOTC_RQ_RIGHT(x, k, s, t) AIOTC_RQ_RIGHT(z, k, s, t)
#define AIOTC_RQ_GENERAL_RIGHT(v, k, s, t)                                                                             \
    "vqrdmulh.s32 " v ", " v ", " k "\n\t"                                                                             \
    "vand " t ", " v ", " s "\n\t"                                                                                     \
    "vshr.s32 " t ", " t ", #31\n\t"                                                                                   \
    "vqadd.s32 " v ", " v ", " t "\n\t"                                                                                \
    "vrshl.s32 " v ", " v ", " s "\n\t"
#define AIOTC_RQ_GENERAL(x, z, k, s, t, m)                                                                          \
    "vmov.i32 " t ", #0\n\t"                                                                                           \
    "vmax.s32 " t ", " s ", " t "\n\t"                                                                                 \
    "vsub.i32 " s ", " s ", " t "\n\t"                                                                                 \
    "vshl.s32 " x ", " x ", " t "\n\t"                                                                                 \
    "vshl.s32 " z ", " z ", " t "\n\t" AIOTC_RQ_GENERAL_RIGHT(x, k, s, t) AIOTC_RQ_GENERAL_RIGHT(z, k, s, t)

/* The sums of 4 channels (two pairs' a and b) requantized as one vector to out[0..3]
 * (`common`: quant_params->right_shifts, a constant where inlined). */
static AIOTC_INLINE void aiotc_gemm_store4(const aiotc_gemm *g, int32_t oc, int32_t a0, int32_t b0, int32_t a1,
                                          int32_t b1, int8_t *out, int32_t common)
{
    aiotc_gemm_store8(g, oc, a0, b0, a1, b1, a0, b0, a1, b1, out, out, common, 1);
}

/* Rows of at most 16 * `steps` inputs (steps 1 or 2, a constant where inlined: small
 * pointwise layers, first layers on RGB images): the columns are `steps` vectors each,
 * loaded once for every channel, the last one predicated; returns the first channel left. */
static AIOTC_INLINE int32_t aiotc_gemm_mve4_short(const aiotc_gemm *g, const int8_t *c0, const int8_t *c1,
                                                 int8_t *out0, int8_t *out1, int32_t common, int32_t columns,
                                                 int32_t steps)
{
    const mve_pred16_t p = vctp8q((uint32_t)(g->k - 16 * (steps - 1)));
    const int8x16_t x0 = steps == 2 ? vldrbq_s8(c0) : vldrbq_z_s8(c0, p);
    const int8x16_t x1 = steps == 2 ? vldrbq_s8(c1) : vldrbq_z_s8(c1, p);
    const int8x16_t y0 = steps == 2 ? vldrbq_z_s8(c0 + 16, p) : x0, y1 = steps == 2 ? vldrbq_z_s8(c1 + 16, p) : x1;
    int32_t oc;
    for (oc = 0; oc + 4 <= g->rows; oc += 4) {
        const int8_t *w = g->weights + oc * g->row, *v = w + 2 * g->row; /* channel pairs oc / 2, oc / 2 + 1 */
        aiotc_acc4 s, t;
        __asm__("" : "+r"(w), "+r"(v)); /* else gcc 12 folds the steps into VLD21 writebacks it cannot encode */
        s.a0 = s.a1 = g->bias[oc];
        s.b0 = s.b1 = g->bias[oc + 1];
        t.a0 = t.a1 = g->bias[oc + 2];
        t.b0 = t.b1 = g->bias[oc + 3];
        aiotc_mve_mac(&s, w, x0, x1);
        aiotc_mve_mac(&t, v, x0, x1);
        if (steps == 2) {
            aiotc_mve_mac(&s, w + 32, y0, y1);
            aiotc_mve_mac(&t, v + 32, y0, y1);
        }
        aiotc_gemm_store8(g, oc, s.a0, s.b0, t.a0, t.b0, s.a1, s.b1, t.a1, t.b1, out0 + oc, out1 + oc, common,
                          columns);
    }
    return oc;
}

/* The column pair (c0, c1) interleaved into g->pairs for AIOTC_BLOCKS_4X2: per 16 inputs
 * c0's then c1's, the k % 16 first inputs zero padded in the first 32 bytes. */
static AIOTC_INLINE void aiotc_mve_interleave(const aiotc_gemm *g, const int8_t *c0, const int8_t *c1)
{
    const int32_t first = g->k & 15;
    int8_t *x = g->pairs;
    int32_t i = 0;
    if (first) {
        const mve_pred16_t p = vctp8q((uint32_t)first);
        vstrbq_s8(x, vldrbq_z_s8(c0, p));
        vstrbq_s8(x + 16, vldrbq_z_s8(c1, p));
        x += 32;
        i = first;
    }
    for (; i < g->k; i += 16, x += 32) {
        vstrbq_s8(x, vldrbq_s8(c0 + i));
        vstrbq_s8(x + 16, vldrbq_s8(c1 + i));
    }
}

/* 16 inputs of the two channel pairs at w and v against the column pair at x (x advanced,
 * w and v too where `wb` is "!"; q0-q6 scratch): per 16 inputs 2 column loads, 2 VLD2
 * pairs (AIOTC_PAIR_B) and 8 `mla`, VMLADAVA, or VMLADAV where the sums start. */
#define AIOTC_STEP_4X2(mla, wb)                                                                                        \
    "vldrb.8 q4, [%[x]], #16\n\t"                                                                                      \
    "vldrb.8 q5, [%[x]], #16\n\t"                                                                                      \
    "vld20.8 {q0, q1}, [%[w]]\n\t"                                                                                     \
    "vld21.8 {q0, q1}, [%[w]]" wb "\n\t" AIOTC_PAIR_B("q0", "q1")                                                         \
    mla ".s8 %[sa0], q0, q4\n\t"                                                                                       \
    mla ".s8 %[sa1], q0, q5\n\t"                                                                                       \
    mla ".s8 %[sb0], q1, q4\n\t"                                                                                       \
    mla ".s8 %[sb1], q1, q5\n\t"                                                                                       \
    "vld20.8 {q2, q3}, [%[v]]\n\t"                                                                                     \
    "vld21.8 {q2, q3}, [%[v]]" wb "\n\t" AIOTC_PAIR_B("q2", "q3")                                                         \
    mla ".s8 %[ta0], q2, q4\n\t"                                                                                       \
    mla ".s8 %[ta1], q2, q5\n\t"                                                                                       \
    mla ".s8 %[tb0], q3, q4\n\t"                                                                                       \
    mla ".s8 %[tb1], q3, q5\n\t"

/* Channels oc .. oc + 3 (pairs s, t) against a lone column c (the columns' a1, b1 left
 * unset), each column vector loaded once for the 4 channels: per 16 inputs one
 * column load, 2 VLD2 pairs (AIOTC_PAIR_B) and 4 VMLADAVA. */
static AIOTC_INLINE void aiotc_dot_4x1(const aiotc_gemm *g, int32_t oc, const int8_t *c, aiotc_acc4 *s, aiotc_acc4 *t)
{
    const int8_t *w = g->weights + oc * g->row, *v = w + 2 * g->row;
    const int32_t first = g->k & 15;
    int32_t n = g->k >> 4; /* >= 2: k > 32 */
    int32_t sa0 = g->bias[oc], sb0 = g->bias[oc + 1], ta0 = g->bias[oc + 2], tb0 = g->bias[oc + 3];
    if (first) {
        const int8x16_t x0 = vldrbq_z_s8(c, vctp8q((uint32_t)first));
        aiotc_acc4 a = {sa0, 0, sb0, 0}, b = {ta0, 0, tb0, 0};
        aiotc_mve_mac(&a, w, x0, x0);
        aiotc_mve_mac(&b, v, x0, x0);
        sa0 = a.a0, sb0 = a.b0, ta0 = b.a0, tb0 = b.b0;
        __asm__("" : "+r"(w), "+r"(v)); /* else gcc 12 folds the steps into VLD21 writebacks it cannot encode */
        w += 2 * first;
        v += 2 * first;
        c += first;
    }
    __asm__("1:\n\t"
            "vldrb.8 q4, [%[c]], #16\n\t"
            "vld20.8 {q0, q1}, [%[w]]\n\t"
            "vld21.8 {q0, q1}, [%[w]]!\n\t" AIOTC_PAIR_B("q0", "q1")
            "vmladava.s8 %[sa0], q0, q4\n\t"
            "vmladava.s8 %[sb0], q1, q4\n\t"
            "vld20.8 {q2, q3}, [%[v]]\n\t"
            "vld21.8 {q2, q3}, [%[v]]!\n\t" AIOTC_PAIR_B("q2", "q3")
            "vmladava.s8 %[ta0], q2, q4\n\t"
            "vmladava.s8 %[tb0], q3, q4\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b"
            : [sa0] "+Te"(sa0), [sb0] "+Te"(sb0), [ta0] "+Te"(ta0), [tb0] "+Te"(tb0), [w] "+r"(w), [v] "+r"(v),
              [c] "+r"(c), [n] "+r"(n)
            :
            : "memory", "cc", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d12", "d13");
    s->a0 = sa0, s->b0 = sb0;
    t->a0 = ta0, t->b0 = tb0;
}

/* What AIOTC_BLOCKS_4X2 reads by offsets from one pointer (checked below): the clamp's
 * lo at 0 and hi at 16, -2 at 32 (the shifts of the right-shift mode), the multiplier,
 * shift and bias pointers at 48, 52 and 60 (advanced block by block), the output offset
 * at 56, the two columns' outputs at 64 and 68, the interleaved pair at 72, the 16-input
 * steps after the first at 76, bytes of a channel pair's weights at 80, the end of
 * column 0's outputs at 84, and for any k the bytes of the first step's weights at 88
 * (32 when it is whole) and of a row's padding pairs at 92. */
typedef struct {
    int32x4_t lo, hi, minus2;
    const int32_t *multiplier, *shift;
    int32_t offset;
    const int32_t *bias;
    int8_t *out0, *out1;
    const int8_t *pairs;
    int32_t steps, pair_bytes;
    const int8_t *end;
    int32_t first_bytes, tail_bytes;
} aiotc_mve_blocks;
typedef char aiotc_mve_blocks_layout[offsetof(aiotc_mve_blocks, minus2) == 32 &&
                                             offsetof(aiotc_mve_blocks, offset) == 56 &&
                                             offsetof(aiotc_mve_blocks, bias) == 60 &&
                                             offsetof(aiotc_mve_blocks, tail_bytes) == 92
                                         ? 1
                                         : -1];

/* The layer's constants of aiotc_gemm_blocks, set once per layer (or column pair). */
static inline void aiotc_mve_blocks_setup(aiotc_mve_blocks *b, const aiotc_gemm *g)
{
    const int32_t first = g->k & 15;
    b->lo = vdupq_n_s32(g->act_min);
    b->hi = vdupq_n_s32(g->act_max);
    b->minus2 = vdupq_n_s32(-2);
    b->offset = g->output_offset;
    b->pairs = g->pairs;
    b->steps = ((g->k + 15) >> 4) - 1;
    b->pair_bytes = 2 * g->row;
    b->first_bytes = first ? 2 * first : 32;
    b->tail_bytes = 2 * (g->row - g->k);
}

/* The clamp of AIOTC_BLOCKS_4X2's two output vectors: to [act_min, act_max], or
 * (`common` 1, the whole int8 range) by two saturating narrowings, which leave each lane's
 * low byte, the one VSTRB.32 stores, clamped. */
#define AIOTC_CLAMP_RANGE                                                                                              \
    "vldrw.u32 q4, [%[m]]\n\t"                                                                                         \
    "vmax.s32 q0, q0, q4\n\t"                                                                                          \
    "vmax.s32 q1, q1, q4\n\t"                                                                                          \
    "vldrw.u32 q4, [%[m], #16]\n\t"                                                                                    \
    "vmin.s32 q0, q0, q4\n\t"                                                                                          \
    "vmin.s32 q1, q1, q4\n\t"
#define AIOTC_CLAMP_INT8                                                                                               \
    "vqmovnb.s32 q0, q0\n\t"                                                                                           \
    "vqmovnb.s32 q1, q1\n\t"                                                                                           \
    "vqmovnb.s16 q0, q0\n\t"                                                                                           \
    "vqmovnb.s16 q1, q1\n\t"

/* One block of 4 channels after another, all in one assembly loop (AIOTC_STEP_4X2, the
 * first step without accumulating, then TFLite's requantization on q0-q4 with the biases
 * added as a vector), so that nothing is reloaded between blocks but what the loop
 * cannot keep in registers: while the 8 sums take the even registers, the rest of the
 * state lives in the aiotc_mve_blocks at m, its pointers advanced in place. Pair s's
 * weights at w, pair t's at v, each pair's 2 * row bytes long. `first` and `next` (the
 * AIOTC_FIRST_ and AIOTC_NEXT_ pairs below) are the first step, whole or the k % 16
 * first inputs, and the move of w and v to the next block's pairs. x (a low register:
 * VSTRB.32 takes no other) and n are scratch. */
#define AIOTC_BLOCKS_4X2(requantize, clamp, first, next)                                                               \
    __asm__ volatile("0:\n\t"                                                                                          \
                     "ldr %[x], [%[m], #72]\n\t" first "1:\n\t" AIOTC_STEP_4X2("vmladava", "!")                        \
                     "subs %[n], %[n], #1\n\t"                                                                         \
                     "bne 1b\n\t" next "ldr %[x], [%[m], #80]\n\t"                                                     \
                     "add %[v], %[w], %[x]\n\t"                                                                        \
                     "vmov q0[2], q0[0], %[sa0], %[ta0]\n\t"                                                           \
                     "vmov q0[3], q0[1], %[sb0], %[tb0]\n\t"                                                           \
                     "vmov q1[2], q1[0], %[sa1], %[ta1]\n\t"                                                           \
                     "vmov q1[3], q1[1], %[sb1], %[tb1]\n\t"                                                           \
                     "ldr %[x], [%[m], #60]\n\t"                                                                       \
                     "vldrw.u32 q2, [%[x]], #16\n\t"                                                                   \
                     "str %[x], [%[m], #60]\n\t"                                                                       \
                     "vadd.i32 q0, q0, q2\n\t"                                                                         \
                     "vadd.i32 q1, q1, q2\n\t"                                                                         \
                     "ldr %[x], [%[m], #48]\n\t"                                                                       \
                     "vldrw.u32 q2, [%[x]], #16\n\t"                                                                   \
                     "str %[x], [%[m], #48]\n\t"                                                                       \
                     "ldr %[x], [%[m], #52]\n\t"                                                                       \
                     "vldrw.u32 q3, [%[x]], #16\n\t"                                                                   \
                     "str %[x], [%[m], #52]\n\t" requantize "ldr %[x], [%[m], #56]\n\t"                                \
                     "vadd.i32 q0, q0, %[x]\n\t"                                                                       \
                     "vadd.i32 q1, q1, %[x]\n\t" clamp "ldr %[x], [%[m], #68]\n\t"                                     \
                     "vstrb.32 q1, [%[x]], #4\n\t"                                                                     \
                     "str %[x], [%[m], #68]\n\t"                                                                       \
                     "ldr %[x], [%[m], #64]\n\t"                                                                       \
                     "vstrb.32 q0, [%[x]], #4\n\t"                                                                     \
                     "str %[x], [%[m], #64]\n\t"                                                                       \
                     "ldr %[n], [%[m], #84]\n\t"                                                                       \
                     "cmp %[x], %[n]\n\t"                                                                              \
                     "bne 0b"                                                                                          \
                     : [sa0] "=&Te"(sa0), [sa1] "=&Te"(sa1), [sb0] "=&Te"(sb0), [sb1] "=&Te"(sb1),                    \
                       [ta0] "=&Te"(ta0), [ta1] "=&Te"(ta1), [tb0] "=&Te"(tb0), [tb1] "=&Te"(tb1), [w] "+r"(w),       \
                       [v] "+r"(v), [x] "=&l"(x), [n] "=&r"(n)                                                         \
                     : [m] "r"(b)                                                                                      \
                     : "memory", "cc", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9", "d10", "d11",      \
                       "d12", "d13")
/* Rows of whole steps (k % 16 == 0): after a block, w is where v began and v where the
 * next block's pairs begin. */
#define AIOTC_FIRST_WHOLE "ldr %[n], [%[m], #76]\n\t" AIOTC_STEP_4X2("vmladav", "!")
#define AIOTC_NEXT_WHOLE "mov %[w], %[v]\n\t"
/* Any k: the first step's weights advanced by its inputs' bytes, and past a row's padding
 * pairs (2 * (row - k) bytes) after the last. */
#define AIOTC_FIRST_ANY                                                                                                \
    "ldr %[n], [%[m], #88]\n\t" AIOTC_STEP_4X2("vmladav", "") "add %[w], %[w], %[n]\n\t"                               \
    "add %[v], %[v], %[n]\n\t"                                                                                         \
    "ldr %[n], [%[m], #76]\n\t"
#define AIOTC_NEXT_ANY                                                                                                 \
    "ldr %[x], [%[m], #92]\n\t"                                                                                        \
    "add %[w], %[v], %[x]\n\t"

/* Channels 4 at a time against the column pair interleaved in g->pairs (as
 * aiotc_mve_interleave leaves it, k > 32) by AIOTC_BLOCKS_4X2, b set up by
 * aiotc_mve_blocks_setup (`common`: quant_params->right_shifts, 2 clamped to the range;
 * `whole`: k % 16 == 0; constants where inlined); returns the first channel left. */
static AIOTC_INLINE int32_t aiotc_gemm_blocks(aiotc_mve_blocks *b, const aiotc_gemm *g, int8_t *out0, int8_t *out1,
                                             int32_t common, int32_t whole)
{
    const int8_t *w = g->weights, *v = w + 2 * g->row, *x;
    int32_t sa0, sa1, sb0, sb1, ta0, ta1, tb0, tb1, n;
    b->multiplier = g->multiplier;
    b->shift = g->shift;
    b->bias = g->bias;
    b->out0 = out0;
    b->out1 = out1;
    b->end = out0 + (g->rows & ~3);
    if (common == 1 && whole) {
        AIOTC_BLOCKS_4X2(AIOTC_RQ_COMMON("q0", "q1", "q2", "q3", "q4", "%[m]"), AIOTC_CLAMP_INT8, AIOTC_FIRST_WHOLE,
                         AIOTC_NEXT_WHOLE);
    } else if (common && whole) {
        AIOTC_BLOCKS_4X2(AIOTC_RQ_COMMON("q0", "q1", "q2", "q3", "q4", "%[m]"), AIOTC_CLAMP_RANGE, AIOTC_FIRST_WHOLE,
                         AIOTC_NEXT_WHOLE);
    } else if (whole) {
        AIOTC_BLOCKS_4X2(AIOTC_RQ_GENERAL("q0", "q1", "q2", "q3", "q4", "%[m]"), AIOTC_CLAMP_RANGE, AIOTC_FIRST_WHOLE,
                         AIOTC_NEXT_WHOLE);
    } else if (common == 1) {
        AIOTC_BLOCKS_4X2(AIOTC_RQ_COMMON("q0", "q1", "q2", "q3", "q4", "%[m]"), AIOTC_CLAMP_INT8, AIOTC_FIRST_ANY,
                         AIOTC_NEXT_ANY);
    } else if (common) {
        AIOTC_BLOCKS_4X2(AIOTC_RQ_COMMON("q0", "q1", "q2", "q3", "q4", "%[m]"), AIOTC_CLAMP_RANGE, AIOTC_FIRST_ANY,
                         AIOTC_NEXT_ANY);
    } else {
        AIOTC_BLOCKS_4X2(AIOTC_RQ_GENERAL("q0", "q1", "q2", "q3", "q4", "%[m]"), AIOTC_CLAMP_RANGE, AIOTC_FIRST_ANY,
                         AIOTC_NEXT_ANY);
    }
    return g->rows & ~3;
}

/* Channels 4 at a time, requantized as vectors (a scalar requantization costs as much as
 * the dot of a small layer); returns the first channel left. */
static AIOTC_INLINE int32_t aiotc_gemm_mve4(const aiotc_gemm *g, const int8_t *c0, const int8_t *c1, int8_t *out0,
                                           int8_t *out1, int32_t common, int32_t columns)
{
    int32_t oc;
    if (g->k <= 16) {
        return aiotc_gemm_mve4_short(g, c0, c1, out0, out1, common, columns, 1);
    }
    if (g->k <= 32) {
        return aiotc_gemm_mve4_short(g, c0, c1, out0, out1, common, columns, 2);
    }
    if (columns == 1) {
        for (oc = 0; oc + 4 <= g->rows; oc += 4) {
            aiotc_acc4 s, t;
            aiotc_dot_4x1(g, oc, c0, &s, &t);
            aiotc_gemm_store4(g, oc, s.a0, s.b0, t.a0, t.b0, out0 + oc, common);
        }
        return oc;
    }
    if (g->pairs != 0 && g->rows >= 4) {
        aiotc_mve_blocks b;
        aiotc_mve_blocks_setup(&b, g);
        aiotc_mve_interleave(g, c0, c1);
        return aiotc_gemm_blocks(&b, g, out0, out1, common, 0);
    }
    for (oc = 0; oc + 4 <= g->rows; oc += 4) {
        const aiotc_acc4 s = aiotc_dot_2x2(g, oc / 2, oc, oc + 1, c0, c1, columns);
        const aiotc_acc4 t = aiotc_dot_2x2(g, oc / 2 + 1, oc + 2, oc + 3, c0, c1, columns);
        aiotc_gemm_store4(g, oc, s.a0, s.b0, t.a0, t.b0, out0 + oc, common);
        if (columns == 2) {
            aiotc_gemm_store4(g, oc, s.a1, s.b1, t.a1, t.b1, out1 + oc, common);
        }
    }
    return oc;
}
#endif

static AIOTC_INLINE void aiotc_gemm_mode(const aiotc_gemm *g, const aiotc_col *c0, const aiotc_col *c1, int8_t *out0,
                                         int8_t *out1, int32_t common, int32_t columns)
{
#if defined(AIOTC_DSP)
    (void)c1;
    if (columns == 2) {
        aiotc_gemm_pairs(g, c0, out0, out1, common);
    } else {
        aiotc_gemm_lone(g, c0, out0, common);
    }
#else
    const int32_t rows = g->rows, offset = g->output_offset, lo = g->act_min, hi = g->act_max;
#if defined(AIOTC_MVE)
    int32_t oc = aiotc_gemm_mve4(g, c0, c1, out0, out1, common, columns);
#else
    int32_t oc = 0;
#endif
    for (; oc < rows; oc += 2) {
        const int32_t b = columns == 2 ? oc + 1 : AIOTC_MIN(oc + 1, rows - 1);
        const aiotc_acc4 s = aiotc_dot_2x2(g, oc / 2, oc, b, c0, c1, columns);
        const aiotc_rq qa = aiotc_rq_channel(g->multiplier[oc], g->shift[oc]);
        const aiotc_rq qb = aiotc_rq_channel(g->multiplier[b], g->shift[b]);
        out0[oc] = aiotc_out_s8_mode(qa, s.a0, offset, lo, hi, common);
        if (columns == 2) {
            out1[oc] = aiotc_out_s8_mode(qa, s.a1, offset, lo, hi, common);
            out0[b] = aiotc_out_s8_mode(qb, s.b0, offset, lo, hi, common);
            out1[b] = aiotc_out_s8_mode(qb, s.b1, offset, lo, hi, common);
        } else if (b != oc) {
            out0[b] = aiotc_out_s8_mode(qb, s.b0, offset, lo, hi, common);
        }
    }
#endif
}

/* One column through every channel, out of line: a band's odd last pixel, and the odd
 * last channel of a column pair. The gemm copied to a local and the mode tested once, as
 * aiotc_gemm_s8 does (Cortex-M4: micronet_kws_49x10's 1x1 layers 1.4% fewer). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void aiotc_gemm_column(const aiotc_gemm *gemm, const aiotc_col *col, int8_t *out)
{
    const aiotc_gemm g = *gemm; /* fields in registers (aiotc_gemm_s8) */
    if (g.common == 1) {
        aiotc_gemm_mode(&g, col, col, out, out, 1, 1);
    } else if (g.common) {
        aiotc_gemm_mode(&g, col, col, out, out, 2, 1);
    } else {
        aiotc_gemm_mode(&g, col, col, out, out, 0, 1);
    }
}

/* All channels for one or two columns (aiotc_col_prepare's results): out0 from c0 and,
 * unless c1 is NULL, out1 from c1. The gemm is copied to a local first: its fields are
 * then registers, where through the pointer every int8 store would force them reloaded. */
static inline void aiotc_gemm_s8(const aiotc_gemm *gemm, const aiotc_col *c0, const aiotc_col *c1, int8_t *out0,
                                 int8_t *out1)
{
    aiotc_gemm g = *gemm;
    const int32_t last = g.rows - 1; /* the odd last channel, if rows are odd */
    if (c1 == 0) {
        aiotc_gemm_column(&g, c0, out0);
        return;
    }
    g.rows &= ~1;
    if (g.common == 1) {
        aiotc_gemm_mode(&g, c0, c1, out0, out1, 1, 2);
    } else if (g.common) {
        aiotc_gemm_mode(&g, c0, c1, out0, out1, 2, 2);
    } else {
        aiotc_gemm_mode(&g, c0, c1, out0, out1, 0, 2);
    }
    if ((gemm->rows & 1) == 0) {
        return;
    }
    g.weights += last * g.row; /* the last pair: channel `last` and the zero row */
    g.bias += last;
    g.multiplier += last;
    g.shift += last;
    g.rows = 1;
    aiotc_gemm_column(&g, c0, out0 + last);
    aiotc_gemm_column(&g, aiotc_col_second(c0, c1), out1 + last);
}

#endif /* AIOTC_NN_GEMM_H */
