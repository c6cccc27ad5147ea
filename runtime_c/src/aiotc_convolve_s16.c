/* 16x8 convolution (TFLite's int16 ConvPerChannel with int64 bias): the receptive fields
 * of two output pixels gathered into two int16 columns (padded taps hold 0, the int16
 * zero point), then the two-column byte-pair gemm of aiotc_nn_gemm_s16.h, group by
 * group: each word of weights serves both pixels. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm_s16.h"

int32_t aiotc_convolve_s16_get_buffer_size(const aiotc_dims *filter_dims)
{
    return 2 * 2 * AIOTC_ROW_S16(filter_dims->h * filter_dims->w * filter_dims->c);
}

int32_t aiotc_convolve_s16(const aiotc_context *ctx, const aiotc_conv_params *params,
                           const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                           const int16_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                           const int64_t *scaled_bias, const aiotc_dims *output_dims, int16_t *output)
{
    const int32_t f_c = filter_dims->c, k = filter_dims->h * filter_dims->w * f_c;
    const int32_t groups = f_c > 0 ? input_dims->c / f_c : 0;
    const int32_t per_group = groups > 0 ? output_dims->c / groups : 0;
    const int32_t pixels = output_dims->h * output_dims->w, line = input_dims->w * input_dims->c;
    /* the window of a pixel is inside the image from (0, 0) to (max_y, max_x); if its
     * kernel rows lie side by side there too, gathering it is a copy per row (as the
     * gather's first test, whose bounds it computes per pixel: this saves 0.3% of the
     * instructions of a 16x8 conv model on the M4, 0.6% on the M55) */
    const int32_t max_y = input_dims->h - 1 - (filter_dims->h - 1) * params->dilation.h;
    const int32_t max_x = input_dims->w - 1 - (filter_dims->w - 1) * params->dilation.w;
    const int32_t rows = groups == 1 && (params->dilation.w == 1 || filter_dims->w == 1);
    /* ... and if the sums fit an int32 and a kernel row is whole groups of 8 inputs, the DSP
     * gemm reads such windows in place, a loop per kernel row (tflm_conv1, 3x3x8 -> 8 on the
     * M4: 333,480 instructions against 396,680 gathering them, before the SSAT clamp). MVE
     * gathers a window in about 2 instructions per 8 inputs, less than its loops per kernel
     * row cost. */
#if defined(__ARM_FEATURE_MVE)
    const int32_t in_place = 0;
#else
    const int32_t in_place = rows && k < AIOTC_S16_INT32_SUMS && (filter_dims->w * f_c) % 8 == 0;
#endif
    /* a group's weights: its channel pairs of byte pairs (an odd last channel padded) */
    const int32_t group_bytes = ((per_group + 1) / 2) * 2 * AIOTC_ROW_S16(k);
    int16_t *cols = (int16_t *)ctx->buf;
    int32_t b, p, g, j;
    if (groups <= 0 || input_dims->c % f_c != 0 || output_dims->c % groups != 0 ||
        ctx->size < aiotc_convolve_s16_get_buffer_size(filter_dims)) {
        return AIOTC_ARG_ERROR;
    }
    memset(cols, 0, (size_t)aiotc_convolve_s16_get_buffer_size(filter_dims)); /* the padding past k stays 0 */
    for (b = 0; b < input_dims->n; b++) {
        const int16_t *image = input + b * input_dims->h * input_dims->w * input_dims->c;
        int16_t *out = output + b * pixels * output_dims->c;
        for (p = 0; p < pixels; p += 2) {
            const int32_t pair = p + 1 < pixels;
            for (g = 0; g < groups; g++) {
                const int32_t oc = g * per_group;
                const aiotc_gemm16 gemm = {filter + g * group_bytes,
                                           k,
                                           per_group,
                                           scaled_bias + oc,
                                           quant_params->multiplier + oc,
                                           quant_params->shift + oc,
                                           params->activation.min,
                                           params->activation.max};
                const int16_t *at[2];
                int32_t inside = in_place;
                for (j = 0; j < 2; j++) {
                    const int32_t y0 = (p + j * pair) / output_dims->w * params->stride.h - params->padding.h;
                    const int32_t x0 = (p + j * pair) % output_dims->w * params->stride.w - params->padding.w;
                    inside = inside && y0 >= 0 && y0 <= max_y && x0 >= 0 && x0 <= max_x;
                    at[j] = image + y0 * line + x0 * input_dims->c;
                }
                if (inside) { /* a lone last pixel reads its window twice */
                    const aiotc_cols16 x = {at[0], at[1], filter_dims->h, filter_dims->w * f_c,
                                            params->dilation.h * line};
                    aiotc_gemm2_windows_s16(&gemm, &x, out + p * output_dims->c + oc,
                                            pair ? out + (p + 1) * output_dims->c + oc : 0);
                    continue;
                }
                for (j = 0; j <= pair; j++) {
                    const int32_t y0 = (p + j) / output_dims->w * params->stride.h - params->padding.h;
                    const int32_t x0 = (p + j) % output_dims->w * params->stride.w - params->padding.w;
                    if (rows && y0 >= 0 && y0 <= max_y && x0 >= 0 && x0 <= max_x) {
                        aiotc_copy_rows_s16(cols + j * AIOTC_ROW_S16(k), image + y0 * line + x0 * input_dims->c,
                                            filter_dims->h, filter_dims->w * f_c, params->dilation.h * line);
                    } else {
                        aiotc_gather_s16(&params->dilation, input_dims, image, filter_dims, y0, x0, g * f_c,
                                         cols + j * AIOTC_ROW_S16(k));
                    }
                }
                aiotc_gemm2_s16(&gemm, cols, out + p * output_dims->c + oc,
                                pair ? out + (p + 1) * output_dims->c + oc : 0);
            }
        }
    }
    return AIOTC_OK;
}
