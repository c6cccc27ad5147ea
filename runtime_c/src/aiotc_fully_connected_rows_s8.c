/* int8 fully connected with few outputs over a long input (keyword spotting's 4000 inputs
 * to 4 classes), or weights the packed layout cannot hold: blocks of 4 weight rows (a last
 * 1 or 2 a block of their own) against the input as it is, no scratch (aiotc_nn_fc_rows.h: the layout, the
 * DSP and MVE paths). The packed kernel (aiotc_fully_connected_packed_s8) widens the
 * input into an int16 copy first, which few rows do not repay, and takes 2 bytes of arena
 * per input for it. Bias with the input offset folded in (never NULL); MVE: whole blocks
 * of 4 requantized as one vector. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_fc_rows.h"

/* All rows for one input, `common` constant in each copy (aiotc_out_s8_mode). */
static AIOTC_INLINE void fc_rows(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const int8_t *filter, const int32_t *bias, const int8_t *x, int32_t depth,
                                 int32_t out_c, int8_t *out, int32_t common)
{
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
#if defined(AIOTC_MVE)
    const aiotc_per_channel_quant_params *const q = quant_params; /* a copy costs the M55 registers */
#else
    /* A copy: after a store through an int8 pointer, fields read through pointers are read
     * again (M4: 2 loads an output). */
    const aiotc_per_channel_quant_params copy = *quant_params, *const q = &copy;
#endif
    aiotc_fc_rows_sums s;
    int32_t oc, n, r;
    for (oc = 0; oc < out_c; oc += n) {
        n = aiotc_fc_rows_next(&filter, x, depth, out_c - oc, &s);
#if defined(AIOTC_MVE)
        if (oc + AIOTC_FC_ROWS_BLOCK <= out_c) {
            aiotc_mve_store4(vaddq_s32(vldrwq_s32(s.a), vldrwq_s32(bias + oc)), vldrwq_s32(q->multiplier + oc),
                             aiotc_mve_shift(q->shift + oc, common), offset, vdupq_n_s32(lo),
                             vdupq_n_s32(hi), out + oc, common);
            continue;
        }
#endif
        for (r = 0; r < n && oc + r < out_c; r++) {
            const aiotc_rq rq = aiotc_rq_channel(q->multiplier[oc + r], q->shift[oc + r]);
            out[oc + r] = aiotc_out_s8_mode(rq, bias[oc + r] + s.a[r], offset, lo, hi, common);
        }
    }
}

int32_t aiotc_fully_connected_rows_s8(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                      const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                      const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                      int8_t *output)
{
    const int32_t depth = input_dims->c, out_c = output_dims->c;
    int32_t b;
    if (filter_dims->c != depth || filter_dims->n != out_c || params->filter_offset != 0) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        if (quant_params->right_shifts) {
            fc_rows(params, quant_params, filter, bias, input + b * depth, depth, out_c, output + b * out_c, 1);
        } else {
            fc_rows(params, quant_params, filter, bias, input + b * depth, depth, out_c, output + b * out_c, 0);
        }
    }
    return AIOTC_OK;
}
