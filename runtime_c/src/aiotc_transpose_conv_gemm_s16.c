/* 16x8 transposed convolution as one ordinary convolution per stride phase, as
 * aiotc_transpose_conv_gemm_s8 (aiotc_nn_conv.h says how): per phase, the taps of two
 * output pixels gathered into two int16 columns (taps outside the image hold 0,
 * the int16 zero point) for the 16x8 gemm (aiotc_nn_gemm_s16.h), with the phase's
 * weights; no input offset, so every phase takes the layer's scaled bias. */
#include "aiotc_nn_transpose_conv.h" /* aiotc_nn_conv.h, aiotc_nn_gemm_s16.h */

int32_t aiotc_transpose_conv_gemm_s16_get_buffer_size(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                      const aiotc_dims *filter_dims)
{
    return 2 * 2 * AIOTC_ROW_S16(aiotc_phase_depth(params, input_dims, filter_dims)); /* two int16 columns */
}

int32_t aiotc_transpose_conv_gemm_s16(const aiotc_context *ctx, const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params,
                                      const aiotc_dims *input_dims, const int16_t *input,
                                      const aiotc_dims *filter_dims, const int8_t *filter,
                                      const int64_t *scaled_bias, const aiotc_dims *output_dims, int16_t *output)
{
    const int32_t out_c = output_dims->c, in_c = input_dims->c, image = input_dims->h * input_dims->w * in_c;
    const int32_t size = aiotc_transpose_conv_gemm_s16_get_buffer_size(params, input_dims, filter_dims);
    const aiotc_tile one = {1, 1}; /* a phase's window: stride 1 over the input, no dilation */
    int16_t *const cols = (int16_t *)ctx->buf;
    int32_t ry, rx;
    if (filter_dims->c != in_c || filter_dims->n != out_c || params->stride.h < 1 || params->stride.w < 1 ||
        params->padding.h < 0 || params->padding.w < 0 || ctx->size < size) {
        return AIOTC_ARG_ERROR;
    }
    memset(cols, 0, (size_t)size); /* the padding past k stays 0 */
    for (ry = 0; ry < params->stride.h; ry++) {
        for (rx = 0; rx < params->stride.w; rx++) {
            const aiotc_phase ph = aiotc_phase_at(params, filter_dims, output_dims, ry, rx);
            const int32_t pixels = output_dims->n * ph.rows * ph.columns;
            aiotc_dims sub = *filter_dims;
            aiotc_gemm16 g;
            int32_t p;
            sub.h = ph.taps_h;
            sub.w = ph.taps_w;
            g.weights = filter;
            g.k = sub.h * sub.w * in_c;
            g.rows = out_c;
            g.scaled_bias = scaled_bias;
            g.multiplier = quant_params->multiplier;
            g.shift = quant_params->shift;
            g.act_min = params->activation.min;
            g.act_max = params->activation.max;
            for (p = 0; p < pixels; p += 2) {
                int16_t *out[2] = {0, 0};
                int32_t j, b, y0, x0;
                for (j = 0; j < AIOTC_MIN(2, pixels - p); j++) {
                    out[j] = output + aiotc_phase_pixel(&ph, params, output_dims, p + j, &b, &y0, &x0) * out_c;
                    aiotc_gather_s16(&one, input_dims, input + b * image, &sub, y0, x0, 0, cols + j * AIOTC_ROW_S16(g.k));
                }
                aiotc_gemm2_s16(&g, cols, out[0], out[1]);
            }
            filter += ((out_c + 1) / 2) * 2 * AIOTC_ROW_S16(g.k); /* the phase's channel pairs */
        }
    }
    return AIOTC_OK;
}
