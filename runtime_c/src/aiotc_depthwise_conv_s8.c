/* int8 depthwise convolution (depth multiplier, dilation, per-channel requantization),
 * as TFLite Micro's reference DepthwiseConvPerChannel computes it. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

int32_t aiotc_depthwise_conv_s8(const aiotc_dw_conv_params *params,
                                const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = params->ch_mult;
    int32_t b, oy, ox, ic, m, ky, kx;
    if (out_c != in_c * mult || filter_dims->c != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            int32_t ky_first, ky_last;
            aiotc_window(y0, k_h, params->dilation.h, in_h, &ky_first, &ky_last);
            for (ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int32_t kx_first, kx_last;
                int8_t *out = output + ((b * out_h + oy) * out_w + ox) * out_c;
                aiotc_window(x0, k_w, params->dilation.w, in_w, &kx_first, &kx_last);
                for (ic = 0; ic < in_c; ic++) {
                    for (m = 0; m < mult; m++) {
                        const int32_t oc = ic * mult + m;
                        int32_t acc = 0;
                        for (ky = ky_first; ky < ky_last; ky++) {
                            const int32_t iy = y0 + ky * params->dilation.h;
                            for (kx = kx_first; kx < kx_last; kx++) {
                                const int32_t ix = x0 + kx * params->dilation.w;
                                const int32_t in = input[((b * in_h + iy) * in_w + ix) * in_c + ic];
                                acc += (in + params->input_offset) * filter[(ky * k_w + kx) * out_c + oc];
                            }
                        }
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        acc = aiotc_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                        acc += params->output_offset;
                        out[oc] = (int8_t)AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}
