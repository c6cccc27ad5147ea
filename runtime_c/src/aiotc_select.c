/* SELECT_V2 with broadcasting over condition and both inputs: each output element is
 * copied from input1 where the condition holds, else from input2. */
#include <string.h>

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_select(int32_t element_size, const aiotc_select_shape *shape, const uint8_t *condition,
                     const void *input1, const void *input2, void *output)
{
    const uint8_t *x = (const uint8_t *)input1;
    const uint8_t *y = (const uint8_t *)input2;
    uint8_t *out = (uint8_t *)output;
    const size_t size = (size_t)element_size;
    int32_t n, h, w, c;
    if (element_size <= 0) {
        return AIOTC_ARG_ERROR;
    }
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const int32_t cond = n * shape->condition.n + h * shape->condition.h + w * shape->condition.w;
                const int32_t in1 = n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const int32_t in2 = n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    const uint8_t *from = condition[cond + c * shape->condition.c]
                                              ? x + (size_t)(in1 + c * shape->stride1.c) * size
                                              : y + (size_t)(in2 + c * shape->stride2.c) * size;
                    memcpy(out, from, size);
                    out += size;
                }
            }
        }
    }
    return AIOTC_OK;
}
