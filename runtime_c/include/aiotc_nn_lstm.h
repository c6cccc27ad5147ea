/* aiotc runtime: what TFLite Micro's integer LSTM does per unit once its four gates'
 * pre-activations are known (Q3.12, int16): the gates' int16 sigmoid and tanh, the cell
 * update and the new hidden value. Shared by the LSTM kernels, which differ in how they
 * compute the gates' matrix products (aiotc_lstm_s8.c, aiotc_lstm_packed_s8.c). */
#ifndef AIOTC_NN_LSTM_H
#define AIOTC_NN_LSTM_H

#include "aiotc_nn_gemm.h" /* aiotc_requantize_1r */
#include "aiotc_nn_recurrent.h"
#include "aiotc_nn_support.h"

/* TFLite's sigmoid(i / 24) in Q0.16 for i = 0..255, which its int16 logistic and tanh
 * interpolate (tanh(x) = 2 sigmoid(2x) - 1). The values are TFLite's own (tuned, not
 * rounded from the formula): the outputs depend on every one of them. */
static const uint16_t aiotc_sigmoid_table[256] = {
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149,
    40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369,
    47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169,
    53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302,
    62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536,
    63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786,
    64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474,
    65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522,
    65523, 65523, 65524, 65524, 65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528,
    65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531,
    65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65534, 65535
};

static inline int32_t aiotc_clamp_s16(int32_t x)
{
#if defined(__ARM_FEATURE_SAT)
    return __ssat(x, 16);
#else
    return AIOTC_CLAMP(x, INT16_MIN, INT16_MAX);
#endif
}

/* TFLM's int16 logistic. x is a Q3.12 value times 3, so x / 2^9 is the real input times
 * 24: the table index, with 9 bits to interpolate between entries. Out in Q0.15. */
static inline int32_t aiotc_lstm_sigmoid_s16(int32_t x)
{
    const uint32_t magnitude = (uint32_t)(x < 0 ? -x : x);
    const uint32_t step = magnitude >> 9;
    uint32_t result = 0x7FFFu << 10;
    if (step < 255) {
        const uint32_t low = aiotc_sigmoid_table[step], high = aiotc_sigmoid_table[step + 1];
        result = (low << 9) + (magnitude & 0x1FFu) * (high - low);
    }
    result = x >= 0 ? result + (1u << 9) : (1u << 25) - result + (1u << 9) - 1u;
    return (int32_t)(result >> 10);
}

/* TFLM's int16 tanh, scaled as aiotc_lstm_aiotc_lstm_sigmoid_s16: x / 2^8 is twice the real input times 24,
 * where sigmoid(2 r) gives tanh(r) = 2 sigmoid(2 r) - 1. Out in Q0.15. */
static inline int32_t aiotc_lstm_tanh_s16(int32_t x)
{
    const uint32_t magnitude = (uint32_t)(x < 0 ? -x : x);
    const uint32_t step = magnitude >> 8;
    int32_t result = 0xFFFF << 8;
    if (step < 255) {
        const uint32_t low = aiotc_sigmoid_table[step], high = aiotc_sigmoid_table[step + 1];
        result = (int32_t)((low << 8) + (magnitude & 0xFFu) * (high - low));
    }
    result = x >= 0 ? result - (1 << 23) + (1 << 7) : -result + (1 << 23) + (1 << 7) - 1;
    return result >> 8;
}

/* A requantization of the unit's (their shifts are right shifts: aiotc_rq_offset's one SMLAL). */
static inline aiotc_rq aiotc_lstm_rq(aiotc_per_tensor_quant_params q)
{
    return aiotc_rq_channel(q.multiplier, q.shift);
}

/* One gate product's sum requantized to Q3.12 and clamped to int16 (aiotc_requantize_1r's
 * integers): a left shift without its rounding shift, a right one of 2 or more in one
 * SMLAL (aiotc_rq_offset); `left` (a constant where inlined) when the shift is known to be
 * a left shift: no test of its sign. */
static AIOTC_INLINE int32_t aiotc_lstm_to_q3_12(int32_t sum, aiotc_per_tensor_quant_params quant, int32_t left)
{
    if (left) {
        const int64_t scaled = (int64_t)(int32_t)((uint32_t)sum << quant.shift) * quant.multiplier;
        return aiotc_clamp_s16((int32_t)((scaled + ((int64_t)1 << 30)) >> 31));
    }
    return aiotc_clamp_s16(aiotc_rq_offset(aiotc_rq_channel(quant.multiplier, quant.shift), sum, 0));
}

/* One unit of one step from its gates' pre-activations (Q3.12): updates its cell and
 * returns its new hidden value. The gates' int16 activations read their Q3.12 input
 * times 3 (TFLM's power-of-two case). */
static inline int8_t aiotc_lstm_unit_s8(const aiotc_lstm_params_s8 *p, int32_t forget_gate, int32_t input_gate,
                                        int32_t cell_gate, int32_t output_gate, int16_t *cell)
{
    const int32_t forget = aiotc_lstm_sigmoid_s16(3 * forget_gate);
    const int32_t in = aiotc_lstm_sigmoid_s16(3 * input_gate);
    const int32_t candidate = aiotc_lstm_tanh_s16(3 * cell_gate);
    const int32_t out = aiotc_lstm_sigmoid_s16(3 * output_gate);
    const int32_t round = p->cell_tanh_shift > 0 ? 1 << (p->cell_tanh_shift - 1) : 0;
    int32_t c = aiotc_clamp_s16(aiotc_rq_offset(aiotc_lstm_rq(p->forget_times_cell), forget * *cell, 0));
    int32_t h;
    c = aiotc_clamp_s16(c + aiotc_clamp_s16(aiotc_rq_offset(aiotc_lstm_rq(p->input_times_cell), in * candidate, 0)));
    c = AIOTC_CLAMP(c, p->cell_clip.min, p->cell_clip.max);
    *cell = (int16_t)c;
    h = aiotc_lstm_tanh_s16((c * p->cell_tanh_multiplier + round) >> p->cell_tanh_shift);
    h = aiotc_rq_offset(aiotc_lstm_rq(p->hidden), h * out, p->hidden_offset);
    return (int8_t)AIOTC_CLAMP(h, INT8_MIN, INT8_MAX);
}

#if defined(AIOTC_MVE)
/* aiotc_lstm_sigmoid_s16 on 4 lanes: the table's two entries gathered (lanes past its
 * end masked), the same unsigned arithmetic. */
static inline int32x4_t aiotc_lstm_sigmoid_s16_x4(int32x4_t x)
{
    const uint32x4_t magnitude = vreinterpretq_u32_s32(vabsq_s32(x)), step = vshrq_n_u32(magnitude, 9);
    const mve_pred16_t inside = vcmpltq_n_s32(vreinterpretq_s32_u32(step), 255);
    const uint32x4_t low = vldrhq_gather_shifted_offset_z_u32(aiotc_sigmoid_table, step, inside);
    const uint32x4_t high = vldrhq_gather_shifted_offset_z_u32(aiotc_sigmoid_table + 1, step, inside);
    uint32x4_t result = vmlaq_n_u32(vmulq_u32(vandq_u32(magnitude, vdupq_n_u32(0x1FFu)), vsubq_u32(high, low)), low, 512u);
    result = vpselq_u32(result, vdupq_n_u32(0x7FFFu << 10), inside);
    result = vpselq_u32(vaddq_n_u32(result, 1u << 9), vsubq_u32(vdupq_n_u32((1u << 25) + (1u << 9) - 1u), result),
                        vcmpgeq_n_s32(x, 0));
    return vreinterpretq_s32_u32(vshrq_n_u32(result, 10));
}

/* aiotc_lstm_tanh_s16 on 4 lanes. */
static inline int32x4_t aiotc_lstm_tanh_s16_x4(int32x4_t x)
{
    const uint32x4_t magnitude = vreinterpretq_u32_s32(vabsq_s32(x)), step = vshrq_n_u32(magnitude, 8);
    const mve_pred16_t inside = vcmpltq_n_s32(vreinterpretq_s32_u32(step), 255);
    const uint32x4_t low = vldrhq_gather_shifted_offset_z_u32(aiotc_sigmoid_table, step, inside);
    const uint32x4_t high = vldrhq_gather_shifted_offset_z_u32(aiotc_sigmoid_table + 1, step, inside);
    int32x4_t result = vreinterpretq_s32_u32(
        vmlaq_n_u32(vmulq_u32(vandq_u32(magnitude, vdupq_n_u32(0xFFu)), vsubq_u32(high, low)), low, 256u));
    result = vpselq_s32(result, vdupq_n_s32(0xFFFF << 8), inside);
    result = vpselq_s32(vaddq_n_s32(result, -(1 << 23) + (1 << 7)), vsubq_s32(vdupq_n_s32((1 << 23) + (1 << 7) - 1), result),
                        vcmpgeq_n_s32(x, 0));
    return vshrq_n_s32(result, 8);
}

/* aiotc_requantize_1r on 4 lanes (TFLite's double rounding, the same integers). */
static inline int32x4_t aiotc_lstm_requantize_x4(int32x4_t x, aiotc_per_tensor_quant_params q)
{
    return aiotc_mve_requantize(x, vdupq_n_s32(q.multiplier), vdupq_n_s32(q.shift));
}

static inline int32x4_t aiotc_lstm_clamp_s16_x4(int32x4_t x)
{
    return vmaxq_s32(vminq_s32(x, vdupq_n_s32(INT16_MAX)), vdupq_n_s32(INT16_MIN));
}

/* aiotc_lstm_unit_s8 for the `units` units of one row, 4 at a time: pre holds the 4
 * gates' pre-activations (forget, input, cell, output; `units` each). */
static inline void aiotc_lstm_units_s8(const aiotc_lstm_params_s8 *p, const int16_t *pre, int32_t units, int16_t *cell,
                                       int8_t *hidden)
{
    const int32x4_t tanh_shift = vdupq_n_s32(-p->cell_tanh_shift);
    const int32_t round = p->cell_tanh_shift > 0 ? 1 << (p->cell_tanh_shift - 1) : 0;
    int32_t u;
    for (u = 0; u < units; u += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(units - u));
        const int32x4_t forget = aiotc_lstm_sigmoid_s16_x4(vmulq_n_s32(vldrhq_z_s32(pre + u, lanes), 3));
        const int32x4_t in = aiotc_lstm_sigmoid_s16_x4(vmulq_n_s32(vldrhq_z_s32(pre + units + u, lanes), 3));
        const int32x4_t candidate = aiotc_lstm_tanh_s16_x4(vmulq_n_s32(vldrhq_z_s32(pre + 2 * units + u, lanes), 3));
        const int32x4_t out = aiotc_lstm_sigmoid_s16_x4(vmulq_n_s32(vldrhq_z_s32(pre + 3 * units + u, lanes), 3));
        int32x4_t c = aiotc_lstm_clamp_s16_x4(
            aiotc_lstm_requantize_x4(vmulq_s32(forget, vldrhq_z_s32(cell + u, lanes)), p->forget_times_cell));
        int32x4_t h;
        c = aiotc_lstm_clamp_s16_x4(
            vaddq_s32(c, aiotc_lstm_clamp_s16_x4(aiotc_lstm_requantize_x4(vmulq_s32(in, candidate), p->input_times_cell))));
        c = vmaxq_s32(vminq_s32(c, vdupq_n_s32(p->cell_clip.max)), vdupq_n_s32(p->cell_clip.min));
        vstrhq_p_s32(cell + u, c, lanes);
        h = aiotc_lstm_tanh_s16_x4(vshlq_s32(vaddq_n_s32(vmulq_n_s32(c, p->cell_tanh_multiplier), round), tanh_shift));
        h = vaddq_n_s32(aiotc_lstm_requantize_x4(vmulq_s32(h, out), p->hidden), p->hidden_offset);
        vstrbq_p_s32(hidden + u, vmaxq_s32(vminq_s32(h, vdupq_n_s32(INT8_MAX)), vdupq_n_s32(INT8_MIN)), lanes);
    }
}
#else
/* aiotc_lstm_unit_s8 for the `units` units of one row: pre holds the 4 gates'
 * pre-activations (forget, input, cell, output; `units` each). */
static inline void aiotc_lstm_units_s8(const aiotc_lstm_params_s8 *p, const int16_t *pre, int32_t units, int16_t *cell,
                                       int8_t *hidden)
{
    int32_t u;
    for (u = 0; u < units; u++) {
        hidden[u] = aiotc_lstm_unit_s8(p, pre[u], pre[units + u], pre[2 * units + u], pre[3 * units + u], cell + u);
    }
}
#endif

#endif /* AIOTC_NN_LSTM_H */
