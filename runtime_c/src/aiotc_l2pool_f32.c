/* float32 L2 pooling: sqrt of the mean square over the taps inside the image (padding is not
 * counted), as TFLite Micro's reference L2Pool computes it. */
#include <math.h>

#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

int32_t aiotc_l2pool_f32(const aiotc_pool_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                        const aiotc_dims *filter_dims, const aiotc_dims *output_dims, float *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const float *in = input;
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
                    float acc = 0;
                    for (iy = y0 + ky_first; iy < y0 + ky_last; iy++) {
                        for (ix = x0 + kx_first; ix < x0 + kx_last; ix++) {
                            const float v = in[((b * in_h + iy) * in_w + ix) * c + ch];
                            acc += v * v;
                        }
                    }
                    acc = sqrtf(acc / (float)count);
                    output[((b * out_h + oy) * out_w + ox) * c + ch] =
                        (float)AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
                }
            }
        }
    }
    return AIOTC_OK;
}
