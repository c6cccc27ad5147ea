/* 16x8 depthwise convolution (TFLite's int16 DepthwiseConvPerChannel with int64 bias).
 * int64 += int16 * int8 is one SMLAL on the Cortex-M: the plain loop is the fast one. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm_s16.h"

int32_t aiotc_depthwise_conv_s16(const aiotc_dw_conv_params *params,
                                 const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                 const int16_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                 const int64_t *bias, const aiotc_dims *output_dims, int16_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_w = filter_dims->w, out_c = output_dims->c, mult = params->ch_mult;
    int32_t b, oy, ox, oc, ky, kx;
    if (out_c != in_c * mult || filter_dims->c != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            int32_t ky_first, ky_last;
            aiotc_window(y0, filter_dims->h, params->dilation.h, in_h, &ky_first, &ky_last);
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int32_t kx_first, kx_last;
                int16_t *out = output + ((b * output_dims->h + oy) * output_dims->w + ox) * out_c;
                aiotc_window(x0, k_w, params->dilation.w, in_w, &kx_first, &kx_last);
                for (oc = 0; oc < out_c; oc++) {
                    const int16_t *in = input + b * in_h * in_w * in_c + oc / mult;
                    int64_t acc = bias != 0 ? bias[oc] : 0;
                    for (ky = ky_first; ky < ky_last; ky++) {
                        const int32_t iy = y0 + ky * params->dilation.h;
                        for (kx = kx_first; kx < kx_last; kx++) {
                            const int32_t ix = x0 + kx * params->dilation.w;
                            acc += (int32_t)in[(iy * in_w + ix) * in_c] * filter[(ky * k_w + kx) * out_c + oc];
                        }
                    }
                    out[oc] = aiotc_out_s16(acc, quant_params->multiplier[oc], quant_params->shift[oc],
                                            params->activation.min, params->activation.max);
                }
            }
        }
    }
    return AIOTC_OK;
}
