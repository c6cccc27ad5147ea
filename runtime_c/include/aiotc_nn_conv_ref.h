/* aiotc runtime: the reference int8-activation conv family, as TFLite Micro's reference
 * ConvPerChannel, DepthwiseConvPerChannel and FullyConnected compute it, for int8 weights
 * and for int4 weights packed two per byte (TFLite's order: element 2i in the low nibble
 * of byte i, 2i+1 in the high one, across the whole flat filter). The _s8 and _s4 kernels
 * call these with `packed4` 0 or 1; inlined with a constant, each gets its own loop. */
#ifndef AIOTC_NN_CONV_REF_H
#define AIOTC_NN_CONV_REF_H

#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

/* Filter element i: an int8, or a sign-extended nibble of packed int4. */
static inline int32_t aiotc_filter_at(const int8_t *filter, int32_t i, int32_t packed4)
{
    if (packed4) {
        const int32_t byte = (int32_t)(uint8_t)filter[i >> 1];
        const int32_t nibble = (i & 1) ? byte >> 4 : byte & 15;
        return nibble - ((nibble & 8) << 1);
    }
    return filter[i];
}

static inline int32_t aiotc_convolve_ref(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                         const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                         const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                         int8_t *output, int32_t packed4)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w, f_c = filter_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    int32_t b, oy, ox, oc, ky, kx, ic;
    if (f_c <= 0 || in_c % f_c != 0 || out_c % (in_c / f_c) != 0) {
        return AIOTC_ARG_ERROR;
    }
    {
        const int32_t per_group = out_c / (in_c / f_c);
        for (b = 0; b < input_dims->n; b++) {
            for (oy = 0; oy < out_h; oy++) {
                const int32_t y0 = oy * params->stride.h - params->padding.h;
                int32_t ky_first, ky_last;
                aiotc_window(y0, k_h, params->dilation.h, in_h, &ky_first, &ky_last);
                for (ox = 0; ox < out_w; ox++) {
                    const int32_t x0 = ox * params->stride.w - params->padding.w;
                    int32_t kx_first, kx_last;
                    aiotc_window(x0, k_w, params->dilation.w, in_w, &kx_first, &kx_last);
                    for (oc = 0; oc < out_c; oc++) {
                        const int32_t weights = oc * k_h * k_w * f_c;
                        const int8_t *in_base = input + (oc / per_group) * f_c;
                        int32_t acc = 0;
                        for (ky = ky_first; ky < ky_last; ky++) {
                            const int32_t iy = y0 + ky * params->dilation.h;
                            for (kx = kx_first; kx < kx_last; kx++) {
                                const int32_t ix = x0 + kx * params->dilation.w;
                                const int8_t *in = in_base + ((b * in_h + iy) * in_w + ix) * in_c;
                                const int32_t w = weights + (ky * k_w + kx) * f_c;
                                for (ic = 0; ic < f_c; ic++) {
                                    acc += (in[ic] + params->input_offset) * aiotc_filter_at(filter, w + ic, packed4);
                                }
                            }
                        }
                        if (bias != 0) {
                            acc += bias[oc];
                        }
                        acc = aiotc_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
                        acc += params->output_offset;
                        acc = AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
                        output[((b * out_h + oy) * out_w + ox) * out_c + oc] = (int8_t)acc;
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}

static inline int32_t aiotc_depthwise_conv_ref(const aiotc_dw_conv_params *params,
                                               const aiotc_per_channel_quant_params *quant_params,
                                               const aiotc_dims *input_dims, const int8_t *input,
                                               const aiotc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                               const aiotc_dims *output_dims, int8_t *output, int32_t packed4)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c;
    const int32_t k_h = filter_dims->h, k_w = filter_dims->w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t mult = params->ch_mult;
    int32_t b, oy, ox, ic, m, ky, kx;
    if (out_c != in_c * mult || filter_dims->c != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            int32_t ky_first, ky_last;
            aiotc_window(y0, k_h, params->dilation.h, in_h, &ky_first, &ky_last);
            for (ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int32_t kx_first, kx_last;
                int8_t *out = output + ((b * out_h + oy) * out_w + ox) * out_c;
                aiotc_window(x0, k_w, params->dilation.w, in_w, &kx_first, &kx_last);
                for (ic = 0; ic < in_c; ic++) {
                    for (m = 0; m < mult; m += 2) { /* two outputs of a channel per read of its taps */
                        const int32_t oc = ic * mult + m, two = m + 1 < mult;
                        int32_t acc[2] = {0, 0}, j;
                        for (ky = ky_first; ky < ky_last; ky++) {
                            const int32_t iy = y0 + ky * params->dilation.h;
                            for (kx = kx_first; kx < kx_last; kx++) {
                                const int32_t ix = x0 + kx * params->dilation.w;
                                const int32_t in = input[((b * in_h + iy) * in_w + ix) * in_c + ic] + params->input_offset;
                                const int32_t w = (ky * k_w + kx) * out_c + oc;
                                acc[0] += in * aiotc_filter_at(filter, w, packed4);
                                if (two) {
                                    acc[1] += in * aiotc_filter_at(filter, w + 1, packed4);
                                }
                            }
                        }
                        for (j = 0; j <= two; j++) {
                            int32_t sum = acc[j] + (bias != 0 ? bias[oc + j] : 0);
                            sum = aiotc_requantize(sum, quant_params->multiplier[oc + j], quant_params->shift[oc + j]);
                            sum += params->output_offset;
                            out[oc + j] = (int8_t)AIOTC_CLAMP(sum, params->activation.min, params->activation.max);
                        }
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}

static inline int32_t aiotc_fully_connected_ref(const aiotc_fc_params *params,
                                                const aiotc_per_channel_quant_params *quant_params,
                                                const aiotc_dims *input_dims, const int8_t *input,
                                                const aiotc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                                const aiotc_dims *output_dims, int8_t *output, int32_t packed4)
{
    const int32_t depth = input_dims->c, out_c = output_dims->c;
    int32_t b, oc, i;
    if (filter_dims->c != depth || filter_dims->n != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *in = input + b * depth;
        for (oc = 0; oc < out_c; oc++) {
            int32_t acc = 0;
            for (i = 0; i < depth; i++) {
                acc += (in[i] + params->input_offset) * (aiotc_filter_at(filter, oc * depth + i, packed4) + params->filter_offset);
            }
            if (bias != 0) {
                acc += bias[oc];
            }
            acc = aiotc_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
            acc += params->output_offset;
            output[b * out_c + oc] = (int8_t)AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
        }
    }
    return AIOTC_OK;
}

#endif /* AIOTC_NN_CONV_REF_H */
