/* float32 comparisons with broadcasting; bool (0/1) output. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_compare_f32(int32_t op, const aiotc_broadcast_shape *shape, const float *input1, const float *input2,
                          uint8_t *output)
{
    int32_t n, h, w, c;
    if (op < 0 || op >= AIOTC_COMPARE_COUNT) {
        return AIOTC_ARG_ERROR;
    }
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const float *in1 = input1 + n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const float *in2 = input2 + n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    const float a = in1[c * shape->stride1.c];
                    const float b = in2[c * shape->stride2.c];
                    *output++ = (uint8_t)AIOTC_COMPARE(op, a, b);
                }
            }
        }
    }
    return AIOTC_OK;
}
