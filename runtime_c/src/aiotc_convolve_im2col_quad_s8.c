/* int8 convolution (groups 1, any kernel, stride, dilation and padding) 4 output pixels
 * per pass over the weights on the DSP path: each pixel's taps widened into a quad of
 * columns (straight from the image where channels are whole words, else gathered as bytes
 * first: a first layer's 1-3 channels), then aiotc_gemm_quad; the pair kernel
 * (aiotc_convolve_im2col_s8) elsewhere. Chosen for rows of QUAD_ROW inputs and more on DSP cores
 * (aiotc/kernels.py; the driver: aiotc_nn_gemm_quad.h). */
#include "aiotc_nn_gemm_quad.h"

int32_t aiotc_convolve_im2col_quad_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims)
{
    return AIOTC_CONV_IM2COL_QUAD_BUFFER(filter_dims->h * filter_dims->w * input_dims->c, input_dims->c);
}

int32_t aiotc_convolve_im2col_quad_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                      const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                      const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    return aiotc_conv_im2col_quads(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims,
                                   output);
}
