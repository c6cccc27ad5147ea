/* float32 PReLU with broadcasting. */
#include "aiotc_nn_activation.h"

int32_t aiotc_prelu_f32(const aiotc_broadcast_shape *shape, const float *input, const float *alpha, float *output)
{
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        const float x = input[i1];
        *output++ = x >= 0.0f ? x : x * alpha[i2];
    });
    return AIOTC_OK;
}
