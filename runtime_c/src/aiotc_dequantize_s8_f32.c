/* int8 -> float32: scale * (in - zero_point), computed in double as TFLite's Dequantize does. */
#include "aiotc_nn_elementwise.h"

int32_t aiotc_dequantize_s8_f32(double scale, int32_t zero_point, int32_t size, const int8_t *input, float *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = (float)(scale * (double)(input[i] - zero_point));
    }
    return AIOTC_OK;
}
