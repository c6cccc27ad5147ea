/* int8 leaky ReLU: one multiplier for the positive side, one (alpha) for the negative,
 * as TFLite Micro's QuantizeLeakyRelu computes it. */
#include "aiotc_nn_requantize.h"

int32_t aiotc_leaky_relu_s8(const aiotc_leaky_relu_params *params, int32_t size, const int8_t *input,
                            int8_t *output)
{
    aiotc_leaky_relu_loop(params, size, input, output, 1);
    return AIOTC_OK;
}
