/* int8 1x1 convolution (any stride, no padding): every output pixel is its input pixel's
 * channels times the weight matrix, so there is no im2col; the DSP path widens two
 * input pixels to int16 in the scratch buffer and runs the shared 2x2 gemm over them. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"

int32_t aiotc_convolve_1x1_s8_get_buffer_size(const aiotc_dims *input_dims)
{
    return 2 * AIOTC_COL_BYTES(input_dims->c);
}

int32_t aiotc_convolve_1x1_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                              const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                              const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                              const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_c = input_dims->c, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t pixels = output_dims->n * output_dims->h * out_w;
    const int32_t dense = params->stride.h == 1 && params->stride.w == 1;
    aiotc_col *const cols = (aiotc_col *)ctx->buf;
    aiotc_gemm g;
    int32_t p;
    if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c != in_c || filter_dims->n != out_c ||
        ctx->size < aiotc_convolve_1x1_s8_get_buffer_size(input_dims)) {
        return AIOTC_ARG_ERROR;
    }
    g.weights = filter;
    g.k = in_c;
    g.row = AIOTC_ROW(in_c);
    g.rows = out_c;
    g.bias = bias;
    g.multiplier = quant_params->multiplier;
    g.shift = quant_params->shift;
    g.output_offset = params->output_offset;
    g.act_min = params->activation.min;
    g.act_max = params->activation.max;
    g.common = quant_params->right_shifts;
    for (p = 0; p < pixels; p += 2) {
        const int32_t count = AIOTC_MIN(2, pixels - p);
        const aiotc_col *col[2] = {0, 0};
        int32_t j;
        for (j = 0; j < count; j++) {
            const int32_t q = p + j;
            const int8_t *in = input + q * in_c; /* stride 1: pixels in order, no index arithmetic */
            if (!dense) {
                const int32_t row = q / out_w, ox = q % out_w, b = row / output_dims->h, oy = row % output_dims->h;
                in = input + ((b * input_dims->h + oy * params->stride.h) * input_dims->w + ox * params->stride.w) * in_c;
            }
            col[j] = aiotc_col_prepare(in, in_c, cols, j);
        }
        aiotc_gemm_s8(&g, col[0], col[1], output + p * out_c, output + (p + 1) * out_c);
    }
    return AIOTC_OK;
}
