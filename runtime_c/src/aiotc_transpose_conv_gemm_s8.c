/* int8 transposed convolution as one ordinary convolution per stride phase (the
 * declaration in aiotc_nn_conv.h says how): per phase, the taps of two output pixels
 * gathered into columns (aiotc_im2col_column), then the shared gemm with the phase's
 * weights and folded bias. The loop: aiotc_transpose_conv_phases. */
#include "aiotc_nn_transpose_conv.h"

int32_t aiotc_transpose_conv_gemm_s8_get_buffer_size(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                     const aiotc_dims *filter_dims)
{
    return AIOTC_CONV_IM2COL_BUFFER(aiotc_phase_depth(params, input_dims, filter_dims));
}

int32_t aiotc_transpose_conv_gemm_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                     const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                     const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                     const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    return aiotc_transpose_conv_phases(AIOTC_TRANSPOSE_S8, ctx, params, quant_params, input_dims, input, filter_dims,
                                       filter, bias, output_dims, output);
}
