/* float32 convolution (groups, dilation), as TFLite's reference Conv computes it. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

int32_t aiotc_convolve_f32(const aiotc_conv_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                           const aiotc_dims *filter_dims, const float *filter, const float *bias,
                           const aiotc_dims *output_dims, float *output)
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
        /* A window of whole rows (a Conv1D streamed along time: one column) reads its taps
         * as one run, in the same order: the sum is the same, without a loop per tap. */
        const int32_t whole_rows = k_w == in_w && f_c == in_c && params->dilation.h == 1 && params->dilation.w == 1;
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
                        const float *weights = filter + oc * k_h * k_w * f_c;
                        const float *in_base = input + (oc / per_group) * f_c;
                        float acc = 0.0f;
                        if (whole_rows && kx_last - kx_first == k_w) {
                            const float *in = input + (b * in_h + y0 + ky_first) * in_w * in_c;
                            const float *w = weights + ky_first * k_w * f_c;
                            const int32_t taps = (ky_last - ky_first) * k_w * f_c;
                            for (ic = 0; ic < taps; ic++) {
                                acc += in[ic] * w[ic];
                            }
                        } else {
                            for (ky = ky_first; ky < ky_last; ky++) {
                                const int32_t iy = y0 + ky * params->dilation.h;
                                for (kx = kx_first; kx < kx_last; kx++) {
                                    const int32_t ix = x0 + kx * params->dilation.w;
                                    const float *in = in_base + ((b * in_h + iy) * in_w + ix) * in_c;
                                    const float *w = weights + (ky * k_w + kx) * f_c;
                                    for (ic = 0; ic < f_c; ic++) {
                                        acc += in[ic] * w[ic];
                                    }
                                }
                            }
                        }
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        output[((b * out_h + oy) * out_w + ox) * out_c + oc] =
                            AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}
