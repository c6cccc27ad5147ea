/* 16x8 transposed convolution: TFLite's reference integer TransposeConv for int16
 * activations (int64 sums, no zero points), output by output, requantized as
 * aiotc_convolve_s16 does (reduced multiplier, scaled bias: aiotc_nn_gemm_s16.h). */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm_s16.h"

int32_t aiotc_transpose_conv_s16(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const aiotc_dims *input_dims, const int16_t *input, const aiotc_dims *filter_dims,
                                 const int8_t *filter, const int64_t *scaled_bias, const aiotc_dims *output_dims,
                                 int16_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, out_c = output_dims->c;
    int32_t b, oy, ox, oc, iy, ix, ic;
    if (filter_dims->c != in_c || filter_dims->n != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy + params->padding.h;
            int32_t iy_first, iy_last;
            aiotc_transpose_window(y0, k_h, params->stride.h, in_h, &iy_first, &iy_last);
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox + params->padding.w;
                int32_t ix_first, ix_last;
                aiotc_transpose_window(x0, k_w, params->stride.w, in_w, &ix_first, &ix_last);
                for (oc = 0; oc < out_c; oc++) {
                    int64_t acc = 0;
                    for (iy = iy_first; iy < iy_last; iy++) {
                        const int32_t ky = y0 - iy * params->stride.h;
                        for (ix = ix_first; ix < ix_last; ix++) {
                            const int16_t *in = input + ((b * in_h + iy) * in_w + ix) * in_c;
                            const int8_t *w = filter + ((oc * k_h + ky) * k_w + x0 - ix * params->stride.w) * in_c;
                            for (ic = 0; ic < in_c; ic++) {
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
