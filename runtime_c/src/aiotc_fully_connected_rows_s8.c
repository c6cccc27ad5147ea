/* int8 fully connected with few outputs over a long input (keyword spotting's 4000 inputs
 * to 4 classes): blocks of 4 weight rows against the input as it is, no scratch. The
 * packed kernel (aiotc_fully_connected_packed_s8) widens the input into an int16 copy
 * first, which few rows do not repay, and takes 2 bytes of arena per input for it.
 *
 * Layout (ops_conv.pack_fc_rows): blocks of 4 rows (zero rows pad the last), each row
 * zero padded to a multiple of 16 inputs; per 4 inputs the 4 rows' words one after the
 * other. Bias with the input offset folded in (never NULL).
 * - DSP: per 4 inputs one word of input widened (SXTB16, and of its odd bytes), per row
 *   one word of weights widened the same way and 2 SMLAD (23 instructions for 16 MACs);
 * - MVE: per 16 inputs one input vector (the tail predicated to zero), one VLD4 of words
 *   that splits the block's 4 rows, 4 VMLADAVA; whole blocks requantized as one vector;
 * - portable C: the same sums, input by input. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"

#define BLOCK 4
#define ROW16(k) (((k) + 15) & ~15)

/* The 4 sums of the block at w against x (depth inputs). */
static AIOTC_INLINE void block_sums(const int8_t *w, const int8_t *x, int32_t depth, int32_t *s)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, k = 0;
#if defined(AIOTC_MVE)
    for (; k < depth; k += 16, w += 16 * BLOCK) {
        const int8x16_t v = vldrbq_z_s8(x + k, vctp8q((uint32_t)(depth - k)));
        const int32x4x4_t r = vld4q_s32((const int32_t *)(const void *)w);
        a0 = vmladavaq_s8(a0, vreinterpretq_s8_s32(r.val[0]), v);
        a1 = vmladavaq_s8(a1, vreinterpretq_s8_s32(r.val[1]), v);
        a2 = vmladavaq_s8(a2, vreinterpretq_s8_s32(r.val[2]), v);
        a3 = vmladavaq_s8(a3, vreinterpretq_s8_s32(r.val[3]), v);
    }
#else
#if defined(AIOTC_DSP)
    const int32_t *wp = (const int32_t *)(const void *)w;
    for (; k + 4 <= depth; k += 4, wp += BLOCK) {
        const int32_t xv = aiotc_read_word(x + k), x02 = __sxtb16(xv), x13 = aiotc_sxtb16_ror8(xv);
        const int32_t w0 = wp[0], w1 = wp[1], w2 = wp[2], w3 = wp[3];
        a0 = __smlad(aiotc_sxtb16_ror8(w0), x13, __smlad(__sxtb16(w0), x02, a0));
        a1 = __smlad(aiotc_sxtb16_ror8(w1), x13, __smlad(__sxtb16(w1), x02, a1));
        a2 = __smlad(aiotc_sxtb16_ror8(w2), x13, __smlad(__sxtb16(w2), x02, a2));
        a3 = __smlad(aiotc_sxtb16_ror8(w3), x13, __smlad(__sxtb16(w3), x02, a3));
    }
#endif
    for (; k < depth; k++) { /* input k: byte k % 4 of each row's word k / 4 */
        const int8_t *word = w + (k / 4) * 4 * BLOCK + k % 4;
        a0 += word[0] * x[k];
        a1 += word[4] * x[k];
        a2 += word[8] * x[k];
        a3 += word[12] * x[k];
    }
#endif
    s[0] = a0;
    s[1] = a1;
    s[2] = a2;
    s[3] = a3;
}

/* All rows for one input, `common` constant in each copy (aiotc_out_s8_mode). */
static AIOTC_INLINE void fc_rows(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const int8_t *filter, const int32_t *bias, const int8_t *x, int32_t depth,
                                 int32_t out_c, int8_t *out, int32_t common)
{
    const int32_t block_bytes = BLOCK * ROW16(depth);
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
    int32_t s[BLOCK], oc, r;
    for (oc = 0; oc < out_c; oc += BLOCK, filter += block_bytes) {
        block_sums(filter, x, depth, s);
#if defined(AIOTC_MVE)
        if (oc + BLOCK <= out_c) {
            aiotc_mve_store4(vaddq_s32(vldrwq_s32(s), vldrwq_s32(bias + oc)), vldrwq_s32(quant_params->multiplier + oc),
                             aiotc_mve_shift(quant_params->shift + oc, common), offset, vdupq_n_s32(lo),
                             vdupq_n_s32(hi), out + oc, common);
            continue;
        }
#endif
        for (r = 0; r < BLOCK && oc + r < out_c; r++) {
            const aiotc_rq q = aiotc_rq_channel(quant_params->multiplier[oc + r], quant_params->shift[oc + r]);
            out[oc + r] = aiotc_out_s8_mode(q, bias[oc + r] + s[r], offset, lo, hi, common);
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
