/* int8 average pooling: the sum over the taps inside the image (padding is not counted)
 * divided by their count, rounded half away from zero, as TFLite Micro's reference computes it. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

int32_t aiotc_avgpool_s8(const aiotc_pool_params *params, const aiotc_dims *input_dims, const int8_t *input,
                         const aiotc_dims *filter_dims, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int8_t *in = input;
    int32_t b, oy, ox, ch, iy, ix;
    if (output_dims->c != c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            int32_t ky_first, ky_last;
            aiotc_window(y0, filter_dims->h, 1, in_h, &ky_first, &ky_last);
            for (ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int32_t kx_first, kx_last, count;
                aiotc_window(x0, filter_dims->w, 1, in_w, &kx_first, &kx_last);
                count = (ky_last - ky_first) * (kx_last - kx_first);
                if (count == 0) {
                    return AIOTC_ARG_ERROR;
                }
                for (ch = 0; ch < c; ch++) {
                    int32_t acc = 0;
                    for (iy = y0 + ky_first; iy < y0 + ky_last; iy++) {
                        for (ix = x0 + kx_first; ix < x0 + kx_last; ix++) {
                            acc += in[((b * in_h + iy) * in_w + ix) * c + ch];
                        }
                    }
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count; /* round half away from zero */
                    output[((b * out_h + oy) * out_w + ox) * c + ch] =
                        (int8_t)AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
                }
            }
        }
    }
    return AIOTC_OK;
}
