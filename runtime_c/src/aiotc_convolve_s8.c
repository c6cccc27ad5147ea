/* int8 convolution (groups, dilation, per-channel requantization), as TFLite Micro's
 * reference ConvPerChannel computes it. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

int32_t aiotc_convolve_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                          const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                          const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, f_c = filter_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    int32_t b, oy, ox, oc, ky, kx, ic;
    if (f_c <= 0 || in_c % f_c != 0 || out_c % (in_c / f_c) != 0) {
        return AIOTC_ARG_ERROR;
    }
    {
        const int32_t per_group = out_c / (in_c / f_c);
        for (b = 0; b < input_dims->n; b++) {
            for (oy = 0; oy < out_h; oy++) {
                const int32_t y0 = oy * params->stride.h - params->padding.h;
                int32_t ky_first, ky_last;
                aiotc_window(y0, k_h, params->dilation.h, in_h, &ky_first, &ky_last);
                for (ox = 0; ox < out_w; ox++) {
                    const int32_t x0 = ox * params->stride.w - params->padding.w;
                    int32_t kx_first, kx_last;
                    aiotc_window(x0, k_w, params->dilation.w, in_w, &kx_first, &kx_last);
                    for (oc = 0; oc < out_c; oc++) {
                        const int8_t *weights = filter + oc * k_h * k_w * f_c;
                        const int8_t *in_base = input + (oc / per_group) * f_c;
                        int32_t acc = 0;
                        for (ky = ky_first; ky < ky_last; ky++) {
                            const int32_t iy = y0 + ky * params->dilation.h;
                            for (kx = kx_first; kx < kx_last; kx++) {
                                const int32_t ix = x0 + kx * params->dilation.w;
                                const int8_t *in = in_base + ((b * in_h + iy) * in_w + ix) * in_c;
                                const int8_t *w = weights + (ky * k_w + kx) * f_c;
                                for (ic = 0; ic < f_c; ic++) {
                                    acc += (in[ic] + params->input_offset) * w[ic];
                                }
                            }
                        }
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        acc = aiotc_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                        acc += params->output_offset;
                        acc = AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
                        output[((b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)acc;
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}
