/* int8 max pooling over the taps inside the image, then the fused activation clamp,
 * as TFLite Micro's reference computes it.
 *
 * Per output row the windows wholly inside the image along it run as one run of
 * pixels, each a fixed step on; those clipped at the left and right edges one by one.
 * Without padding (most pools, and most band calls of a streamed stage, a few pixels
 * each) every output row is one run, with no window set-up at all.
 * A one-column image (a Conv1D on its side) is read as the one-row image of the same
 * bytes, so that its windows make one run. Every channel runs the same loop over a
 * window, the channels in vectors:
 * - MVE (Cortex-M55): 16 channels per VMAX.S8, the last ones predicated;
 * - DSP (Cortex-M4/M7): 4 channels per word, SSUB8 setting the byte flags SEL reads;
 * - portable C one channel at a time. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"

typedef struct {
    const int8_t *first; /* the window's first pixel inside the image */
    int32_t rows, cols;  /* the window inside the image */
    int32_t row_step;    /* bytes from one input row to the next */
    int32_t channels;
    int32_t act_min, act_max;
} max_window;

/* Channels [c, c + 1) of the window's pixels (the portable step). */
static inline int8_t max_channel(const max_window *m, int32_t c)
{
    int32_t acc = -128, r, k;
    for (r = 0; r < m->rows; r++) {
        for (k = 0; k < m->cols; k++) {
            acc = AIOTC_MAX(acc, m->first[r * m->row_step + k * m->channels + c]);
        }
    }
    return (int8_t)AIOTC_CLAMP(acc, m->act_min, m->act_max);
}

#if defined(AIOTC_MVE)
/* The maximum over a rows x cols window from `first` of 16 channels, only those p allows
 * when `tail` (rows, cols and tail constants where inlined: the window unrolled); the
 * first tap is the maximum so far. */
static AIOTC_INLINE int8x16_t max_taps(const int8_t *first, int32_t rows, int32_t cols, int32_t row_step, int32_t n,
                                       int32_t tail, mve_pred16_t p)
{
    int8x16_t acc = tail ? vldrbq_z_s8(first, p) : vldrbq_s8(first);
    int32_t r, k;
    for (k = 1; k < cols; k++) {
        acc = vmaxq_s8(acc, tail ? vldrbq_z_s8(first + k * n, p) : vldrbq_s8(first + k * n));
    }
    for (r = 1; r < rows; r++) {
        first += row_step;
        for (k = 0; k < cols; k++) {
            acc = vmaxq_s8(acc, tail ? vldrbq_z_s8(first + k * n, p) : vldrbq_s8(first + k * n));
        }
    }
    return acc;
}

/* `count` windows of rows x cols taps, each `step` bytes after the last: 16 channels a
 * vector, the last ones predicated, no set-up per pixel. */
static AIOTC_INLINE void max_windows(const max_window *m, int32_t rows, int32_t cols, int32_t count, int32_t step,
                                     int8_t *out)
{
    const int32_t n = m->channels, row_step = m->row_step;
    const int8x16_t lo = vdupq_n_s8((int8_t)m->act_min), hi = vdupq_n_s8((int8_t)m->act_max);
    const mve_pred16_t p = vctp8q((uint32_t)(n % 16));
    const int8_t *first = m->first;
    for (; count > 0; count--, first += step, out += n) {
        int32_t c;
        for (c = 0; c + 16 <= n; c += 16) {
            vstrbq_s8(out + c, vminq_s8(vmaxq_s8(max_taps(first + c, rows, cols, row_step, n, 0, 0), lo), hi));
        }
        if (c < n) {
            vstrbq_p_s8(out + c, vminq_s8(vmaxq_s8(max_taps(first + c, rows, cols, row_step, n, 1, p), lo), hi), p);
        }
    }
}

/* The common windows (a 1-D pool's 2 taps, a 2x2 pool) unrolled, a row of taps in one
 * loop, any other in two. */
static void max_run(const max_window *m, int32_t count, int32_t step, int8_t *out)
{
    if (m->rows == 1 && m->cols == 2) {
        max_windows(m, 1, 2, count, step, out);
    } else if (m->rows == 2 && m->cols == 2) {
        max_windows(m, 2, 2, count, step, out);
    } else if (m->rows == 1) {
        max_windows(m, 1, m->cols, count, step, out);
    } else {
        max_windows(m, m->rows, m->cols, count, step, out);
    }
}
#elif defined(__ARM_FEATURE_DSP)
/* The bytewise signed maximum (minimum) of two words: SSUB8 sets a byte's flag where
 * a >= b, SEL takes that byte from its first operand. */
static AIOTC_INLINE int32_t max_bytes(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b));
    return r;
}

static AIOTC_INLINE int32_t min_bytes(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b));
    return r;
}

/* A 2x2 window (most max pools, wholly inside the image) with no clamp: its 4 pixels
 * read at fixed offsets, no loop over the window (3 SSUB8/SEL pairs per 4 channels). */
static void max_pixel_2x2(const max_window *m, int8_t *out)
{
    const int8_t *top = m->first, *bottom = top + m->row_step;
    const int32_t n = m->channels;
    int32_t c;
    for (c = 0; c + 4 <= n; c += 4) {
        const int32_t a = max_bytes(aiotc_read_word(top + c), aiotc_read_word(top + n + c));
        const int32_t b = max_bytes(aiotc_read_word(bottom + c), aiotc_read_word(bottom + n + c));
        const int32_t acc = max_bytes(a, b);
        memcpy(out + c, &acc, sizeof acc);
    }
    for (; c < n; c++) {
        out[c] = max_channel(m, c);
    }
}

static void max_pixel(const max_window *m, int8_t *out)
{
    const int32_t lo = (int32_t)(0x01010101u * (uint8_t)m->act_min), hi = (int32_t)(0x01010101u * (uint8_t)m->act_max);
    int32_t c, r, k;
    if (m->rows == 2 && m->cols == 2 && m->act_min == -128 && m->act_max == 127) {
        max_pixel_2x2(m, out);
        return;
    }
    for (c = 0; c + 4 <= m->channels; c += 4) {
        const int8_t *row = m->first + c;
        int32_t acc = (int32_t)0x80808080u;
        for (r = 0; r < m->rows; r++, row += m->row_step) {
            for (k = 0; k < m->cols; k++) {
                acc = max_bytes(aiotc_read_word(row + k * m->channels), acc);
            }
        }
        acc = min_bytes(max_bytes(acc, lo), hi);
        memcpy(out + c, &acc, sizeof acc);
    }
    for (; c < m->channels; c++) {
        out[c] = max_channel(m, c);
    }
}
#else
static void max_pixel(const max_window *m, int8_t *out)
{
    int32_t c;
    for (c = 0; c < m->channels; c++) {
        out[c] = max_channel(m, c);
    }
}
#endif

#if !defined(AIOTC_MVE)
/* Not inlined: in the driver's loops the window loops' registers spill. */
static AIOTC_NOINLINE void max_run(const max_window *m, int32_t count, int32_t step, int8_t *out)
{
    max_window pixel = *m;
    if (m->rows <= 0 || m->cols <= 0) { /* never (the caller checks): the window loops need no entry test */
        return;
    }
    for (; count > 0; count--, pixel.first += step, out += m->channels) {
        max_pixel(&pixel, out);
    }
}
#endif

int32_t aiotc_maxpool_s8(const aiotc_pool_params *params, const aiotc_dims *input_dims, const int8_t *input,
                         const aiotc_dims *filter_dims, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t c = input_dims->c;
    /* along the rows (y) and the columns (x); a one-column image as the one-row image of its bytes */
    const int32_t turn = input_dims->w == 1 && output_dims->w == 1 && filter_dims->w == 1 && params->padding.w == 0;
    const int32_t in_h = turn ? 1 : input_dims->h, in_w = turn ? input_dims->h : input_dims->w;
    const int32_t out_h = turn ? 1 : output_dims->h, out_w = turn ? output_dims->h : output_dims->w;
    const int32_t k_h = turn ? 1 : filter_dims->h, k_w = turn ? filter_dims->h : filter_dims->w;
    const int32_t stride_y = params->stride.h, stride_x = turn ? params->stride.h : params->stride.w;
    const int32_t pad_y = turn ? 0 : params->padding.h, pad_x = turn ? params->padding.h : params->padding.w;
    /* the columns whose windows lie wholly inside the image: [inner_first, inner_end) */
    const int32_t inner_first = (pad_x + stride_x - 1) / stride_x;
    const int32_t inner_end = in_w + pad_x >= k_w ? AIOTC_MIN((in_w + pad_x - k_w) / stride_x + 1, out_w) : 0;
    max_window m;
    int32_t b, oy, ox;
    if (output_dims->c != c) {
        return AIOTC_ARG_ERROR;
    }
    m.row_step = in_w * c;
    m.channels = c;
    m.act_min = params->activation.min;
    m.act_max = params->activation.max;
    if (pad_y == 0 && pad_x == 0 && (out_h - 1) * stride_y + k_h <= in_h && inner_end == out_w) {
        /* no padding (a band call's too): every window inside the image, an output row a run */
        m.rows = k_w == in_w ? 1 : k_h;
        m.cols = k_w == in_w ? k_w * k_h : k_w;
        for (b = 0; b < input_dims->n; b++) {
            for (oy = 0; oy < out_h; oy++) {
                m.first = input + (b * in_h + oy * stride_y) * in_w * c;
                max_run(&m, out_w, stride_x * c, output + (b * out_h + oy) * out_w * c);
            }
        }
        return AIOTC_OK;
    }
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *const image = input + b * in_h * in_w * c;
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * stride_y - pad_y;
            int8_t *const out_row = output + (b * out_h + oy) * out_w * c;
            int32_t ky_first, ky_last;
            aiotc_window(y0, k_h, 1, in_h, &ky_first, &ky_last);
            for (ox = 0; ox < out_w;) {
                /* the windows inside the image in one run, those clipped at its edges one by one */
                const int32_t count = ox == inner_first && inner_end > ox ? inner_end - ox : 1;
                const int32_t x0 = ox * stride_x - pad_x;
                int32_t kx_first, kx_last;
                aiotc_window(x0, k_w, 1, in_w, &kx_first, &kx_last);
                m.rows = ky_last - ky_first;
                m.cols = kx_last - kx_first;
                if (m.rows <= 0 || m.cols <= 0) {
                    return AIOTC_ARG_ERROR;
                }
                if (m.cols == in_w) { /* whole rows (a window over the full width): one run of taps */
                    m.cols *= m.rows;
                    m.rows = 1;
                }
                m.first = image + ((y0 + ky_first) * in_w + x0 + kx_first) * c;
                max_run(&m, count, stride_x * c, out_row + ox * c);
                ox += count;
            }
        }
    }
    return AIOTC_OK;
}
