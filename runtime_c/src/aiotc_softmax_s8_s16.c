/* int8 softmax with an int16 output (scale 1/65536, zero point -32768; aiotc_nn_softmax.h). */
#include "aiotc_nn_softmax.h"

int32_t aiotc_softmax_s8_s16(const aiotc_softmax_params *params, int32_t rows, int32_t depth, const int8_t *input,
                             int16_t *output)
{
    aiotc_softmax_loop(params, rows, depth, input, output, 2);
    return AIOTC_OK;
}
