/* aiotc runtime: the parts of TFLite Micro's integer SVDF its two kernels share (the
 * state's shift by one value per invoke, the time products, the feature values' and
 * outputs' requantization), with DSP and MVE paths; the sums are the plain C loops', so
 * every path gives the same integers. MVE: the state shifted whole (aiotc_svdf_begin),
 * each new value stored last in its row, then the time products. Else each new value
 * takes its row's oldest value's place and the row turns by one as its time products are
 * summed (aiotc_svdf_row_s16, aiotc_svdf_row_s8): one pass over the state, not two. */
#ifndef AIOTC_NN_SVDF_H
#define AIOTC_NN_SVDF_H

#include <string.h>

#include "aiotc_nn_dot_s8.h"
#include "aiotc_nn_gemm.h" /* AIOTC_MVE, arm_mve.h */
#include "aiotc_nn_recurrent.h"

#if defined(AIOTC_MVE)
/* Every value of the state (`count` values of `bytes` each) moves one place towards the
 * start: each filter's oldest value leaves (its place is overwritten after). Whole
 * vectors, each read before it is written over, then a predicated tail. */
static inline void aiotc_svdf_shift_state(void *state, int32_t count, int32_t bytes)
{
    const int32_t moved = count - 1;
    int32_t i = 0;
    if (bytes == 2) {
        int16_t *s = (int16_t *)state;
        for (; i + 8 <= moved; i += 8) {
            vstrhq_s16(s + i, vldrhq_s16(s + i + 1));
        }
        if (i < moved) {
            const mve_pred16_t p = vctp16q((uint32_t)(moved - i));
            vstrhq_p_s16(s + i, vldrhq_z_s16(s + i + 1, p), p);
        }
    } else {
        int8_t *s = (int8_t *)state;
        for (; i + 16 <= moved; i += 16) {
            vstrbq_s8(s + i, vldrbq_s8(s + i + 1));
        }
        if (i < moved) {
            const mve_pred16_t p = vctp8q((uint32_t)(moved - i));
            vstrbq_p_s8(s + i, vldrbq_z_s8(s + i + 1, p), p);
        }
    }
}

/* n time weights times n state values, int16 (`wide`) or int8: sum(w * s) (the state's
 * zero point is folded into the bias at compile time). */
static AIOTC_INLINE int32_t aiotc_svdf_time_dot(const void *weights, const void *state, int32_t n, int32_t wide)
{
    int32_t sum = 0, m;
    const int16_t *w = (const int16_t *)weights, *s = (const int16_t *)state;
    if (!wide) { /* int8: the row dot of aiotc_nn_dot_s8.h */
        return aiotc_dot_s8((const int8_t *)weights, (const int8_t *)state, n);
    }
    for (m = 0; m < n; m += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(n - m));
        sum = vmladavaq_p_s16(sum, vldrhq_z_s16(w + m, p), vldrhq_z_s16(s + m, p), p);
    }
    return sum;
}

#else
/* One filter's row of n int16 state values at *state (its time weights at *weights)
 * whose first, the oldest, has been replaced by the new value: the row turns one place
 * towards the start (the new value last), `sum` plus the time weights times the row as it
 * is then comes back, and both pointers move to the next row. One pass over the row, not
 * a shift of the whole state and a dot product after. DSP, n even: two values per word,
 * read one value ahead (an unaligned LDR, which the M4 and M7 take) and written back in
 * place, one SMLAD each; the last old value and the new one make the last word. */
static AIOTC_INLINE int32_t aiotc_svdf_row_s16(int16_t **state, const int16_t **weights, int32_t n, int32_t sum)
{
    int16_t *s = *state;
    const int16_t *w = *weights;
    const int32_t value = s[0];
    int32_t m;
#if defined(AIOTC_DSP)
    if ((n & 1) == 0) {
        const int16_t *last = s + n - 2;
        uint32_t a;
        int32_t wa;
        for (; s < last; s += 2, w += 2) {
            memcpy(&a, s + 1, 4);
            memcpy(&wa, w, 4);
            memcpy(s, &a, 4);
            sum = __smlad(wa, (int32_t)a, sum);
        }
        memcpy(&a, s, 4);
        a = (a >> 16) | ((uint32_t)value << 16);
        memcpy(s, &a, 4);
        memcpy(&wa, w, 4);
        *state = s + 2;
        *weights = w + 2;
        return __smlad(wa, (int32_t)a, sum);
    }
#endif
    for (m = 0; m < n - 1; m++) {
        s[m] = s[m + 1];
        sum += w[m] * s[m];
    }
    s[n - 1] = (int16_t)value;
    *state = s + n;
    *weights = w + n;
    return sum + w[n - 1] * value;
}

#if defined(AIOTC_DSP)
/* aiotc_svdf_row_s16 for an int8 row of n values, n a multiple of 4: four values per
 * word, two SMLAD. */
static AIOTC_INLINE int32_t aiotc_svdf_words_s8(int8_t **state, const int8_t **weights, int32_t n, int32_t sum)
{
    int8_t *s = *state;
    const int8_t *w = *weights;
    const int32_t value = s[0];
    int32_t a, wa, m;
    for (m = n - 4; m > 0; m -= 4, s += 4, w += 4) {
        a = aiotc_read_word(s + 1);
        wa = aiotc_read_word(w);
        memcpy(s, &a, 4);
        sum = __smlad(aiotc_sxtb16_ror8(wa), aiotc_sxtb16_ror8(a), __smlad(__sxtb16(wa), __sxtb16(a), sum));
    }
    a = (int32_t)(((uint32_t)aiotc_read_word(s) >> 8) | ((uint32_t)value << 24));
    wa = aiotc_read_word(w);
    memcpy(s, &a, 4);
    *state = s + 4;
    *weights = w + 4;
    return __smlad(aiotc_sxtb16_ror8(wa), aiotc_sxtb16_ror8(a), __smlad(__sxtb16(wa), __sxtb16(a), sum));
}
#endif

/* aiotc_svdf_row_s16 for an int8 row (DSP, n a multiple of 4: aiotc_svdf_words_s8). */
static AIOTC_INLINE int32_t aiotc_svdf_row_s8(int8_t **state, const int8_t **weights, int32_t n, int32_t sum)
{
    int8_t *s = *state;
    const int8_t *w = *weights;
    const int32_t value = s[0];
    int32_t m;
#if defined(AIOTC_DSP)
    if ((n & 3) == 0) {
        return aiotc_svdf_words_s8(state, weights, n, sum);
    }
#endif
    for (m = 0; m < n - 1; m++) {
        s[m] = s[m + 1];
        sum += w[m] * s[m];
    }
    s[n - 1] = (int8_t)value;
    *state = s + n;
    *weights = w + n;
    return sum + w[n - 1] * value;
}
#endif

/* Where a filter's new value goes in its row: its last place after the whole state's
 * shift (MVE), else the oldest value's place, the row turned as its products are summed
 * (aiotc_svdf_row_s16, aiotc_svdf_row_s8). */
#if defined(AIOTC_MVE)
#define AIOTC_SVDF_NEW_AT(memory) ((memory) - 1)
#else
#define AIOTC_SVDF_NEW_AT(memory) 0
#endif

/* The state before the feature values of a batch (`count` values): shifted whole (MVE),
 * else as it is. */
static inline void aiotc_svdf_begin(const aiotc_svdf_params_s8 *params, void *state, int32_t count)
{
#if defined(AIOTC_MVE)
    aiotc_svdf_shift_state(state, count, params->state_bytes);
#else
    (void)params, (void)state, (void)count;
#endif
}

#if !defined(AIOTC_MVE)
#if defined(AIOTC_DSP)
/* aiotc_svdf_units for rank 1 and int8 rows of `memory` values, a multiple of 4 (a
 * constant where it pays: a row's words unrolled, no loop). */
static AIOTC_INLINE void aiotc_svdf_units_s8(aiotc_rq q, const int32_t *bias, int8_t *s, const int8_t *w,
                                             int32_t memory, int32_t units, int32_t offset, int8_t *out,
                                             int32_t common)
{
    int32_t u;
    for (u = 0; u < units; u++) {
        out[u] = aiotc_out_s8_mode(q, aiotc_svdf_words_s8(&s, &w, memory, bias[u]), offset, INT8_MIN, INT8_MAX,
                                   common);
    }
}
#endif

/* aiotc_svdf_outputs_mode's units without MVE, each row turned as it is summed;
 * `common` 1: the output requantization's shift a right shift (aiotc_out_s8_mode). */
static AIOTC_INLINE void aiotc_svdf_units(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims,
                                          const void *time_weights, const int32_t *bias, void *state, int8_t *out,
                                          int32_t wide, int32_t common)
{
    const int32_t memory = dims->memory, rank = dims->rank, units = dims->filters / rank;
    const int32_t offset = params->output_offset, shift = params->output_quant.shift;
    const aiotc_rq q = aiotc_rq_channel(params->output_quant.multiplier, common ? -shift - 2 : shift);
    const int16_t *w16 = (const int16_t *)time_weights;
    const int8_t *w8 = (const int8_t *)time_weights;
    int16_t *s16 = (int16_t *)state;
    int8_t *s8 = (int8_t *)state;
    int32_t u, r;
#if defined(AIOTC_DSP)
    if (rank == 1 && !wide && memory == 8) { /* keyword spotting's: two words a row, no loop */
        aiotc_svdf_units_s8(q, bias, s8, w8, 8, units, offset, out, common);
        return;
    }
    if (rank == 1 && !wide && (memory & 3) == 0) { /* the row's form tested once, not per unit */
        aiotc_svdf_units_s8(q, bias, s8, w8, memory, units, offset, out, common);
        return;
    }
#endif
    if (rank == 1) { /* one row a unit: no loop over the rank */
        for (u = 0; u < units; u++) {
            const int32_t acc = wide ? aiotc_svdf_row_s16(&s16, &w16, memory, bias[u])
                                     : aiotc_svdf_row_s8(&s8, &w8, memory, bias[u]);
            out[u] = aiotc_out_s8_mode(q, acc, offset, INT8_MIN, INT8_MAX, common);
        }
        return;
    }
    for (u = 0; u < units; u++) {
        int32_t acc = bias[u];
        for (r = 0; r < rank; r++) {
            acc = wide ? aiotc_svdf_row_s16(&s16, &w16, memory, acc) : aiotc_svdf_row_s8(&s8, &w8, memory, acc);
        }
        out[u] = aiotc_out_s8_mode(q, acc, offset, INT8_MIN, INT8_MAX, common);
    }
}
#endif

/* Each unit's output: its bias (the state's zero point folded in) plus the time products
 * of its rank filters (consecutive rows of `memory` values), requantized to int8; `wide`
 * (int16 state, a constant in each copy) tested once, not per unit. MVE: 4 units' sums
 * requantized as one vector; else aiotc_svdf_units. */
static AIOTC_INLINE void aiotc_svdf_outputs_mode(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims,
                                                 const void *time_weights, const int32_t *bias, void *state,
                                                 int8_t *out, int32_t wide)
{
#if defined(AIOTC_MVE)
    const int32_t bytes = wide ? 2 : 1, span = dims->rank * dims->memory;
    const int32_t units = dims->filters / dims->rank;
    const aiotc_per_tensor_quant_params q = params->output_quant;
    int32_t u;
    for (u = 0; u < units; u += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(units - u));
        int32_t acc[4] = {0, 0, 0, 0};
        int32_t r;
        int32x4_t y;
        for (r = 0; r < AIOTC_MIN(4, units - u); r++) {
            acc[r] = bias[u + r] + aiotc_svdf_time_dot((const uint8_t *)time_weights + (u + r) * span * bytes,
                                                       (const uint8_t *)state + (u + r) * span * bytes, span,
                                                       wide);
        }
        y = aiotc_mve_requantize(vldrwq_s32(acc), vdupq_n_s32(q.multiplier), vdupq_n_s32(q.shift));
        y = vaddq_n_s32(y, params->output_offset);
        vstrbq_p_s32(out + u, vmaxq_s32(vminq_s32(y, vdupq_n_s32(INT8_MAX)), vdupq_n_s32(INT8_MIN)), lanes);
    }
#else
    if (params->output_quant.shift <= -2) { /* aiotc_rq_right's form: no shift test per unit */
        aiotc_svdf_units(params, dims, time_weights, bias, state, out, wide, 1);
    } else {
        aiotc_svdf_units(params, dims, time_weights, bias, state, out, wide, 0);
    }
#endif
}

/* A batch's outputs after its feature values. Out of line: inlined beside the feature
 * product, the rows' loops lose their registers to its (M4: about 10 instructions more
 * per filter). */
static AIOTC_NOINLINE void aiotc_svdf_outputs(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims,
                                              const void *time_weights, const int32_t *bias, void *state, int8_t *out)
{
    if (params->state_bytes == 2) {
        aiotc_svdf_outputs_mode(params, dims, time_weights, bias, state, out, 1);
    } else {
        aiotc_svdf_outputs_mode(params, dims, time_weights, bias, state, out, 0);
    }
}

#if !defined(AIOTC_MVE)
/* y clamped to int16 (`wide`) or int8: one SSAT where the core has it. */
static AIOTC_INLINE int32_t aiotc_svdf_saturate(int32_t y, int32_t wide)
{
#if defined(__ARM_FEATURE_SAT)
    return wide ? __ssat(y, 16) : __ssat(y, 8);
#else
    const int32_t low = wide ? INT16_MIN : INT8_MIN, high = wide ? INT16_MAX : INT8_MAX;
    y = y < low ? low : y;
    return y > high ? high : y;
#endif
}
#endif

/* The new feature values of n <= 4 filters (their sums, plus bias unless it is NULL, a
 * constant where inlined; filter r's value at first + r * memory in the state):
 * requantized to the state's scale, clamped to its type, offset by its zero point. MVE:
 * one vector, scattered. */
static AIOTC_INLINE void aiotc_svdf_store_features(const aiotc_svdf_params_s8 *params, const int32_t *sums,
                                                   const int32_t *bias, int32_t n, void *state, int32_t first,
                                                   int32_t memory)
{
    const aiotc_per_tensor_quant_params q = params->feature_quant;
    const int32_t wide = params->state_bytes == 2;
#if defined(AIOTC_MVE)
    const int32_t low = wide ? INT16_MIN : INT8_MIN, high = wide ? INT16_MAX : INT8_MAX;
    const mve_pred16_t lanes = vctp32q((uint32_t)n);
    const uint32x4_t at = vmlaq_n_u32(vdupq_n_u32((uint32_t)first), vidupq_n_u32(0, 1), (uint32_t)memory);
    const int32x4_t acc = bias ? vaddq_s32(vldrwq_s32(sums), vldrwq_s32(bias)) : vldrwq_s32(sums);
    int32x4_t value = aiotc_mve_requantize(acc, vdupq_n_s32(q.multiplier), vdupq_n_s32(q.shift));
    value = vaddq_n_s32(vmaxq_s32(vminq_s32(value, vdupq_n_s32(high)), vdupq_n_s32(low)), params->state_zero_point);
    if (wide) {
        vstrhq_scatter_shifted_offset_p_s32((int16_t *)state, at, value, lanes);
    } else {
        vstrbq_scatter_offset_p_s32((int8_t *)state, at, value, lanes); /* wraps as TFLM's int8_t store does */
    }
#else
    const int32_t zero_point = params->state_zero_point;
    const aiotc_rq rq = aiotc_rq_channel(q.multiplier, q.shift);
    int32_t r;
    for (r = 0; r < n; r++, first += memory) {
        const int32_t y = aiotc_rq_offset(rq, bias ? sums[r] + bias[r] : sums[r], 0); /* once, not in AIOTC_CLAMP */
        if (wide) {
            ((int16_t *)state)[first] = (int16_t)(aiotc_svdf_saturate(y, 1) + zero_point);
        } else { /* wraps as TFLM's int8_t store does */
            ((int8_t *)state)[first] = (int8_t)(aiotc_svdf_saturate(y, 0) + zero_point);
        }
    }
#endif
}

#endif /* AIOTC_NN_SVDF_H */
