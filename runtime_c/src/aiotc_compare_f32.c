/* float32 comparisons with broadcasting; bool (0/1) output. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_compare_f32(int32_t op, const aiotc_broadcast_shape *shape, const float *input1, const float *input2,
                          uint8_t *output)
{
    if (op < 0 || op >= AIOTC_COMPARE_COUNT) {
        return AIOTC_ARG_ERROR;
    }
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        const float a = input1[i1];
        const float b = input2[i2];
        *output++ = (uint8_t)AIOTC_COMPARE(op, a, b);
    });
    return AIOTC_OK;
}
