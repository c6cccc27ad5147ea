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
    int32_t n, h, w, c;
    if (op < 0 || op >= AIOTC_MATH_BINARY_COUNT) {
        return AIOTC_ARG_ERROR;
    }
    f = functions[op];
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const float *in1 = input1 + n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const float *in2 = input2 + n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    const float result = f(in1[c * shape->stride1.c], in2[c * shape->stride2.c]);
                    *output++ = AIOTC_CLAMP(result, activation->min, activation->max);
                }
            }
        }
    }
    return AIOTC_OK;
}
