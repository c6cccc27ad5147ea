/* int8 -> float32: scale * (in - zero_point). TFLite's Dequantize multiplies in double and
 * rounds to float; the product of a float32 scale and an integer of at most 9 bits is exact
 * in double, so that is one float32 multiply, correctly rounded, on a single-precision FPU.
 * MVE (with floating point): four lanes per multiply, then the last 0-3 one by one. */
#include "aiotc_nn_elementwise.h"

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#include <arm_mve.h>
#endif

int32_t aiotc_dequantize_s8_f32(float scale, int32_t zero_point, int32_t size, const int8_t *input, float *output)
{
    int32_t i = 0;
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
    for (; i + 4 <= size; i += 4) {
        const float32x4_t x = vcvtq_f32_s32(vsubq_n_s32(vldrbq_s32(input + i), zero_point));
        vstrwq_f32(output + i, vmulq_n_f32(x, scale));
    }
#endif
    for (; i < size; i++) {
        output[i] = scale * (float)(input[i] - zero_point);
    }
    return AIOTC_OK;
}
