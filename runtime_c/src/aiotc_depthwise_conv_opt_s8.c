/* int8 depthwise convolution, depth multiplier 1: any kernel, stride, dilation and padding.
 *
 * The lowering widens the weights to int16, groups of 8 channels one after the other,
 * each group's taps in order (C/8 x kh*kw x 8, zero padded to whole groups), and folds
 * the input offset into the bias, so a tap is one multiply of the raw input. Each output
 * pixel reads its taps through a table of pointers in the scratch buffer; a tap in the
 * padding points at a row of input zero points there (which the folded bias cancels),
 * so border pixels run the same loop as inner ones, and 3x3 kernels get it unrolled.
 * Fast paths:
 * - DSP: 4 channels per word (half a group); SXTB16 splits them into even/odd halves,
 *   and SMLABB, SMLABT, SMLATB, SMLATT multiply each half by its int16 weight without
 *   unpacking: 9 instructions per tap of 4 channels, the weights read by one LDRD;
 * - MVE: a group per step: per tap one widening load of the 8 inputs and one load of
 *   the 8 weights, VMULLB/VMULLT into int32 accumulators of the even and the odd
 *   channels, each requantized as a vector (its constants gathered) and stored by a
 *   scatter; the last group predicated. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"

/* Scratch: one 8-byte slot per tap (a pointer on any target), then the row of zero points. */
int32_t aiotc_depthwise_conv_opt_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims)
{
    return AIOTC_ROW(input_dims->c) + 8 * filter_dims->h * filter_dims->w;
}

typedef struct {
    const int16_t *weights;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t channels;
    int32_t offset, act_min, act_max;
    int32_t common; /* quant_params->right_shifts: shift[] holds right shifts */
} dw_layer;

/* Channel c of one pixel. */
static inline int8_t dw_channel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int32_t c)
{
    int32_t acc = d->bias[c], t;
    for (t = 0; t < taps; t++) {
        acc += tap[t][c] * d->weights[(c / 8 * taps + t) * 8 + c % 8];
    }
    return aiotc_out_s8_mode(aiotc_rq_channel(d->multiplier[c], d->shift[c]), acc, d->offset, d->act_min, d->act_max,
                             d->common);
}

/* One pixel's channels. Inlined at each call: there taps and `common` may be constants
 * (the 3x3 tap loop unrolls; aiotc_out_s8_mode). */
#if defined(AIOTC_DSP)
typedef struct {
    int32_t a0, a1, a2, a3;
} dw_acc;

/* One tap of 4 channels: the input word `c` bytes into the pixel the next table entry
 * points at, times the group's next 4 int16 weights. In assembly: gcc, given the 9
 * taps unrolled, hoists the loads and spills (worse than the rolled loop). */
static AIOTC_INLINE void dw_tap(dw_acc *s, const int8_t *const **tap, const int16_t **w, int32_t c)
{
    const int8_t *p;
    int32_t x, w01, w23, e;
    __asm__("ldr %[p], [%[tp]], #4\n\t"
            "ldr %[x], [%[p], %[c]]\n\t"
            "ldrd %[w01], %[w23], [%[w]], #16\n\t"
            "sxtb16 %[e], %[x]\n\t"
            "sxtb16 %[x], %[x], ror #8\n\t"
            "smlabb %[a0], %[e], %[w01], %[a0]\n\t"
            "smlabt %[a1], %[x], %[w01], %[a1]\n\t"
            "smlatb %[a2], %[e], %[w23], %[a2]\n\t"
            "smlatt %[a3], %[x], %[w23], %[a3]"
            : [a0] "+r"(s->a0), [a1] "+r"(s->a1), [a2] "+r"(s->a2), [a3] "+r"(s->a3), [tp] "+r"(*tap), [w] "+r"(*w),
              [p] "=&r"(p), [x] "=&r"(x), [w01] "=&r"(w01), [w23] "=&r"(w23), [e] "=&r"(e)
            : [c] "r"(c)
            : "memory");
}

static AIOTC_INLINE void dw_pixel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out,
                                  int32_t common)
{
    const int32_t ch = d->channels, offset = d->offset, lo = d->act_min, hi = d->act_max;
    const int32_t *const multiplier = d->multiplier, *const shift = d->shift;
    int32_t c;
    for (c = 0; c + 4 <= ch; c += 4) {
        const int8_t *const *tp = tap;
        const int16_t *w = d->weights + (c & ~7) * taps + (c & 7);
        dw_acc s;
        int32_t t;
        s.a0 = d->bias[c];
        s.a1 = d->bias[c + 1];
        s.a2 = d->bias[c + 2];
        s.a3 = d->bias[c + 3];
        if (taps == 9) {
            dw_tap(&s, &tp, &w, c);
            dw_tap(&s, &tp, &w, c);
            dw_tap(&s, &tp, &w, c);
            dw_tap(&s, &tp, &w, c);
            dw_tap(&s, &tp, &w, c);
            dw_tap(&s, &tp, &w, c);
            dw_tap(&s, &tp, &w, c);
            dw_tap(&s, &tp, &w, c);
            dw_tap(&s, &tp, &w, c);
        } else {
            for (t = 0; t < taps; t++) {
                dw_tap(&s, &tp, &w, c);
            }
        }
        out[c] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[c], shift[c]), s.a0, offset, lo, hi, common);
        out[c + 1] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[c + 1], shift[c + 1]), s.a1, offset, lo, hi, common);
        out[c + 2] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[c + 2], shift[c + 2]), s.a2, offset, lo, hi, common);
        out[c + 3] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[c + 3], shift[c + 3]), s.a3, offset, lo, hi, common);
    }
    for (; c < ch; c++) {
        out[c] = dw_channel(d, tap, taps, c);
    }
}
#elif defined(AIOTC_MVE)
/* One step's even (odd: c + 1) channels c, c + 2, c + 4, c + 6 to int8 at out[c], ...:
 * their constants gathered, requantized as one vector; in the last step (`tail`) only
 * the lanes p allows. */
static AIOTC_INLINE void dw_store_mve(const dw_layer *d, int32x4_t acc, int32_t c, int32_t tail, mve_pred16_t p,
                                      int8_t *out, int32_t common)
{
    const uint32x4_t even = vidupq_n_u32(0, 2);
    const int32x4_t multiplier = tail ? vldrwq_gather_shifted_offset_z_s32(d->multiplier + c, even, p)
                                      : vldrwq_gather_shifted_offset_s32(d->multiplier + c, even);
    const int32x4_t shift = tail ? vldrwq_gather_shifted_offset_z_s32(d->shift + c, even, p)
                                 : vldrwq_gather_shifted_offset_s32(d->shift + c, even);
    const int32x4_t y = common ? aiotc_mve_requantize_right(acc, multiplier, vsubq_s32(vdupq_n_s32(-2), shift))
                               : aiotc_mve_requantize(acc, multiplier, shift);
    const int32x4_t z =
        vminq_s32(vmaxq_s32(vaddq_n_s32(y, d->offset), vdupq_n_s32(d->act_min)), vdupq_n_s32(d->act_max));
    if (tail) {
        vstrbq_scatter_offset_p_s32(out + c, even, z, p);
    } else {
        vstrbq_scatter_offset_s32(out + c, even, z);
    }
}

/* One tap of 8 channels: their inputs x (int16) times the group's next 8 weights,
 * VMULLB/VMULLT into the even and the odd channels' int32 accumulators. */
static AIOTC_INLINE void dw_tap_mve(int32x4_t *a0, int32x4_t *a1, int16x8_t x, const int16_t *w)
{
    const int16x8_t k = vldrhq_s16(w);
    *a0 = vaddq_s32(*a0, vmullbq_int_s16(x, k));
    *a1 = vaddq_s32(*a1, vmulltq_int_s16(x, k));
}

/* 8 channels per step (a group of the weights), the last one predicated: per tap one
 * widening load of their inputs, one load of their weights and 4 vector instructions
 * (8 MACs); the accumulators requantized as vectors and stored by scatters. */
static AIOTC_INLINE void dw_pixel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out,
                                  int32_t common)
{
    const int32_t ch = d->channels;
    const uint32x4_t even = vidupq_n_u32(0, 2);
    const int16_t *w = d->weights;
    int32_t c, t;
    for (c = 0; c + 8 <= ch; c += 8, w += 8 * taps) {
        int32x4_t a0 = vldrwq_gather_shifted_offset_s32(d->bias + c, even);
        int32x4_t a1 = vldrwq_gather_shifted_offset_s32(d->bias + c + 1, even);
        for (t = 0; t < taps; t++) {
            dw_tap_mve(&a0, &a1, vldrbq_s16(tap[t] + c), w + 8 * t);
        }
        dw_store_mve(d, a0, c, 0, 0, out, common);
        dw_store_mve(d, a1, c + 1, 0, 0, out, common);
    }
    if (c < ch) {
        const mve_pred16_t p = vctp16q((uint32_t)(ch - c));
        const mve_pred16_t p0 = vctp32q((uint32_t)(ch - c + 1) / 2u), p1 = vctp32q((uint32_t)(ch - c) / 2u);
        int32x4_t a0 = vldrwq_gather_shifted_offset_z_s32(d->bias + c, even, p0);
        int32x4_t a1 = vldrwq_gather_shifted_offset_z_s32(d->bias + c + 1, even, p1);
        for (t = 0; t < taps; t++) {
            dw_tap_mve(&a0, &a1, vldrbq_z_s16(tap[t] + c, p), w + 8 * t);
        }
        dw_store_mve(d, a0, c, 1, p0, out, common);
        dw_store_mve(d, a1, c + 1, 1, p1, out, common);
    }
}
#else
static AIOTC_INLINE void dw_pixel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out,
                                  int32_t common)
{
    int32_t c;
    (void)common;
    for (c = 0; c < d->channels; c++) {
        out[c] = dw_channel(d, tap, taps, c);
    }
}
#endif

int32_t aiotc_depthwise_conv_opt_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int16_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, taps = k_h * k_w;
    const int8_t **const tap = (const int8_t **)ctx->buf;
    int8_t *const pad = (int8_t *)ctx->buf + 8 * taps;
    dw_layer d;
    int32_t b, oy, ox;
    if (filter_dims->c != ch || output_dims->c != ch || params->ch_mult != 1 ||
        ctx->size < aiotc_depthwise_conv_opt_s8_get_buffer_size(input_dims, filter_dims)) {
        return AIOTC_ARG_ERROR;
    }
    memset(pad, -params->input_offset, (size_t)ch);
    d.weights = filter;
    d.bias = bias;
    d.multiplier = quant_params->multiplier;
    d.shift = quant_params->shift;
    d.channels = ch;
    d.offset = params->output_offset;
    d.act_min = params->activation.min;
    d.act_max = params->activation.max;
    d.common = quant_params->right_shifts;
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *image = input + b * in_h * in_w * ch;
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int8_t *const out = output + ((b * output_dims->h + oy) * output_dims->w + ox) * ch;
                int32_t ky, kx, t = 0;
                for (ky = 0; ky < k_h; ky++) {
                    const int32_t iy = y0 + ky * params->dilation.h;
                    const int32_t row = iy >= 0 && iy < in_h;
                    for (kx = 0; kx < k_w; kx++, t++) {
                        const int32_t ix = x0 + kx * params->dilation.w;
                        tap[t] = row && ix >= 0 && ix < in_w ? image + (iy * in_w + ix) * ch : pad;
                    }
                }
                if (taps == 9 && d.common) {
                    dw_pixel(&d, tap, 9, out, 1); /* the usual 3x3 */
                } else if (taps == 9) {
                    dw_pixel(&d, tap, 9, out, 0);
                } else {
                    dw_pixel(&d, tap, taps, out, d.common);
                }
            }
        }
    }
    return AIOTC_OK;
}
