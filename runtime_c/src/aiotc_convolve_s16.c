/* 16x8 convolution (TFLite's int16 ConvPerChannel with int64 bias): each output pixel's
 * receptive field gathered into an int16 column (padded taps hold 0, the int16 zero
 * point), then the byte-pair gemm of aiotc_nn_gemm_s16.h per group. A 1x1 layer with
 * one group reads the input pixel itself. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm_s16.h"

int32_t aiotc_convolve_s16_get_buffer_size(const aiotc_dims *filter_dims)
{
    return 2 * AIOTC_ROW16(filter_dims->h * filter_dims->w * filter_dims->c);
}

/* The receptive field of the output pixel at (y0, x0) for the input channels
 * [first, first + f_c) into col, row by row of the kernel, zeros where it is padding. */
static void gather(const aiotc_conv_params *params, const aiotc_dims *input_dims, const int16_t *image,
                   const aiotc_dims *filter_dims, int32_t y0, int32_t x0, int32_t first, int16_t *col)
{
    const int32_t f_c = filter_dims->c;
    int32_t ky, kx;
    for (ky = 0; ky < filter_dims->h; ky++) {
        const int32_t iy = y0 + ky * params->dilation.h;
        for (kx = 0; kx < filter_dims->w; kx++, col += f_c) {
            const int32_t ix = x0 + kx * params->dilation.w;
            if (iy < 0 || iy >= input_dims->h || ix < 0 || ix >= input_dims->w) {
                memset(col, 0, (size_t)f_c * sizeof(int16_t));
            } else {
                memcpy(col, image + (iy * input_dims->w + ix) * input_dims->c + first, (size_t)f_c * sizeof(int16_t));
            }
        }
    }
}

int32_t aiotc_convolve_s16(const aiotc_context *ctx, const aiotc_conv_params *params,
                           const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                           const int16_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                           const int64_t *bias, const aiotc_dims *output_dims, int16_t *output)
{
    const int32_t f_c = filter_dims->c, k = filter_dims->h * filter_dims->w * f_c;
    const int32_t groups = f_c > 0 ? input_dims->c / f_c : 0;
    const int32_t per_group = groups > 0 ? output_dims->c / groups : 0;
    const int32_t direct = filter_dims->h == 1 && filter_dims->w == 1 && groups == 1 && params->padding.h == 0 &&
                           params->padding.w == 0;
    /* a group's weights: its channel pairs of byte pairs (an odd last channel padded) */
    const int32_t group_bytes = ((per_group + 1) / 2) * 2 * AIOTC_ROW16(k);
    int16_t *col = (int16_t *)ctx->buf;
    int32_t b, oy, ox, g;
    if (groups <= 0 || input_dims->c % f_c != 0 || output_dims->c % groups != 0 ||
        (!direct && ctx->size < aiotc_convolve_s16_get_buffer_size(filter_dims))) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        const int16_t *image = input + b * input_dims->h * input_dims->w * input_dims->c;
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int16_t *out = output + ((b * output_dims->h + oy) * output_dims->w + ox) * output_dims->c;
                for (g = 0; g < groups; g++) {
                    const int32_t oc = g * per_group;
                    const int16_t *x = image + (y0 * input_dims->w + x0) * input_dims->c;
                    if (!direct) {
                        gather(params, input_dims, image, filter_dims, y0, x0, g * f_c, col);
                        x = col;
                    }
                    aiotc_gemm_s16(filter + g * group_bytes, k, per_group, x, bias != 0 ? bias + oc : 0,
                                   quant_params->multiplier + oc, quant_params->shift + oc, params->activation.min,
                                   params->activation.max, out + oc);
                }
            }
        }
    }
    return AIOTC_OK;
}
