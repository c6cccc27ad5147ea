/* int16 leaky ReLU: TFLite Micro's QuantizeLeakyRelu<int16_t>, the int8 arithmetic
 * clamped to the int16 range. */
#include "aiotc_nn_requantize.h"

int32_t aiotc_leaky_relu_s16(const aiotc_leaky_relu_params *params, int32_t size, const int16_t *input,
                             int16_t *output)
{
    aiotc_leaky_relu_loop(params, size, input, output, 2);
    return AIOTC_OK;
}
