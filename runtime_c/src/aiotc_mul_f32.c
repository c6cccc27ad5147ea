/* float32 elementwise mul with broadcasting and the fused activation clamp. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

static inline float mul_one(const aiotc_activation_f32 *act, float a, float b)
{
    const float result = a * b;
    return AIOTC_CLAMP(result, act->min, act->max);
}

int32_t aiotc_mul_f32(const aiotc_activation_f32 *activation, const aiotc_broadcast_shape *shape, const float *input1,
                      const float *input2, float *output)
{
    int32_t n, h, w, c;
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const float *in1 = input1 + n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const float *in2 = input2 + n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    *output++ = mul_one(activation, in1[c * shape->stride1.c], in2[c * shape->stride2.c]);
                }
            }
        }
    }
    return AIOTC_OK;
}
