/* Fully connected with int4 weights (w4a8, filter_offset 0), packed by the lowering for
 * aiotc_gemm_s4 (aiotc_nn_gemm_s4.h), bias with the input offset folded in: a 1x1
 * convolution over the batches, whose driver it runs (aiotc_nn_conv_gemm.h). */
#include "aiotc_nn_conv_gemm.h"

int32_t aiotc_fully_connected_packed_s4_get_buffer_size(const aiotc_dims *filter_dims)
{
    return AIOTC_CONV_1X1_BUFFER(filter_dims->c);
}

int32_t aiotc_fully_connected_packed_s4(const aiotc_context *ctx, const aiotc_fc_params *params,
                                        const aiotc_per_channel_quant_params *quant_params,
                                        const aiotc_dims *input_dims, const int8_t *input,
                                        const aiotc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                        const aiotc_dims *output_dims, int8_t *output)
{
    aiotc_conv_params conv;
    if (params->filter_offset != 0) {
        return AIOTC_ARG_ERROR;
    }
    memset(&conv, 0, sizeof conv);
    conv.input_offset = params->input_offset;
    conv.output_offset = params->output_offset;
    conv.stride.h = conv.stride.w = 1;
    conv.dilation.h = conv.dilation.w = 1;
    conv.activation = params->activation;
    return aiotc_conv_1x1_gemm(ctx, &conv, quant_params, input_dims, input, filter_dims, filter, bias, output_dims,
                               output, 1);
}
