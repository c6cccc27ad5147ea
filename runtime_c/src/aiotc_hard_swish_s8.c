/* int8 hard swish, x * relu6(x + 3) / 6, in int16 fixed point as TFLite Micro's
 * reference HardSwish computes it (see the comments there for the saturation details). */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

static int16_t sat_rounding_doubling_high_mul16(int16_t a, int16_t b)
{
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : (1 - (1 << 14));
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)((ab + nudge) / (1 << 15));
}

static int16_t sat_doubling_high_mul16(int16_t a, int16_t b)
{
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

static int16_t sat_left_shift16(int16_t value, int32_t amount)
{
    const int32_t result = (int32_t)value * (1 << amount);
    return (int16_t)AIOTC_CLAMP(result, INT16_MIN, INT16_MAX);
}

static int16_t rounding_divide_by_pot16(int16_t x, int32_t exponent)
{
    const int16_t mask = (int16_t)((1 << exponent) - 1);
    const int16_t remainder = (int16_t)(x & mask);
    const int16_t threshold = (int16_t)((mask >> 1) + (x < 0 ? 1 : 0));
    return (int16_t)((x >> exponent) + (remainder > threshold ? 1 : 0));
}

int32_t aiotc_hard_swish_s8(const aiotc_hard_swish_params *params, int32_t size, const int8_t *input,
                            int8_t *output)
{
    const int16_t reluish_multiplier = (int16_t)params->reluish_multiplier;
    const int16_t output_multiplier = (int16_t)params->output_multiplier;
    int32_t i;
    for (i = 0; i < size; i++) {
        const int16_t hires = (int16_t)((input[i] - params->input_zero_point) * (1 << 7));
        const int16_t preshift_output = sat_rounding_doubling_high_mul16(hires, output_multiplier);
        int16_t reluish = hires;
        int32_t value;
        if (params->reluish_exponent > 0) {
            reluish = sat_left_shift16(reluish, params->reluish_exponent - 1);
        }
        reluish = sat_rounding_doubling_high_mul16(reluish, reluish_multiplier);
        if (params->reluish_exponent > 0) {
            reluish = sat_left_shift16(reluish, 1);
        }
        if (params->reluish_exponent < 0) {
            reluish = rounding_divide_by_pot16(reluish, -params->reluish_exponent);
        }
        reluish = (int16_t)((reluish + (1 << 15)) >> 1); /* [-1, 1] -> [0, 1] */
        value = rounding_divide_by_pot16(sat_doubling_high_mul16(reluish, preshift_output), -params->output_exponent);
        value += params->output_zero_point;
        output[i] = (int8_t)AIOTC_CLAMP(value, -128, 127);
    }
    return AIOTC_OK;
}
