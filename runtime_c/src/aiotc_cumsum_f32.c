/* float32 cumulative sum, each lane summed from 0 in TFLite's order. */
#include "aiotc_nn_activation.h"

int32_t aiotc_cumsum_f32(int32_t before, int32_t depth, int32_t after, int32_t exclusive, int32_t reverse,
                         const float *input, float *output)
{
    int32_t b, a, d;
    for (b = 0; b < before; b++) {
        for (a = 0; a < after; a++) {
            float acc = 0.0f;
            for (d = 0; d < depth; d++) {
                const int32_t index = (b * depth + (reverse ? depth - 1 - d : d)) * after + a;
                const float x = input[index];
                if (exclusive) {
                    output[index] = acc;
                    acc += x;
                } else {
                    acc += x;
                    output[index] = acc;
                }
            }
        }
    }
    return AIOTC_OK;
}
