/* int8 comparisons with broadcasting: both inputs rescaled to one scale by their tables,
 * as TFLite Micro's ComparisonWithScaling does, then compared; bool (0/1) output. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_compare_s8(int32_t op, const aiotc_broadcast_shape *shape, const int32_t *table1, const int32_t *table2,
                         const int8_t *input1, const int8_t *input2, uint8_t *output)
{
    if (op < 0 || op >= AIOTC_COMPARE_COUNT) {
        return AIOTC_ARG_ERROR;
    }
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        const int32_t a = table1[(uint8_t)input1[i1]];
        const int32_t b = table2[(uint8_t)input2[i2]];
        *output++ = (uint8_t)AIOTC_COMPARE(op, a, b);
    });
    return AIOTC_OK;
}
