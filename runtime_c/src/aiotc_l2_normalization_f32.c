/* float32 L2 normalization over rows; the norm is at least 1e-6, as in TFLite Micro. */
#include <math.h>

#include "aiotc_nn_activation.h"

int32_t aiotc_l2_normalization_f32(int32_t rows, int32_t depth, const float *input, float *output)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const float *in = input + r * depth;
        float sum = 0.0f, norm;
        for (c = 0; c < depth; c++) {
            sum += in[c] * in[c];
        }
        norm = sqrtf(sum);
        norm = norm > 1e-6f ? norm : 1e-6f;
        for (c = 0; c < depth; c++) {
            *output++ = in[c] / norm;
        }
    }
    return AIOTC_OK;
}
