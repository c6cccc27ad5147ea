/* float32 arg max / arg min along the middle axis of [outer, axis_size, inner]: the first
 * extreme wins. Plain comparisons, as tflite-micro's GreaterFn / LessFn: a NaN never
 * replaces the best value, and a leading NaN stays best. */
#include "aiotc_nn_reduce.h"

int32_t aiotc_arg_min_max_f32(const aiotc_arg_min_max_params *params, int32_t outer, int32_t axis_size,
                              int32_t inner, const float *input, int32_t *output)
{
    int32_t o, j, i;
    for (o = 0; o < outer; o++) {
        for (j = 0; j < inner; j++) {
            const float *x = input + o * axis_size * inner + j;
            float best = x[0];
            int32_t index = 0;
            for (i = 1; i < axis_size; i++) {
                const float v = x[i * inner];
                if (params->is_max ? v > best : v < best) {
                    best = v;
                    index = i;
                }
            }
            *output++ = index;
        }
    }
    return AIOTC_OK;
}
