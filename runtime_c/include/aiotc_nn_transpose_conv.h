/* aiotc runtime: the loop of aiotc_transpose_conv_s8, _s16 and _f32 (TFLite's reference
 * TransposeConv, computed output by output: each output sums the products of every input
 * pixel that reaches it, where TFLite scatters each input's products; the same integers,
 * float sums in another order). Each kernel calls it with a constant `type`, so each
 * gets its own plain loop. */
#ifndef AIOTC_NN_TRANSPOSE_CONV_H
#define AIOTC_NN_TRANSPOSE_CONV_H

#include "aiotc_nn_conv.h"
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
                            for (ic = 0; ic < in_c; ic++) {
                                if (type == AIOTC_TRANSPOSE_S8) {
                                    acc8 += (((const int8_t *)input)[in + ic] + a->input_offset) *
                                            ((const int8_t *)filter)[w + ic];
                                } else if (type == AIOTC_TRANSPOSE_S16) {
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

#endif /* AIOTC_NN_TRANSPOSE_CONV_H */
