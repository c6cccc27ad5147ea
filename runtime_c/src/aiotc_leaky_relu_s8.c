/* int8 leaky ReLU: one multiplier for the positive side, one (alpha) for the negative,
 * as TFLite Micro's QuantizeLeakyRelu computes it. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_leaky_relu_s8(const aiotc_leaky_relu_params *params, int32_t size, const int8_t *input,
                            int8_t *output)
{
    const int32_t alpha_negative = params->alpha.multiplier < 0;
    const int32_t alpha_multiplier = alpha_negative ? -params->alpha.multiplier : params->alpha.multiplier;
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t x = input[i] + params->input_offset;
        int32_t value = params->output_offset;
        if (x >= 0) {
            value += aiotc_requantize(x, params->identity.multiplier, params->identity.shift);
        } else {
            const int32_t scaled = aiotc_requantize(x, alpha_multiplier, params->alpha.shift);
            value += alpha_negative ? -scaled : scaled;
        }
        output[i] = (int8_t)AIOTC_CLAMP(value, -128, 127);
    }
    return AIOTC_OK;
}
