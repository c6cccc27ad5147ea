/* int8 1x1 convolution to one output channel (a U-Net's last layer: 8 channels to 1):
 * each output is one input pixel's channels dotted with the weight row (TFLite's order,
 * the input offset folded into the bias), its constants in registers; on MVE 4 pixels'
 * sums requantized as one vector, and inputs of at most 16 channels one predicated load
 * each against the weights loaded once. The gemm of aiotc_convolve_1x1_s8 computes
 * channel pairs of pixel pairs through widened columns: for one channel half its work is
 * a zero row, and the widening is shared by nothing. No scratch; outputs in order, each
 * written after its input pixel is read. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_dot_s8.h"

/* One output row (width pixels, `step` input bytes apart), `common` constant in each
 * copy (aiotc_out_s8_mode). */
static AIOTC_INLINE void row_out(const int8_t *in, int32_t step, int32_t width, int32_t in_c, const int8_t *w,
                                 int32_t bias, aiotc_rq q, int32_t offset, int32_t lo, int32_t hi, int8_t *out,
                                 int32_t common)
{
#if defined(AIOTC_MVE)
    const int32x4_t multiplier = vdupq_n_s32(q.multiplier), shift = vdupq_n_s32(common ? -2 - q.shift : q.shift);
    if (in_c <= 16) {
        const mve_pred16_t p = vctp8q((uint32_t)in_c);
        const int8x16_t wv = vldrbq_z_s8(w, p);
        for (; width >= 4; width -= 4, in += 4 * step, out += 4) {
            int32x4_t y = vdupq_n_s32(vmladavaq_s8(bias, wv, vldrbq_z_s8(in, p)));
            y = vsetq_lane_s32(vmladavaq_s8(bias, wv, vldrbq_z_s8(in + step, p)), y, 1);
            y = vsetq_lane_s32(vmladavaq_s8(bias, wv, vldrbq_z_s8(in + 2 * step, p)), y, 2);
            y = vsetq_lane_s32(vmladavaq_s8(bias, wv, vldrbq_z_s8(in + 3 * step, p)), y, 3);
            y = common ? aiotc_mve_requantize_right(y, multiplier, shift) : aiotc_mve_requantize(y, multiplier, shift);
            vstrbq_s32(out, vminq_s32(vmaxq_s32(vaddq_n_s32(y, offset), vdupq_n_s32(lo)), vdupq_n_s32(hi)));
        }
    }
    for (; width >= 4; width -= 4, in += 4 * step, out += 4) {
        int32x4_t y = vdupq_n_s32(bias + aiotc_dot_s8(w, in, in_c));
        y = vsetq_lane_s32(bias + aiotc_dot_s8(w, in + step, in_c), y, 1);
        y = vsetq_lane_s32(bias + aiotc_dot_s8(w, in + 2 * step, in_c), y, 2);
        y = vsetq_lane_s32(bias + aiotc_dot_s8(w, in + 3 * step, in_c), y, 3);
        y = common ? aiotc_mve_requantize_right(y, multiplier, shift) : aiotc_mve_requantize(y, multiplier, shift);
        vstrbq_s32(out, vminq_s32(vmaxq_s32(vaddq_n_s32(y, offset), vdupq_n_s32(lo)), vdupq_n_s32(hi)));
    }
#endif
    for (; width > 0; width--, in += step) {
        *out++ = aiotc_out_s8_mode(q, bias + aiotc_dot_s8(w, in, in_c), offset, lo, hi, common);
    }
}

int32_t aiotc_convolve_1x1_one_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                  const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                  const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                  int8_t *output)
{
    const int32_t in_c = input_dims->c, out_w = output_dims->w;
    const int32_t step = params->stride.w * in_c, row_bytes = params->stride.h * input_dims->w * in_c;
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
    const aiotc_rq q = aiotc_rq_channel(quant_params->multiplier[0], quant_params->shift[0]);
    int32_t b, y;
    if (filter_dims->c != in_c || filter_dims->n != 1 || output_dims->c != 1 || filter_dims->h != 1 ||
        filter_dims->w != 1 || params->padding.w != 0 || params->padding.h != 0) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < output_dims->n; b++) {
        const int8_t *in = input + b * input_dims->h * input_dims->w * in_c;
        for (y = 0; y < output_dims->h; y++, in += row_bytes, output += out_w) {
            if (quant_params->right_shifts) {
                row_out(in, step, out_w, in_c, filter, bias[0], q, offset, lo, hi, output, 1);
            } else {
                row_out(in, step, out_w, in_c, filter, bias[0], q, offset, lo, hi, output, 0);
            }
        }
    }
    return AIOTC_OK;
}
