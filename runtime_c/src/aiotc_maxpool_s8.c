/* int8 max pooling over the taps inside the image, then the fused activation clamp,
 * as TFLite Micro's reference computes it.
 *
 * Per output pixel the window is clipped to the image once, then every channel runs
 * the same loop over it, the channels in vectors:
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
/* 16 channels from c, only those p allows when `tail` (a constant where inlined). */
static AIOTC_INLINE void max_vector(const max_window *m, int32_t c, int32_t tail, mve_pred16_t p, int8_t *out)
{
    const int8_t *row = m->first + c;
    int8x16_t acc = vdupq_n_s8(-128);
    int32_t r, k;
    for (r = 0; r < m->rows; r++, row += m->row_step) {
        for (k = 0; k < m->cols; k++) {
            acc = vmaxq_s8(acc, tail ? vldrbq_z_s8(row + k * m->channels, p) : vldrbq_s8(row + k * m->channels));
        }
    }
    acc = vminq_s8(vmaxq_s8(acc, vdupq_n_s8((int8_t)m->act_min)), vdupq_n_s8((int8_t)m->act_max));
    if (tail) {
        vstrbq_p_s8(out + c, acc, p);
    } else {
        vstrbq_s8(out + c, acc);
    }
}

static void max_pixel(const max_window *m, int8_t *out)
{
    int32_t c;
    for (c = 0; c + 16 <= m->channels; c += 16) {
        max_vector(m, c, 0, 0, out);
    }
    if (c < m->channels) {
        max_vector(m, c, 1, vctp8q((uint32_t)(m->channels - c)), out);
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

int32_t aiotc_maxpool_s8(const aiotc_pool_params *params, const aiotc_dims *input_dims, const int8_t *input,
                         const aiotc_dims *filter_dims, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    max_window m;
    int32_t b, oy, ox;
    if (output_dims->c != c) {
        return AIOTC_ARG_ERROR;
    }
    m.row_step = in_w * c;
    m.channels = c;
    m.act_min = params->activation.min;
    m.act_max = params->activation.max;
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *const image = input + b * in_h * in_w * c;
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            int32_t ky_first, ky_last;
            aiotc_window(y0, filter_dims->h, 1, in_h, &ky_first, &ky_last);
            for (ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int32_t kx_first, kx_last;
                aiotc_window(x0, filter_dims->w, 1, in_w, &kx_first, &kx_last);
                m.rows = ky_last - ky_first;
                m.cols = kx_last - kx_first;
                if (m.rows <= 0 || m.cols <= 0) {
                    return AIOTC_ARG_ERROR;
                }
                if (m.cols == in_w) { /* whole rows (a Conv1D streamed along time: one column): one run */
                    m.cols *= m.rows;
                    m.rows = 1;
                }
                m.first = image + ((y0 + ky_first) * in_w + x0 + kx_first) * c;
                max_pixel(&m, output + ((b * out_h + oy) * out_w + ox) * c);
            }
        }
    }
    return AIOTC_OK;
}
