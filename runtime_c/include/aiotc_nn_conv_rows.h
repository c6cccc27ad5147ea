/* aiotc runtime: outputs by weight rows in TFLite's order, each a window of k inputs dotted
 * with its channel's row (the input offset folded into the bias), 4 pixels at a time on MVE:
 * the loop of aiotc_convolve_rows_s8 (windows straight from the image) and
 * aiotc_convolve_rows_im2col_s8 (windows gathered first). */
#ifndef AIOTC_NN_CONV_ROWS_H
#define AIOTC_NN_CONV_ROWS_H

#include "aiotc_nn_conv.h"
#include "aiotc_nn_dot_s8.h"

#if defined(AIOTC_MVE)
/* Four sums as one vector: two VMOVs of two lanes (gcc 12 takes a VDUP and three VMOVs). */
static AIOTC_INLINE int32x4_t aiotc_rows_lanes4(int32_t a, int32_t b, int32_t c, int32_t d)
{
    int32x4_t y;
    __asm__("vmov %q[y][2], %q[y][0], %[a], %[c]\n\t"
            "vmov %q[y][3], %q[y][1], %[b], %[d]"
            : [y] "=w"(y)
            : [a] "r"(a), [b] "r"(b), [c] "r"(c), [d] "r"(d));
    return y;
}

/* The row w dotted with the 4 pixels from x, `step` bytes apart, from bias: k inputs, per
 * 16 one row vector, 4 pixel vectors, 4 VMLADAVA; the last 16 or fewer predicated by the
 * loop. In assembly: gcc 12 neither predicates the tail by the loop nor keeps the 4 sums
 * in registers; the pointers are its temporaries, so the caller's live across channels. */
static AIOTC_INLINE int32x4_t aiotc_rows_dot4(const int8_t *w, const int8_t *x, int32_t step, int32_t k, int32_t bias)
{
    int32_t s0 = bias, s1 = bias, s2 = bias, s3 = bias;
    const int8_t *p0, *p1, *p2, *p3, *pw;
    __asm__("mov %[pw], %[w]\n\t"
            "mov %[p0], %[x]\n\t"
            "add %[p1], %[x], %[step]\n\t"
            "add %[p2], %[p1], %[step]\n\t"
            "add %[p3], %[p2], %[step]\n\t"
            "dlstp.8 lr, %[k]\n"
            "1:\n\t"
            "vldrb.8 q0, [%[pw]], #16\n\t"
            "vldrb.8 q1, [%[p0]], #16\n\t"
            "vldrb.8 q2, [%[p1]], #16\n\t"
            "vmladava.s8 %[s0], q0, q1\n\t"
            "vldrb.8 q1, [%[p2]], #16\n\t"
            "vmladava.s8 %[s1], q0, q2\n\t"
            "vldrb.8 q2, [%[p3]], #16\n\t"
            "vmladava.s8 %[s2], q0, q1\n\t"
            "vmladava.s8 %[s3], q0, q2\n\t"
            "letp lr, 1b"
            : [s0] "+Te"(s0), [s1] "+Te"(s1), [s2] "+Te"(s2), [s3] "+Te"(s3), [pw] "=&r"(pw), [p0] "=&r"(p0),
              [p1] "=&r"(p1), [p2] "=&r"(p2), [p3] "=&r"(p3)
            : [w] "r"(w), [x] "r"(x), [step] "r"(step), [k] "r"(k)
            : "memory", "lr", "d0", "d1", "d2", "d3", "d4", "d5");
    return aiotc_rows_lanes4(s0, s1, s2, s3);
}

/* A channel's sums of 4 pixels requantized with its constants as scalar operands, offset and
 * clamped; `common` (quant_params->right_shifts: shift = -2 - right, the clamp the whole int8
 * range, a saturating shift) a constant where inlined. */
static AIOTC_INLINE int32x4_t aiotc_rows_requantize4(int32x4_t y, int32_t multiplier, int32_t shift, int32_t offset,
                                                     int32_t lo, int32_t hi, int32_t common)
{
    if (common) {
        y = vqrdmulhq_n_s32(y, multiplier);
        y = vrshlq_n_s32(vqaddq_s32(y, vshrq_n_s32(y, 31)), -(shift + 2));
        return vshrq_n_s32(vqshlq_n_s32(vaddq_n_s32(y, offset), 24), 24);
    }
    const int32_t right = shift < 0 ? shift : 0; /* aiotc_mve_requantize */
    y = vqrdmulhq_n_s32(vshlq_r_s32(y, shift - right), multiplier);
    y = vrshlq_n_s32(vqaddq_s32(y, vandq_s32(vshrq_n_s32(y, 31), vdupq_n_s32(right >> 31))), right);
    return vminq_s32(vmaxq_s32(vaddq_n_s32(y, offset), vdupq_n_s32(lo)), vdupq_n_s32(hi));
}

/* aiotc_rows_requantize4's 4 outputs stored at out + where. */
static AIOTC_INLINE void aiotc_rows_store4(int32x4_t y, int32_t multiplier, int32_t shift, int32_t offset, int32_t lo, int32_t hi,
                                int8_t *out, uint32x4_t where, int32_t common)
{
    vstrbq_scatter_offset_s32(out, where, aiotc_rows_requantize4(y, multiplier, shift, offset, lo, hi, common));
}

/* The last `count` (1 to 3) windows of a gathered group, k inputs each, with 4 - count spare
 * windows after them in the buffer: every channel's 4 sums as in a whole group, only the
 * first `count` stored, where the scalar loop takes 60 instructions an output: imu_gesture's
 * Conv1D on the M55 (its first and last bands end in 2 pixels, 16 channels) 22.7k -> 21.4k,
 * CMSIS-NN 22.6k. */
static AIOTC_INLINE void aiotc_rows_partial4(const int8_t *windows, int32_t count, int32_t k, const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params, const int8_t *filter,
                                      const int32_t *bias, int32_t out_c, int8_t *out)
{
    const uint32x4_t where = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)out_c);
    const mve_pred16_t keep = vctp32q((uint32_t)count);
    const int32_t common = quant_params->right_shifts != 0;
    int32_t oc;
    for (oc = 0; oc < out_c; oc++, filter += k) {
        const int32x4_t y = aiotc_rows_dot4(filter, windows, k, k, bias[oc]);
        const int32x4_t q = aiotc_rows_requantize4(y, quant_params->multiplier[oc], quant_params->shift[oc],
                                                   params->output_offset, params->activation.min,
                                                   params->activation.max, common);
        vstrbq_scatter_offset_p_s32(out + oc, where, q, keep);
    }
}
#endif

/* One channel's bias and requantization. */
typedef struct {
    int32_t bias, multiplier, shift;
} aiotc_rows_q;

/* Channel oc's constants; `one` (one output channel, a constant where inlined): `first`,
 * read before the loops, as after an int8 store values read through pointers are read again. */
static AIOTC_INLINE aiotc_rows_q aiotc_rows_channel(const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                                        int32_t oc, int32_t one, aiotc_rows_q first)
{
    aiotc_rows_q c;
    if (one) {
        return first;
    }
    c.bias = bias[oc];
    c.multiplier = multiplier[oc];
    c.shift = shift[oc];
    return c;
}

/* `count` output pixels of a run whose windows of k inputs start `step` bytes apart,
 * `common` (aiotc_out_s8_mode) and `one` (out_c is 1) constant in each copy. */
static AIOTC_INLINE void aiotc_rows_run(const int8_t *in, int32_t step, int32_t count, int32_t k, int32_t out_c,
                                 const int8_t *filter, const int32_t *bias,
                                 const aiotc_per_channel_quant_params *quant_params, int32_t offset, int32_t lo,
                                 int32_t hi, int8_t *out, int32_t common, int32_t one)
{
    const int32_t *const multiplier = quant_params->multiplier, *const shift = quant_params->shift;
    const aiotc_rows_q first = {bias[0], multiplier[0], shift[0]};
    int32_t oc;
#if defined(AIOTC_MVE)
    const uint32x4_t where = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)out_c);
    const mve_pred16_t p = vctp8q((uint32_t)k);
    const int8x16_t first_row = vldrbq_z_s8(filter, p); /* the row of one channel (k <= 16) */
    const int32_t whole = count >= 4;
    while (whole && count > 0) {
        if (count < 4) { /* a last group overlapping the one before rather than lone pixels */
            in -= (4 - count) * step;
            out -= (4 - count) * out_c;
            count = 4;
        }
        for (; count >= 4 && k <= 16; count -= 4, in += 4 * step, out += 4 * out_c) {
            /* the pixels' vectors loaded once for all channels */
            const int8x16_t x0 = vldrbq_z_s8(in, p), x1 = vldrbq_z_s8(in + step, p);
            const int8x16_t x2 = vldrbq_z_s8(in + 2 * step, p), x3 = vldrbq_z_s8(in + 3 * step, p);
            const int8_t *w = filter;
            for (oc = 0; oc < out_c; oc++, w += k) {
                const aiotc_rows_q c = aiotc_rows_channel(bias, multiplier, shift, oc, one, first);
                const int8x16_t v = one ? first_row : vldrbq_z_s8(w, p);
                const int32x4_t y = aiotc_rows_lanes4(vmladavq_s8(v, x0), vmladavq_s8(v, x1), vmladavq_s8(v, x2), vmladavq_s8(v, x3));
                aiotc_rows_store4(vaddq_n_s32(y, c.bias), c.multiplier, c.shift, offset, lo, hi, out + oc, where, common);
            }
        }
        for (; count >= 4 && k > 16; count -= 4, in += 4 * step, out += 4 * out_c) {
            const int8_t *w = filter;
            for (oc = 0; oc < out_c; oc++, w += k) {
                /* the requantization's constants read after the dot product (no loads move across its
                 * assembly): not live through it */
                const int32x4_t y = aiotc_rows_dot4(w, in, step, k, aiotc_rows_channel(bias, multiplier, shift, oc, one, first).bias);
                const aiotc_rows_q c = aiotc_rows_channel(bias, multiplier, shift, oc, one, first);
                aiotc_rows_store4(y, c.multiplier, c.shift, offset, lo, hi, out + oc, where, common);
            }
        }
    }
#endif
    for (; count > 0; count--, in += step) {
        const int8_t *w = filter;
        for (oc = 0; oc < out_c; oc++, w += k) {
            const aiotc_rows_q c = aiotc_rows_channel(bias, multiplier, shift, oc, one, first);
            const aiotc_rq q = aiotc_rq_channel(c.multiplier, c.shift);
            *out++ = aiotc_out_s8_mode(q, c.bias + aiotc_dot_s8(w, in, k), offset, lo, hi, common);
        }
    }
}

/* aiotc_rows_run with its constant arguments chosen by the layer's: one output channel,
 * right shifts only. */
static AIOTC_INLINE void aiotc_rows_out(const int8_t *in, int32_t step, int32_t count, int32_t k, const aiotc_conv_params *params,
                                  const aiotc_per_channel_quant_params *quant_params, const int8_t *filter,
                                  const int32_t *bias, int32_t out_c, int8_t *out)
{
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
    if (out_c == 1 && quant_params->right_shifts) {
        aiotc_rows_run(in, step, count, k, 1, filter, bias, quant_params, offset, lo, hi, out, 1, 1);
    } else if (out_c == 1) {
        aiotc_rows_run(in, step, count, k, 1, filter, bias, quant_params, offset, lo, hi, out, 0, 1);
    } else if (quant_params->right_shifts) {
        aiotc_rows_run(in, step, count, k, out_c, filter, bias, quant_params, offset, lo, hi, out, 1, 0);
    } else {
        aiotc_rows_run(in, step, count, k, out_c, filter, bias, quant_params, offset, lo, hi, out, 0, 0);
    }
}

#endif /* AIOTC_NN_CONV_ROWS_H */
