/* int8 cumulative sum (TFLite's reference CumSum): values rescaled as ADD rescales them,
 * summed in 2^20 steps, requantized per output. */
#include "aiotc_nn_activation.h"
#include "aiotc_nn_support.h"

int32_t aiotc_cumsum_s8(const aiotc_rescaled_sum_params *params, int32_t before, int32_t depth, int32_t after,
                        int32_t exclusive, int32_t reverse, const int8_t *input, int8_t *output)
{
    const int32_t scale = (int32_t)1 << params->left_shift;
    const int32_t start = aiotc_requantize(params->input_offset * scale, params->input.multiplier, params->input.shift);
    int32_t b, a, d;
    for (b = 0; b < before; b++) {
        for (a = 0; a < after; a++) {
            int32_t acc = start;
            for (d = 0; d < depth; d++) {
                const int32_t index = (b * depth + (reverse ? depth - 1 - d : d)) * after + a;
                const int32_t x = aiotc_requantize((params->input_offset + input[index]) * scale,
                                                   params->input.multiplier, params->input.shift);
                int32_t y;
                acc += exclusive ? 0 : x;
                y = aiotc_requantize(acc, params->output.multiplier, params->output.shift) + params->output_offset;
                acc += exclusive ? x : 0;
                output[index] = (int8_t)AIOTC_CLAMP(y, -128, 127);
            }
        }
    }
    return AIOTC_OK;
}
