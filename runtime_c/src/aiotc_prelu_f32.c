/* float32 PReLU with broadcasting. */
#include "aiotc_nn_activation.h"

int32_t aiotc_prelu_f32(const aiotc_broadcast_shape *shape, const float *input, const float *alpha, float *output)
{
    int32_t n, h, w, c;
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const float *in = input + n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const float *al = alpha + n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    const float x = in[c * shape->stride1.c];
                    *output++ = x >= 0.0f ? x : x * al[c * shape->stride2.c];
                }
            }
        }
    }
    return AIOTC_OK;
}
