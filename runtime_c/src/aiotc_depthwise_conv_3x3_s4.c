/* Depthwise 3x3 convolution with int4 weights (w4a8) in TFLite's packed order (tap-major
 * 1x3x3xC, two per byte): the weights are unpacked once per call into the scratch as the
 * int8 kernel's C x 3 x 3 planes (9 * C bytes: a depthwise layer's weights are few), then
 * aiotc_depthwise_conv_3x3_s8 runs on the rest of the scratch, with its in-place contract. */
#include "aiotc_nn_conv_ref.h"
#include "aiotc_nn_gemm.h" /* AIOTC_ROW */

#define PLANES_BYTES(c) AIOTC_ROW(9 * (c))

int32_t aiotc_depthwise_conv_3x3_s4_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *output_dims)
{
    return PLANES_BYTES(output_dims->c) + aiotc_depthwise_conv_3x3_s8_get_buffer_size(params, output_dims);
}

int32_t aiotc_depthwise_conv_3x3_s4(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t ch = filter_dims->c;
    int8_t *const planes = (int8_t *)ctx->buf;
    aiotc_context rest;
    int32_t c, t;
    if (filter_dims->h != 3 || filter_dims->w != 3 ||
        ctx->size < aiotc_depthwise_conv_3x3_s4_get_buffer_size(params, output_dims)) {
        return AIOTC_ARG_ERROR;
    }
    for (t = 0; t < 9; t++) {
        for (c = 0; c < ch; c++) {
            planes[c * 9 + t] = (int8_t)aiotc_filter_at(filter, t * ch + c, 1);
        }
    }
    rest.buf = planes + PLANES_BYTES(ch);
    rest.size = ctx->size - PLANES_BYTES(ch);
    return aiotc_depthwise_conv_3x3_s8(&rest, params, quant_params, input_dims, input, filter_dims, planes, bias,
                                       output_dims, output);
}
