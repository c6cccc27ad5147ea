/* float32 GELU, both of TFLite's forms (GeluOptions.approximate). */
#include <math.h>

#include "aiotc_nn_activation.h"

int32_t aiotc_gelu_f32(int32_t approximate, int32_t size, const float *input, float *output)
{
    const float sqrt_2_over_pi = 0.7978845608f, sqrt_half = 0.7071067812f;
    int32_t i;
    for (i = 0; i < size; i++) {
        const float x = input[i];
        const float gate = approximate ? tanhf(sqrt_2_over_pi * (x + 0.044715f * x * x * x)) : erff(x * sqrt_half);
        output[i] = 0.5f * x * (1.0f + gate);
    }
    return AIOTC_OK;
}
