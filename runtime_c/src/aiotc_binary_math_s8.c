/* int8 MAXIMUM / MINIMUM with broadcasting: raw values compared, as TFLite Micro does
 * (inputs and output share one quantization). */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_binary_math_s8(int32_t op, const aiotc_broadcast_shape *shape, const int8_t *input1, const int8_t *input2,
                             int8_t *output)
{
    if (op != AIOTC_MATH_MAXIMUM && op != AIOTC_MATH_MINIMUM) {
        return AIOTC_ARG_ERROR;
    }
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        const int32_t a = input1[i1];
        const int32_t b = input2[i2];
        *output++ = (int8_t)(op == AIOTC_MATH_MAXIMUM ? AIOTC_MAX(a, b) : AIOTC_MIN(a, b));
    });
    return AIOTC_OK;
}
