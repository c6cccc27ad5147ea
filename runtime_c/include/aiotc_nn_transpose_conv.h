/* aiotc runtime: the loop of aiotc_transpose_conv_s8, _s16 and _f32 (TFLite's reference
 * TransposeConv, computed output by output: each output sums the products of every input
 * pixel that reaches it, where TFLite scatters each input's products; the same integers,
 * float sums in another order). Each kernel calls it with a constant `type`, so each
 * gets its own plain loop; the int8 one's dot products over the input channels take
 * the DSP's SMLAD on the M4 and M55. And the stride phases of the gemm kernels
 * (aiotc_transpose_conv_gemm_s8, _s16), their loop likewise one for both. */
#ifndef AIOTC_NN_TRANSPOSE_CONV_H
#define AIOTC_NN_TRANSPOSE_CONV_H

#include "aiotc_nn_conv.h"
#include "aiotc_nn_conv_gemm.h" /* aiotc_gemm_setup, aiotc_im2col_column */
#include "aiotc_nn_gemm.h"      /* aiotc_read_word, aiotc_sxtb16_ror8 */
#include "aiotc_nn_gemm_s16.h"

enum { AIOTC_TRANSPOSE_S8, AIOTC_TRANSPOSE_S16, AIOTC_TRANSPOSE_F32 };

typedef struct {
    aiotc_tile stride, padding;
    int32_t input_offset, output_offset; /* int8 only */
    int32_t act_min, act_max;            /* integers */
    float act_min_f32, act_max_f32;      /* float */
    const aiotc_per_channel_quant_params *quant;
    const void *bias; /* int32 (int8), scaled int64 (16x8, never NULL), float; NULL: none */
} aiotc_transpose_args;

/* The fast kernels' stride phases (aiotc_transpose_conv_gemm_s8's declaration says what
 * they are): phase (ry, rx)'s taps and its outputs. */
typedef struct {
    int32_t taps_h, taps_w; /* its taps: ky = ry + j * stride.h for j < taps_h, kx alike */
    int32_t oy0, ox0;       /* its first output row and column */
    int32_t rows, columns;  /* its outputs in an image: rows x columns, a stride apart */
    int32_t y0, x0;         /* the first input row and column of its first output's window, whose
                             * taps_h rows then run stride 1 (the last tap's, ky = ry + (taps_h - 1) * stride.h) */
} aiotc_phase;

/* Taps of a kernel of k rows (or columns) that reach the outputs of phase r: r, r + s, ... < k. */
static inline int32_t aiotc_phase_taps(int32_t k, int32_t r, int32_t s)
{
    return r < k ? (k - r + s - 1) / s : 0;
}

/* Inputs per output of the largest phase (phase 0): the kernels' column length. */
static inline int32_t aiotc_phase_depth(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                        const aiotc_dims *filter_dims)
{
    return aiotc_phase_taps(filter_dims->h, 0, params->stride.h) * aiotc_phase_taps(filter_dims->w, 0, params->stride.w) *
           input_dims->c;
}

static inline aiotc_phase aiotc_phase_at(const aiotc_conv_params *params, const aiotc_dims *filter_dims,
                                         const aiotc_dims *output_dims, int32_t ry, int32_t rx)
{
    const int32_t s_h = params->stride.h, s_w = params->stride.w;
    aiotc_phase ph;
    ph.taps_h = aiotc_phase_taps(filter_dims->h, ry, s_h);
    ph.taps_w = aiotc_phase_taps(filter_dims->w, rx, s_w);
    ph.oy0 = ((ry - params->padding.h) % s_h + s_h) % s_h;
    ph.ox0 = ((rx - params->padding.w) % s_w + s_w) % s_w;
    ph.rows = ph.oy0 < output_dims->h ? (output_dims->h - ph.oy0 + s_h - 1) / s_h : 0;
    ph.columns = ph.ox0 < output_dims->w ? (output_dims->w - ph.ox0 + s_w - 1) / s_w : 0;
    ph.y0 = (ph.oy0 + params->padding.h - ry) / s_h - (ph.taps_h - 1); /* exact: oy0 = ry - padding.h mod s_h */
    ph.x0 = (ph.ox0 + params->padding.w - rx) / s_w - (ph.taps_w - 1);
    return ph;
}

/* The phase's output (row r, column c) of image b: its pixel's index in the output. Its
 * window starts at input row ph->y0 + r, column ph->x0 + c. */
static inline int32_t aiotc_phase_pixel(const aiotc_phase *ph, const aiotc_conv_params *params,
                                        const aiotc_dims *output_dims, int32_t b, int32_t r, int32_t c)
{
    return (b * output_dims->h + ph->oy0 + r * params->stride.h) * output_dims->w + ph->ox0 + c * params->stride.w;
}

/* sum((x[i] + offset) * w[i]) over n int8 pairs (the int32 sum the checks keep from
 * overflowing). DSP: 4 pairs per 2 SMLAD, the offset added to the inputs' halfwords by
 * SXTAB16 (|x + offset| <= 255 fits them). */
static inline int32_t aiotc_dot_offset_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t offset)
{
    int32_t acc = 0, i = 0;
#if defined(__ARM_FEATURE_DSP)
    const int32_t offsets = (int32_t)(((uint32_t)offset << 16) | ((uint32_t)offset & 0xFFFFu));
    for (; i + 4 <= n; i += 4) {
        const int32_t xs = aiotc_read_word(x + i), ws = aiotc_read_word(w + i);
        acc = __smlad(__sxtab16(offsets, xs), __sxtb16(ws), acc);                       /* bytes 0 and 2 */
        const int32_t odd_xs = (int32_t)(((uint32_t)xs >> 8) | ((uint32_t)xs << 24)); /* ROR #8 */
        acc = __smlad(__sxtab16(offsets, odd_xs), aiotc_sxtb16_ror8(ws), acc);            /* bytes 1 and 3 */
    }
#endif
    for (; i < n; i++) {
        acc += (x[i] + offset) * w[i];
    }
    return acc;
}

static inline int32_t aiotc_transpose_conv_loop(const aiotc_transpose_args *a, int32_t type,
                                                const aiotc_dims *input_dims, const void *input,
                                                const aiotc_dims *filter_dims, const void *filter,
                                                const aiotc_dims *output_dims, void *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, out_c = output_dims->c;
    int32_t b, oy, ox, oc, iy, ix, ic, out_index = 0;
    if (filter_dims->c != in_c || filter_dims->n != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy + a->padding.h;
            int32_t iy_first, iy_last;
            aiotc_transpose_window(y0, k_h, a->stride.h, in_h, &iy_first, &iy_last);
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox + a->padding.w;
                int32_t ix_first, ix_last;
                aiotc_transpose_window(x0, k_w, a->stride.w, in_w, &ix_first, &ix_last);
                for (oc = 0; oc < out_c; oc++, out_index++) {
                    int32_t acc8 = 0;
                    int64_t acc16 = 0;
                    float acc_f32 = 0.0f;
                    for (iy = iy_first; iy < iy_last; iy++) {
                        for (ix = ix_first; ix < ix_last; ix++) {
                            const int32_t in = ((b * in_h + iy) * in_w + ix) * in_c;
                            const int32_t w = ((oc * k_h + y0 - iy * a->stride.h) * k_w + x0 - ix * a->stride.w) * in_c;
                            if (type == AIOTC_TRANSPOSE_S8) {
                                acc8 += aiotc_dot_offset_s8((const int8_t *)input + in, (const int8_t *)filter + w, in_c,
                                                            a->input_offset);
                                continue;
                            }
                            for (ic = 0; ic < in_c; ic++) {
                                if (type == AIOTC_TRANSPOSE_S16) {
                                    acc16 += (int32_t)((const int16_t *)input)[in + ic] * ((const int8_t *)filter)[w + ic];
                                } else {
                                    acc_f32 += ((const float *)input)[in + ic] * ((const float *)filter)[w + ic];
                                }
                            }
                        }
                    }
                    if (type == AIOTC_TRANSPOSE_S8) {
                        acc8 += a->bias != 0 ? ((const int32_t *)a->bias)[oc] : 0;
                        acc8 = aiotc_requantize(acc8, a->quant->multiplier[oc], a->quant->shift[oc]) + a->output_offset;
                        ((int8_t *)output)[out_index] = (int8_t)AIOTC_CLAMP(acc8, a->act_min, a->act_max);
                    } else if (type == AIOTC_TRANSPOSE_S16) {
                        const int64_t q = acc16 * a->quant->multiplier[oc] + ((const int64_t *)a->bias)[oc];
                        ((int16_t *)output)[out_index] = aiotc_out_s16(q, a->quant->shift[oc], a->act_min, a->act_max);
                    } else {
                        acc_f32 += a->bias != 0 ? ((const float *)a->bias)[oc] : 0.0f;
                        ((float *)output)[out_index] = AIOTC_CLAMP(acc_f32, a->act_min_f32, a->act_max_f32);
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}

/* The loop of aiotc_transpose_conv_gemm_s8 and _s16 (`type` AIOTC_TRANSPOSE_S8 or _S16, a
 * constant: each kernel gets its own): per stride phase an ordinary convolution of its
 * taps, two output pixels at a time, their taps gathered into two columns for the int8
 * gemm (prepared, aiotc_im2col_column) or the 16x8 one (int16, outside taps 0). bias:
 * int8, one per phase and channel; 16x8, the scaled bias that every phase takes. Always
 * inlined: a plain static inline is inlined after its own callees, and the code the
 * constant `type` then leaves is slower (the int8 kernel on the M55: 6% more instructions). */
static AIOTC_INLINE int32_t aiotc_transpose_conv_phases(int32_t type, const aiotc_context *ctx,
                                                        const aiotc_conv_params *params,
                                                        const aiotc_per_channel_quant_params *quant_params,
                                                        const aiotc_dims *input_dims, const void *input,
                                                        const aiotc_dims *filter_dims, const int8_t *filter,
                                                        const void *bias, const aiotc_dims *output_dims, void *output)
{
    const int32_t s16 = type == AIOTC_TRANSPOSE_S16;
    const int32_t out_c = output_dims->c, in_c = input_dims->c, image = input_dims->h * input_dims->w * in_c;
    const int32_t depth = aiotc_phase_depth(params, input_dims, filter_dims);
    /* two columns of taps, zero padded to a row; int8: then the two prepared ones */
    const int32_t columns = s16 ? 2 * 2 * AIOTC_ROW_S16(depth) : 2 * AIOTC_ROW(depth);
    int8_t *const taps = (int8_t *)ctx->buf;
    aiotc_col *const cols = (aiotc_col *)(taps + columns);
    aiotc_conv_params window = *params; /* a phase's window: stride 1 over the input, no dilation */
    const aiotc_tile one = {1, 1};      /* the same for the int16 gather, a constant it inlines */
    int32_t ry, rx;
    if (filter_dims->c != in_c || filter_dims->n != out_c || params->stride.h < 1 || params->stride.w < 1 ||
        params->padding.h < 0 || params->padding.w < 0 ||
        ctx->size < (s16 ? columns : AIOTC_CONV_IM2COL_BUFFER(depth))) {
        return AIOTC_ARG_ERROR;
    }
    window.dilation.h = window.dilation.w = 1;
    /* the padding after each column's taps (int8: widened whole); where a phase's columns
     * are shorter, the stride between them is too, so the taps of an earlier phase stay in
     * this one's padding: harmless, their weights (the packing's padding) are 0 */
    memset(taps, 0, (size_t)columns);
    for (ry = 0; ry < params->stride.h; ry++) {
        for (rx = 0; rx < params->stride.w; rx++) {
            const aiotc_phase ph = aiotc_phase_at(params, filter_dims, output_dims, ry, rx);
            const int32_t pixels = output_dims->n * ph.rows * ph.columns;
            aiotc_dims sub = *filter_dims;
            aiotc_gemm g;
            aiotc_gemm16 g16;
            int32_t p, b = 0, r = 0, c = 0; /* the next output: image b, the phase's row r and column c */
            sub.h = ph.taps_h;
            sub.w = ph.taps_w;
            if (s16) {
                const aiotc_gemm16 phase = {filter,
                                            sub.h * sub.w * in_c,
                                            out_c,
                                            (const int64_t *)bias,
                                            quant_params->multiplier,
                                            quant_params->shift,
                                            params->activation.min,
                                            params->activation.max};
                g16 = phase;
            } else {
                aiotc_gemm_setup(&g, filter, sub.h * sub.w * in_c, out_c, (const int32_t *)bias, quant_params, params,
                                 cols);
            }
            for (p = 0; p < pixels; p += 2) {
                const aiotc_col *col[2] = {0, 0};
                int8_t *out8[2] = {0, 0};
                int16_t *out16[2] = {0, 0};
                int32_t j;
                for (j = 0; j < AIOTC_MIN(2, pixels - p); j++) {
                    const int32_t at = aiotc_phase_pixel(&ph, params, output_dims, b, r, c) * out_c;
                    if (s16) {
                        out16[j] = (int16_t *)output + at;
                        aiotc_gather_s16(&one, input_dims, (const int16_t *)input + b * image, &sub, ph.y0 + r,
                                         ph.x0 + c, 0, (int16_t *)(void *)taps + j * AIOTC_ROW_S16(g16.k));
                    } else {
                        out8[j] = (int8_t *)output + at;
                        col[j] = aiotc_im2col_column(&window, input_dims, (const int8_t *)input + b * image, &sub,
                                                     ph.y0 + r, ph.x0 + c, taps, g.row, cols, j);
                    }
                    if (++c == ph.columns) {
                        c = 0;
                        if (++r == ph.rows) {
                            r = 0;
                            b++;
                        }
                    }
                }
                if (s16) {
                    aiotc_gemm2_s16(&g16, (const int16_t *)(void *)taps, out16[0], out16[1]);
                } else {
                    aiotc_gemm_s8(&g, col[0], col[1], out8[0], out8[1]);
                }
            }
            if (s16) {
                filter += ((out_c + 1) & ~1) * AIOTC_ROW_S16(g16.k); /* the phase's channel pairs */
            } else {
                /* pack_gemm_weights' block: the channel pairs, padded to 32 bytes */
                filter += ((out_c + 1) & ~1) * g.row + (-(((out_c + 1) & ~1) * g.row) & 31);
                bias = (const int32_t *)bias + out_c;
            }
        }
    }
    return AIOTC_OK;
}

#endif /* AIOTC_NN_TRANSPOSE_CONV_H */
