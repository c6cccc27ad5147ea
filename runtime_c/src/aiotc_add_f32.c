/* float32 elementwise add with broadcasting and the fused activation clamp. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

static inline float add_one(const aiotc_activation_f32 *act, float a, float b)
{
    const float result = a + b;
    return AIOTC_CLAMP(result, act->min, act->max);
}

int32_t aiotc_add_f32(const aiotc_activation_f32 *activation, const aiotc_broadcast_shape *shape, const float *input1,
                      const float *input2, float *output)
{
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        *output++ = add_one(activation, input1[i1], input2[i2]);
    });
    return AIOTC_OK;
}
