/* int8 sum of N same-quantized inputs (TFLite's reference AddN): each input rescaled as
 * ADD rescales it, summed, requantized. TFLite's accumulator starts from the rescaled
 * input offset rather than 0; kept here, as the outputs must match bit for bit. */
#include "aiotc_nn_activation.h"
#include "aiotc_nn_support.h"

int32_t aiotc_add_n_s8(const aiotc_rescaled_sum_params *params, int32_t count, int32_t size, const int8_t *const *inputs,
                       int8_t *output)
{
    const int32_t scale = (int32_t)1 << params->left_shift;
    const int32_t start = aiotc_requantize(params->input_offset * scale, params->input.multiplier, params->input.shift);
    int32_t i, j;
    for (i = 0; i < size; i++) {
        int32_t acc = start, y;
        for (j = 0; j < count; j++) {
            acc += aiotc_requantize((params->input_offset + inputs[j][i]) * scale, params->input.multiplier,
                                    params->input.shift);
        }
        y = aiotc_requantize(acc, params->output.multiplier, params->output.shift) + params->output_offset;
        output[i] = (int8_t)AIOTC_CLAMP(y, -128, 127);
    }
    return AIOTC_OK;
}
