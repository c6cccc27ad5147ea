/* float32 -> int8 quantization: round(in / scale) half away from zero, plus the zero
 * point, clamped (TFLite's AffineQuantize, division in float). Where the core saturates
 * in one instruction (SSAT: M4, M55), the clamp is that instruction. */
#include <math.h>

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

#if defined(__ARM_FEATURE_SAT)
#include <arm_acle.h>
#endif

int32_t aiotc_quantize_f32_s8(float scale, int32_t zero_point, int32_t size, const float *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t value = (int32_t)roundf(input[i] / scale) + zero_point;
#if defined(__ARM_FEATURE_SAT)
        output[i] = (int8_t)__ssat(value, 8);
#else
        output[i] = (int8_t)AIOTC_CLAMP(value, -128, 127);
#endif
    }
    return AIOTC_OK;
}
