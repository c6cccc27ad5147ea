/* int8 1x1 convolution (any stride, no padding) of output channels in blocks of 8 (the
 * weights and biases of a last partial block zero padded to 8) over input channels in
 * whole words, one pixel at a time, 8 channels per pass over its inputs, no scratch:
 * MobileNetV2's projections to 8 or 16 channels, its expansions of 8 to 32 inputs and
 * segmentation heads of a few classes on DSP cores (aiotc/kernels.py). The gemm of aiotc_convolve_1x1_s8 widens every
 * pixel to int16 and sets up, sums and requantizes per channel pair, which on few channels
 * or short rows costs as much as the MACs. Here the weights are int16 already (the
 * lowering's layout: per 4 inputs i0..i3 and channel, the pairs (i0, i2), (i1, i3)), so
 * the pixel's 4 inputs take one LDR and two SXTB16 for all 8 channels, then per channel
 * one LDRD of weights and 2 SMLAD: 57 instructions for 64 MACs with the loop's test, the
 * 8 sums in registers (from the biases, the input offset folded in). The weights take
 * twice the flash of the gemm's byte pairs (aiotc/kernels.py weighs that). Outputs in
 * pixel order, a pixel's after its inputs are read (the in-place contract, aiotc_nn.h). */
#include "aiotc_nn_conv_few.h"

/* The layer with `common` (quant_params->right_shifts) a constant in each copy. */
static AIOTC_INLINE void aiotc_few_loop(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                        const aiotc_dims *input_dims, const int8_t *input, const int16_t *filter,
                                        const int32_t *bias, const aiotc_dims *output_dims, int8_t *output,
                                        int32_t common)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t dense = params->stride.h == 1 && params->stride.w == 1;
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
    const int32_t *const q = quant_params->multiplier; /* (multiplier, shift) pairs */
    int32_t p, c;
    for (p = 0; p < pixels; p++, output += out_c) {
        const int8_t *const x = aiotc_1x1_pixel(params, input_dims, input, output_dims, p, dense);
        const int16_t *w = filter;
        int32_t s[8];
        for (c = 0; c + 8 <= out_c; c += 8, w += 8 * in_c) {
            aiotc_few_dot8(bias + c, w, x, in_c, s);
            aiotc_few_out8(s, q + 2 * c, offset, lo, hi, common, output + c);
        }
        if (c < out_c) { /* a last block zero padded to 8 channels */
            aiotc_few_dot8(bias + c, w, x, in_c, s);
            aiotc_few_out_n(s, q + 2 * c, offset, lo, hi, common, output + c, out_c - c);
        }
    }
}

int32_t aiotc_convolve_1x1_few_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                  const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                  const int16_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                  int8_t *output)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c != in_c || filter_dims->n != out_c ||
        in_c % 4 != 0 || in_c == 0) {
        return AIOTC_ARG_ERROR;
    }
    if (quant_params->right_shifts == 1) {
        aiotc_few_loop(params, quant_params, input_dims, input, filter, bias, output_dims, output, 1);
    } else if (quant_params->right_shifts) {
        aiotc_few_loop(params, quant_params, input_dims, input, filter, bias, output_dims, output, 2);
    } else {
        aiotc_few_loop(params, quant_params, input_dims, input, filter, bias, output_dims, output, 0);
    }
    return AIOTC_OK;
}
