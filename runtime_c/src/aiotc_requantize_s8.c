/* int8 -> int8 requantization with a clamp: TFLite Micro's ReluQuantized, Relu6Quantized
 * (an identity multiplier) and Requantize, in one kernel. */
#include "aiotc_nn_requantize.h"

int32_t aiotc_requantize_s8(const aiotc_requantize_params *params, int32_t size, const int8_t *input,
                            int8_t *output)
{
    aiotc_requantize_loop(params, size, input, 1, output, 1);
    return AIOTC_OK;
}
