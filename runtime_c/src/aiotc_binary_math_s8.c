/* int8 MAXIMUM / MINIMUM with broadcasting: raw values compared, as TFLite Micro does
 * (inputs and output share one quantization). */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_binary_math_s8(int32_t op, const aiotc_broadcast_shape *shape, const int8_t *input1, const int8_t *input2,
                             int8_t *output)
{
    int32_t n, h, w, c;
    if (op != AIOTC_MATH_MAXIMUM && op != AIOTC_MATH_MINIMUM) {
        return AIOTC_ARG_ERROR;
    }
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const int8_t *in1 = input1 + n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const int8_t *in2 = input2 + n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    const int32_t a = in1[c * shape->stride1.c];
                    const int32_t b = in2[c * shape->stride2.c];
                    *output++ = (int8_t)(op == AIOTC_MATH_MAXIMUM ? AIOTC_MAX(a, b) : AIOTC_MIN(a, b));
                }
            }
        }
    }
    return AIOTC_OK;
}
