/* float32 binary math with broadcasting and the fused activation clamp, one function
 * per selector (AIOTC_MATH_MAXIMUM ...), each as TFLite's float reference computes it. */
#include <math.h>

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

static float math_maximum(float a, float b) { return a > b ? a : b; }
static float math_minimum(float a, float b) { return a < b ? a : b; }
static float math_div(float a, float b) { return a / b; }
static float math_squared_difference(float a, float b) { return (a - b) * (a - b); }
static float math_floor_div(float a, float b) { return floorf(a / b); }

static float math_floor_mod(float a, float b)
{
    const float mod = fmodf(a, b); /* the sign of a; floor mod takes the sign of b */
    return mod != 0.0f && ((b < 0.0f) != (mod < 0.0f)) ? mod + b : mod;
}

int32_t aiotc_binary_math_f32(int32_t op, const aiotc_activation_f32 *activation, const aiotc_broadcast_shape *shape,
                              const float *input1, const float *input2, float *output)
{
    static float (*const functions[AIOTC_MATH_BINARY_COUNT])(float, float) = {
        math_maximum, math_minimum, math_div, math_squared_difference, math_floor_div, math_floor_mod,
    };
    float (*f)(float, float);
    if (op < 0 || op >= AIOTC_MATH_BINARY_COUNT) {
        return AIOTC_ARG_ERROR;
    }
    f = functions[op];
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        const float result = f(input1[i1], input2[i2]);
        *output++ = AIOTC_CLAMP(result, activation->min, activation->max);
    });
    return AIOTC_OK;
}
