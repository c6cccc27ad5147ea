/* int8 squared difference with broadcasting, as TFLite Micro computes it: each input
 * rescaled by a table of its 256 values (table[(uint8_t)x]), the difference squared,
 * then requantized to the output. Uses params->output and output_offset only. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

static inline int8_t squared_difference_one(const aiotc_arith_params *p, int32_t a, int32_t b)
{
    const int32_t diff = a - b;
    const int32_t result = aiotc_requantize(diff * diff, p->output.multiplier, p->output.shift) + p->output_offset;
    return (int8_t)AIOTC_CLAMP(result, INT8_MIN, INT8_MAX);
}

int32_t aiotc_squared_difference_s8(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape,
                                    const int32_t *table1, const int32_t *table2, const int8_t *input1,
                                    const int8_t *input2, int8_t *output)
{
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        *output++ = squared_difference_one(params, table1[(uint8_t)input1[i1]],
                                           table2[(uint8_t)input2[i2]]);
    });
    return AIOTC_OK;
}
