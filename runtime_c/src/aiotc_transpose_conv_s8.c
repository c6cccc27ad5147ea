/* int8 transposed convolution: TFLite's reference integer TransposeConv (per-channel
 * requantization of sum((input + input_offset) * filter) + bias). */
#include "aiotc_nn_transpose_conv.h"

int32_t aiotc_transpose_conv_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    aiotc_transpose_args a;
    memset(&a, 0, sizeof a);
    a.stride = params->stride;
    a.padding = params->padding;
    a.input_offset = params->input_offset;
    a.output_offset = params->output_offset;
    a.act_min = params->activation.min;
    a.act_max = params->activation.max;
    a.quant = quant_params;
    a.bias = bias;
    return aiotc_transpose_conv_loop(&a, AIOTC_TRANSPOSE_S8, input_dims, input, filter_dims, filter, output_dims, output);
}
