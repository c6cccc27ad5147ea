/* int8 transposed convolution as one ordinary convolution per stride phase (the
 * declaration in aiotc_nn_conv.h says how): per phase, the taps of two output pixels
 * gathered into columns (aiotc_im2col_column), then the shared gemm with the phase's
 * weights and folded bias (the driver of aiotc_convolve_im2col_s8, other windows). */
#include "aiotc_nn_conv_gemm.h"

/* Taps of a kernel of k rows (or columns) that reach the outputs of phase r: k, k - s, ... > r. */
static int32_t aiotc_phase_taps(int32_t k, int32_t r, int32_t s)
{
    return r < k ? (k - r + s - 1) / s : 0;
}

/* The largest phase's taps: ceil(k_h / s_h) x ceil(k_w / s_w) x channels. */
static int32_t aiotc_phase_depth(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                 const aiotc_dims *filter_dims)
{
    return aiotc_phase_taps(filter_dims->h, 0, params->stride.h) * aiotc_phase_taps(filter_dims->w, 0, params->stride.w) *
           input_dims->c;
}

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
    const int32_t s_h = params->stride.h, s_w = params->stride.w, pad_h = params->padding.h, pad_w = params->padding.w;
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c, in_c = input_dims->c;
    const int32_t depth = aiotc_phase_depth(params, input_dims, filter_dims);
    int8_t *const taps = (int8_t *)ctx->buf;
    aiotc_col *const cols = (aiotc_col *)(taps + 2 * AIOTC_ROW(depth));
    aiotc_conv_params window = *params; /* a phase's window: stride 1 over the input, no dilation */
    int32_t ry, rx;
    if (filter_dims->c != in_c || filter_dims->n != out_c || s_h < 1 || s_w < 1 || pad_h < 0 || pad_w < 0 ||
        ctx->size < AIOTC_CONV_IM2COL_BUFFER(depth)) {
        return AIOTC_ARG_ERROR;
    }
    window.dilation.h = window.dilation.w = 1;
    memset(taps, 0, (size_t)(2 * AIOTC_ROW(depth))); /* the padding after each column's taps: widened whole */
    for (ry = 0; ry < s_h; ry++) {
        for (rx = 0; rx < s_w; rx++) {
            /* This phase's outputs: rows oy0, oy0 + s_h, ... and columns ox0, ox0 + s_w, ... */
            const int32_t oy0 = ((ry - pad_h) % s_h + s_h) % s_h, ox0 = ((rx - pad_w) % s_w + s_w) % s_w;
            const int32_t rows = oy0 < out_h ? (out_h - oy0 + s_h - 1) / s_h : 0;
            const int32_t columns = ox0 < out_w ? (out_w - ox0 + s_w - 1) / s_w : 0;
            const int32_t pixels = output_dims->n * rows * columns;
            aiotc_dims sub = *filter_dims;
            aiotc_gemm g;
            int32_t p;
            sub.h = aiotc_phase_taps(filter_dims->h, ry, s_h);
            sub.w = aiotc_phase_taps(filter_dims->w, rx, s_w);
            aiotc_gemm_setup(&g, filter, sub.h * sub.w * in_c, out_c, bias, quant_params, params);
            for (p = 0; p < pixels; p += 2) {
                const int32_t count = AIOTC_MIN(2, pixels - p);
                const aiotc_col *col[2] = {0, 0};
                int8_t *out[2] = {0, 0};
                int32_t j;
                for (j = 0; j < count; j++) {
                    const int32_t q = p + j, row = q / columns, b = row / rows;
                    const int32_t oy = oy0 + row % rows * s_h, ox = ox0 + q % columns * s_w;
                    const int8_t *image = input + b * input_dims->h * input_dims->w * in_c;
                    /* The window's first input row: the last tap's (ky = ry + (sub.h - 1) * s_h). */
                    const int32_t y0 = (oy + pad_h - ry) / s_h - (sub.h - 1), x0 = (ox + pad_w - rx) / s_w - (sub.w - 1);
                    col[j] = aiotc_im2col_column(&window, input_dims, image, &sub, y0, x0, taps, g.row, cols, j);
                    out[j] = output + ((b * out_h + oy) * out_w + ox) * out_c;
                }
                aiotc_gemm_s8(&g, col[0], col[1], out[0], out[1]);
            }
            filter += ((out_c + 1) & ~1) * g.row + (-(((out_c + 1) & ~1) * g.row) & 31); /* pack_gemm_weights' block */
            bias += out_c;
        }
    }
    return AIOTC_OK;
}
