/* float32 hard swish: x * relu6(x + 3) / 6. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_hard_swish_f32(int32_t size, const float *input, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const float x = input[i];
        output[i] = x * AIOTC_CLAMP(x + 3.0f, 0.0f, 6.0f) / 6.0f;
    }
    return AIOTC_OK;
}
