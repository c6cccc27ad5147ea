/* int8 logistic in gemmlowp fixed point (input in Q4.27, output Q0 rescaled to
 * scale 1/256, zero point -128), as TFLite Micro's reference computes it. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_fixedpoint.h"

int32_t aiotc_logistic_s8(const aiotc_sigmoid_params *params, int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t x = input[i] - params->input_zero_point;
        int32_t value;
        if (x <= -params->input_range_radius) {
            value = -128;
        } else if (x >= params->input_range_radius) {
            value = 127;
        } else {
            const int32_t x_q4 = aiotc_requantize(x, params->input_multiplier, params->input_left_shift);
            value = aiotc_rounding_divide_by_pot(aiotc_fp_logistic(x_q4, 4), 23) - 128;
        }
        output[i] = (int8_t)AIOTC_CLAMP(value, -128, 127);
    }
    return AIOTC_OK;
}
