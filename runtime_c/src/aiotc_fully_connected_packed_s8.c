/* int8 fully connected over weights the lowering packed: aiotc_nn_fc_packed.h's blocks
 * of 4 rows, requantized to int8 (on MVE a whole block as one vector). */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_fc_packed.h"

int32_t aiotc_fully_connected_packed_s8_get_buffer_size(const aiotc_dims *filter_dims)
{
    return AIOTC_FC_PREPARED_BYTES(filter_dims->c);
}

/* All output channels of one input (x: widened on the DSP path), `common` constant in
 * each copy (aiotc_out_s8_mode): whole blocks walk the weights and the constants with
 * pointers and requantize their 4 sums straight from registers, then the last rows. */
static AIOTC_INLINE void fc_rows(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const int8_t *filter, const int32_t *bias, const aiotc_col *x, int32_t depth,
                                 int32_t out_c, int8_t *out, int32_t common)
{
    const int32_t *multiplier = quant_params->multiplier, *shift = quant_params->shift;
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
    int32_t left = out_c, r;
#if defined(AIOTC_DSP)
    const int8_t *w = filter; /* the weights walked block after block */
    const int32_t *const x_end = x + AIOTC_ROW16(depth) / 2;
#endif
    for (; left >= AIOTC_FC_BLOCK; left -= AIOTC_FC_BLOCK, out += AIOTC_FC_BLOCK, bias += AIOTC_FC_BLOCK) {
#if defined(AIOTC_DSP)
        const aiotc_fc_sums s = aiotc_fc_dot_pairs(&w, x, depth, bias, 2, &x_end);
#else
        const aiotc_fc_sums s = aiotc_fc_dot_block(filter, x, depth, bias);
        filter += AIOTC_FC_BLOCK * AIOTC_ROW16(depth);
#endif
#if defined(AIOTC_MVE) /* the block requantized as one vector */
        aiotc_mve_store4(aiotc_mve_lanes(s.a[0], s.a[1], s.a[2], s.a[3]), vldrwq_s32(multiplier), aiotc_mve_shift(shift, common), offset, vdupq_n_s32(lo),
                         vdupq_n_s32(hi), out, common);
#else
        out[0] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[0], shift[0]), s.a[0], offset, lo, hi, common);
        out[1] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[1], shift[1]), s.a[1], offset, lo, hi, common);
        out[2] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[2], shift[2]), s.a[2], offset, lo, hi, common);
        out[3] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[3], shift[3]), s.a[3], offset, lo, hi, common);
#endif
        multiplier += AIOTC_FC_BLOCK;
        shift += AIOTC_FC_BLOCK;
    }
    if (left > 0) {
#if defined(AIOTC_DSP)
        /* at most 2 rows left (vww's 2 classes): their row pair alone */
        const aiotc_fc_sums s = left <= 2 ? aiotc_fc_dot_pairs(&w, x, depth, bias, 1, &x_end)
                                          : aiotc_fc_dot_pairs(&w, x, depth, bias, 2, &x_end);
#else
        const aiotc_fc_sums s = aiotc_fc_dot_block(filter, x, depth, bias);
#endif
        for (r = 0; r < left; r++) {
            out[r] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[r], shift[r]), s.a[r], offset, lo, hi, common);
        }
    }
}

int32_t aiotc_fully_connected_packed_s8(const aiotc_context *ctx, const aiotc_fc_params *params,
                                        const aiotc_per_channel_quant_params *quant_params,
                                        const aiotc_dims *input_dims, const int8_t *input,
                                        const aiotc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                        const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t depth = input_dims->c, out_c = output_dims->c;
    int32_t b;
    if (filter_dims->c != depth || filter_dims->n != out_c || params->filter_offset != 0 ||
        ctx->size < aiotc_fully_connected_packed_s8_get_buffer_size(filter_dims)) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        const aiotc_col *const x = aiotc_fc_prepare(input + b * depth, depth, ctx->buf);
        if (quant_params->right_shifts) {
            fc_rows(params, quant_params, filter, bias, x, depth, out_c, output + b * out_c, 1);
        } else {
            fc_rows(params, quant_params, filter, bias, x, depth, out_c, output + b * out_c, 0);
        }
    }
    return AIOTC_OK;
}
