/* int16 -> int32 QUANTIZE (TFLite Micro's Requantize). */
#include "aiotc_nn_requantize.h"

int32_t aiotc_requantize_s16_s32(const aiotc_requantize_params *params, int32_t size, const int16_t *input,
                                 int32_t *output)
{
    aiotc_requantize_loop(params, size, input, 2, output, 4);
    return AIOTC_OK;
}
