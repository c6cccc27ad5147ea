/* float32 leaky ReLU. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_leaky_relu_f32(float alpha, int32_t size, const float *input, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const float x = input[i];
        output[i] = x > 0.0f ? x : alpha * x;
    }
    return AIOTC_OK;
}
