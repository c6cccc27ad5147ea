/* aiotc runtime: the rows kernel's dot products (aiotc_fully_connected_rows_s8), which the
 * fully connected layer and the SVDF's feature product share: 4 weight rows against the
 * int8 input as it is (no scratch), any int8 weights (the packed layout's byte pairs
 * cannot hold a -128 under a negative weight), the input offset folded into the bias.
 *
 * Layout (ops_conv.pack_fc_rows): blocks of 4 rows (zero rows pad the last), each row
 * zero padded to a multiple of 16 inputs; per 4 inputs the 4 rows' words one after the
 * other.
 * - DSP: per 4 inputs one word of input widened (SXTB16, and of its odd bytes), per row
 *   one word of weights widened the same way and 2 SMLAD (23 instructions for 16 MACs);
 * - MVE: per 16 inputs one input vector (the tail predicated to zero), one VLD4 of words
 *   that splits the block's 4 rows, 4 VMLADAVA;
 * - portable C: the same sums, input by input. */
#ifndef AIOTC_NN_FC_ROWS_H
#define AIOTC_NN_FC_ROWS_H

#include "aiotc_nn_gemm.h"

#define AIOTC_FC_ROWS_BLOCK 4
#define AIOTC_FC_ROWS_ROW16(k) (((k) + 15) & ~15)

/* The 4 sums of the block at w against x (depth inputs). */
static AIOTC_INLINE void aiotc_fc_rows_block(const int8_t *w, const int8_t *x, int32_t depth, int32_t *s)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, k = 0;
#if defined(AIOTC_MVE)
    for (; k < depth; k += 16, w += 16 * AIOTC_FC_ROWS_BLOCK) {
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
    for (; k + 4 <= depth; k += 4, wp += AIOTC_FC_ROWS_BLOCK) {
        const int32_t xv = aiotc_read_word(x + k), x02 = __sxtb16(xv), x13 = aiotc_sxtb16_ror8(xv);
        const int32_t w0 = wp[0], w1 = wp[1], w2 = wp[2], w3 = wp[3];
        a0 = __smlad(aiotc_sxtb16_ror8(w0), x13, __smlad(__sxtb16(w0), x02, a0));
        a1 = __smlad(aiotc_sxtb16_ror8(w1), x13, __smlad(__sxtb16(w1), x02, a1));
        a2 = __smlad(aiotc_sxtb16_ror8(w2), x13, __smlad(__sxtb16(w2), x02, a2));
        a3 = __smlad(aiotc_sxtb16_ror8(w3), x13, __smlad(__sxtb16(w3), x02, a3));
    }
#endif
    for (; k < depth; k++) { /* input k: byte k % 4 of each row's word k / 4 */
        const int8_t *word = w + (k / 4) * 4 * AIOTC_FC_ROWS_BLOCK + k % 4;
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

#endif /* AIOTC_NN_FC_ROWS_H */
