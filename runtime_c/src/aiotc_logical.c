/* LOGICAL_AND / LOGICAL_OR of bool (0/1) tensors with broadcasting. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_logical(int32_t op, const aiotc_broadcast_shape *shape, const uint8_t *input1, const uint8_t *input2,
                      uint8_t *output)
{
    int32_t n, h, w, c;
    if (op != AIOTC_LOGICAL_AND && op != AIOTC_LOGICAL_OR) {
        return AIOTC_ARG_ERROR;
    }
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const uint8_t *in1 = input1 + n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const uint8_t *in2 = input2 + n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    const int32_t a = in1[c * shape->stride1.c] != 0;
                    const int32_t b = in2[c * shape->stride2.c] != 0;
                    *output++ = (uint8_t)(op == AIOTC_LOGICAL_AND ? a && b : a || b);
                }
            }
        }
    }
    return AIOTC_OK;
}
