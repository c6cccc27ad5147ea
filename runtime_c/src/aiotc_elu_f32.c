/* float32 ELU (alpha 1): x < 0 ? expm1(x) : x. */
#include <math.h>

#include "aiotc_nn_activation.h"

int32_t aiotc_elu_f32(int32_t size, const float *input, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const float x = input[i];
        output[i] = x < 0.0f ? expm1f(x) : x;
    }
    return AIOTC_OK;
}
