/* float32 clamp: RELU (min 0) and RELU6 (min 0, max 6). */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_clamp_f32(float min, float max, int32_t size, const float *input, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const float x = input[i];
        output[i] = AIOTC_CLAMP(x, min, max);
    }
    return AIOTC_OK;
}
