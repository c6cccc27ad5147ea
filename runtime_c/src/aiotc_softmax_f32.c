/* float32 softmax over the last dimension, as TFLite's reference computes it. */
#include <math.h>

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_softmax_f32(float beta, int32_t rows, int32_t depth, const float *input, float *output)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const float *in = input + r * depth;
        float *out = output + r * depth;
        float max = in[0], sum = 0.0f;
        for (c = 1; c < depth; c++) {
            max = AIOTC_MAX(max, in[c]);
        }
        for (c = 0; c < depth; c++) {
            out[c] = expf((in[c] - max) * beta);
            sum += out[c];
        }
        for (c = 0; c < depth; c++) {
            out[c] = out[c] / sum;
        }
    }
    return AIOTC_OK;
}
