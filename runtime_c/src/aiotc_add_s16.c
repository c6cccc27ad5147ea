/* int16 addition and subtraction: TFLite Micro's int16 ADD and SUB (general scales, not
 * the power-of-two path). An int16 input has too many values for the int8 kernel's
 * tables, so each element is rescaled as it is read. A subtraction negates input 2 after
 * its rescaling, as TFLite subtracts the rescaled values (negating the multiplier would
 * round exact halves the other way).
 *
 * With TFLite's int16 constants (zero points 0, left shift 15, input right shifts up to
 * 15) a row runs a fast loop:
 * - MVE: 4 elements per step (SRDHM is VQRDMULH), the tail predicated;
 * - elsewhere one element per step, each input rescaled in 4 instructions: SRDHM(x << 15,
 *   m) is SMMULR(x << 16, m) (the rounding (2ab + 2^31) >> 32 of both), and the rounding
 *   division by 2^r, half away from zero, is (2y + 2^r - [y < 0]) >> (r + 1), exact for
 *   every r >= 0 (the odd numerator never lands on a multiple of 2^(r+1), so subtracting 1
 *   or 2 floors alike): no test for r = 0, the shift of the larger input.
 * Other constants take the reference loop. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_gemm.h"

typedef struct {
    aiotc_per_tensor_quant_params q1, q2; /* the inputs' rescaling */
    aiotc_rq out; /* shift <= -2 */
    int32_t offset, act_min, act_max, subtract;
} add_layer;

/* (x + offset) << left_shift, rescaled: MultiplyByQuantizedMultiplierSmallerThanOneExp
 * (shift <= 0, so aiotc_requantize's left shift is 0). The shift wraps as TFLite's
 * int32 product does. */
static inline int32_t rescale(int32_t x, int32_t offset, int32_t left_shift, aiotc_per_tensor_quant_params q)
{
    return aiotc_requantize((int32_t)((uint32_t)(x + offset) << left_shift), q.multiplier, q.shift);
}

/* rescale() for offset 0 and left shift 15 in the fast loop's steps (above). */
static AIOTC_INLINE int32_t rescale15(int32_t x, aiotc_per_tensor_quant_params q)
{
    const int32_t a = (int32_t)((uint32_t)x << 16);
    int32_t y;
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
    __asm__("smmulr %0, %1, %2" : "=r"(y) : "r"(a), "r"(q.multiplier));
#else
    y = (int32_t)(((int64_t)a * q.multiplier + 0x80000000LL) >> 32);
#endif
    return (2 * y + (1 << -q.shift) + (y >> 31)) >> (1 - q.shift);
}

#if defined(AIOTC_MVE)
/* rescale15 on 4 lanes: VQRDMULH, then the same rounding division (VRSHL rounds half up). */
static AIOTC_INLINE int32x4_t rescale15_mve(int32x4_t x, aiotc_per_tensor_quant_params q)
{
    const int32x4_t y = vqrdmulhq_n_s32(vshlq_n_s32(x, 15), q.multiplier);
    return vrshlq_n_s32(vaddq_s32(vaddq_s32(y, y), vshrq_n_s32(y, 31)), q.shift - 1);
}
#endif

/* count outputs from inputs step1 and step2 elements apart (0: broadcast), the steps
 * constant where inlined; input 2 rescaled is multiplied by `sign` (-1: subtract). */
static AIOTC_INLINE void add_row(const add_layer *l, const int16_t *in1, int32_t step1, const int16_t *in2,
                                 int32_t step2, int32_t count, int16_t *out)
{
    const aiotc_per_tensor_quant_params q1 = l->q1, q2 = l->q2;
    const int32_t sign = l->subtract ? -1 : 1;
    int32_t i = 0;
#if defined(AIOTC_MVE)
    if ((step1 == 0 || step1 == 1) && (step2 == 0 || step2 == 1)) {
        const int32_t multiplier = l->out.multiplier, shift = l->out.shift, offset = l->offset;
        const int32x4_t lo = vdupq_n_s32(l->act_min), hi = vdupq_n_s32(l->act_max);
        const int32x4_t c1 = rescale15_mve(vdupq_n_s32(in1[0]), q1), c2 = rescale15_mve(vdupq_n_s32(in2[0]), q2);
        for (; i < count; i += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(count - i));
            const int32x4_t y1 = step1 ? rescale15_mve(vldrhq_z_s32(in1 + i, p), q1) : c1;
            const int32x4_t y2 = step2 ? rescale15_mve(vldrhq_z_s32(in2 + i, p), q2) : c2;
            /* aiotc_mve_requantize_right of the sum */
            int32x4_t y = vqrdmulhq_n_s32(vmlaq_n_s32(y1, y2, sign), multiplier);
            y = vaddq_n_s32(vrshlq_n_s32(vqaddq_s32(y, vshrq_n_s32(y, 31)), shift), offset);
            vstrhq_p_s32(out + i, vminq_s32(vmaxq_s32(y, lo), hi), p);
        }
        return;
    }
#endif
    {
        const int32_t multiplier = l->out.multiplier, right = -2 - l->out.shift, offset2 = 2 * l->offset + 1;
        const int32_t act_min = l->act_min, act_max = l->act_max;
        for (; i < count; i++) {
            const int32_t a = rescale15(in1[i * step1], q1), b = rescale15(in2[i * step2], q2);
            int32_t y = aiotc_rq_right(a + sign * b, multiplier, right, offset2);
            y = y < act_min ? act_min : y;
            y = y > act_max ? act_max : y;
            out[i] = (int16_t)y;
        }
    }
}

/* add_row with the steps of a row of AIOTC_FOR_EACH_BROADCAST_ROW as constants where the
 * fast loops take them: both inputs stepping, or either broadcast. */
static void add_any_row(const add_layer *l, const int16_t *in1, int32_t step1, const int16_t *in2, int32_t step2,
                        int32_t count, int16_t *out)
{
    if (step1 == 1 && step2 == 1) {
        add_row(l, in1, 1, in2, 1, count, out);
    } else if (step1 == 1 && step2 == 0) {
        add_row(l, in1, 1, in2, 0, count, out);
    } else if (step1 == 0 && step2 == 1) {
        add_row(l, in1, 0, in2, 1, count, out);
    } else {
        add_row(l, in1, step1, in2, step2, count, out);
    }
}

int32_t aiotc_add_s16(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape, int32_t subtract,
                      const int16_t *input1, const int16_t *input2, int16_t *output)
{
    const int32_t shift = params->left_shift;
    add_layer l;
    l.q1 = params->input1;
    l.q2 = params->input2;
    l.out = aiotc_rq_channel(params->output.multiplier, params->output.shift);
    l.offset = params->output_offset;
    l.act_min = params->activation.min;
    l.act_max = params->activation.max;
    l.subtract = subtract;
    if (shift == 15 && params->input1_offset == 0 && params->input2_offset == 0 && l.q1.shift <= 0 &&
        l.q1.shift >= -15 && l.q2.shift <= 0 && l.q2.shift >= -15 && l.out.shift <= -2) {
        AIOTC_FOR_EACH_BROADCAST_ROW(shape, o, i1, step1, i2, step2, count, {
            add_any_row(&l, input1 + i1, step1, input2 + i2, step2, count, output + o);
        });
        return AIOTC_OK;
    }
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        const int32_t a = rescale(input1[i1], params->input1_offset, shift, params->input1);
        const int32_t b = rescale(input2[i2], params->input2_offset, shift, params->input2);
        const int32_t y = aiotc_requantize(subtract ? a - b : a + b, params->output.multiplier, params->output.shift) +
                          params->output_offset;
        *output++ = (int16_t)AIOTC_CLAMP(y, params->activation.min, params->activation.max);
    });
    return AIOTC_OK;
}
