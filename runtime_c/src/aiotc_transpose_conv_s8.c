/* int8 transposed convolution: TFLite's reference integer TransposeConv (per-channel
 * requantization of sum((input + input_offset) * filter) + bias), output by output. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

int32_t aiotc_transpose_conv_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
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
                    int32_t acc = bias != 0 ? bias[oc] : 0;
                    for (iy = iy_first; iy < iy_last; iy++) {
                        const int32_t ky = y0 - iy * params->stride.h;
                        for (ix = ix_first; ix < ix_last; ix++) {
                            const int8_t *in = input + ((b * in_h + iy) * in_w + ix) * in_c;
                            const int8_t *w = filter + ((oc * k_h + ky) * k_w + x0 - ix * params->stride.w) * in_c;
                            for (ic = 0; ic < in_c; ic++) {
                                acc += (in[ic] + params->input_offset) * w[ic];
                            }
                        }
                    }
                    acc = aiotc_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]) + params->output_offset;
                    output[((b * output_dims->h + oy) * output_dims->w + ox) * out_c + oc] =
                        (int8_t)AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
                }
            }
        }
    }
    return AIOTC_OK;
}
