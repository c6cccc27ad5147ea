/* aiotc runtime: what the depthwise channel kernels (aiotc_depthwise_conv_opt_s8,
 * aiotc_depthwise_conv_pairs_s8) share: the layer's constants, and the tap tables through
 * which they read each output pixel's taps: one pointer per tap to its input pixel, or to a
 * row of input zero points where the tap falls in the padding (the folded bias cancels
 * them), so border pixels run the same loops as inner ones. */
#ifndef AIOTC_NN_DW_CHANNELS_H
#define AIOTC_NN_DW_CHANNELS_H

#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h" /* AIOTC_INLINE */

/* The layer's constants (locals of the kernels: their fields stay in registers across the
 * int8 stores). */
typedef struct {
    const int16_t *weights; /* widened to int16, in the kernel's layout */
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t channels;
    int32_t offset, act_min, act_max;
    int32_t common; /* quant_params->right_shifts: shift[] holds right shifts */
} aiotc_dw_layer;

static inline aiotc_dw_layer aiotc_dw_layer_of(const aiotc_dw_conv_params *params,
                                               const aiotc_per_channel_quant_params *quant_params,
                                               const int16_t *filter, const int32_t *bias, int32_t channels)
{
    aiotc_dw_layer d;
    d.weights = filter;
    d.bias = bias;
    d.multiplier = quant_params->multiplier;
    d.shift = quant_params->shift;
    d.channels = channels;
    d.offset = params->output_offset;
    d.act_min = params->activation.min;
    d.act_max = params->activation.max;
    d.common = quant_params->right_shifts;
    return d;
}

/* A layer's geometry, computed once per call. */
typedef struct {
    const int8_t *pad; /* the row of zero points */
    int32_t in_h, in_w, k_h, k_w;
    int32_t last_y, last_x; /* the last tap's offsets from the first (dilated) */
    int32_t step_y, step_x; /* bytes from a tap to the next one down, across */
    int32_t dilation_h, dilation_w;
} aiotc_dw_window;

static inline aiotc_dw_window aiotc_dw_window_of(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
                                                 const aiotc_dims *filter_dims, const int8_t *pad)
{
    aiotc_dw_window v;
    v.pad = pad;
    v.in_h = input_dims->h;
    v.in_w = input_dims->w;
    v.k_h = filter_dims->h;
    v.k_w = filter_dims->w;
    v.dilation_h = params->dilation.h;
    v.dilation_w = params->dilation.w;
    v.last_y = (v.k_h - 1) * v.dilation_h;
    v.last_x = (v.k_w - 1) * v.dilation_w;
    v.step_y = v.dilation_h * v.in_w * input_dims->c;
    v.step_x = v.dilation_w * input_dims->c;
    return v;
}

/* The table of the pixel whose window starts at input row y0, column x0 of `image` (`ch`
 * channels): kh*kw pointers from `tap` on, `spread` apart (tables of several pixels may
 * interleave). */
static AIOTC_INLINE void aiotc_dw_tap_table(const aiotc_dw_window *v, const int8_t *image, int32_t ch, int32_t y0,
                                            int32_t x0, const int8_t **tap, int32_t spread)
{
    int32_t ky, kx;
    if (x0 >= 0 && x0 + v->last_x < v->in_w && y0 >= 0 && y0 + v->last_y < v->in_h) { /* no tap in the padding */
        const int8_t *row = image + (y0 * v->in_w + x0) * ch;
        for (ky = 0; ky < v->k_h; ky++, row += v->step_y) {
            const int8_t *p = row;
            for (kx = 0; kx < v->k_w; kx++, p += v->step_x) {
                *tap = p;
                tap += spread;
            }
        }
    } else { /* rows and columns tested once each, the offsets stepped */
        int32_t iy = y0, row = (y0 * v->in_w + x0) * ch;
        for (ky = 0; ky < v->k_h; ky++, iy += v->dilation_h, row += v->step_y) {
            int32_t ix = x0, at = row;
            if ((uint32_t)iy >= (uint32_t)v->in_h) {
                for (kx = 0; kx < v->k_w; kx++) {
                    *tap = v->pad;
                    tap += spread;
                }
                continue;
            }
            for (kx = 0; kx < v->k_w; kx++, ix += v->dilation_w, at += v->step_x) {
                *tap = (uint32_t)ix < (uint32_t)v->in_w ? image + at : v->pad;
                tap += spread;
            }
        }
    }
}

/* A depth multiplier m > 1: the kernels run output channel c * m + j as a channel of its own
 * over a copy of the input rows with each channel repeated m times, kept in the scratch
 * (AIOTC_DW_REPEAT_ROWS of them): the rows the windows of one output row read (the kernel's
 * height, dilated), each row widened once, the kept ones moved down for each new one. */
#define AIOTC_DW_REPEAT_ROWS(k_h, dilation_h) (((k_h) - 1) * (dilation_h) + 1)

typedef struct {
    int8_t *rows;
    int32_t cap, bytes; /* rows the scratch holds; bytes a widened row */
    int32_t first, lo, hi; /* input rows lo .. hi - 1 held, lo at row `first` */
} aiotc_dw_repeat;

/* `n` input channels to n * mult (mult > 1). */
static inline void aiotc_dw_repeat_channels(const int8_t *src, int32_t n, int32_t mult, int8_t *dst)
{
    int32_t i = 0, j;
#if defined(AIOTC_MVE)
    if (mult == 2) { /* 8 bytes widened to 16-bit lanes, each byte twice */
        for (; i < n; i += 8, dst += 16) {
            const mve_pred16_t p = vctp16q((uint32_t)(n - i));
            const uint16x8_t x = vldrbq_z_u16((const uint8_t *)src + i, p);
            vstrbq_p_u8((uint8_t *)dst, vreinterpretq_u8_u16(vmulq_n_u16(x, 0x101)), vctp8q((uint32_t)(2 * (n - i))));
        }
        return;
    }
#else
    if (mult == 2) { /* 4 bytes a b c d to a a b b, c c d d */
        for (; i + 4 <= n; i += 4, dst += 8) {
            uint32_t x, e, o, w[2];
            memcpy(&x, src + i, 4);
            e = x & 0x00FF00FFu;
            o = (x >> 8) & 0x00FF00FFu;
            e |= e << 8;
            o |= o << 8;
            w[0] = (e & 0xFFFFu) | (o << 16);
            w[1] = (e >> 16) | (o & 0xFFFF0000u);
            memcpy(dst, w, 8);
        }
    }
#endif
    for (; i < n; i++) {
        for (j = 0; j < mult; j++) {
            *dst++ = src[i];
        }
    }
}

/* The widened rows the windows starting at input row *y0 of `image` read: returns where they
 * start in the copy, *y0 counted from there, and makes `v` (the window over the widened
 * image) that of the rows held. */
static inline const int8_t *aiotc_dw_repeat_rows(aiotc_dw_repeat *r, aiotc_dw_window *v, const aiotc_dims *input_dims,
                                                 const int8_t *image, int32_t *y0)
{
    const int32_t in_h = input_dims->h, row = input_dims->w * input_dims->c, mult = r->bytes / row;
    const int32_t lo = *y0 > 0 ? *y0 : 0, end = *y0 + v->last_y + 1;
    const int32_t hi = end < in_h ? (end > lo ? end : lo) : in_h;
    int32_t y;
    if (lo < r->lo || lo >= r->hi) { /* nothing held that is needed */
        r->first = 0;
        r->hi = lo;
    } else {
        r->first += lo - r->lo;
    }
    r->lo = lo;
    if (r->first + (hi - lo) > r->cap) { /* the held rows down to the start */
        memmove(r->rows, r->rows + r->first * r->bytes, (size_t)((r->hi - lo) * r->bytes));
        r->first = 0;
    }
    for (y = r->hi; y < hi; y++) {
        aiotc_dw_repeat_channels(image + y * row, row, mult, r->rows + (r->first + y - lo) * r->bytes);
    }
    if (hi > r->hi) {
        r->hi = hi;
    }
    v->in_h = hi - lo;
    *y0 -= lo;
    return r->rows + r->first * r->bytes;
}

#endif
