/* int8 multiplication: the product of the offset inputs requantized to the output,
 * as TFLite Micro's reference computes it. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

static inline int8_t mul_one(const aiotc_arith_params *p, int32_t a, int32_t b)
{
    const int32_t product = (a + p->input1_offset) * (b + p->input2_offset);
    const int32_t result = aiotc_requantize(product, p->output.multiplier, p->output.shift) + p->output_offset;
    return (int8_t)AIOTC_CLAMP(result, p->activation.min, p->activation.max);
}

int32_t aiotc_mul_s8(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape, const int8_t *input1,
                     const int8_t *input2, int8_t *output)
{
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        *output++ = mul_one(params, input1[i1], input2[i2]);
    });
    return AIOTC_OK;
}
