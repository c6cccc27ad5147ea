/* int8 transposed convolution as one ordinary convolution per stride phase (the
 * declaration in aiotc_nn_conv.h says how): per phase, the taps of two output pixels
 * gathered into columns (aiotc_im2col_column), then the shared gemm with the phase's
 * weights and folded bias (the driver of aiotc_convolve_im2col_s8, other windows). */
#include "aiotc_nn_conv_gemm.h"
#include "aiotc_nn_transpose_conv.h"

int32_t aiotc_transpose_conv_gemm_s8_get_buffer_size(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                     const aiotc_dims *filter_dims)
{
    return AIOTC_CONV_IM2COL_BUFFER(aiotc_phase_depth(params, input_dims, filter_dims));
}

int32_t aiotc_transpose_conv_gemm_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                     const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                     const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                     const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t out_c = output_dims->c, in_c = input_dims->c, image = input_dims->h * input_dims->w * in_c;
    const int32_t depth = aiotc_phase_depth(params, input_dims, filter_dims);
    int8_t *const taps = (int8_t *)ctx->buf;
    aiotc_col *const cols = (aiotc_col *)(taps + 2 * AIOTC_ROW(depth));
    aiotc_conv_params window = *params; /* a phase's window: stride 1 over the input, no dilation */
    int32_t ry, rx;
    if (filter_dims->c != in_c || filter_dims->n != out_c || params->stride.h < 1 || params->stride.w < 1 ||
        params->padding.h < 0 || params->padding.w < 0 || ctx->size < AIOTC_CONV_IM2COL_BUFFER(depth)) {
        return AIOTC_ARG_ERROR;
    }
    window.dilation.h = window.dilation.w = 1;
    memset(taps, 0, (size_t)(2 * AIOTC_ROW(depth))); /* the padding after each column's taps: widened whole */
    for (ry = 0; ry < params->stride.h; ry++) {
        for (rx = 0; rx < params->stride.w; rx++) {
            const aiotc_phase ph = aiotc_phase_at(params, filter_dims, output_dims, ry, rx);
            const int32_t pixels = output_dims->n * ph.rows * ph.columns;
            aiotc_dims sub = *filter_dims;
            aiotc_gemm g;
            int32_t p;
            sub.h = ph.taps_h;
            sub.w = ph.taps_w;
            aiotc_gemm_setup(&g, filter, sub.h * sub.w * in_c, out_c, bias, quant_params, params, cols);
            for (p = 0; p < pixels; p += 2) {
                const aiotc_col *col[2] = {0, 0};
                int8_t *out[2] = {0, 0};
                int32_t j, b, y0, x0;
                for (j = 0; j < AIOTC_MIN(2, pixels - p); j++) {
                    out[j] = output + aiotc_phase_pixel(&ph, params, output_dims, p + j, &b, &y0, &x0) * out_c;
                    col[j] = aiotc_im2col_column(&window, input_dims, input + b * image, &sub, y0, x0, taps, g.row,
                                                 cols, j);
                }
                aiotc_gemm_s8(&g, col[0], col[1], out[0], out[1]);
            }
            filter += ((out_c + 1) & ~1) * g.row + (-(((out_c + 1) & ~1) * g.row) & 31); /* pack_gemm_weights' block */
            bias += out_c;
        }
    }
    return AIOTC_OK;
}
