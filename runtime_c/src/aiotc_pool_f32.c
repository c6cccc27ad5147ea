/* float32 pooling over the taps inside the image (padding is not counted), then the fused
 * activation clamp, as TFLite Micro's reference computes it: the maximum, the mean, or the
 * square root of the mean square (L2_POOL_2D). One loop nest serves the three; `kind` is a
 * constant in each entry point, so the compiler specializes the inner loop. */
#include <float.h>
#include <math.h>

#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

typedef enum { POOL_MAX, POOL_AVERAGE, POOL_L2 } pool_kind;

static inline float window(pool_kind kind, const float *first, int32_t rows, int32_t cols, int32_t c, int32_t row_step)
{
    float acc = kind == POOL_MAX ? -FLT_MAX : 0.0f;
    int32_t r, k;
    for (r = 0; r < rows; r++, first += row_step) {
        for (k = 0; k < cols; k++) {
            const float v = first[k * c];
            acc = kind == POOL_MAX ? AIOTC_MAX(acc, v) : kind == POOL_L2 ? acc + v * v : acc + v;
        }
    }
    if (kind == POOL_AVERAGE) {
        acc = acc / (float)(rows * cols);
    } else if (kind == POOL_L2) {
        acc = sqrtf(acc / (float)(rows * cols));
    }
    return acc;
}

static inline int32_t pool(pool_kind kind, const aiotc_pool_params_f32 *params, const aiotc_dims *input_dims,
                           const float *input, const aiotc_dims *filter_dims, const aiotc_dims *output_dims,
                           float *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    int32_t b, oy, ox, ch;
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
                int32_t kx_first, kx_last;
                aiotc_window(x0, filter_dims->w, 1, in_w, &kx_first, &kx_last);
                if (ky_last == ky_first || kx_last == kx_first) {
                    return AIOTC_ARG_ERROR;
                }
                const float *corner = input + ((b * in_h + y0 + ky_first) * in_w + x0 + kx_first) * c;
                float *out = output + ((b * out_h + oy) * out_w + ox) * c;
                for (ch = 0; ch < c; ch++) {
                    const float acc = window(kind, corner + ch, ky_last - ky_first, kx_last - kx_first, c, in_w * c);
                    out[ch] = (float)AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
                }
            }
        }
    }
    return AIOTC_OK;
}

int32_t aiotc_maxpool_f32(const aiotc_pool_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                          const aiotc_dims *filter_dims, const aiotc_dims *output_dims, float *output)
{
    return pool(POOL_MAX, params, input_dims, input, filter_dims, output_dims, output);
}

int32_t aiotc_avgpool_f32(const aiotc_pool_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                          const aiotc_dims *filter_dims, const aiotc_dims *output_dims, float *output)
{
    return pool(POOL_AVERAGE, params, input_dims, input, filter_dims, output_dims, output);
}

int32_t aiotc_l2pool_f32(const aiotc_pool_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                         const aiotc_dims *filter_dims, const aiotc_dims *output_dims, float *output)
{
    return pool(POOL_L2, params, input_dims, input, filter_dims, output_dims, output);
}
