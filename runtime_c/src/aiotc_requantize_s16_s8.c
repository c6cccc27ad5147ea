/* int16 -> int8 QUANTIZE (TFLite Micro's Requantize): out of a 16x8 layer. */
#include "aiotc_nn_requantize.h"

int32_t aiotc_requantize_s16_s8(const aiotc_requantize_params *params, int32_t size, const int16_t *input,
                                int8_t *output)
{
    aiotc_requantize_loop(params, size, input, 2, output, 1);
    return AIOTC_OK;
}
