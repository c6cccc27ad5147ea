/* int8 -> int8 requantization with a clamp: TFLite Micro's ReluQuantized, Relu6Quantized
 * (an identity multiplier) and Requantize, in one kernel. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_requantize_s8(const aiotc_requantize_params *params, int32_t size, const int8_t *input,
                            int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        int32_t value = aiotc_requantize(input[i] + params->input_offset, params->quant.multiplier, params->quant.shift);
        value += params->output_offset;
        output[i] = (int8_t)AIOTC_CLAMP(value, params->activation.min, params->activation.max);
    }
    return AIOTC_OK;
}
