/* int8 1x1 convolution (any stride, no padding) 4 output pixels per pass over the weights
 * on the DSP path: each pixel's channels widened into a quad of columns in the scratch,
 * then aiotc_gemm_quad; the pair kernel (aiotc_convolve_1x1_s8) elsewhere. Chosen for rows
 * of QUAD_ROW inputs and more on DSP cores (aiotc/kernels.py; the driver: aiotc_nn_gemm_quad.h). */
#include "aiotc_nn_gemm_quad.h"

int32_t aiotc_convolve_1x1_quad_s8_get_buffer_size(const aiotc_dims *input_dims)
{
    return AIOTC_CONV_QUAD_BUFFER(input_dims->c);
}

int32_t aiotc_convolve_1x1_quad_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                   const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                   const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    return aiotc_conv_1x1_quads(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims, output);
}
