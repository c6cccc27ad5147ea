/* float32 log softmax over rows: x - max - log(sum exp(x - max)), in TFLite's order. */
#include <float.h>
#include <math.h>

#include "aiotc_nn_activation.h"

int32_t aiotc_log_softmax_f32(int32_t rows, int32_t depth, const float *input, float *output)
{
    int32_t r, c;
    for (r = 0; r < rows; r++) {
        const float *in = input + r * depth;
        float max = -FLT_MAX, sum = 0.0f, log_sum;
        for (c = 0; c < depth; c++) {
            max = in[c] > max ? in[c] : max;
        }
        for (c = 0; c < depth; c++) {
            sum += expf(in[c] - max);
        }
        log_sum = logf(sum);
        for (c = 0; c < depth; c++) {
            *output++ = in[c] - max - log_sum;
        }
    }
    return AIOTC_OK;
}
