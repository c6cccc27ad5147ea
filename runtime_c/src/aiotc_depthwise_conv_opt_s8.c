/* int8 3x3 depthwise convolution, depth multiplier 1, no dilation, any stride and padding.
 *
 * The lowering widens the weights to int16 (layout unchanged, 1x3x3xC) and folds the
 * input offset into the bias, so a tap is one multiply of the raw input. Each output
 * pixel reads its 9 taps through pointers; a tap in the padding points at a row of
 * input zero points in the scratch buffer (which the folded bias cancels), so border
 * pixels run the same unrolled loop as inner ones. Fast paths:
 * - DSP: 4 channels per word; SXTB16 splits them into even/odd halves, and SMLABB,
 *   SMLABT, SMLATB, SMLATT multiply each half by its int16 weight without unpacking;
 * - MVE: 4 channels per vector of int32 lanes, requantized as a vector. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"

typedef struct {
    const aiotc_dw_conv_params *params;
    const aiotc_per_channel_quant_params *quant;
    const int16_t *weights;
    const int32_t *bias;
    int32_t channels;
} dw_layer;

int32_t aiotc_depthwise_conv_3x3_s8_get_buffer_size(const aiotc_dims *input_dims)
{
    return AIOTC_ROW(input_dims->c);
}

static inline int8_t dw_out(const dw_layer *d, int32_t c, int32_t acc)
{
    const int32_t y = aiotc_rq_apply(aiotc_rq_channel(d->quant->multiplier[c], d->quant->shift[c]), acc) + d->params->output_offset;
    return (int8_t)AIOTC_CLAMP(y, d->params->activation.min, d->params->activation.max);
}

/* Channels [c, channels) of one pixel, one at a time. */
static void dw_channels(const dw_layer *d, const int8_t *const tap[9], int32_t c, int8_t *out)
{
    for (; c < d->channels; c++) {
        int32_t acc = d->bias[c], t;
        for (t = 0; t < 9; t++) {
            acc += tap[t][c] * d->weights[t * d->channels + c];
        }
        out[c] = dw_out(d, c, acc);
    }
}

#if defined(AIOTC_DSP)
static void dw_pixel(const dw_layer *d, const int8_t *const tap[9], int8_t *out)
{
    const int32_t ch = d->channels;
    int32_t c;
    for (c = 0; c + 4 <= ch; c += 4) {
        int32_t a0 = d->bias[c], a1 = d->bias[c + 1], a2 = d->bias[c + 2], a3 = d->bias[c + 3];
        const int16_t *w = d->weights + c;
        int32_t t;
        for (t = 0; t < 9; t++, w += ch) {
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
        out[c] = dw_out(d, c, a0);
        out[c + 1] = dw_out(d, c + 1, a1);
        out[c + 2] = dw_out(d, c + 2, a2);
        out[c + 3] = dw_out(d, c + 3, a3);
    }
    dw_channels(d, tap, c, out);
}
#elif defined(AIOTC_MVE)
static void dw_pixel(const dw_layer *d, const int8_t *const tap[9], int8_t *out)
{
    const int32_t ch = d->channels;
    const int32x4_t zero = vdupq_n_s32(0);
    const int32x4_t lo = vdupq_n_s32(d->params->activation.min), hi = vdupq_n_s32(d->params->activation.max);
    int32_t c;
    for (c = 0; c + 4 <= ch; c += 4) {
        int32x4_t acc = vldrwq_s32(d->bias + c), shift = vldrwq_s32(d->quant->shift + c), y;
        int32_t t;
        for (t = 0; t < 9; t++) {
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(tap[t] + c), vldrhq_s32(d->weights + t * ch + c)));
        }
        /* TFLite's double rounding: SRDHM is VQRDMULH; rounding half away from zero is
         * VRSHL after subtracting 1 from negative values (where there is a right shift). */
        y = vqrdmulhq_s32(vshlq_s32(acc, vmaxq_s32(shift, zero)), vldrwq_s32(d->quant->multiplier + c));
        shift = vminq_s32(shift, zero);
        y = vrshlq_s32(vqaddq_s32(y, vshrq_n_s32(vandq_s32(y, shift), 31)), shift);
        y = vminq_s32(vmaxq_s32(vaddq_n_s32(y, d->params->output_offset), lo), hi);
        vstrbq_s32(out + c, y);
    }
    dw_channels(d, tap, c, out);
}
#else
static void dw_pixel(const dw_layer *d, const int8_t *const tap[9], int8_t *out)
{
    dw_channels(d, tap, 0, out);
}
#endif

int32_t aiotc_depthwise_conv_3x3_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int16_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, ch = input_dims->c;
    int8_t *const pad = (int8_t *)ctx->buf;
    dw_layer d;
    int32_t b, oy, ox;
    if (filter_dims->h != 3 || filter_dims->w != 3 || filter_dims->c != ch || output_dims->c != ch ||
        params->ch_mult != 1 || params->dilation.h != 1 || params->dilation.w != 1 ||
        ctx->size < aiotc_depthwise_conv_3x3_s8_get_buffer_size(input_dims)) {
        return AIOTC_ARG_ERROR;
    }
    memset(pad, -params->input_offset, (size_t)ch);
    d.params = params;
    d.quant = quant_params;
    d.weights = filter;
    d.bias = bias;
    d.channels = ch;
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *image = input + b * in_h * in_w * ch;
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                const int8_t *tap[9];
                int32_t t;
                for (t = 0; t < 9; t++) {
                    const int32_t iy = y0 + t / 3, ix = x0 + t % 3;
                    tap[t] = iy >= 0 && iy < in_h && ix >= 0 && ix < in_w ? image + (iy * in_w + ix) * ch : pad;
                }
                dw_pixel(&d, tap, output + ((b * output_dims->h + oy) * output_dims->w + ox) * ch);
            }
        }
    }
    return AIOTC_OK;
}
