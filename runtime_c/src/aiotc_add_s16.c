/* int16 addition and subtraction: TFLite Micro's int16 ADD and SUB (general scales, not
 * the power-of-two path). An int16 input has too many values for the int8 kernel's
 * tables, so each element is rescaled as it is read. A subtraction negates input 2 after
 * its rescaling, as TFLite subtracts the rescaled values (negating the multiplier would
 * round exact halves the other way).
 *
 * With TFLite's int16 constants (zero points 0, left shift 15, input right shifts up to
 * 15) a row runs a fast loop:
 * - MVE: 8 elements per step, the even and odd int16 lanes widened with TFLite's left
 *   shift by VSHLLB/VSHLLT, 4 lanes each rescaled and requantized, narrowed back with
 *   saturation (VQMOVNB/VQMOVNT), the tail predicated;
 * - elsewhere one element per step;
 * each input rescaled by aiotc_requantize_small (SMMULR, one rounding shift; no test of
 * r = 0, the shift of the larger input).
 * Other constants take the reference loop. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_gemm.h"

typedef struct {
    aiotc_rq_small q1, q2; /* the inputs' rescaling */
    aiotc_rq out;         /* shift <= -2 */
    int32_t offset, act_min, act_max, subtract;
} add_layer;

/* (x + offset) << left_shift, rescaled: MultiplyByQuantizedMultiplierSmallerThanOneExp
 * (shift <= 0, so aiotc_requantize's left shift is 0). The shift wraps as TFLite's
 * int32 product does. */
static inline int32_t rescale(int32_t x, int32_t offset, int32_t left_shift, aiotc_per_tensor_quant_params q)
{
    return aiotc_requantize((int32_t)((uint32_t)(x + offset) << left_shift), q.multiplier, q.shift);
}

#if defined(AIOTC_MVE)
/* The output of 4 lanes of rescaled inputs: aiotc_mve_requantize_right of a + sign * b, offset. */
static AIOTC_INLINE int32x4_t out_mve(int32x4_t a, int32x4_t b, int32_t sign, int32_t multiplier, int32_t shift,
                                      int32_t offset)
{
    const int32x4_t y = vqrdmulhq_n_s32(vmlaq_n_s32(a, b, sign), multiplier);
    return vaddq_n_s32(vrshlq_n_s32(vqaddq_s32(y, vshrq_n_s32(y, 31)), shift), offset);
}
#endif

/* count outputs from inputs step1 and step2 elements apart (0: broadcast), the steps
 * constant where inlined; input 2 rescaled is multiplied by `sign` (-1: subtract). */
static AIOTC_INLINE void add_row(const add_layer *l, const int16_t *in1, int32_t step1, const int16_t *in2,
                                 int32_t step2, int32_t count, int16_t *out)
{
    aiotc_rq_small q1 = l->q1, q2 = l->q2;
    const int32_t sign = l->subtract ? -1 : 1;
    int32_t i = 0;
    q1.left = q2.left = 15; /* TFLite's int16 left shift, folded in as a constant (the input shifts are <= 0) */
#if defined(AIOTC_MVE)
    if ((step1 == 0 || step1 == 1) && (step2 == 0 || step2 == 1)) {
        const int32_t multiplier = l->out.multiplier, shift = l->out.shift, offset = l->offset;
        const int16x8_t lo = vdupq_n_s16((int16_t)l->act_min), hi = vdupq_n_s16((int16_t)l->act_max);
        const int32x4_t c1 = aiotc_mve_requantize_small(vdupq_n_s32(in1[0]), q1);
        const int32x4_t c2 = aiotc_mve_requantize_small(vdupq_n_s32(in2[0]), q2);
        for (; i < count; i += 8) {
            const mve_pred16_t p = vctp16q((uint32_t)(count - i));
            const int16x8_t x1 = step1 ? vldrhq_z_s16(in1 + i, p) : vdupq_n_s16(0);
            const int16x8_t x2 = step2 ? vldrhq_z_s16(in2 + i, p) : vdupq_n_s16(0);
            const int32x4_t even = out_mve(step1 ? aiotc_mve_requantize_small_shifted(vshllbq_n_s16(x1, 15), q1) : c1,
                                           step2 ? aiotc_mve_requantize_small_shifted(vshllbq_n_s16(x2, 15), q2) : c2,
                                           sign, multiplier, shift, offset);
            const int32x4_t odd = out_mve(step1 ? aiotc_mve_requantize_small_shifted(vshlltq_n_s16(x1, 15), q1) : c1,
                                          step2 ? aiotc_mve_requantize_small_shifted(vshlltq_n_s16(x2, 15), q2) : c2,
                                          sign, multiplier, shift, offset);
            const int16x8_t y = vqmovntq_s32(vqmovnbq_s32(vdupq_n_s16(0), even), odd);
            vstrhq_p_s16(out + i, vminq_s16(vmaxq_s16(y, lo), hi), p);
        }
        return;
    }
#endif
    {
        const int32_t multiplier = l->out.multiplier, right = -2 - l->out.shift, offset2 = 2 * l->offset + 1;
        const int32_t act_min = l->act_min, act_max = l->act_max;
        for (; i < count; i++) {
            const int32_t a = aiotc_requantize_small(in1[i * step1], q1);
            const int32_t b = aiotc_requantize_small(in2[i * step2], q2);
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
    l.q1 = aiotc_rq_small_of(params->input1.multiplier, params->input1.shift);
    l.q2 = aiotc_rq_small_of(params->input2.multiplier, params->input2.shift);
    l.out = aiotc_rq_channel(params->output.multiplier, params->output.shift);
    l.offset = params->output_offset;
    l.act_min = params->activation.min;
    l.act_max = params->activation.max;
    l.subtract = subtract;
    if (shift == 15 && params->input1_offset == 0 && params->input2_offset == 0 &&
        params->input1.shift <= 0 && params->input1.shift >= -15 && params->input2.shift <= 0 &&
        params->input2.shift >= -15 && l.out.shift <= -2) {
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
