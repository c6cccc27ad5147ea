/* aiotc runtime: the parts of TFLite Micro's integer SVDF its two kernels share (the
 * state's shift by one value per invoke, the time products, the feature values' and
 * outputs' requantization), with DSP and MVE paths; the sums are the plain C loops', so
 * every path gives the same integers. */
#ifndef AIOTC_NN_SVDF_H
#define AIOTC_NN_SVDF_H

#include <string.h>

#include "aiotc_nn_dot_s8.h"
#include "aiotc_nn_gemm.h" /* AIOTC_MVE, arm_mve.h */
#include "aiotc_nn_recurrent.h"

/* Every value of the state (`count` values of `bytes` each, word aligned) moves one
 * place towards the start: each filter's oldest value leaves (its place is overwritten
 * after). A forward copy reading ahead of what it writes: memmove would go byte by byte,
 * the two halves being a value apart, not a word. MVE: whole vectors, then a predicated
 * tail; DSP: words read unaligned; elsewhere whole words, each made of the word's upper
 * values and the next word's first. */
static inline void aiotc_svdf_shift_state(void *state, int32_t count, int32_t bytes)
{
#if defined(AIOTC_MVE)
    /* Whole vectors (each read before it is written over), then a predicated tail. */
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
#elif defined(AIOTC_DSP)
    /* A word read one value ahead (an unaligned LDR, which the M4 and M7 take) and
     * written back aligned, two per step. */
    uint8_t *s = (uint8_t *)state;
    const int32_t moved = (count - 1) * bytes;
    int32_t j = 0;
    for (; j + 8 <= moved; j += 8) {
        uint32_t a, b;
        memcpy(&a, s + j + bytes, 4);
        memcpy(&b, s + j + 4 + bytes, 4);
        memcpy(s + j, &a, 4);
        memcpy(s + j + 4, &b, 4);
    }
    memmove(s + j, s + j + bytes, (size_t)(moved - j));
#else
    uint8_t *s = (uint8_t *)state;
    const int32_t moved = (count - 1) * bytes, words = moved / 4, down = 8 * bytes;
    uint32_t next, now;
    int32_t j;
    memcpy(&next, s, 4);
    for (j = 0; j < words; j++) {
        now = next;
        memcpy(&next, s + 4 * j + 4, 4); /* read before the word below is written */
        now = (now >> down) | (next << (32 - down));
        memcpy(s + 4 * j, &now, 4);
    }
    memmove(s + 4 * words, s + 4 * words + bytes, (size_t)(moved - 4 * words));
#endif
}

/* n time weights times n state values, int16 (`wide`) or int8: sum(w * s) (the state's
 * zero point is folded into the bias at compile time). */
static AIOTC_INLINE int32_t aiotc_svdf_time_dot(const void *weights, const void *state, int32_t n, int32_t wide)
{
    int32_t sum = 0, m = 0;
    const int16_t *w = (const int16_t *)weights, *s = (const int16_t *)state;
    if (!wide) { /* int8: the row dot of aiotc_nn_dot_s8.h (its DSP and MVE paths) */
        return aiotc_dot_s8((const int8_t *)weights, (const int8_t *)state, n);
    }
#if defined(AIOTC_MVE)
    for (; m < n; m += 8) {
        const mve_pred16_t p = vctp16q((uint32_t)(n - m));
        sum = vmladavaq_p_s16(sum, vldrhq_z_s16(w + m, p), vldrhq_z_s16(s + m, p), p);
    }
    return sum;
#else
#if defined(AIOTC_DSP)
    for (; m + 2 <= n; m += 2) { /* two values per SMLAD */
        int32_t w2, s2;
        memcpy(&w2, w + m, 4);
        memcpy(&s2, s + m, 4);
        sum = __smlad(w2, s2, sum);
    }
#endif
    for (; m < n; m++) {
        sum += w[m] * s[m];
    }
    return sum;
#endif
}

/* Each unit's output: its bias (the state's zero point folded in) plus the time products
 * of its rank filters (consecutive rows of `memory` values), requantized to int8; `wide`
 * (int16 state, a constant in each copy) tested once, not per unit. */
static AIOTC_INLINE void aiotc_svdf_outputs_mode(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims,
                                                 const void *time_weights, const int32_t *bias, const void *state,
                                                 int8_t *out, int32_t wide)
{
    const int32_t bytes = wide ? 2 : 1, span = dims->rank * dims->memory;
    const int32_t units = dims->filters / dims->rank;
    const aiotc_per_tensor_quant_params q = params->output_quant;
    int32_t u;
#if defined(AIOTC_MVE)
    /* 4 units' sums requantized as one vector. */
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
    for (u = 0; u < units; u++) {
        const int32_t acc = bias[u] + aiotc_svdf_time_dot((const uint8_t *)time_weights + u * span * bytes,
                                                          (const uint8_t *)state + u * span * bytes, span, wide);
        const int32_t y = aiotc_rq_offset(aiotc_rq_channel(q.multiplier, q.shift), acc, params->output_offset);
        out[u] = (int8_t)AIOTC_CLAMP(y, INT8_MIN, INT8_MAX);
    }
#endif
}

static inline void aiotc_svdf_outputs(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims,
                                      const void *time_weights, const int32_t *bias, const void *state, int8_t *out)
{
    if (params->state_bytes == 2) {
        aiotc_svdf_outputs_mode(params, dims, time_weights, bias, state, out, 1);
    } else {
        aiotc_svdf_outputs_mode(params, dims, time_weights, bias, state, out, 0);
    }
}

/* The new feature values of n <= 4 filters (their sums; filter r's value at
 * first + r * memory in the state): requantized to the state's scale, clamped to its
 * type, offset by its zero point. MVE: one vector, scattered. */
static AIOTC_INLINE void aiotc_svdf_store_features(const aiotc_svdf_params_s8 *params, const int32_t *sums, int32_t n,
                                             void *state, int32_t first, int32_t memory)
{
    const aiotc_per_tensor_quant_params q = params->feature_quant;
    const int32_t wide = params->state_bytes == 2;
    const int32_t low = wide ? INT16_MIN : INT8_MIN, high = wide ? INT16_MAX : INT8_MAX;
#if defined(AIOTC_MVE)
    const mve_pred16_t lanes = vctp32q((uint32_t)n);
    const uint32x4_t at = vmlaq_n_u32(vdupq_n_u32((uint32_t)first), vidupq_n_u32(0, 1), (uint32_t)memory);
    int32x4_t value = aiotc_mve_requantize(vldrwq_s32(sums), vdupq_n_s32(q.multiplier), vdupq_n_s32(q.shift));
    value = vaddq_n_s32(vmaxq_s32(vminq_s32(value, vdupq_n_s32(high)), vdupq_n_s32(low)), params->state_zero_point);
    if (wide) {
        vstrhq_scatter_shifted_offset_p_s32((int16_t *)state, at, value, lanes);
    } else {
        vstrbq_scatter_offset_p_s32((int8_t *)state, at, value, lanes); /* wraps as TFLM's int8_t store does */
    }
#else
    const int32_t zero_point = params->state_zero_point;
    const aiotc_rq rq = aiotc_rq_channel(q.multiplier, q.shift); /* a right shift: aiotc_rq_offset's one SMLAL */
    int32_t r;
    if (wide) {
        int16_t *s = (int16_t *)state + first;
        for (r = 0; r < n; r++, s += memory) {
            *s = (int16_t)(AIOTC_CLAMP(aiotc_rq_offset(rq, sums[r], 0), low, high) + zero_point);
        }
    } else {
        int8_t *s = (int8_t *)state + first;
        for (r = 0; r < n; r++, s += memory) { /* wraps as TFLM's int8_t store does */
            *s = (int8_t)(AIOTC_CLAMP(aiotc_rq_offset(rq, sums[r], 0), low, high) + zero_point);
        }
    }
#endif
}

#endif /* AIOTC_NN_SVDF_H */
