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
    int32_t n, h, w, c;
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const int8_t *in1 = input1 + n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const int8_t *in2 = input2 + n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    *output++ = mul_one(params, in1[c * shape->stride1.c], in2[c * shape->stride2.c]);
                }
            }
        }
    }
    return AIOTC_OK;
}
