/* int8 convolution of few output channels by weight rows in TFLite's order (the input
 * offset folded into the bias): the windows of 4 output pixels gathered into the scratch
 * (inside the image their kernel rows copied inline, at a border aiotc_im2col_gather: any
 * kernel, stride, dilation and padding, padded taps the input zero point), then each
 * dotted with every channel's row as aiotc_convolve_rows_s8 does (aiotc_nn_conv_rows.h: on MVE the 4 windows' vectors against one row vector, the 4
 * sums requantized as one vector). For the layers the gemm's tiles of 4 channels x 2
 * pixels leave mostly empty: an image decoder's last 3x3 conv to 3 channels on the M55,
 * 1x32x32x16 -> 3: 305k instructions, through the gemm 524k, CMSIS-NN 427k.
 * A Conv1D on its side (one output column, windows of whole rows) reads the windows of 4
 * pixels inside the image where they lie, as aiotc_convolve_rows_s8 does.
 * Outputs in increasing pixel order, at most 4 pixels written while their inputs are read
 * (the in-place contract's group). */
#include "aiotc_nn_conv_gemm.h" /* aiotc_im2col_gather */
#include "aiotc_nn_conv_rows.h"

int32_t aiotc_convolve_rows_im2col_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims)
{
    return 4 * filter_dims->h * filter_dims->w * input_dims->c;
}

int32_t aiotc_convolve_rows_im2col_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                      const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                      const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t out_h = output_dims->h, out_w = output_dims->w, out_c = output_dims->c;
    const int32_t pixels = output_dims->n * out_h * out_w;
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c;
    int8_t *const taps = (int8_t *)ctx->buf; /* 4 windows of k taps, one after the other */
    const int32_t row_bytes = input_dims->w * input_dims->c, step = params->stride.h * row_bytes;
    /* a Conv1D on its side (one output column, windows of whole rows): each window one run */
    const int32_t on_its_side = out_w == 1 && filter_dims->w == input_dims->w && params->dilation.h == 1 &&
                                params->padding.w == 0;
    const int8_t *image = input;
    int32_t p, j, oy = 0, ox = 0;
    if (filter_dims->c != input_dims->c || filter_dims->n != out_c || ctx->size < 4 * k) {
        return AIOTC_ARG_ERROR;
    }
    for (p = 0; p < pixels; p += 4) {
        const int32_t count = AIOTC_MIN(4, pixels - p);
        const int32_t y0 = oy * params->stride.h - params->padding.h;
        if (on_its_side && count == 4 && oy + 4 <= out_h && y0 >= 0 &&
            y0 + 3 * params->stride.h + filter_dims->h <= input_dims->h) { /* 4 windows inside: read where they lie */
            aiotc_rows_out(image + y0 * row_bytes, step, 4, k, params, quant_params, filter, bias, out_c,
                           output + p * out_c);
            oy += 4;
            if (oy == out_h) {
                oy = 0;
                image += input_dims->h * row_bytes;
            }
            continue;
        }
        for (j = 0; j < count; j++) { /* the pixels walked: no divisions */
            const int32_t y0 = oy * params->stride.h - params->padding.h, x0 = ox * params->stride.w - params->padding.w;
            if (!aiotc_im2col_inside(params, input_dims, image, filter_dims, y0, x0, taps + j * k)) {
                aiotc_im2col_gather(params, input_dims, image, filter_dims, y0, x0, taps + j * k);
            }
            if (++ox == out_w) {
                ox = 0;
                if (++oy == out_h) {
                    oy = 0;
                    image += input_dims->h * input_dims->w * input_dims->c;
                }
            }
        }
#if defined(AIOTC_MVE)
        if (count < 4) { /* a band's last 1-3 pixels: the spare windows' sums are not stored */
            aiotc_rows_partial4(taps, count, k, params, quant_params, filter, bias, out_c, output + p * out_c);
            continue;
        }
#endif
        aiotc_rows_out(taps, k, count, k, params, quant_params, filter, bias, out_c, output + p * out_c);
    }
    return AIOTC_OK;
}
