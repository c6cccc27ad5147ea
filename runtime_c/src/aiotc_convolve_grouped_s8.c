/* int8 grouped convolution (groups > 1: each group's output channels read its own slice
 * of the input channels), any kernel, stride, dilation and padding, as one im2col gemm
 * per group: the group's taps of two output pixels gathered into int8 columns (padded
 * taps hold the input zero point, which the folded bias cancels), multiplied by the
 * group's weight rows (aiotc_nn_gemm.h's channel pairs, group after group, each padded
 * to whole pairs), written at the group's channels of each output pixel. On the M55,
 * groups of 8k channels and rows in blocks of 4 through aiotc_conv_group_pairs. */
#include "aiotc_nn_conv_gemm.h"

int32_t aiotc_convolve_grouped_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims)
{
    (void)input_dims;
    return AIOTC_CONV_IM2COL_BUFFER(filter_dims->h * filter_dims->w * filter_dims->c);
}

/* The k taps of group channels [first, first + c) of the window at (y0, x0) into col. */
static void aiotc_grouped_gather(const aiotc_conv_params *params, const aiotc_dims *input_dims, const int8_t *image,
                                 const aiotc_dims *filter_dims, int32_t y0, int32_t x0, int32_t first, int8_t *col)
{
    const int32_t in_w = input_dims->w, in_c = input_dims->c, c = filter_dims->c;
    const int8_t pad = (int8_t)(-params->input_offset);
    int32_t ky, kx;
    for (ky = 0; ky < filter_dims->h; ky++) {
        const int32_t iy = y0 + ky * params->dilation.h;
        for (kx = 0; kx < filter_dims->w; kx++, col += c) {
            const int32_t ix = x0 + kx * params->dilation.w;
            if (iy < 0 || iy >= input_dims->h || ix < 0 || ix >= in_w) {
                aiotc_fill_run(col, pad, c);
            } else {
                aiotc_copy_run(col, image + (iy * in_w + ix) * in_c + first, c);
            }
        }
    }
}

#if defined(AIOTC_DSP)
/* aiotc_grouped_gather and aiotc_col_prepare in one step, for groups of whole words
 * (c % 4 == 0): each tap's c channels widened straight from the image into the prepared
 * column at col (aiotc_widen_pairs's pair layout), padded taps as the widened zero point. */
static void aiotc_grouped_gather_widened(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                         const int8_t *image, const aiotc_dims *filter_dims, int32_t y0, int32_t x0,
                                         int32_t first, int32_t *col)
{
    const int32_t in_w = input_dims->w, in_c = input_dims->c, c = filter_dims->c;
    const int32_t pad = (int32_t)(uint16_t)(int16_t)(int8_t)(-params->input_offset);
    const int32_t pad_pair = (int32_t)((uint32_t)pad | (uint32_t)pad << 16);
    int32_t ky, kx;
    for (ky = 0; ky < filter_dims->h; ky++) {
        const int32_t iy = y0 + ky * params->dilation.h;
        for (kx = 0; kx < filter_dims->w; kx++, col += c) { /* c / 4 groups of 4 words */
            const int32_t ix = x0 + kx * params->dilation.w;
            if (iy < 0 || iy >= input_dims->h || ix < 0 || ix >= in_w) {
                aiotc_fill_widened(col, c / 4, pad_pair, 4, 1);
            } else {
                aiotc_widen_pairs(image + (iy * in_w + ix) * in_c + first, c, col, 4, 1);
            }
        }
    }
}
#endif

int32_t aiotc_convolve_grouped_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                  const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                  const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                  const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t out_c = output_dims->c, pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t c = filter_dims->c, groups = input_dims->c / c, rows = out_c / groups;
    const int32_t k = filter_dims->h * filter_dims->w * c;
    int8_t *const taps = (int8_t *)ctx->buf;
    aiotc_col *const cols = (aiotc_col *)(taps + 2 * AIOTC_ROW(k));
    aiotc_pixel_walk at;
    int32_t p = 0;
    if (input_dims->c != groups * c || out_c != groups * rows || filter_dims->n != out_c ||
        ctx->size < AIOTC_CONV_IM2COL_BUFFER(k)) {
        return AIOTC_ARG_ERROR;
    }
    memset(taps, 0, (size_t)(2 * AIOTC_ROW(k))); /* the padding after each column's k taps: widened whole */
    at.image = input;
    at.oy = at.ox = 0;
#if defined(AIOTC_MVE)
    if (aiotc_group_pairs_fit(filter_dims, rows, k)) {
        p = aiotc_conv_group_pairs(params, quant_params, input_dims, filter_dims, filter, bias, output_dims, output,
                                   groups, (int8_t *)cols, &at);
    }
#endif
    for (; p < pixels; p += 2) { /* output pixels in order, two at a time (aiotc_nn.h's write order) */
        const int32_t count = AIOTC_MIN(2, pixels - p);
        aiotc_pixel_walk pixel[2];
        int32_t group, j;
        for (j = 0; j < count; j++) {
            pixel[j] = at;
            aiotc_pixel_step(&at, input_dims, output_dims);
        }
        for (group = 0; group < groups; group++) {
            const int32_t first = group * rows; /* the group's first output channel */
            const aiotc_per_channel_quant_params quant = {quant_params->multiplier + first,
                                                          quant_params->shift + first, quant_params->right_shifts};
            const aiotc_col *col[2] = {0, 0};
            aiotc_gemm g;
            aiotc_gemm_setup(&g, filter + group * ((rows + 1) & ~1) * AIOTC_ROW(k), k, rows, bias + first, &quant,
                             params, cols);
            for (j = 0; j < count; j++) {
                const int32_t y0 = pixel[j].oy * params->stride.h - params->padding.h;
                const int32_t x0 = pixel[j].ox * params->stride.w - params->padding.w;
                int8_t *const column = taps + j * g.row;
#if defined(AIOTC_DSP)
                if (c % 4 == 0) { /* no int8 copy (grouped_conv_32: 1-4% fewer M4 instructions) */
                    aiotc_grouped_gather_widened(params, input_dims, pixel[j].image, filter_dims, y0, x0, group * c,
                                                 cols + 2 * j);
                    col[j] = cols;
                    continue;
                }
#endif
                aiotc_grouped_gather(params, input_dims, pixel[j].image, filter_dims, y0, x0, group * c, column);
                col[j] = aiotc_col_prepare(column, g.row, cols, j);
            }
            aiotc_gemm_s8(&g, col[0], col[1], output + p * out_c + first, output + (p + 1) * out_c + first);
        }
    }
    return AIOTC_OK;
}
