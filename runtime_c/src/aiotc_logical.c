/* LOGICAL_AND / LOGICAL_OR of bool (0/1) tensors with broadcasting. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_logical(int32_t op, const aiotc_broadcast_shape *shape, const uint8_t *input1, const uint8_t *input2,
                      uint8_t *output)
{
    if (op != AIOTC_LOGICAL_AND && op != AIOTC_LOGICAL_OR) {
        return AIOTC_ARG_ERROR;
    }
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        const int32_t a = input1[i1] != 0;
        const int32_t b = input2[i2] != 0;
        *output++ = (uint8_t)(op == AIOTC_LOGICAL_AND ? a && b : a || b);
    });
    return AIOTC_OK;
}
