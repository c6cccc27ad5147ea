/* 16x8 transposed convolution as one ordinary convolution per stride phase, as
 * aiotc_transpose_conv_gemm_s8 (aiotc_nn_conv.h says how): per phase, the taps of two
 * output pixels gathered into two int16 columns (taps outside the image hold 0,
 * the int16 zero point) for the 16x8 gemm (aiotc_nn_gemm_s16.h), with the phase's
 * weights; no input offset, so every phase takes the layer's scaled bias. The loop:
 * aiotc_transpose_conv_phases. */
#include "aiotc_nn_transpose_conv.h"

int32_t aiotc_transpose_conv_gemm_s16_get_buffer_size(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                      const aiotc_dims *filter_dims)
{
    return 2 * 2 * AIOTC_ROW_S16(aiotc_phase_depth(params, input_dims, filter_dims)); /* two int16 columns */
}

int32_t aiotc_transpose_conv_gemm_s16(const aiotc_context *ctx, const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params,
                                      const aiotc_dims *input_dims, const int16_t *input,
                                      const aiotc_dims *filter_dims, const int8_t *filter,
                                      const int64_t *scaled_bias, const aiotc_dims *output_dims, int16_t *output)
{
    return aiotc_transpose_conv_phases(AIOTC_TRANSPOSE_S16, ctx, params, quant_params, input_dims, input, filter_dims,
                                       filter, scaled_bias, output_dims, output);
}
