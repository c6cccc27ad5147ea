/* int8 leaky ReLU: one multiplier for the positive side, one (alpha) for the negative,
 * as TFLite Micro's QuantizeLeakyRelu computes it. */
#include "aiotc_nn_requantize.h"

int32_t aiotc_leaky_relu_s8(const aiotc_leaky_relu_params *params, int32_t size, const int8_t *input,
                            int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t value = aiotc_leaky_relu_value(params, input[i]);
        output[i] = (int8_t)AIOTC_CLAMP(value, -128, 127);
    }
    return AIOTC_OK;
}
