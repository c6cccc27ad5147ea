/* 1x1 convolution with int4 weights (w4a8), packed by the lowering for aiotc_gemm_s4
 * (aiotc_nn_gemm_s4.h): the int8 kernel's driver and columns, the int4 gemm. */
#include "aiotc_nn_conv_gemm.h"

int32_t aiotc_convolve_1x1_s4_get_buffer_size(const aiotc_dims *input_dims)
{
    return AIOTC_CONV_1X1_BUFFER(input_dims->c);
}

int32_t aiotc_convolve_1x1_s4(const aiotc_context *ctx, const aiotc_conv_params *params,
                              const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                              const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                              const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    return aiotc_conv_1x1_gemm(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias,
                              output_dims, output, 1);
}
