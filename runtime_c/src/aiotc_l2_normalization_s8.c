/* int8 L2 normalization over rows (TFLite Micro's reference_integer_ops::L2Normalization):
 * 1/sqrt(sum of squares) as a multiplier by gemmlowp's Newton-Raphson
 * (GetInvSqrtQuantizedMultiplierExp), then each value times it, in Q7 (scale 1/128). */
#include "aiotc_nn_activation.h"
#include "aiotc_nn_fixedpoint.h"

/* 1/sqrt(input) as multiplier * 2^(shift - 31). */
static void inv_sqrt(int32_t input, int32_t *multiplier, int32_t *shift)
{
    const int32_t half_three = (1 << 28) + (1 << 27); /* 1.5 in Q3 */
    int32_t right_shift = 11, half_input, x, i, pairs;
    if (input <= 1) { /* 0 and 1 both give the largest multiplier, as in TFLite */
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    while (input >= (1 << 29)) {
        input /= 4;
        right_shift++;
    }
    pairs = (aiotc_count_leading_zeros((uint32_t)input) - 1) / 2 - 1;
    right_shift -= pairs;
    input <<= 2 * pairs; /* now in [2^27, 2^29) */
    half_input = aiotc_fp_mul_by_pot(input >> 1, -1);
    x = 1 << 28; /* 1 in Q3 */
    for (i = 0; i < 5; i++) { /* x = 1.5 x - input/2 x^3, all in Q3 */
        const int32_t x3 = aiotc_fp_mul_by_pot(aiotc_fp_mul(aiotc_fp_mul(x, x), x), 6);
        x = aiotc_fp_mul_by_pot(aiotc_fp_mul(half_three, x) - aiotc_fp_mul(half_input, x3), 3);
    }
    x = aiotc_fp_mul(x, 1518500250); /* sqrt(2) / 2 in Q0 */
    if (right_shift < 0) {
        x = (int32_t)((uint32_t)x << -right_shift);
        right_shift = 0;
    }
    *multiplier = x;
    *shift = -right_shift;
}

int32_t aiotc_l2_normalization_s8(int32_t input_offset, int32_t rows, int32_t depth, const int8_t *input,
                                  int8_t *output)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const int8_t *in = input + r * depth;
        int32_t sum = 0, multiplier, shift;
        for (c = 0; c < depth; c++) {
            const int32_t x = in[c] + input_offset;
            sum += x * x;
        }
        inv_sqrt(sum, &multiplier, &shift);
        for (c = 0; c < depth; c++) {
            const int32_t y = aiotc_requantize(in[c] + input_offset, multiplier, shift + 7);
            *output++ = (int8_t)AIOTC_CLAMP(y, -128, 127);
        }
    }
    return AIOTC_OK;
}
