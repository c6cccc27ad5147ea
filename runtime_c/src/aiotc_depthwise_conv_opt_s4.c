/* Depthwise convolution (any depth multiplier and kernel) with int4 weights (w4a8) in
 * TFLite's packed order (tap-major 1xHxWxC, two per byte): the weights are unpacked once
 * per call into the scratch in the int8 kernel's int16 layout (C/8 x kh*kw x 8, zero
 * padded), then aiotc_depthwise_conv_opt_s8 runs on the rest of the scratch. */
#include <string.h>

#include "aiotc_nn_conv_ref.h"

#define GROUPS_BYTES(taps, c) (2 * (taps) * (((c) + 7) & ~7))

int32_t aiotc_depthwise_conv_opt_s4_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
                                                    const aiotc_dims *filter_dims)
{
    return GROUPS_BYTES(filter_dims->h * filter_dims->w, filter_dims->c) +
           aiotc_depthwise_conv_opt_s8_get_buffer_size(params, input_dims, filter_dims);
}

int32_t aiotc_depthwise_conv_opt_s4(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t ch = filter_dims->c, taps = filter_dims->h * filter_dims->w;
    int16_t *const groups = (int16_t *)ctx->buf;
    aiotc_context rest;
    int32_t c, t;
    if (ctx->size < aiotc_depthwise_conv_opt_s4_get_buffer_size(params, input_dims, filter_dims)) {
        return AIOTC_ARG_ERROR;
    }
    memset(groups, 0, (size_t)GROUPS_BYTES(taps, ch));
    for (t = 0; t < taps; t++) {
        for (c = 0; c < ch; c++) {
            groups[(c >> 3) * taps * 8 + t * 8 + (c & 7)] = (int16_t)aiotc_filter_at(filter, t * ch + c, 1);
        }
    }
    rest.buf = (int8_t *)ctx->buf + GROUPS_BYTES(taps, ch);
    rest.size = ctx->size - GROUPS_BYTES(taps, ch);
    return aiotc_depthwise_conv_opt_s8(&rest, params, quant_params, input_dims, input, filter_dims, groups, bias,
                                       output_dims, output);
}
