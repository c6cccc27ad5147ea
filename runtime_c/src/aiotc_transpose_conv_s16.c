/* 16x8 transposed convolution: TFLite's reference integer TransposeConv for int16
 * activations (int64 sums, no zero points), requantized as aiotc_convolve_s16 does
 * (reduced multiplier, scaled bias: aiotc_nn_gemm_s16.h). */
#include "aiotc_nn_transpose_conv.h"

int32_t aiotc_transpose_conv_s16(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const aiotc_dims *input_dims, const int16_t *input, const aiotc_dims *filter_dims,
                                 const int8_t *filter, const int64_t *scaled_bias, const aiotc_dims *output_dims,
                                 int16_t *output)
{
    aiotc_transpose_args a;
    memset(&a, 0, sizeof a);
    a.stride = params->stride;
    a.padding = params->padding;
    a.act_min = params->activation.min;
    a.act_max = params->activation.max;
    a.quant = quant_params;
    a.bias = scaled_bias;
    return aiotc_transpose_conv_loop(&a, AIOTC_TRANSPOSE_S16, input_dims, input, filter_dims, filter, output_dims,
                                     output);
}
