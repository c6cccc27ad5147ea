/* float32 unary math, one function per selector (AIOTC_MATH_ABS ...), each as
 * TFLite's float reference computes it. */
#include <math.h>

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

static float math_abs(float x) { return fabsf(x); }
static float math_neg(float x) { return -x; }
static float math_sqrt(float x) { return sqrtf(x); }
static float math_rsqrt(float x) { return 1.0f / sqrtf(x); }
static float math_square(float x) { return x * x; }
static float math_exp(float x) { return expf(x); }
static float math_log(float x) { return logf(x); }
static float math_sin(float x) { return sinf(x); }
static float math_cos(float x) { return cosf(x); }
static float math_ceil(float x) { return ceilf(x); }
static float math_floor(float x) { return floorf(x); }

static float math_round(float x)
{
    const float below = floorf(x);
    const float diff = x - below;
    if (diff < 0.5f || (diff == 0.5f && fmodf(below, 2.0f) == 0.0f)) {
        return below;
    }
    return below + 1.0f;
}

int32_t aiotc_math_f32(int32_t op, int32_t size, const float *input, float *output)
{
    static float (*const functions[AIOTC_MATH_UNARY_COUNT])(float) = {
        math_abs, math_neg, math_sqrt, math_rsqrt, math_square, math_exp,
        math_log, math_sin, math_cos, math_ceil, math_floor, math_round,
    };
    float (*f)(float);
    int32_t i;
    if (op < 0 || op >= AIOTC_MATH_UNARY_COUNT) {
        return AIOTC_ARG_ERROR;
    }
    f = functions[op];
    for (i = 0; i < size; i++) {
        output[i] = f(input[i]);
    }
    return AIOTC_OK;
}
