/* int8 softmax over the last dimension (aiotc_nn_softmax.h). */
#include "aiotc_nn_softmax.h"

int32_t aiotc_softmax_s8(const aiotc_softmax_params *params, int32_t rows, int32_t depth, const int8_t *input,
                         int8_t *output)
{
    aiotc_softmax_loop(params, rows, depth, input, output, 1);
    return AIOTC_OK;
}
