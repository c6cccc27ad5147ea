/* aiotc runtime: one row of int8 weights, in TFLite's order, times int8 inputs: the
 * dot product of the kernels whose weights the packed byte pairs (aiotc_nn_fc_packed.h)
 * cannot hold (a -128 beside a negative weight), with DSP and MVE paths. */
#ifndef AIOTC_NN_DOT_S8_H
#define AIOTC_NN_DOT_S8_H

#include "aiotc_nn_gemm.h" /* AIOTC_MVE, AIOTC_DSP, aiotc_read_word */

/* One row of int8 weights times int8 inputs, the input offset folded into the bias:
 * per 16 inputs one VMLADAVA (MVE), per 4 two SMLAD (DSP). */
static AIOTC_INLINE int32_t aiotc_dot_s8(const int8_t *w, const int8_t *x, int32_t n)
{
    int32_t sum = 0, k = 0;
#if defined(AIOTC_MVE)
    for (; k < n; k += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - k));
        sum = vmladavaq_p_s8(sum, vldrbq_z_s8(w + k, p), vldrbq_z_s8(x + k, p), p);
    }
#else
#if defined(AIOTC_DSP)
    for (; k + 4 <= n; k += 4) {
        const int32_t wv = aiotc_read_word(w + k), xv = aiotc_read_word(x + k);
        sum = __smlad(aiotc_sxtb16_ror8(wv), aiotc_sxtb16_ror8(xv), __smlad(__sxtb16(wv), __sxtb16(xv), sum));
    }
#endif
    for (; k < n; k++) {
        sum += w[k] * x[k];
    }
#endif
    return sum;
}

/* One row of int8 weights times int8 inputs plus `offset` (-input zero point):
 * sum(w * x) + offset * sum(w), the same int32. */
static inline int32_t aiotc_dot_offset_s8(const int8_t *w, const int8_t *x, int32_t n, int32_t offset)
{
    int32_t sum = 0, k;
#if defined(AIOTC_MVE)
    int32_t weights_sum = 0;
    for (k = 0; k < n; k += 16) {
        const mve_pred16_t p = vctp8q((uint32_t)(n - k));
        const int8x16_t vw = vldrbq_z_s8(w + k, p);
        sum = vmladavaq_p_s8(sum, vw, vldrbq_z_s8(x + k, p), p);
        weights_sum = vaddvaq_p_s8(weights_sum, vw, p);
    }
    return sum + offset * weights_sum;
#else
#if defined(AIOTC_DSP)
    /* Per 4 inputs, both words' even and odd bytes widened (SXTB16), 2 SMLAD; the offset's
     * part from the weights' sum (SMLAD by 1, 1). */
    int32_t weights_sum = 0;
    for (k = 0; k + 4 <= n; k += 4) {
        const int32_t wv = aiotc_read_word(w + k), xv = aiotc_read_word(x + k);
        const int32_t w02 = __sxtb16(wv), w13 = aiotc_sxtb16_ror8(wv);
        sum = __smlad(w13, aiotc_sxtb16_ror8(xv), __smlad(w02, __sxtb16(xv), sum));
        weights_sum = __smlad(w13, 0x00010001, __smlad(w02, 0x00010001, weights_sum));
    }
    sum += offset * weights_sum;
#else
    k = 0;
#endif
    for (; k < n; k++) {
        sum += w[k] * (x[k] + offset);
    }
    return sum;
#endif
}

#endif /* AIOTC_NN_DOT_S8_H */
