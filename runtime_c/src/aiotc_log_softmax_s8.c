/* int8 log softmax over rows (TFLite Micro's LogSoftmaxQuantized): the sum of exp() of
 * the Q5.26 differences in Q12, its log in Q5 by gemmlowp's log_x_for_x_greater_than_or_equal_to_1,
 * then difference - log sum in the output's Q4 steps (scale 16/256, zero point 127). */
#include "aiotc_nn_activation.h"
#include "aiotc_nn_fixedpoint.h"

static int32_t saturating_add(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + b;
    return (int32_t)AIOTC_CLAMP(sum, (int64_t)INT32_MIN, (int64_t)INT32_MAX);
}

/* log(x) for x >= 1 given in Q12; result in Q5. Intermediate values in Q0 and the
 * accumulator's Q6, exactly as gemmlowp's log_x_for_x_greater_than_or_equal_to_1_impl<5, 12>. */
static int32_t log_q12_to_q5(int32_t z_a)
{
    const int32_t log_2 = 1488522236, sqrt_sqrt_half = 1805811301, sqrt_half = 1518500250;
    const int32_t alpha_n = 117049297, alpha_d = 127690142, alpha_i = 1057819769, alpha_f = 638450708;
    const int32_t shifted_quarter = aiotc_fp_mul_by_pot(536870912, -6); /* 1/4 in Q6 */
    const int32_t z_a_headroom_plus_1 = aiotc_count_leading_zeros((uint32_t)z_a);
    const int32_t r_a_tmp = aiotc_fp_mul_by_pot(z_a, z_a_headroom_plus_1 - 1);
    const int32_t r_a = aiotc_fp_mul_by_pot(aiotc_fp_mul(r_a_tmp, sqrt_half), 1);
    const int32_t z_a_pow_2_adj = saturating_add(aiotc_fp_mul_by_pot(12 - z_a_headroom_plus_1, 25), shifted_quarter);
    const int32_t z_b = aiotc_fp_mul(z_a, sqrt_half);
    const int32_t z_b_headroom = aiotc_count_leading_zeros((uint32_t)z_b) - 1;
    const int32_t r_b = aiotc_fp_mul_by_pot(z_a, z_b_headroom);
    const int32_t z_b_pow_2_adj = saturating_add(aiotc_fp_mul_by_pot(12 - z_b_headroom, 25), -shifted_quarter);
    const int32_t r = AIOTC_MIN(r_a, r_b);
    const int32_t z_pow_2_adj = AIOTC_MAX(z_a_pow_2_adj, z_b_pow_2_adj);
    const int64_t half_sum = (int64_t)r + sqrt_sqrt_half;
    const int32_t p = (int32_t)((half_sum + (half_sum >= 0 ? 1 : -1)) / 2);
    const int32_t q = 2 * (r - sqrt_sqrt_half);
    const int32_t common_sq = aiotc_fp_mul(q, q);
    const int32_t num = aiotc_fp_mul(q, r) + aiotc_fp_mul(aiotc_fp_mul(q, common_sq), alpha_n);
    const int32_t denom_minus_one =
        aiotc_fp_mul(p, alpha_i + q + aiotc_fp_mul(alpha_d, common_sq)) + aiotc_fp_mul(alpha_f, q);
    const int32_t recip_denom = aiotc_fp_one_over_one_plus_x(denom_minus_one);
    const int32_t num_scaled = aiotc_fp_mul_by_pot(num, -6);
    return aiotc_fp_mul_by_pot(aiotc_fp_mul(z_pow_2_adj, log_2) + aiotc_fp_mul(num_scaled, recip_denom), 1);
}

int32_t aiotc_log_softmax_s8(const aiotc_log_softmax_params *params, int32_t rows, int32_t depth,
                             const int8_t *input, int8_t *output)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const int8_t *in = input + r * depth;
        int32_t max = -128, sum_q12 = 0, log_sum_q5, adjusted_diff_min;
        for (c = 0; c < depth; c++) {
            max = AIOTC_MAX(max, in[c]);
        }
        for (c = 0; c < depth; c++) {
            const int32_t diff = in[c] - max;
            if (diff >= params->diff_min) {
                const int32_t diff_q5 = aiotc_requantize(diff, params->input_multiplier, params->input_left_shift);
                sum_q12 += aiotc_fp_mul_by_pot(aiotc_fp_exp_on_negative_values(diff_q5, 5), -12);
            }
        }
        log_sum_q5 = log_q12_to_q5(sum_q12);
        /* The smallest Q5.26 value plus the log sum, in input steps: differences at or
         * below it saturate to the lowest output. */
        adjusted_diff_min = aiotc_requantize((int32_t)((uint32_t)log_sum_q5 + 0x80000000u), params->reverse_multiplier,
                                             params->reverse_shift);
        adjusted_diff_min = AIOTC_MAX(params->diff_min - 1, adjusted_diff_min);
        for (c = 0; c < depth; c++) {
            const int32_t diff = in[c] - max;
            if (diff > adjusted_diff_min) {
                const int32_t diff_q5 = aiotc_requantize(diff, params->input_multiplier, params->input_left_shift);
                const int32_t y = aiotc_rounding_divide_by_pot(diff_q5 - log_sum_q5, 31 - 5 - 4) + 127;
                *output++ = (int8_t)AIOTC_CLAMP(y, -128, 127);
            } else {
                *output++ = -128;
            }
        }
    }
    return AIOTC_OK;
}
