/* int16 leaky ReLU: TFLite Micro's QuantizeLeakyRelu<int16_t>, the int8 arithmetic
 * clamped to the int16 range. */
#include "aiotc_nn_requantize.h"

int32_t aiotc_leaky_relu_s16(const aiotc_leaky_relu_params *params, int32_t size, const int16_t *input,
                             int16_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t value = aiotc_leaky_relu_value(params, input[i]);
        output[i] = (int16_t)AIOTC_CLAMP(value, -32768, 32767);
    }
    return AIOTC_OK;
}
