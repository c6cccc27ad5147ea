/* int8 convolution whose window is one run of input bytes, by weight rows in TFLite's order
 * (the input offset folded into the bias), no scratch: the 1x1 convolutions, and the 1xK
 * windows along a row with no padding or dilation (a Conv1D), whose k_w * c taps lie
 * together in the image as they do in the weight row. Each output is its window dotted
 * with its channel's row. Runs a layer to one channel on any core (a U-Net's last layer,
 * 8 channels to 1: the gemm of aiotc_convolve_1x1_s8 computes channel pairs through
 * widened columns, half of it a zero row), and on MVE the layers of few channels, where
 * the gemm's tiles of 4 channels x 2 pixels spend as much on gathering and interleaving
 * the pixels, setting up and requantizing as on their MACs (MobileNetV2's projection
 * 36x36x48 -> 8 on the M55: 272k instructions through the gemm, 189k here, CMSIS-NN
 * 245k; a Conv1D of 4 channels to 16, kernel 3: 40k through the gemm, CMSIS-NN 36k).
 * - MVE: 4 pixels at a time, channel by channel (as CMSIS-NN's arm_nn_mat_mult_nt_t_s8):
 *   per 16 inputs one vector of the row, the 4 pixels' vectors and 4 VMLADAVA in a
 *   tail-predicated loop; windows of at most 16 inputs one predicated load per pixel for
 *   every channel. The 4 sums are requantized as one vector with the channel's constants
 *   and scattered out_c bytes apart;
 * - DSP and portable C (and MVE on runs of fewer than 4 pixels): pixel by pixel, each
 *   output one aiotc_dot_s8.
 * A layer of one channel runs its own copy, its row (MVE) and constants read once.
 * Outputs in increasing pixel order, at most 4 pixels written while their inputs are read
 * (the in-place contract's group). On MVE the last group of a run overlaps the one before
 * rather than leave 1 to 3 pixels to the slower loop (a streamed band of 18 pixels: 4
 * groups and 2 lone pixels, a quarter of the work): its first pixels are written again
 * with the same values, and their inputs are intact, as the in-place slack holds for a
 * group starting at any pixel. */
#include "aiotc_nn_conv_rows.h"

int32_t aiotc_convolve_rows_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                               const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                               int8_t *output)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c, out_w = output_dims->w;
    const int32_t k = filter_dims->w * in_c; /* the window: one run of the image */
    const int32_t row_bytes = params->stride.h * input_dims->w * in_c;
    /* 1x1, stride 1: the pixels of all rows are one run */
    const int32_t dense = params->stride.h == 1 && params->stride.w == 1 && filter_dims->w == 1;
    /* one output column (a Conv1D on its side, its 1x1 strided): the pixels down the rows are
     * one run of each image, not runs of one pixel (the scalar loop: 3.2 instructions a MAC
     * on the M55 for a 1000x16 -> 500x16 stride-2 shortcut, CMSIS-NN 1.1) */
    const int32_t column = !dense && out_w == 1;
    const int32_t step = column ? row_bytes : params->stride.w * in_c;
    const int32_t runs = dense ? 1 : column ? output_dims->n : output_dims->n * output_dims->h;
    const int32_t count = dense ? output_dims->n * output_dims->h * out_w : column ? output_dims->h : out_w;
    int32_t r;
    if (filter_dims->c != in_c || filter_dims->n != out_c || filter_dims->h != 1 ||
        (filter_dims->w > 1 && params->dilation.w != 1) || params->padding.w != 0 || params->padding.h != 0) {
        return AIOTC_ARG_ERROR;
    }
    for (r = 0; r < runs; r++, output += count * out_c) {
        const int32_t image = column ? r : r / output_dims->h, row = column ? 0 : r % output_dims->h;
        const int8_t *in = input + image * input_dims->h * input_dims->w * in_c + row * row_bytes;
        aiotc_rows_out(in, step, count, k, params, quant_params, filter, bias, out_c, output);
    }
    return AIOTC_OK;
}
