/* int8 grouped convolution (groups > 1: each group's output channels read its own slice
 * of the input channels), any kernel, stride, dilation and padding, as one im2col gemm
 * per group: the group's taps of two output pixels gathered into int8 columns (padded
 * taps hold the input zero point, which the folded bias cancels), multiplied by the
 * group's weight rows (aiotc_nn_gemm.h's channel pairs, group after group, each padded
 * to whole pairs), written at the group's channels of each output pixel. On the M55, a
 * pixel pair of groups of 8k channels and rows in blocks of 4 gathers its taps straight
 * into the interleaved pair of aiotc_gemm_blocks, vector by vector. */
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

#if defined(AIOTC_MVE)
/* One tap's c channels at src (the padding where `padded`) into the column at dst of the
 * interleaved pair, `step` bytes (16, or 8 where c is not whole vectors) at a time from
 * byte pos of the column (16 inputs per 32 bytes); returns the next tap's pos. */
static AIOTC_INLINE int32_t aiotc_grouped_pair_tap(const int8_t *src, int32_t c, int32_t step, mve_pred16_t lanes,
                                                   int8x16_t pad, int32_t padded, int8_t *dst, int32_t pos)
{
    int32_t i;
    for (i = 0; i < c; i += step, pos += step) {
        vstrbq_p_s8(dst + pos + (pos & ~15), padded ? pad : vldrbq_z_s8(src + i, lanes), lanes);
    }
    return pos;
}

/* The taps of the window at (y0, x0) of image (at the group's first channel), c
 * channels (a multiple of 8) each, as the column at dst of the interleaved pair
 * (aiotc_mve_interleave's layout): a window inside the image with no tests (a tap per
 * step where c is one), one at a border tap by tap. Where k % 16 == 8 the taps go 8 bytes
 * on, then the first 8 back alone in the first vector. */
static AIOTC_INLINE void aiotc_grouped_pair_column(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                   const int8_t *image, const aiotc_dims *filter_dims, int32_t y0,
                                                   int32_t x0, int32_t k, int8_t *dst)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c, c = filter_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, dil_h = params->dilation.h, dil_w = params->dilation.w;
    const int32_t step = c % 16 == 0 ? 16 : 8;
    const mve_pred16_t lanes = vctp8q((uint32_t)step);
    const int8x16_t pad = vdupq_n_s8((int8_t)(-params->input_offset));
    int32_t ky, kx, pos = k & 8;
    if (y0 >= 0 && y0 + (k_h - 1) * dil_h < in_h && x0 >= 0 && x0 + (k_w - 1) * dil_w < in_w) {
        const int8_t *row = image + (y0 * in_w + x0) * in_c;
        for (ky = 0; ky < k_h; ky++, row += dil_h * in_w * in_c) {
            const int8_t *src = row;
            if (c == step) {
                for (kx = 0; kx < k_w; kx++, src += dil_w * in_c, pos += step) {
                    vstrbq_p_s8(dst + pos + (pos & ~15), vldrbq_z_s8(src, lanes), lanes);
                }
            } else {
                for (kx = 0; kx < k_w; kx++, src += dil_w * in_c) {
                    pos = aiotc_grouped_pair_tap(src, c, step, lanes, pad, 0, dst, pos);
                }
            }
        }
    } else {
        for (ky = 0; ky < k_h; ky++) {
            const int32_t iy = y0 + ky * dil_h;
            for (kx = 0; kx < k_w; kx++) {
                const int32_t ix = x0 + kx * dil_w;
                if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) {
                    pos = aiotc_grouped_pair_tap(image, c, step, lanes, pad, 1, dst, pos);
                } else {
                    pos = aiotc_grouped_pair_tap(image + (iy * in_w + ix) * in_c, c, step, lanes, pad, 0, dst, pos);
                }
            }
        }
    }
    if (k & 8) {
        vstrbq_s8(dst, vldrbq_z_s8(dst + 8, lanes));
    }
}

/* Output pixels `pixel` (two) through every group: each group's two columns gathered into
 * the interleaved pair, its rows (whole blocks of 4) by aiotc_gemm_blocks. */
static void aiotc_grouped_pair(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                               const aiotc_dims *input_dims, const aiotc_pixel_walk *pixel,
                               const aiotc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                               int32_t groups, aiotc_gemm *g, aiotc_mve_blocks *blocks, int8_t *out)
{
    const int32_t c = filter_dims->c, rows = g->rows, out_c = groups * rows;
    int32_t group, j;
    for (group = 0; group < groups; group++) {
        const int32_t first = group * rows;
        for (j = 0; j < 2; j++) {
            aiotc_grouped_pair_column(params, input_dims, pixel[j].image + group * c, filter_dims,
                                      pixel[j].oy * params->stride.h - params->padding.h,
                                      pixel[j].ox * params->stride.w - params->padding.w, g->k, g->pairs + 16 * j);
        }
        g->weights = filter + group * rows * g->row;
        g->bias = bias + first;
        g->multiplier = quant_params->multiplier + first;
        g->shift = quant_params->shift + first;
        if (g->common == 1) {
            aiotc_gemm_blocks(blocks, g, out + first, out + out_c + first, 1, 0);
        } else if (g->common) {
            aiotc_gemm_blocks(blocks, g, out + first, out + out_c + first, 2, 0);
        } else {
            aiotc_gemm_blocks(blocks, g, out + first, out + out_c + first, 0, 0);
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
    if (c % 8 == 0 && rows % 4 == 0 && k > 32) {
        aiotc_gemm g;
        aiotc_mve_blocks blocks;
        aiotc_gemm_setup(&g, filter, k, rows, bias, quant_params, params, cols);
        aiotc_mve_blocks_setup(&blocks, &g);
        for (; pixels - p >= 2; p += 2) {
            aiotc_pixel_walk pixel[2];
            pixel[0] = at;
            aiotc_pixel_step(&at, input_dims, output_dims);
            pixel[1] = at;
            aiotc_pixel_step(&at, input_dims, output_dims);
            aiotc_grouped_pair(params, quant_params, input_dims, pixel, filter_dims, filter, bias, groups, &g,
                               &blocks, output + p * out_c);
        }
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
                int8_t *const column = taps + j * g.row;
                aiotc_grouped_gather(params, input_dims, pixel[j].image, filter_dims,
                                     pixel[j].oy * params->stride.h - params->padding.h,
                                     pixel[j].ox * params->stride.w - params->padding.w, group * c, column);
                col[j] = aiotc_col_prepare(column, g.row, cols, j);
            }
            aiotc_gemm_s8(&g, col[0], col[1], output + p * out_c + first, output + (p + 1) * out_c + first);
        }
    }
    return AIOTC_OK;
}
