/* int8 depthwise convolution, any depth multiplier, kernel, stride, dilation and padding;
 * the DSP cores' (Cortex-M4, M7) channel kernel, one output pixel at a time.
 *
 * A depthwise tap pairs no two channels, but two taps of one channel pair in an SMLAD.
 * The lowering widens the weights to int16 in groups of 4 channels (zero padded), each
 * group's taps two by two: per pair 4 words (tap t, tap t + 1) of channels c .. c + 3,
 * then an odd last tap's 4 weights alone (C/4 x kh*kw x 4 values in all); and it folds
 * the input offset into the bias, so a tap is one multiply of the raw input; the
 * channels' (multiplier, shift) pairs are one array at quant_params->multiplier. A pixel
 * reads its taps through a table of pointers in the scratch buffer (aiotc_nn_dw_channels.h).
 * DSP: the input words of 4 channels of two taps (c0 c1 c2 c3, d0 d1 d2 d3) become
 * (c0 c1 d0 d1) and (c2 c3 d2 d3) by one PKHBT and one PKHTB, and SXTB16 of those
 * (plain and rotated) give the int16 pairs (c0, d0), (c1, d1), (c2, d2), (c3, d3) the
 * weight pairs multiply: 15 instructions for 8 MACs, where aiotc_depthwise_conv_opt_s8
 * takes 19 for 4 channels of two pixels. The 4 sums stay in registers over all taps. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_dw_channels.h"
#include "aiotc_nn_gemm.h"

/* Scratch: one 8-byte slot per tap (a pointer on any target), the row of zero points, and
 * for a depth multiplier over 1 the widened input rows (aiotc_nn_dw_channels.h). */
int32_t aiotc_depthwise_conv_pairs_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
                                                      const aiotc_dims *filter_dims)
{
    const int32_t ch = filter_dims->c, rows = AIOTC_DW_REPEAT_ROWS(filter_dims->h, params->dilation.h);
    return AIOTC_ROW(ch) + 8 * filter_dims->h * filter_dims->w + (ch != input_dims->c ? rows * input_dims->w * ch : 0);
}

typedef aiotc_dw_layer dw_layer;

/* Channel c of one pixel, the weights read where the layout puts them. */
static inline int8_t dw_channel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int32_t c)
{
    const int16_t *const w = d->weights + c / 4 * 4 * taps;
    const int32_t paired = taps & ~1, i = c % 4;
    int32_t acc = d->bias[c], t;
    for (t = 0; t < paired; t++) {
        acc += tap[t][c] * w[t / 2 * 8 + 2 * i + t % 2];
    }
    if (paired < taps) {
        acc += tap[paired][c] * w[paired * 4 + i];
    }
    return aiotc_out_s8_mode(aiotc_rq_channel(d->multiplier[2 * c], d->multiplier[2 * c + 1]), acc, d->offset,
                             d->act_min, d->act_max, d->common);
}

#if defined(AIOTC_DSP)
/* One pair of taps of channels c .. c + 3 (the text above): the two taps' pointers by one
 * LDRD, their input words `c` bytes in, the 4 weight pairs by two LDRDs. */
#define DW_PAIR                                                                                                        \
    "ldrd %[t0], %[t1], [%[tp]], #8\n\t"                                                                               \
    "ldr %[t0], [%[t0], %[c]]\n\t"                                                                                     \
    "ldr %[t1], [%[t1], %[c]]\n\t"                                                                                     \
    "pkhbt %[t2], %[t0], %[t1], lsl #16\n\t"                                                                           \
    "pkhtb %[t1], %[t1], %[t0], asr #16\n\t"                                                                           \
    "ldrd %[t0], %[t3], [%[w]], #8\n\t"                                                                                \
    "sxtb16 %[t4], %[t2]\n\t"                                                                                          \
    "sxtb16 %[t2], %[t2], ror #8\n\t"                                                                                  \
    "smlad %[a0], %[t4], %[t0], %[a0]\n\t"                                                                             \
    "smlad %[a1], %[t2], %[t3], %[a1]\n\t"                                                                             \
    "ldrd %[t0], %[t3], [%[w]], #8\n\t"                                                                                \
    "sxtb16 %[t4], %[t1]\n\t"                                                                                          \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                                                                                  \
    "smlad %[a2], %[t4], %[t0], %[a2]\n\t"                                                                             \
    "smlad %[a3], %[t1], %[t3], %[a3]\n\t"
/* The odd last tap: its input word split into (c0, c2) and (c1, c3), each half times its
 * weight by SMLABB, SMLABT, SMLATB, SMLATT. */
#define DW_LAST                                                                                                        \
    "ldr %[t0], [%[tp]]\n\t"                                                                                           \
    "ldr %[t0], [%[t0], %[c]]\n\t"                                                                                     \
    "ldrd %[t1], %[t3], [%[w]], #8\n\t"                                                                                \
    "sxtb16 %[t4], %[t0]\n\t"                                                                                          \
    "sxtb16 %[t0], %[t0], ror #8\n\t"                                                                                  \
    "smlabb %[a0], %[t4], %[t1], %[a0]\n\t"                                                                            \
    "smlabt %[a1], %[t0], %[t1], %[a1]\n\t"                                                                            \
    "smlatb %[a2], %[t4], %[t3], %[a2]\n\t"                                                                            \
    "smlatt %[a3], %[t0], %[t3], %[a3]\n\t"
#define DW_OPERANDS                                                                                                    \
    : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [tp] "+r"(tp), [w] "+r"(w), [t0] "=&r"(t0),        \
      [t1] "=&r"(t1), [t2] "=&r"(t2), [t3] "=&r"(t3), [t4] "=&r"(t4)

/* Sum `a` of the next channel to its int8 output by right shifts (`common` 1 or 2):
 * aiotc_rq_right (the nudge from 2^30 in `k`, offset2 = 2 * offset + 1), one SSAT, then
 * `clamp`; the channel's (multiplier, shift) pair by one LDRD and the output by walking pointers. */
#define DW_RIGHT(a, clamp)                                                                                             \
    "ldrd %[m], %[s], [%[mp]], #8\n\t"                                                                                 \
    "asr %[hi], %[" a "], #31\n\t"                                                                                     \
    "orr %[lo], %[k], %[hi], lsl #31\n\t"                                                                              \
    "smlal %[lo], %[hi], %[" a "], %[m]\n\t"                                                                           \
    "asr %[hi], %[hi], %[s]\n\t"                                                                                       \
    "add %[hi], %[hi], %[off2]\n\t"                                                                                    \
    "ssat %[hi], #8, %[hi], asr #1\n\t" clamp "strb %[hi], [%[out]], #1\n\t"
/* `common` 2: the bottom of a ReLU's clamp, after the SSAT as before it (act_min >= -128). */
#define DW_AT_LEAST                                                                                                    \
    "cmp %[hi], %[act_min]\n\t"                                                                                        \
    "it lt\n\t"                                                                                                        \
    "movlt %[hi], %[act_min]\n\t"
/* The 4 sums of a group (volatile: gcc would drop it where the walked pointers are not
 * read again). */
#define DW_REQUANTIZE(clamp)                                                                                           \
    __asm__ volatile(DW_RIGHT("a0", clamp) DW_RIGHT("a1", clamp) DW_RIGHT("a2", clamp) DW_RIGHT("a3", clamp)          \
                     : [mp] "+r"(mp), [out] "+r"(o), [m] "=&r"(m), [s] "=&r"(s), [lo] "=&r"(lo),                     \
                       [hi] "=&r"(hi)                                                                                  \
                     : [a0] "r"(a0), [a1] "r"(a1), [a2] "r"(a2), [a3] "r"(a3), [k] "r"(0x40000000),                   \
                       [off2] "r"(offset2), [act_min] "r"(act_min)                                                     \
                     : "memory", "cc")

/* A pixel's channels in groups of 4 (then the last ones one by one), the pixel's table
 * `tap`: 9 taps unrolled (4 pairs, then the last), any other count in a loop of pairs.
 * The weights' pointer walks on from group to group; the constants are locals, which
 * the int8 stores do not make gcc read again (inlined at each call: taps and `common`
 * may be constants there). */
static AIOTC_INLINE void dw_pixel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out,
                                  int32_t common)
{
    const int32_t *bias = d->bias, *mp = d->multiplier; /* (multiplier, shift) pairs */
    const int32_t offset2 = 2 * d->offset + 1, act_min = d->act_min, groups = d->channels & ~3;
    const int16_t *w = d->weights;
    int8_t *o = out;
    int32_t c, m, s, lo, hi;
    for (c = 0; c < groups; c += 4) {
        const int8_t *const *tp = tap;
        int32_t a0, a1, a2, a3, t0, t1, t2, t3, t4, n;
        /* the 4 biases by two LDRDs (from C, gcc loaded them through one register and moved them) */
        __asm__("ldrd %[a0], %[a1], [%[b]], #8\n\t"
                "ldrd %[a2], %[a3], [%[b]], #8"
                : [a0] "=r"(a0), [a1] "=r"(a1), [a2] "=r"(a2), [a3] "=r"(a3), [b] "+r"(bias)
                :
                : "memory");
        if (taps == 9) {
            __asm__(DW_PAIR DW_PAIR DW_PAIR DW_PAIR DW_LAST DW_OPERANDS : [c] "r"(c) : "memory");
        } else {
            for (n = taps / 2; n > 0; n--) {
                __asm__(DW_PAIR DW_OPERANDS : [c] "r"(c) : "memory");
            }
            if (taps & 1) {
                __asm__(DW_LAST DW_OPERANDS : [c] "r"(c) : "memory");
            }
        }
        if (common == 1) {
            DW_REQUANTIZE("");
        } else if (common == 2) {
            DW_REQUANTIZE(DW_AT_LEAST);
        } else {
            const int32_t offset = d->offset, top = d->act_max;
            o[0] = aiotc_out_s8_mode(aiotc_rq_channel(mp[0], mp[1]), a0, offset, act_min, top, common);
            o[1] = aiotc_out_s8_mode(aiotc_rq_channel(mp[2], mp[3]), a1, offset, act_min, top, common);
            o[2] = aiotc_out_s8_mode(aiotc_rq_channel(mp[4], mp[5]), a2, offset, act_min, top, common);
            o[3] = aiotc_out_s8_mode(aiotc_rq_channel(mp[6], mp[7]), a3, offset, act_min, top, common);
            o += 4;
            mp += 8;
        }
    }
    for (; c < d->channels; c++) {
        out[c] = dw_channel(d, tap, taps, c);
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

/* The other layers than the usual 3x3 (any taps, any mode), in a function of their own so
 * that the 3x3's loops keep their registers. */
AIOTC_NOINLINE static void dw_run_any(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out)
{
    dw_pixel(d, tap, taps, out, d->common);
}

/* One pixel, the usual 3x3 with constant taps and mode. */
static void dw_run(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out)
{
    if (taps == 9 && d->common == 1) {
        dw_pixel(d, tap, 9, out, 1);
    } else if (taps == 9 && d->common == 2) {
        dw_pixel(d, tap, 9, out, 2);
    } else if (taps == 9 && !d->common) {
        dw_pixel(d, tap, 9, out, 0);
    } else {
        dw_run_any(d, tap, taps, out);
    }
}

/* One output row: its own function, so that the loop's registers hold the row's pixels, not
 * the multiplier's copy of the input rows. */
static AIOTC_NOINLINE int8_t *dw_row(const dw_layer *d, const aiotc_dw_window *window, const int8_t *rows, int32_t y0,
                                     const aiotc_dw_conv_params *params, int32_t out_w, const int8_t **tap,
                                     int32_t taps, int8_t *out)
{
    int32_t ox;
    for (ox = 0; ox < out_w; ox++, out += d->channels) {
        aiotc_dw_tap_table(window, rows, d->channels, y0, ox * params->stride.w - params->padding.w, tap, 1);
        dw_run(d, tap, taps, out);
    }
    return out;
}

int32_t aiotc_depthwise_conv_pairs_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                      const int8_t *input, const aiotc_dims *filter_dims, const int16_t *filter,
                                      const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c, ch = output_dims->c;
    const int32_t mult = params->ch_mult, taps = filter_dims->h * filter_dims->w;
    const int8_t **const tap = (const int8_t **)ctx->buf;
    int8_t *const pad = (int8_t *)ctx->buf + 8 * taps;
    const aiotc_dims wide_dims = {input_dims->n, in_h, in_w, ch};
    aiotc_dw_window window = aiotc_dw_window_of(params, &wide_dims, filter_dims, pad);
    aiotc_dw_repeat repeat = {pad + AIOTC_ROW(ch), AIOTC_DW_REPEAT_ROWS(filter_dims->h, params->dilation.h), in_w * ch,
                              0, 0, 0};
    int8_t *out = output;
    dw_layer d;
    int32_t b, oy;
    if (filter_dims->c != ch || ch != in_c * mult ||
        ctx->size < aiotc_depthwise_conv_pairs_s8_get_buffer_size(params, input_dims, filter_dims)) {
        return AIOTC_ARG_ERROR;
    }
    memset(pad, -params->input_offset, (size_t)ch);
    d = aiotc_dw_layer_of(params, quant_params, filter, bias, ch);
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *image = input + b * in_h * in_w * in_c;
        repeat.lo = repeat.hi = 0;
        for (oy = 0; oy < output_dims->h; oy++) {
            int32_t y0 = oy * params->stride.h - params->padding.h;
            const int8_t *rows = mult > 1 ? aiotc_dw_repeat_rows(&repeat, &window, input_dims, image, &y0) : image;
            out = dw_row(&d, &window, rows, y0, params, output_dims->w, tap, taps, out);
        }
    }
    return AIOTC_OK;
}
