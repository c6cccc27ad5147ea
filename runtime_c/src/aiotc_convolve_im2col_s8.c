/* int8 convolution (groups 1, any kernel, stride, dilation and padding) as a matrix
 * product: the input taps of two output pixels are gathered into int8 columns in the
 * scratch buffer (padded taps hold the input zero point, which the folded bias
 * cancels), then the shared gemm multiplies them by the weight rows (the driver:
 * aiotc_nn_conv_gemm.h). */
#include "aiotc_nn_conv_gemm.h"

int32_t aiotc_convolve_im2col_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims)
{
    return AIOTC_CONV_IM2COL_BUFFER(filter_dims->h * filter_dims->w * input_dims->c);
}

int32_t aiotc_convolve_im2col_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                 const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                 const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                 const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    return aiotc_conv_im2col_gemm(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias,
                                 output_dims, output, 0);
}
