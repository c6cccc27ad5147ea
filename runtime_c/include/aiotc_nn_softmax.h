/* aiotc runtime: the int8 softmax loop of aiotc_softmax_s8 and aiotc_softmax_s8_s16, in
 * gemmlowp fixed point as TFLite Micro's reference computes it: differences to the row
 * maximum are rescaled to Q5.26, exponentiated, summed in Q12, and each exp multiplied by
 * the reciprocal sum, to an int8 (scale 1/256) or int16 (scale 1/65536) output whose zero
 * point is the type's minimum. Each kernel calls it with a constant output size. */
#ifndef AIOTC_NN_SOFTMAX_H
#define AIOTC_NN_SOFTMAX_H

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_fixedpoint.h"

/* diff * 2^left_shift, shifted as unsigned: TFLite's `1 << 31` (a huge input scale) is undefined in C. */
static inline int32_t aiotc_softmax_scaled_diff(const aiotc_softmax_params *p, int32_t diff)
{
    return aiotc_fp_mul((int32_t)((uint32_t)diff << p->input_left_shift), p->input_multiplier);
}

/* Rows up to this deep keep their exps from the sum for the outputs (an exp is about
 * 250 instructions: classifier heads of 2-16 classes then take one per element). */
#define AIOTC_SOFTMAX_KEPT 16

/* exp of one difference to the row maximum in Q0, or -1 where it is below diff_min
 * (no exp is negative: that element's output is the type's minimum). */
static inline int32_t aiotc_softmax_exp(const aiotc_softmax_params *params, int32_t diff)
{
    return diff >= params->diff_min
               ? aiotc_fp_exp_on_negative_values(aiotc_softmax_scaled_diff(params, diff), 5)
               : -1;
}

static inline void aiotc_softmax_loop(const aiotc_softmax_params *params, int32_t rows, int32_t depth,
                                      const int8_t *input, void *output, int32_t out_bytes)
{
    const int32_t low = out_bytes == 1 ? INT8_MIN : INT16_MIN, high = out_bytes == 1 ? INT8_MAX : INT16_MAX;
    const int32_t kept = depth <= AIOTC_SOFTMAX_KEPT;
    int32_t exps[AIOTC_SOFTMAX_KEPT];
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const int8_t *in = input + r * depth;
        int32_t max = -128, sum_of_exps = 0, num_bits_over_unit, scale, exponent;
        for (c = 0; c < depth; c++) {
            max = AIOTC_MAX(max, in[c]);
        }
        for (c = 0; c < depth; c++) {
            const int32_t e = aiotc_softmax_exp(params, in[c] - max);
            if (e >= 0) {
                sum_of_exps += aiotc_fp_mul_by_pot(e, -12);
            }
            if (kept) {
                exps[c] = e;
            }
        }
        scale = aiotc_fp_reciprocal(sum_of_exps, 12, &num_bits_over_unit);
        exponent = num_bits_over_unit + 31 - 8 * out_bytes;
        for (c = 0; c < depth; c++) {
            const int32_t e = kept ? exps[c] : aiotc_softmax_exp(params, in[c] - max);
            int32_t value = low;
            if (e >= 0) {
                value = aiotc_rounding_divide_by_pot(aiotc_fp_mul(scale, e), exponent) + low;
            }
            value = AIOTC_CLAMP(value, low, high);
            if (out_bytes == 1) {
                ((int8_t *)output)[r * depth + c] = (int8_t)value;
            } else {
                ((int16_t *)output)[r * depth + c] = (int16_t)value;
            }
        }
    }
}

#endif /* AIOTC_NN_SOFTMAX_H */
