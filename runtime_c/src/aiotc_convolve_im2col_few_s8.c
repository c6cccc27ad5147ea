/* int8 convolution (groups 1, any kernel, stride, dilation and padding) of output
 * channels in blocks of 8, one pixel at a time: its window's k taps gathered into the
 * scratch (padded taps the input zero point, which the folded bias cancels; zeros after
 * them to a whole word), then 8 channels per pass over them as aiotc_convolve_1x1_few_s8
 * does over a pixel's channels (aiotc_nn_conv_few.h), the weights int16 in its layout over
 * the rows of k taps padded to whole words. Chosen on DSP cores for first layers of 1-3
 * input channels (aiotc/kernels.py): there the gemm gathers two windows' bytes, widens
 * them into columns and sets up, sums and requantizes per channel pair, several times
 * the MACs of 9-40 taps (person_detect's 3x3 layer over 1 channel: 6.7 instructions per
 * MAC). Outputs in pixel order, a pixel's after its window is read. */
#include "aiotc_nn_conv_few.h"

int32_t aiotc_convolve_im2col_few_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims)
{
    return AIOTC_ROW(filter_dims->h * filter_dims->w * input_dims->c);
}

/* The layer with `common` (quant_params->right_shifts) a constant in each copy. */
static AIOTC_INLINE void aiotc_few_im2col_loop(const aiotc_conv_params *params,
                                               const aiotc_per_channel_quant_params *quant_params,
                                               const aiotc_dims *input_dims, const int8_t *input,
                                               const aiotc_dims *filter_dims, const int16_t *filter,
                                               const int32_t *bias, const aiotc_dims *output_dims, int8_t *output,
                                               int8_t *taps, int32_t row, int32_t common)
{
    const int32_t out_c = output_dims->c, pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
    const int32_t *const q = quant_params->multiplier; /* (multiplier, shift) pairs */
    aiotc_pixel_walk at;
    int32_t p, c;
    at.image = input;
    at.oy = at.ox = 0;
    for (p = 0; p < pixels; p++, output += out_c) {
        const int16_t *w = filter;
        aiotc_im2col_gather(params, input_dims, at.image, filter_dims, at.oy * params->stride.h - params->padding.h,
                            at.ox * params->stride.w - params->padding.w, taps);
        aiotc_pixel_step(&at, input_dims, output_dims);
        for (c = 0; c < out_c; c += 8, w += 8 * row) {
            int32_t s[8];
            aiotc_few_dot8(bias + c, w, taps, row, s);
            aiotc_few_out8(s, q + 2 * c, offset, lo, hi, common, output + c);
        }
    }
}

int32_t aiotc_convolve_im2col_few_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                     const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                     const int8_t *input, const aiotc_dims *filter_dims, const int16_t *filter,
                                     const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c, row = AIOTC_ROW(k);
    int8_t *const taps = (int8_t *)ctx->buf;
    if (filter_dims->c != input_dims->c || filter_dims->n != output_dims->c || output_dims->c % 8 != 0 || k == 0 ||
        ctx->size < row) {
        return AIOTC_ARG_ERROR;
    }
    memset(taps + k, 0, (size_t)(row - k)); /* the weights' zero padding times zeros */
    if (quant_params->right_shifts == 1) {
        aiotc_few_im2col_loop(params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims, output,
                              taps, row, 1);
    } else if (quant_params->right_shifts) {
        aiotc_few_im2col_loop(params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims, output,
                              taps, row, 2);
    } else {
        aiotc_few_im2col_loop(params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims, output,
                              taps, row, 0);
    }
    return AIOTC_OK;
}
