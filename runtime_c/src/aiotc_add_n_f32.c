/* float32 sum of N inputs, added in input order from 0 as TFLite does. */
#include "aiotc_nn_activation.h"

int32_t aiotc_add_n_f32(int32_t count, int32_t size, const float *const *inputs, float *output)
{
    int32_t i, j;
    for (i = 0; i < size; i++) {
        float acc = 0.0f;
        for (j = 0; j < count; j++) {
            acc += inputs[j][i];
        }
        output[i] = acc;
    }
    return AIOTC_OK;
}
