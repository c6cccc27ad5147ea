/* int32 -> int8 QUANTIZE (TFLite Micro's Requantize). */
#include "aiotc_nn_requantize.h"

int32_t aiotc_requantize_s32_s8(const aiotc_requantize_params *params, int32_t size, const int32_t *input, int8_t *output)
{
    aiotc_requantize_loop(params, size, input, 4, output, 1);
    return AIOTC_OK;
}
