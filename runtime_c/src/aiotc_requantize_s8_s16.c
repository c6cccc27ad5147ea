/* int8 -> int16 QUANTIZE (TFLite Micro's Requantize): into a 16x8 layer. */
#include "aiotc_nn_requantize.h"

int32_t aiotc_requantize_s8_s16(const aiotc_requantize_params *params, int32_t size, const int8_t *input,
                                int16_t *output)
{
    aiotc_requantize_loop(params, size, input, 1, output, 2);
    return AIOTC_OK;
}
