/* int8 1x1 convolution (any stride, no padding): every output pixel is its input pixel's
 * channels times the weight matrix, so there is no im2col; the DSP path widens two
 * input pixels to int16 in the scratch buffer and runs the shared 2x2 gemm over them
 * (the driver: aiotc_nn_conv_gemm.h). */
#include "aiotc_nn_conv_gemm.h"

int32_t aiotc_convolve_1x1_s8_get_buffer_size(const aiotc_dims *input_dims)
{
    return AIOTC_CONV_1X1_BUFFER(input_dims->c);
}

int32_t aiotc_convolve_1x1_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                              const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                              const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                              const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    return aiotc_conv_1x1_gemm(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias,
                              output_dims, output, 0);
}
