/* aiotc runtime: the drivers of the gemm kernels (aiotc_nn_gemm.h), shared by their int8
 * and int4-weight versions: the 1x1 convolution (no im2col: a pixel's channels are its
 * column) and the im2col convolution (the taps of two output pixels gathered into
 * columns). `nibbles` (a constant in each kernel) chooses the gemm: aiotc_gemm_s8 over
 * byte pairs or aiotc_gemm_s4 over packed int4 rows (aiotc_nn_gemm_s4.h); the columns,
 * scratch and requantization are the same. On the M55, int8 layers whose kernel rows
 * are whole vectors take both drivers' pixel pairs through aiotc_conv_pairs:
 * the taps gathered straight into the interleaved pair aiotc_gemm_blocks reads; other
 * im2col layers of 8k channels (and grouped ones) through aiotc_conv_group_pairs, 8
 * bytes or a vector at a time. */
#ifndef AIOTC_NN_CONV_GEMM_H
#define AIOTC_NN_CONV_GEMM_H

#include "aiotc_nn_bytes.h" /* aiotc_copy_run, aiotc_fill_run */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"
#include "aiotc_nn_gemm_s4.h"

/* The scratch of each driver (its kernels' *_get_buffer_size): two prepared columns of
 * a pixel's channels; two int8 columns of k taps and their two prepared ones. */
#define AIOTC_CONV_1X1_BUFFER(c) (2 * AIOTC_COL_BYTES(c))
#define AIOTC_CONV_IM2COL_BUFFER(k) (2 * AIOTC_ROW(k) + 2 * AIOTC_COL_BYTES(AIOTC_ROW(k)))

static inline void aiotc_gemm_setup(aiotc_gemm *g, const int8_t *filter, int32_t k, int32_t rows, const int32_t *bias,
                                    const aiotc_per_channel_quant_params *quant_params,
                                    const aiotc_conv_params *params, aiotc_col *cols)
{
#if defined(AIOTC_MVE)
    g->pairs = (int8_t *)cols; /* the room of the DSP path's prepared columns: the interleaved pair */
#else
    (void)cols;
    g->pairs = 0;
#endif
    g->weights = filter;
    g->k = k;
    g->row = AIOTC_ROW(k);
    g->rows = rows;
    g->bias = bias;
    g->multiplier = quant_params->multiplier;
    g->shift = quant_params->shift;
    g->output_offset = params->output_offset;
    g->act_min = params->activation.min;
    g->act_max = params->activation.max;
    g->common = quant_params->right_shifts;
}

/* The drivers' own loops: on the M55 out of line, so that the pixel pairs' path beside
 * them (aiotc_conv_pairs) leaves their code as it was (inlined together, gcc 12 spilled
 * differently in their loops: 1x1 layers of 8 channels 8% slower). */
#if defined(AIOTC_MVE) && defined(__GNUC__)
#define AIOTC_DRIVER __attribute__((noinline))
#else
#define AIOTC_DRIVER AIOTC_INLINE
#endif

static AIOTC_INLINE void aiotc_gemm_run(const aiotc_gemm *g, const aiotc_col *c0, const aiotc_col *c1, int8_t *out0,
                                        int8_t *out1, int32_t nibbles)
{
    if (nibbles) {
        aiotc_gemm_s4(g, c0, c1, out0, out1);
    } else {
        aiotc_gemm_s8(g, c0, c1, out0, out1);
    }
}

/* The input pixel of output pixel q of a 1x1 convolution (`dense`: stride 1, the pixels
 * in order, no index arithmetic). */
static AIOTC_INLINE const int8_t *aiotc_1x1_pixel(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                 const int8_t *input, const aiotc_dims *output_dims, int32_t q,
                                                 int32_t dense)
{
    if (dense) {
        return input + q * input_dims->c;
    }
    {
        const int32_t row = q / output_dims->w, ox = q % output_dims->w, b = row / output_dims->h;
        const int32_t oy = row % output_dims->h;
        return input +
               ((b * input_dims->h + oy * params->stride.h) * input_dims->w + ox * params->stride.w) * input_dims->c;
    }
}

/* 1x1 convolution, any stride, no padding, groups 1. */
static AIOTC_DRIVER int32_t aiotc_conv_1x1_loop(
    const aiotc_context *ctx, const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
    const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output, int32_t nibbles)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t dense = params->stride.h == 1 && params->stride.w == 1;
    aiotc_col *const cols = (aiotc_col *)ctx->buf;
    aiotc_gemm g;
    int32_t p;
    if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c != in_c || filter_dims->n != out_c ||
        ctx->size < AIOTC_CONV_1X1_BUFFER(in_c)) {
        return AIOTC_ARG_ERROR;
    }
    aiotc_gemm_setup(&g, filter, in_c, out_c, bias, quant_params, params, cols);
    for (p = 0; p < pixels; p += 2) {
        const int32_t count = AIOTC_MIN(2, pixels - p);
        const aiotc_col *col[2] = {0, 0};
        int32_t j;
        for (j = 0; j < count; j++) {
            col[j] = aiotc_col_prepare(aiotc_1x1_pixel(params, input_dims, input, output_dims, p + j, dense), in_c,
                                       cols, j);
        }
        aiotc_gemm_run(&g, col[0], col[1], output + p * out_c, output + (p + 1) * out_c, nibbles);
    }
    return AIOTC_OK;
}

/* im2col convolution, groups 1: any kernel, stride, dilation and padding. Where a kernel
 * row lies inside the image, its taps are contiguous and copied at once, which makes
 * first layers with 1-3 input channels cheap too. On the DSP path, channels in whole
 * words are widened to int16 straight from the image instead of copied first. */
/* The k taps of a window at (y0, x0) of image that lies inside it (no dilation along the
 * rows) into col, its kernel rows copied with no tests; 0 (nothing done) for a window at a
 * border. Inline where the caller's loop is small (aiotc_convolve_rows_im2col_s8). */
static AIOTC_INLINE int32_t aiotc_im2col_inside(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                               const int8_t *image, const aiotc_dims *filter_dims, int32_t y0,
                                               int32_t x0, int8_t *col)
{
    const int32_t in_w = input_dims->w, c = input_dims->c, k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t dil_h = params->dilation.h, run = k_w * c, row_step = dil_h * in_w * c;
    const int8_t *src = image + (y0 * in_w + x0) * c;
    int32_t ky;
    if (params->dilation.w != 1 || y0 < 0 || y0 + (k_h - 1) * dil_h >= input_dims->h || x0 < 0 || x0 + k_w > in_w) {
        return 0;
    }
    if (k_w == in_w && dil_h == 1) { /* whole rows (a Conv1D streamed along time: one column): one run */
        aiotc_copy_run(col, src, k_h * run);
        return 1;
    }
    for (ky = 0; ky < k_h; ky++, src += row_step, col += run) {
        aiotc_copy_run(col, src, run);
    }
    return 1;
}

/* The k taps of a window at (y0, x0) that crosses the image's border, into col: rows
 * outside it the padding, rows crossing its left or right edge the padding on each side
 * and one run of the taps inside. Out of line: the drivers' loops keep their registers. */
#if defined(__GNUC__)
__attribute__((noinline, unused)) /* unused: not every kernel with this header has borders */
#endif
static void aiotc_im2col_gather_border(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                       const int8_t *image, const aiotc_dims *filter_dims, int32_t y0, int32_t x0,
                                       int8_t *col)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c, k_w = filter_dims->w;
    const int32_t dil_h = params->dilation.h, dil_w = params->dilation.w;
    const int8_t pad = (int8_t)(-params->input_offset);
    const int32_t run = k_w * c;
    /* undilated: the bytes of the taps inside the image, [lo, hi), one run between the padding */
    const int32_t lo = AIOTC_MIN(k_w, AIOTC_MAX(0, -x0)) * c, hi = AIOTC_MAX(lo, AIOTC_MIN(k_w, in_w - x0) * c);
    int32_t ky, kx;
    for (ky = 0; ky < filter_dims->h; ky++) {
        const int32_t iy = y0 + ky * dil_h;
        int8_t *dst = col + ky * run;
        if (iy < 0 || iy >= in_h) {
            aiotc_fill_run(dst, pad, run);
        } else if (dil_w == 1) {
            aiotc_fill_run(dst, pad, lo);
            aiotc_copy_run(dst + lo, image + ((iy * in_w + x0) * c + lo), hi - lo);
            aiotc_fill_run(dst + hi, pad, run - hi);
        } else {
            for (kx = 0; kx < k_w; kx++) {
                const int32_t ix = x0 + kx * dil_w;
                if (ix < 0 || ix >= in_w) {
                    aiotc_fill_run(dst + kx * c, pad, c);
                } else {
                    aiotc_copy_run(dst + kx * c, image + (iy * in_w + ix) * c, c);
                }
            }
        }
    }
}

/* The k taps of the output pixel whose window starts at (y0, x0) of image b, into col. */
static inline void aiotc_im2col_gather(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                       const int8_t *image, const aiotc_dims *filter_dims, int32_t y0, int32_t x0,
                                       int8_t *col)
{
    if (!aiotc_im2col_inside(params, input_dims, image, filter_dims, y0, x0, col)) {
        aiotc_im2col_gather_border(params, input_dims, image, filter_dims, y0, x0, col);
    }
}

#if defined(AIOTC_DSP)
/* Groups of 4 int16 pairs of the padding value, in aiotc_widen_pairs's layout (step, gap). */
static inline void aiotc_fill_widened(int32_t *dst, int32_t groups, int32_t pad_pair, int32_t step, int32_t gap)
{
    for (; groups > 0; groups--, dst += step) {
        dst[0] = pad_pair;
        dst[gap] = pad_pair;
    }
}

/* aiotc_im2col_gather() and aiotc_col_prepare() in one step, for channels in whole words
 * (c % 4 == 0, so no group of 4 taps spans two pixels): each kernel row is widened straight
 * from the image into the column at col, in aiotc_widen_pairs's layout (step, gap: a pair's
 * column or a quad's), padded pixels as the widened zero point. */
static inline void aiotc_gather_widened(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                        const int8_t *image, const aiotc_dims *filter_dims, int32_t y0, int32_t x0,
                                        int32_t *col, int32_t step, int32_t gap)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c, k_w = filter_dims->w;
    const int32_t dil_h = params->dilation.h, dil_w = params->dilation.w;
    const int32_t pad = (int32_t)(uint16_t)(int16_t)(int8_t)(-params->input_offset);
    const int32_t pad_pair = (int32_t)((uint32_t)pad | (uint32_t)pad << 16);
    const int32_t run = k_w * c;
    int32_t ky, kx;
    if (y0 >= 0 && y0 + (filter_dims->h - 1) * dil_h < in_h && x0 >= 0 && x0 + (k_w - 1) * dil_w < in_w) {
        /* inside the image: its kernel rows with no tests, as aiotc_im2col_inside */
        const int8_t *src = image + (y0 * in_w + x0) * c;
        if (k_w == in_w && dil_h == 1) { /* whole rows (a Conv1D upright): one run */
            aiotc_widen_pairs(src, filter_dims->h * run, col, step, gap);
            return;
        }
        if (dil_w == 1) {
            for (ky = 0; ky < filter_dims->h; ky++, src += dil_h * in_w * c, col += run * (step / 4)) {
                aiotc_widen_pairs(src, run, col, step, gap);
            }
            return;
        }
        for (ky = 0; ky < filter_dims->h; ky++, src += dil_h * in_w * c, col += run * (step / 4)) {
            for (kx = 0; kx < k_w; kx++) { /* a run of c bytes per tap, dil_w pixels apart */
                aiotc_widen_pairs(src + kx * dil_w * c, c, col + kx * c * (step / 4), step, gap);
            }
        }
        return;
    }
    for (ky = 0; ky < filter_dims->h; ky++) {
        const int32_t iy = y0 + ky * dil_h;
        int32_t *const dst = col + ky * run * (step / 4); /* run / 4 groups of `step` words */
        if (iy < 0 || iy >= in_h) {
            aiotc_fill_widened(dst, run / 4, pad_pair, step, gap);
        } else if (dil_w == 1 && x0 >= 0 && x0 + k_w <= in_w) {
            aiotc_widen_pairs(image + (iy * in_w + x0) * c, run, dst, step, gap);
        } else {
            for (kx = 0; kx < k_w; kx++) {
                const int32_t ix = x0 + kx * dil_w;
                int32_t *const pixel = dst + kx * c * (step / 4);
                if (ix < 0 || ix >= in_w) {
                    aiotc_fill_widened(pixel, c / 4, pad_pair, step, gap);
                } else {
                    aiotc_widen_pairs(image + (iy * in_w + ix) * c, c, pixel, step, gap);
                }
            }
        }
    }
}
#endif

/* Column j (0 or 1) of a pair for the gemm: the taps of the window at (y0, x0) of image,
 * gathered into taps (`row` bytes per column) and prepared in cols (aiotc_col_prepare);
 * on the DSP path, channels in whole words widened straight from the image. */
static AIOTC_INLINE const aiotc_col *aiotc_im2col_column(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                        const int8_t *image, const aiotc_dims *filter_dims, int32_t y0,
                                                        int32_t x0, int8_t *taps, int32_t row, aiotc_col *cols,
                                                        int32_t j)
{
    int8_t *const column = taps + j * row;
#if defined(AIOTC_DSP)
    if (input_dims->c % 4 == 0) {
        aiotc_gather_widened(params, input_dims, image, filter_dims, y0, x0, cols + 2 * j, 4, 1);
        return cols;
    }
#endif
    aiotc_im2col_gather(params, input_dims, image, filter_dims, y0, x0, column);
    return aiotc_col_prepare(column, row, cols, j);
}

#if defined(AIOTC_MVE)
/* n bytes (a multiple of 16) from src into a column of the interleaved pair
 * aiotc_gemm_blocks reads, vectors 32 bytes apart from dst; returns where the next go. */
static inline int8_t *aiotc_pair_run(const int8_t *src, int32_t n, int8_t *dst)
{
    int32_t i;
    for (i = 0; i < n; i += 16, dst += 32) {
        vstrbq_s8(dst, vldrbq_s8(src + i));
    }
    return dst;
}

/* The bytes of a window's run in the image: a kernel row (k_w * c), or the whole window
 * where the kernel is as wide as the image, unpadded across, undilated down (a Conv1D on
 * its side, time along the rows: its kernel rows lie back to back). */
static inline int32_t aiotc_window_run(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                       const aiotc_dims *filter_dims)
{
    const int32_t row = filter_dims->w * input_dims->c;
    const int32_t whole = filter_dims->w == input_dims->w && params->padding.w == 0 && params->dilation.h == 1;
    return whole ? filter_dims->h * row : row;
}

/* The taps of the window at (y0, x0) of image as a column of the interleaved pair
 * aiotc_gemm_blocks reads (vectors 32 bytes apart from dst), for `runs` runs of `run`
 * bytes (aiotc_window_run, whole vectors) and no dilation: a window inside the image
 * straight from it, one at a border gathered into taps first. */
static inline void aiotc_im2col_vectors(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                        const aiotc_dims *filter_dims, int32_t run, int32_t runs,
                                        const int8_t *image, int32_t y0, int32_t x0, int8_t *taps, int8_t *dst)
{
    const int32_t in_w = input_dims->w, c = input_dims->c, k_h = filter_dims->h;
    const int8_t *src = taps;
    int32_t rows = 1, step = run * runs;
    if (y0 >= 0 && y0 + k_h <= input_dims->h && x0 >= 0 && x0 + filter_dims->w <= in_w) {
        src = image + (y0 * in_w + x0) * c;
        rows = runs;
        step = run;
    } else {
        aiotc_im2col_gather(params, input_dims, image, filter_dims, y0, x0, taps);
    }
    for (; rows > 0; rows--, src += in_w * c) {
        dst = aiotc_pair_run(src, step, dst);
    }
}

/* Whether the M55's pixel pairs (aiotc_conv_pairs) take a layer of int8 weights: runs
 * (aiotc_window_run) of whole vectors, over 32 taps, no dilation, channels in whole blocks, and the
 * driver's checks (its scratch `needs` bytes) passed; elsewhere the driver's own loop. */
static inline int32_t aiotc_conv_pairs_fit(const aiotc_context *ctx, int32_t needs, const aiotc_conv_params *params,
                                           const aiotc_dims *input_dims, const aiotc_dims *filter_dims,
                                           const aiotc_dims *output_dims)
{
    const int32_t row = filter_dims->w * input_dims->c, out_c = output_dims->c;
    return aiotc_window_run(params, input_dims, filter_dims) % 16 == 0 && filter_dims->h * row > 32 &&
           out_c % 4 == 0 && params->dilation.h == 1 &&
           params->dilation.w == 1 && filter_dims->c == input_dims->c && filter_dims->n == out_c && ctx->size >= needs;
}

/* A layer of aiotc_conv_pairs_fit through pixel pairs, their columns interleaved as
 * they are gathered (aiotc_im2col_vectors: no copy of the taps between the image and the
 * gemm) into pairs, a padded window's taps gathered in taps first, the pixels walked
 * without divisions (`pointwise`, constant in each driver: a 1x1 kernel, no padding, a
 * pixel's channels copied with no window tests); an odd last pixel alone through
 * aiotc_gemm_column (taps the column it reads: at least k bytes). */
static int32_t aiotc_conv_pairs(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                int8_t *output, int8_t *pairs, int8_t *taps, int32_t pointwise)
{
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t pixels = output_dims->n * out_h * out_w;
    const int32_t image_size = input_dims->h * input_dims->w * input_dims->c;
    const int8_t *image = input;
    const int32_t run = aiotc_window_run(params, input_dims, filter_dims);
    const int32_t runs = filter_dims->h * filter_dims->w * input_dims->c / run;
    int32_t p, j, oy = 0, ox = 0;
    aiotc_gemm g;
    aiotc_mve_blocks blocks;
    aiotc_gemm_setup(&g, filter, filter_dims->h * filter_dims->w * input_dims->c, out_c, bias, quant_params, params,
                     pairs);
    aiotc_mve_blocks_setup(&blocks, &g);
    for (p = 0; p < pixels; p += 2, output += 2 * out_c) {
        const int32_t lone = p + 1 == pixels; /* an odd last pixel (one gather call: inlined) */
        for (j = 0; j < 2 - lone; j++) {
            if (pointwise) {
                aiotc_pair_run(image + (oy * params->stride.h * input_dims->w + ox * params->stride.w) * g.k, g.k,
                               pairs + 16 * j);
            } else {
                aiotc_im2col_vectors(params, input_dims, filter_dims, run, runs, image,
                                     oy * params->stride.h - params->padding.h,
                                     ox * params->stride.w - params->padding.w, taps, pairs + 16 * j);
            }
            if (++ox == out_w) {
                ox = 0;
                if (++oy == out_h) {
                    oy = 0;
                    image += image_size;
                }
            }
        }
        if (lone) { /* its column out of the pair into taps, whole */
            for (j = 0; j < g.k; j += 16) {
                vstrbq_s8(taps + j, vldrbq_s8(pairs + 2 * j));
            }
            aiotc_gemm_column(&g, taps, output);
        } else if (g.common == 1) {
            aiotc_gemm_blocks(&blocks, &g, output, output + out_c, 1, 1);
        } else if (g.common) {
            aiotc_gemm_blocks(&blocks, &g, output, output + out_c, 2, 1);
        } else {
            aiotc_gemm_blocks(&blocks, &g, output, output + out_c, 0, 1);
        }
    }
    return AIOTC_OK;
}
#endif

/* The im2col drivers' walk over output pixels, without divisions: pixel (oy, ox) of image. */
typedef struct {
    const int8_t *image;
    int32_t oy, ox;
} aiotc_pixel_walk;

/* The walk at its next pixel: the next row after a row's last, the next image after its last row. */
static AIOTC_INLINE void aiotc_pixel_step(aiotc_pixel_walk *at, const aiotc_dims *input_dims,
                                          const aiotc_dims *output_dims)
{
    if (++at->ox == output_dims->w) {
        at->ox = 0;
        if (++at->oy == output_dims->h) {
            at->oy = 0;
            at->image += input_dims->h * input_dims->w * input_dims->c;
        }
    }
}

#if defined(AIOTC_MVE)
/* n bytes (a multiple of 8) at src (the padding where `padded`) into the column at dst of
 * the interleaved pair from byte pos of the column (16 inputs per 32 bytes, pos a multiple
 * of 8): 8 to the second half of a vector, whole vectors, 8 to the first half of the
 * next; returns the next run's pos. */
static AIOTC_INLINE int32_t aiotc_pair_bytes(const int8_t *src, int32_t n, int8x16_t pad, int32_t padded, int8_t *dst,
                                             int32_t pos)
{
    const mve_pred16_t half = vctp8q(8);
    int32_t vectors;
    if (pos & 8) {
        vstrbq_p_s8(dst + 2 * pos - 8, padded ? pad : vldrbq_z_s8(src, half), half);
        src += 8;
        n -= 8;
        pos += 8;
    }
    dst += 2 * pos;
    pos += n;
    for (vectors = n >> 4; vectors > 0; vectors--, src += 16, dst += 32) {
        vstrbq_s8(dst, padded ? pad : vldrbq_s8(src));
    }
    if (n & 8) {
        vstrbq_p_s8(dst, padded ? pad : vldrbq_z_s8(src, half), half);
    }
    return pos;
}

/* The taps of the window at (y0, x0) of image (at the group's first channel), c
 * channels (a multiple of 8) each, as the column at dst of the interleaved pair
 * (aiotc_mve_interleave's layout): a window inside the image with no tests (a kernel
 * row at once where groups are 1, a tap per store where c is 8 or 16), one at a border
 * tap by tap. Where k % 16 == 8 the taps go 8 bytes on, then the first 8 back alone in
 * the first vector, 8 zeros after them (as aiotc_mve_interleave leaves them). */
static AIOTC_INLINE void aiotc_pair_column(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                           const int8_t *image, const aiotc_dims *filter_dims, int32_t y0, int32_t x0,
                                           int32_t k, int8_t *dst)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c, c = filter_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, dil_h = params->dilation.h, dil_w = params->dilation.w;
    const int8x16_t pad = vdupq_n_s8((int8_t)(-params->input_offset));
    const mve_pred16_t lanes = vctp8q((uint32_t)c);
    int32_t ky, kx, pos = k & 8;
    if (y0 >= 0 && y0 + (k_h - 1) * dil_h < in_h && x0 >= 0 && x0 + (k_w - 1) * dil_w < in_w) {
        const int8_t *row = image + (y0 * in_w + x0) * in_c;
        if (c == in_c && dil_w == 1) { /* groups 1: each kernel row one run */
            for (ky = 0; ky < k_h; ky++, row += dil_h * in_w * in_c) {
                pos = aiotc_pair_bytes(row, k_w * c, pad, 0, dst, pos);
            }
        } else {
            for (ky = 0; ky < k_h; ky++, row += dil_h * in_w * in_c) {
                const int8_t *src = row;
                if (c <= 16) { /* a tap per store */
                    for (kx = 0; kx < k_w; kx++, src += dil_w * in_c, pos += c) {
                        vstrbq_p_s8(dst + pos + (pos & ~15), vldrbq_z_s8(src, lanes), lanes);
                    }
                } else {
                    for (kx = 0; kx < k_w; kx++, src += dil_w * in_c) {
                        pos = aiotc_pair_bytes(src, c, pad, 0, dst, pos);
                    }
                }
            }
        }
    } else {
        for (ky = 0; ky < k_h; ky++) {
            const int32_t iy = y0 + ky * dil_h;
            for (kx = 0; kx < k_w; kx++) {
                const int32_t ix = x0 + kx * dil_w;
                if (iy < 0 || iy >= in_h || ix < 0 || ix >= in_w) {
                    pos = aiotc_pair_bytes(image, c, pad, 1, dst, pos);
                } else {
                    pos = aiotc_pair_bytes(image + (iy * in_w + ix) * in_c, c, pad, 0, dst, pos);
                }
            }
        }
    }
    if (k & 8) {
        vstrbq_s8(dst, vldrbq_z_s8(dst + 8, vctp8q(8)));
    }
}

/* Whether aiotc_conv_group_pairs takes a layer: groups of c % 8 == 0 channels, their rows
 * in whole blocks of 4, over 32 taps (aiotc_gemm_blocks). */
static inline int32_t aiotc_group_pairs_fit(const aiotc_dims *filter_dims, int32_t rows, int32_t k)
{
    return filter_dims->c % 8 == 0 && rows % 4 == 0 && k > 32;
}

/* The output pixel pairs of a layer of `groups` groups (1: a plain convolution) of
 * aiotc_group_pairs_fit, from the walk at: per pair and group, the group's two columns
 * gathered into the interleaved pair (aiotc_pair_column), its rows by aiotc_gemm_blocks,
 * the blocks set up once. Returns the pixels done (an odd last one left to the caller, at
 * its walk). */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static int32_t aiotc_conv_group_pairs(const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params,
                                      const aiotc_dims *input_dims, const aiotc_dims *filter_dims,
                                      const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                      int8_t *output, int32_t groups, int8_t *pairs, aiotc_pixel_walk *at)
{
    const int32_t c = filter_dims->c, out_c = output_dims->c, rows = out_c / groups;
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    int32_t p, group, j;
    aiotc_gemm g;
    aiotc_mve_blocks blocks;
    aiotc_gemm_setup(&g, filter, filter_dims->h * filter_dims->w * c, rows, bias, quant_params, params,
                     (aiotc_col *)pairs);
    aiotc_mve_blocks_setup(&blocks, &g);
    for (p = 0; pixels - p >= 2; p += 2, output += 2 * out_c) {
        aiotc_pixel_walk pixel[2];
        pixel[0] = *at;
        aiotc_pixel_step(at, input_dims, output_dims);
        pixel[1] = *at;
        aiotc_pixel_step(at, input_dims, output_dims);
        for (group = 0; group < groups; group++) {
            const int32_t first = group * rows;
            for (j = 0; j < 2; j++) {
                aiotc_pair_column(params, input_dims, pixel[j].image + group * c, filter_dims,
                                  pixel[j].oy * params->stride.h - params->padding.h,
                                  pixel[j].ox * params->stride.w - params->padding.w, g.k, pairs + 16 * j);
            }
            g.weights = filter + first * g.row;
            g.bias = bias + first;
            g.multiplier = quant_params->multiplier + first;
            g.shift = quant_params->shift + first;
            if (g.common == 1) {
                aiotc_gemm_blocks(&blocks, &g, output + first, output + out_c + first, 1, 0);
            } else if (g.common) {
                aiotc_gemm_blocks(&blocks, &g, output + first, output + out_c + first, 2, 0);
            } else {
                aiotc_gemm_blocks(&blocks, &g, output + first, output + out_c + first, 0, 0);
            }
        }
    }
    return p;
}
#endif

static AIOTC_DRIVER int32_t aiotc_conv_im2col_loop(
    const aiotc_context *ctx, const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
    const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output, int32_t nibbles)
{
    const int32_t out_c = output_dims->c, pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    int8_t *const taps = (int8_t *)ctx->buf;
    aiotc_col *const cols = (aiotc_col *)(taps + 2 * AIOTC_ROW(k));
    aiotc_gemm g;
    aiotc_pixel_walk at;
    int32_t p;
    if (filter_dims->c != input_dims->c || filter_dims->n != out_c ||
        ctx->size < AIOTC_CONV_IM2COL_BUFFER(k)) {
        return AIOTC_ARG_ERROR;
    }
    aiotc_gemm_setup(&g, filter, k, out_c, bias, quant_params, params, cols);
    memset(taps, 0, (size_t)(2 * g.row)); /* the padding after each column's k taps: widened whole */
    at.image = input;
    at.oy = at.ox = 0;
    for (p = 0; p < pixels; p += 2) {
        const int32_t count = AIOTC_MIN(2, pixels - p);
        const aiotc_col *col[2] = {0, 0};
        int32_t j;
        for (j = 0; j < count; j++) {
            const int32_t y0 = at.oy * params->stride.h - params->padding.h;
            const int32_t x0 = at.ox * params->stride.w - params->padding.w;
            col[j] = aiotc_im2col_column(params, input_dims, at.image, filter_dims, y0, x0, taps, g.row, cols, j);
            aiotc_pixel_step(&at, input_dims, output_dims);
        }
        aiotc_gemm_run(&g, col[0], col[1], output + p * out_c, output + (p + 1) * out_c, nibbles);
    }
    return AIOTC_OK;
}

/* The drivers: the M55's pixel pairs where they fit, else their own loops. */
static AIOTC_INLINE int32_t aiotc_conv_im2col_gemm(
    const aiotc_context *ctx, const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
    const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output, int32_t nibbles)
{
#if defined(AIOTC_MVE)
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    if (!nibbles &&
        aiotc_conv_pairs_fit(ctx, AIOTC_CONV_IM2COL_BUFFER(k), params, input_dims, filter_dims, output_dims)) {
        int8_t *const taps = (int8_t *)ctx->buf;
        return aiotc_conv_pairs(params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims, output,
                                taps + 2 * AIOTC_ROW(k), taps, 0);
    }
    if (!nibbles && aiotc_group_pairs_fit(filter_dims, output_dims->c, k) && filter_dims->c == input_dims->c &&
        filter_dims->n == output_dims->c && ctx->size >= AIOTC_CONV_IM2COL_BUFFER(k)) {
        /* kernel rows not whole vectors, or dilated: 8 bytes (or a vector) at a time */
        int8_t *const taps = (int8_t *)ctx->buf;
        const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
        aiotc_pixel_walk at;
        at.image = input;
        at.oy = at.ox = 0;
        if (aiotc_conv_group_pairs(params, quant_params, input_dims, filter_dims, filter, bias, output_dims, output, 1,
                                   taps + 2 * AIOTC_ROW(k), &at) < pixels) { /* a lone last pixel */
            aiotc_gemm g;
            aiotc_gemm_setup(&g, filter, k, output_dims->c, bias, quant_params, params, 0);
            aiotc_im2col_gather(params, input_dims, at.image, filter_dims, at.oy * params->stride.h - params->padding.h,
                                at.ox * params->stride.w - params->padding.w, taps);
            aiotc_gemm_column(&g, taps, output + (pixels - 1) * output_dims->c);
        }
        return AIOTC_OK;
    }
#endif
    return aiotc_conv_im2col_loop(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims,
                                  output, nibbles);
}

static AIOTC_INLINE int32_t aiotc_conv_1x1_gemm(
    const aiotc_context *ctx, const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
    const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output, int32_t nibbles)
{
#if defined(AIOTC_MVE)
    if (!nibbles && filter_dims->h == 1 && filter_dims->w == 1 &&
        aiotc_conv_pairs_fit(ctx, AIOTC_CONV_1X1_BUFFER(input_dims->c), params, input_dims, filter_dims, output_dims)) {
        /* the pair takes 2 * c bytes of the 4 * c, the rest a lone last pixel's column */
        int8_t *const pairs = (int8_t *)ctx->buf;
        return aiotc_conv_pairs(params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims, output,
                                pairs, pairs + 2 * input_dims->c, 1);
    }
#endif
    return aiotc_conv_1x1_loop(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims,
                               output, nibbles);
}

#endif /* AIOTC_NN_CONV_GEMM_H */
