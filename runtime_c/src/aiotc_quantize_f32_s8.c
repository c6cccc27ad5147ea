/* float32 -> int8 quantization: round(in / scale) half away from zero, plus the zero
 * point, clamped (TFLite's AffineQuantize, division in float). */
#include <math.h>

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_quantize_f32_s8(float scale, int32_t zero_point, int32_t size, const float *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t value = (int32_t)roundf(input[i] / scale) + zero_point;
        output[i] = (int8_t)AIOTC_CLAMP(value, -128, 127);
    }
    return AIOTC_OK;
}
