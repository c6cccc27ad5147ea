/* 16x8 depthwise convolution (TFLite's int16 DepthwiseConvPerChannel with int64 bias).
 *
 * With depth multiplier 1 and fewer than 512 taps, channels go 4 at a time with int32
 * sums over the window (each product is at most 2^22 in magnitude, so 511 taps stay
 * inside an int32: exact) and the scaled bias added in the requantization's SMLAL: a tap's 4 inputs and weights
 * are adjacent, and the sums stay in registers. The last channels of a count not a
 * multiple of 4, and every other layer, take the plain int64 loop. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h" /* aiotc_read_word, aiotc_sxtb16_ror8 */
#include "aiotc_nn_gemm_s16.h"

typedef struct {
    int32_t first, last; /* taps [first, last) of the window inside the image */
} aiotc_span;

/* Channels [c, c + 4) of the output pixel whose window starts at (y0, x0) of `image`,
 * for depth multiplier 1. */
static void group4(const aiotc_dw_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                   const aiotc_dims *input_dims, const int16_t *image, const aiotc_dims *filter_dims,
                   const int8_t *filter, const int64_t *scaled_bias, int32_t y0, int32_t x0, aiotc_span ys, aiotc_span xs,
                   int32_t c, int16_t *out)
{
    const int32_t channels = input_dims->c;
    int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, ky, kx, j;
    for (ky = ys.first; ky < ys.last; ky++) {
        const int32_t iy = y0 + ky * params->dilation.h;
        const int16_t *in = image + (iy * input_dims->w + x0 + xs.first * params->dilation.w) * channels + c;
        const int8_t *w = filter + (ky * filter_dims->w + xs.first) * channels + c;
        for (kx = xs.first; kx < xs.last; kx++, in += params->dilation.w * channels, w += channels) {
#if defined(__ARM_FEATURE_DSP)
            /* (w0, w2) and (w1, w3) from one word; each SMLAxy takes one halfword of each */
            const int32_t x01 = aiotc_load32(in), x23 = aiotc_load32(in + 2), ws = aiotc_read_word(w);
            const int32_t even = __sxtb16(ws), odd = aiotc_sxtb16_ror8(ws);
            s0 = __smlabb(x01, even, s0);
            s1 = __smlatb(x01, odd, s1);
            s2 = __smlabt(x23, even, s2);
            s3 = __smlatt(x23, odd, s3);
#else
            s0 += in[0] * w[0];
            s1 += in[1] * w[1];
            s2 += in[2] * w[2];
            s3 += in[3] * w[3];
#endif
        }
    }
    {
        const int32_t sums[4] = {s0, s1, s2, s3};
        for (j = 0; j < 4; j++) {
            const int64_t q = (int64_t)sums[j] * quant_params->multiplier[c + j] + scaled_bias[c + j]; /* SMLAL */
            out[c + j] = aiotc_out_s16(q, quant_params->shift[c + j], params->activation.min, params->activation.max);
        }
    }
}

int32_t aiotc_depthwise_conv_s16(const aiotc_dw_conv_params *params,
                                 const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                 const int16_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                 const int64_t *scaled_bias, const aiotc_dims *output_dims, int16_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_w = filter_dims->w, out_c = output_dims->c, mult = params->ch_mult;
    const int32_t grouped = mult == 1 && filter_dims->h * k_w < AIOTC_S16_INT32_SUMS;
    int32_t b, oy, ox, oc, ky, kx;
    if (out_c != in_c * mult || filter_dims->c != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        const int16_t *image = input + b * in_h * in_w * in_c;
        for (oy = 0; oy < output_dims->h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            aiotc_span ys;
            aiotc_window(y0, filter_dims->h, params->dilation.h, in_h, &ys.first, &ys.last);
            for (ox = 0; ox < output_dims->w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int16_t *out = output + ((b * output_dims->h + oy) * output_dims->w + ox) * out_c;
                aiotc_span xs;
                aiotc_window(x0, k_w, params->dilation.w, in_w, &xs.first, &xs.last);
                oc = 0;
                if (grouped) {
                    for (; oc + 4 <= out_c; oc += 4) {
                        group4(params, quant_params, input_dims, image, filter_dims, filter, scaled_bias, y0, x0, ys, xs, oc, out);
                    }
                }
                for (; oc < out_c; oc++) { /* the rest in int64 */
                    const int16_t *in = image + oc / mult;
                    int64_t acc = 0;
                    for (ky = ys.first; ky < ys.last; ky++) {
                        const int32_t iy = y0 + ky * params->dilation.h;
                        for (kx = xs.first; kx < xs.last; kx++) {
                            const int32_t ix = x0 + kx * params->dilation.w;
                            acc += (int32_t)in[(iy * in_w + ix) * in_c] * filter[(ky * k_w + kx) * out_c + oc];
                        }
                    }
                    out[oc] = aiotc_out_s16(acc * quant_params->multiplier[oc] + scaled_bias[oc], quant_params->shift[oc],
                                            params->activation.min, params->activation.max);
                }
            }
        }
    }
    return AIOTC_OK;
}
