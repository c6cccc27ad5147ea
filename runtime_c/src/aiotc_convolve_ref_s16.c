/* 16x8 convolution in plain loops (TFLite's int16 ConvPerChannel with int64 bias) on the
 * OHWI weights as the model holds them: the layers whose int8 weights the byte pairs of
 * aiotc_convolve_s16 and aiotc_fully_connected_s16 cannot hold (-128 beside a negative
 * weight of the paired channel) run here, and so do such fully connected layers, as a
 * 1x1 convolution over the batches. Quantization as aiotc_convolve_s16's. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm_s16.h"

int32_t aiotc_convolve_ref_s16(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                               const aiotc_dims *input_dims, const int16_t *input, const aiotc_dims *filter_dims,
                               const int8_t *filter, const int64_t *scaled_bias, const aiotc_dims *output_dims,
                               int16_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, f_c = filter_dims->c, out_c = output_dims->c;
    int32_t b, oy, ox, oc, ky, kx, ic;
    if (f_c <= 0 || in_c % f_c != 0 || out_c % (in_c / f_c) != 0) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            int32_t ky_first, ky_last;
            aiotc_window(y0, k_h, params->dilation.h, in_h, &ky_first, &ky_last);
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int32_t kx_first, kx_last;
                aiotc_window(x0, k_w, params->dilation.w, in_w, &kx_first, &kx_last);
                for (oc = 0; oc < out_c; oc++) {
                    const int16_t *group = input + (oc / (out_c / (in_c / f_c))) * f_c;
                    int64_t acc = 0;
                    for (ky = ky_first; ky < ky_last; ky++) {
                        const int32_t iy = y0 + ky * params->dilation.h;
                        for (kx = kx_first; kx < kx_last; kx++) {
                            const int32_t ix = x0 + kx * params->dilation.w;
                            const int16_t *in = group + ((b * in_h + iy) * in_w + ix) * in_c;
                            const int8_t *w = filter + ((oc * k_h + ky) * k_w + kx) * f_c;
                            for (ic = 0; ic < f_c; ic++) {
                                acc += (int32_t)in[ic] * w[ic];
                            }
                        }
                    }
                    output[((b * output_dims->h + oy) * output_dims->w + ox) * out_c + oc] =
                        aiotc_out_s16(acc * quant_params->multiplier[oc] + scaled_bias[oc], quant_params->shift[oc],
                                      params->activation.min, params->activation.max);
                }
            }
        }
    }
    return AIOTC_OK;
}
