/* int8 depthwise convolution, depth multiplier 1: any kernel, stride, dilation and padding.
 *
 * The lowering widens the weights to int16 (layout unchanged, 1 x kh x kw x C) and folds
 * the input offset into the bias, so a tap is one multiply of the raw input. Each output
 * pixel reads its taps through a table of pointers in the scratch buffer; a tap in the
 * padding points at a row of input zero points there (which the folded bias cancels),
 * so border pixels run the same loop as inner ones, and 3x3 kernels get it unrolled.
 * Fast paths:
 * - DSP: 4 channels per word; SXTB16 splits them into even/odd halves, and SMLABB,
 *   SMLABT, SMLATB, SMLATT multiply each half by its int16 weight without unpacking;
 * - MVE: 4 channels per vector of int32 lanes, requantized as a vector. */
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
} dw_layer;

/* Channel c of one pixel. */
static inline int8_t dw_channel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int32_t c)
{
    int32_t acc = d->bias[c], t;
    for (t = 0; t < taps; t++) {
        acc += tap[t][c] * d->weights[t * d->channels + c];
    }
    return aiotc_out_s8(aiotc_rq_channel(d->multiplier[c], d->shift[c]), acc, d->offset, d->act_min, d->act_max);
}

#if defined(AIOTC_DSP)
static inline void dw_pixel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out)
{
    const int32_t ch = d->channels, offset = d->offset, lo = d->act_min, hi = d->act_max;
    const int32_t *const multiplier = d->multiplier, *const shift = d->shift;
    int32_t c;
    for (c = 0; c + 4 <= ch; c += 4) {
        int32_t a0 = d->bias[c], a1 = d->bias[c + 1], a2 = d->bias[c + 2], a3 = d->bias[c + 3];
        const int16_t *w = d->weights + c;
        int32_t t;
        for (t = 0; t < taps; t++, w += ch) {
            const int32_t x = aiotc_read_word(tap[t] + c);
            const int32_t even = __sxtb16(x), odd = aiotc_sxtb16_ror8(x);
            int32_t w01, w23;
            memcpy(&w01, w, sizeof w01);
            memcpy(&w23, w + 2, sizeof w23);
            a0 = __smlabb(even, w01, a0);
            a1 = __smlabt(odd, w01, a1);
            a2 = __smlatb(even, w23, a2);
            a3 = __smlatt(odd, w23, a3);
        }
        out[c] = aiotc_out_s8(aiotc_rq_channel(multiplier[c], shift[c]), a0, offset, lo, hi);
        out[c + 1] = aiotc_out_s8(aiotc_rq_channel(multiplier[c + 1], shift[c + 1]), a1, offset, lo, hi);
        out[c + 2] = aiotc_out_s8(aiotc_rq_channel(multiplier[c + 2], shift[c + 2]), a2, offset, lo, hi);
        out[c + 3] = aiotc_out_s8(aiotc_rq_channel(multiplier[c + 3], shift[c + 3]), a3, offset, lo, hi);
    }
    for (; c < ch; c++) {
        out[c] = dw_channel(d, tap, taps, c);
    }
}
#elif defined(AIOTC_MVE)
static inline void dw_pixel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out)
{
    const int32_t ch = d->channels;
    const int32x4_t lo = vdupq_n_s32(d->act_min), hi = vdupq_n_s32(d->act_max);
    int32_t c;
    for (c = 0; c + 4 <= ch; c += 4) {
        int32x4_t acc = vldrwq_s32(d->bias + c), y;
        int32_t t;
        for (t = 0; t < taps; t++) {
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(tap[t] + c), vldrhq_s32(d->weights + t * ch + c)));
        }
        y = aiotc_mve_requantize(acc, vldrwq_s32(d->multiplier + c), vldrwq_s32(d->shift + c));
        y = vminq_s32(vmaxq_s32(vaddq_n_s32(y, d->offset), lo), hi);
        vstrbq_s32(out + c, y);
    }
    for (; c < ch; c++) {
        out[c] = dw_channel(d, tap, taps, c);
    }
}
#else
static inline void dw_pixel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int8_t *out)
{
    int32_t c;
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
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *image = input + b * in_h * in_w * ch;
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int8_t *const out = output + ((b * output_dims->h + oy) * output_dims->w + ox) * ch;
                int32_t t;
                for (t = 0; t < taps; t++) {
                    const int32_t iy = y0 + t / k_w * params->dilation.h, ix = x0 + t % k_w * params->dilation.w;
                    tap[t] = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w ? image + (iy * in_w + ix) * ch : pad;
                }
                if (taps == 9) {
                    dw_pixel(&d, tap, 9, out); /* the common 3x3, its tap loop unrolled */
                } else {
                    dw_pixel(&d, tap, taps, out);
                }
            }
        }
    }
    return AIOTC_OK;
}
