/* int8 multiplication: the product of the offset inputs requantized to the output,
 * as TFLite Micro's reference computes it.
 *
 * A row of AIOTC_FOR_EACH_BROADCAST_ROW with one input stepping by 1 and the other by 1
 * or 0 (the same shape, or a scalar such as MobileNetV3's input rescaling; the other
 * order swapped) runs a fast loop; a broadcast input is read as copies of its value on
 * the stack, so one loop serves both:
 * - MVE: 8 products per step (VMULLB and VMULLT of int16 lanes), requantized on 4 lanes
 *   each and narrowed back with saturation, the tail predicated;
 * - DSP: 4 products per step from one word of each input (SXTB16 and SADD16 widen and
 *   offset two values at once, and SMULBB and SMULTT multiply them), requantized one by one
 *   (aiotc_out_s8_mode, its common case in a copy of the loop of its own);
 * - portable C: one product per step, as every other row. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_gemm.h"

typedef struct {
    aiotc_rq q;
    int32_t offset1, offset2; /* the inputs' */
    int32_t offset, act_min, act_max;
} mul_layer;

/* count outputs from inputs step1 and step2 elements apart (0: broadcast), one at a time. */
static void mul_plain(const mul_layer *l, const int8_t *in1, int32_t step1, const int8_t *in2, int32_t step2,
                      int32_t count, int8_t *out)
{
    const aiotc_rq q = l->q;
    const int32_t offset1 = l->offset1, offset2 = l->offset2, offset = l->offset, lo = l->act_min, hi = l->act_max;
    int32_t i;
    for (i = 0; i < count; i++) {
        out[i] = aiotc_out_s8(q, (in1[i * step1] + offset1) * (in2[i * step2] + offset2), offset, lo, hi);
    }
}

#if defined(AIOTC_DSP)
/* The products of the bottom and of the top halfwords (SMULBB, SMULTT: ACLE has neither). */
static inline int32_t bottoms(int32_t a, int32_t b)
{
    return (int16_t)a * (int16_t)b;
}

static inline int32_t tops(int32_t a, int32_t b)
{
    return (a >> 16) * (b >> 16);
}

/* count outputs from in1 stepping by 1 and the word at in2 advancing `inc2` bytes a
 * step (0: a broadcast value's copies); `common` constant where inlined. */
static AIOTC_INLINE int32_t mul_words(const mul_layer *l, const int8_t *in1, const int8_t *in2, int32_t inc2,
                                      int32_t count, int8_t *out, int32_t common)
{
    const aiotc_rq q = l->q;
    const int32_t offset = l->offset, lo = l->act_min, hi = l->act_max;
    const int32_t offset1 = (int32_t)((uint32_t)(uint16_t)l->offset1 * 0x10001u); /* in both halfwords */
    const int32_t offset2 = (int32_t)((uint32_t)(uint16_t)l->offset2 * 0x10001u);
    int32_t i;
    for (i = 0; i + 4 <= count; i += 4, in2 += inc2) {
        const int32_t a = aiotc_read_word(in1 + i), b = aiotc_read_word(in2);
        const int32_t a02 = __sadd16(__sxtb16(a), offset1), a13 = __sadd16(aiotc_sxtb16_ror8(a), offset1);
        const int32_t b02 = __sadd16(__sxtb16(b), offset2), b13 = __sadd16(aiotc_sxtb16_ror8(b), offset2);
        out[i] = aiotc_out_s8_mode(q, bottoms(a02, b02), offset, lo, hi, common);
        out[i + 1] = aiotc_out_s8_mode(q, bottoms(a13, b13), offset, lo, hi, common);
        out[i + 2] = aiotc_out_s8_mode(q, tops(a02, b02), offset, lo, hi, common);
        out[i + 3] = aiotc_out_s8_mode(q, tops(a13, b13), offset, lo, hi, common);
    }
    return i;
}
#endif

/* A row whose input 1 steps by 1 and input 2 by 1 or 0. */
static void mul_row(const mul_layer *l, const int8_t *in1, const int8_t *in2, int32_t step2, int32_t count,
                    int8_t *out)
{
    int8_t copies[8]; /* a broadcast value, as the inputs of one step */
    int32_t done = 0;
    if (step2 == 0) {
        memset(copies, in2[0], sizeof copies);
        in2 = copies;
    }
#if defined(AIOTC_MVE)
    {
        const int32x4_t multiplier = vdupq_n_s32(l->q.multiplier), shift = vdupq_n_s32(l->q.shift);
        const int16x8_t lo = vdupq_n_s16((int16_t)l->act_min), hi = vdupq_n_s16((int16_t)l->act_max);
        const int16_t offset1 = (int16_t)l->offset1, offset2 = (int16_t)l->offset2;
        const int32_t offset = l->offset, inc2 = 8 * step2;
        for (; done < count; done += 8, in2 += inc2) {
            const mve_pred16_t p = vctp16q((uint32_t)(count - done));
            const int16x8_t a = vaddq_n_s16(vldrbq_z_s16(in1 + done, p), offset1);
            const int16x8_t b = vaddq_n_s16(vldrbq_z_s16(in2, p), offset2);
            const int32x4_t even = aiotc_mve_requantize(vmullbq_int_s16(a, b), multiplier, shift);
            const int32x4_t odd = aiotc_mve_requantize(vmulltq_int_s16(a, b), multiplier, shift);
            int16x8_t y = vqmovnbq_s32(vdupq_n_s16(0), vaddq_n_s32(even, offset));
            y = vqmovntq_s32(y, vaddq_n_s32(odd, offset));
            vstrbq_p_s16(out + done, vminq_s16(vmaxq_s16(y, lo), hi), p);
        }
    }
#elif defined(AIOTC_DSP)
    if (l->q.shift <= -2 && l->act_min == -128 && l->act_max == 127) { /* aiotc_out_s8_mode's common case */
        mul_layer common = *l;
        common.q.shift = -l->q.shift - 2;
        done = mul_words(&common, in1, in2, 4 * step2, count, out, 1);
    } else {
        done = mul_words(l, in1, in2, 4 * step2, count, out, 0);
    }
#endif
    if (done < count) {
        mul_plain(l, in1 + done, 1, step2 ? in2 + done : in2, step2, count - done, out + done);
    }
}

int32_t aiotc_mul_s8(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape, const int8_t *input1,
                     const int8_t *input2, int8_t *output)
{
    mul_layer l, swapped;
    l.q = aiotc_rq_channel(params->output.multiplier, params->output.shift);
    l.offset1 = params->input1_offset;
    l.offset2 = params->input2_offset;
    l.offset = params->output_offset;
    l.act_min = params->activation.min;
    l.act_max = params->activation.max;
    swapped = l; /* the inputs exchanged: the product is the same */
    swapped.offset1 = l.offset2;
    swapped.offset2 = l.offset1;
    AIOTC_FOR_EACH_BROADCAST_ROW(shape, o, i1, step1, i2, step2, count, {
        if (step1 == 1 && (step2 == 1 || step2 == 0)) {
            mul_row(&l, input1 + i1, input2 + i2, step2, count, output + o);
        } else if (step1 == 0 && step2 == 1) {
            mul_row(&swapped, input2 + i2, input1 + i1, 0, count, output + o);
        } else {
            mul_plain(&l, input1 + i1, step1, input2 + i2, step2, count, output + o);
        }
    });
    return AIOTC_OK;
}
