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

/* aiotc_sigmoid_table's steps for the scalar activations: entry i (below 255) and the
 * difference to the next, as (next - this) << 16 | this: one load per interpolation, the
 * difference times the fraction in one SMULBT. */
static const uint32_t aiotc_sigmoid_steps[255] = {
    0x02AB8000u, 0x02AA82ABu, 0x02A88555u, 0x02A887FDu, 0x02A48AA5u, 0x02A28D49u, 0x029E8FEBu, 0x029B9289u,
    0x02959524u, 0x029197B9u, 0x028B9A4Au, 0x02859CD5u, 0x027E9F5Au, 0x0278A1D8u, 0x0270A450u, 0x0268A6C0u,
    0x0260A928u, 0x0257AB88u, 0x024FADDFu, 0x0245B02Eu, 0x023CB273u, 0x0232B4AFu, 0x0228B6E1u, 0x021EB909u,
    0x0214BB27u, 0x0209BD3Bu, 0x01FFBF44u, 0x01F4C143u, 0x01E9C337u, 0x01DEC520u, 0x01D3C6FEu, 0x01C8C8D1u,
    0x01BECA99u, 0x01B2CC57u, 0x01A8CE09u, 0x019CCFB1u, 0x0192D14Du, 0x0187D2DFu, 0x017DD466u, 0x0172D5E3u,
    0x0168D755u, 0x015DD8BDu, 0x0154DA1Au, 0x0149DB6Eu, 0x0140DCB7u, 0x0136DDF7u, 0x012CDF2Du, 0x0123E059u,
    0x011BE17Cu, 0x0111E297u, 0x0108E3A8u, 0x0100E4B0u, 0x00F8E5B0u, 0x00F0E6A8u, 0x00E7E798u, 0x00E0E87Fu,
    0x00D8E95Fu, 0x00D1EA37u, 0x00CAEB08u, 0x00C3EBD2u, 0x00BCEC95u, 0x00B6ED51u, 0x00AFEE07u, 0x00A9EEB6u,
    0x00A2EF5Fu, 0x009EF001u, 0x0097F09Fu, 0x0092F136u, 0x008CF1C8u, 0x0088F254u, 0x0082F2DCu, 0x007EF35Eu,
    0x0079F3DCu, 0x0075F455u, 0x0070F4CAu, 0x006CF53Au, 0x0068F5A6u, 0x0064F60Eu, 0x0060F672u, 0x005DF6D2u,
    0x0059F72Fu, 0x0056F788u, 0x0052F7DEu, 0x004FF830u, 0x004CF87Fu, 0x004AF8CBu, 0x0046F915u, 0x0044F95Bu,
    0x0041F99Fu, 0x003EF9E0u, 0x003CFA1Eu, 0x003AFA5Au, 0x0038FA94u, 0x0035FACCu, 0x0033FB01u, 0x0031FB34u,
    0x0030FB65u, 0x002DFB95u, 0x002CFBC2u, 0x002AFBEEu, 0x0028FC18u, 0x0026FC40u, 0x0026FC66u, 0x0023FC8Cu,
    0x0022FCAFu, 0x0021FCD1u, 0x0020FCF2u, 0x001EFD12u, 0x001DFD30u, 0x001CFD4Du, 0x001BFD69u, 0x001AFD84u,
    0x0018FD9Eu, 0x0018FDB6u, 0x0017FDCEu, 0x0016FDE5u, 0x0014FDFBu, 0x0015FE0Fu, 0x0013FE24u, 0x0012FE37u,
    0x0012FE49u, 0x0011FE5Bu, 0x0011FE6Cu, 0x000FFE7Du, 0x000FFE8Cu, 0x000FFE9Bu, 0x000EFEAAu, 0x000DFEB8u,
    0x000DFEC5u, 0x000CFED2u, 0x000CFEDEu, 0x000BFEEAu, 0x000BFEF5u, 0x000BFF00u, 0x000AFF0Bu, 0x0009FF15u,
    0x0009FF1Eu, 0x0009FF27u, 0x0009FF30u, 0x0008FF39u, 0x0007FF41u, 0x0008FF48u, 0x0007FF50u, 0x0007FF57u,
    0x0007FF5Eu, 0x0006FF65u, 0x0006FF6Bu, 0x0006FF71u, 0x0005FF77u, 0x0006FF7Cu, 0x0005FF82u, 0x0005FF87u,
    0x0005FF8Cu, 0x0004FF91u, 0x0004FF95u, 0x0005FF99u, 0x0004FF9Eu, 0x0003FFA2u, 0x0004FFA5u, 0x0004FFA9u,
    0x0003FFADu, 0x0003FFB0u, 0x0003FFB3u, 0x0003FFB6u, 0x0003FFB9u, 0x0003FFBCu, 0x0003FFBFu, 0x0002FFC2u,
    0x0003FFC4u, 0x0002FFC7u, 0x0002FFC9u, 0x0002FFCBu, 0x0003FFCDu, 0x0001FFD0u, 0x0002FFD1u, 0x0002FFD3u,
    0x0002FFD5u, 0x0002FFD7u, 0x0001FFD9u, 0x0002FFDAu, 0x0001FFDCu, 0x0002FFDDu, 0x0001FFDFu, 0x0001FFE0u,
    0x0002FFE1u, 0x0001FFE3u, 0x0001FFE4u, 0x0001FFE5u, 0x0001FFE6u, 0x0001FFE7u, 0x0001FFE8u, 0x0001FFE9u,
    0x0001FFEAu, 0x0001FFEBu, 0x0001FFECu, 0x0000FFEDu, 0x0001FFEDu, 0x0001FFEEu, 0x0001FFEFu, 0x0000FFF0u,
    0x0001FFF0u, 0x0001FFF1u, 0x0000FFF2u, 0x0001FFF2u, 0x0000FFF3u, 0x0001FFF3u, 0x0000FFF4u, 0x0001FFF4u,
    0x0000FFF5u, 0x0001FFF5u, 0x0000FFF6u, 0x0000FFF6u, 0x0001FFF6u, 0x0000FFF7u, 0x0001FFF7u, 0x0000FFF8u,
    0x0000FFF8u, 0x0001FFF8u, 0x0000FFF9u, 0x0000FFF9u, 0x0000FFF9u, 0x0001FFF9u, 0x0000FFFAu, 0x0000FFFAu,
    0x0000FFFAu, 0x0001FFFAu, 0x0000FFFBu, 0x0000FFFBu, 0x0000FFFBu, 0x0000FFFBu, 0x0001FFFBu, 0x0000FFFCu,
    0x0000FFFCu, 0x0000FFFCu, 0x0000FFFCu, 0x0000FFFCu, 0x0001FFFCu, 0x0000FFFDu, 0x0000FFFDu, 0x0000FFFDu,
    0x0000FFFDu, 0x0000FFFDu, 0x0000FFFDu, 0x0000FFFDu, 0x0001FFFDu, 0x0000FFFEu, 0x0000FFFEu, 0x0000FFFEu,
    0x0000FFFEu, 0x0000FFFEu, 0x0000FFFEu, 0x0000FFFEu, 0x0000FFFEu, 0x0000FFFEu, 0x0001FFFEu
};

static inline int32_t aiotc_clamp_s16(int32_t x)
{
#if defined(__ARM_FEATURE_SAT)
    return __ssat(x, 16);
#else
    return AIOTC_CLAMP(x, INT16_MIN, INT16_MAX);
#endif
}

/* The table's entry `step` interpolated toward the next by fraction / 2^bits, scaled by 2^bits. */
static AIOTC_INLINE uint32_t aiotc_sigmoid_step(uint32_t step, uint32_t fraction, int32_t bits)
{
    const uint32_t entry = aiotc_sigmoid_steps[step];
#if defined(__ARM_FEATURE_DSP) && defined(__GNUC__)
    uint32_t product;
    __asm__("smulbt %0, %1, %2" : "=r"(product) : "r"(fraction), "r"(entry));
    return ((entry & 0xFFFFu) << bits) + product;
#else
    return ((entry & 0xFFFFu) << bits) + fraction * (entry >> 16);
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
        result = aiotc_sigmoid_step(step, magnitude & 0x1FFu, 9);
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
        result = (int32_t)aiotc_sigmoid_step(step, magnitude & 0xFFu, 8);
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
 * times 3 (TFLM's power-of-two case). `rights` (a constant where inlined): the unit's
 * requantizations are the compile-time right shifts of unit_rights, nothing tested. */
static AIOTC_INLINE int8_t aiotc_lstm_unit_form_s8(const aiotc_lstm_params_s8 *p, int32_t forget_gate,
                                                   int32_t input_gate, int32_t cell_gate, int32_t output_gate,
                                                   int16_t *cell, int32_t rights)
{
    const int32_t forget = aiotc_lstm_sigmoid_s16(3 * forget_gate);
    const int32_t in = aiotc_lstm_sigmoid_s16(3 * input_gate);
    const int32_t candidate = aiotc_lstm_tanh_s16(3 * cell_gate);
    const int32_t out = aiotc_lstm_sigmoid_s16(3 * output_gate);
    int32_t c, h;
    if (rights) {
        c = aiotc_clamp_s16(aiotc_rq_right(forget * *cell, p->forget_times_cell.multiplier, p->unit_rights[0], 1));
        c += aiotc_clamp_s16(aiotc_rq_right(in * candidate, p->input_times_cell.multiplier, p->unit_rights[1], 1));
    } else {
        c = aiotc_clamp_s16(aiotc_rq_offset(aiotc_lstm_rq(p->forget_times_cell), forget * *cell, 0));
        c += aiotc_clamp_s16(aiotc_rq_offset(aiotc_lstm_rq(p->input_times_cell), in * candidate, 0));
    }
    c = AIOTC_CLAMP(aiotc_clamp_s16(c), p->cell_clip.min, p->cell_clip.max);
    *cell = (int16_t)c;
    h = aiotc_lstm_tanh_s16((c * p->cell_tanh_multiplier + p->cell_tanh_round) >> p->cell_tanh_shift) * out;
    if (rights) {
        h = aiotc_rq_right(h, p->hidden.multiplier, p->unit_rights[2], 2 * p->hidden_offset + 1);
    } else {
        h = aiotc_rq_offset(aiotc_lstm_rq(p->hidden), h, p->hidden_offset);
    }
    return (int8_t)AIOTC_CLAMP(h, INT8_MIN, INT8_MAX);
}

/* aiotc_lstm_unit_form_s8 for any shifts, out of line: its tests stay out of the common
 * case (unused where a kernel takes the vector path). */
#if defined(__GNUC__)
__attribute__((noinline, unused))
#endif
static int8_t aiotc_lstm_unit_any_s8(const aiotc_lstm_params_s8 *p, int32_t forget_gate,
                                                           int32_t input_gate, int32_t cell_gate, int32_t output_gate,
                                                           int16_t *cell)
{
    return aiotc_lstm_unit_form_s8(p, forget_gate, input_gate, cell_gate, output_gate, cell, 0);
}

/* One unit of one step (aiotc_lstm_unit_form_s8), the compile-time right shifts when there are. */
static inline int8_t aiotc_lstm_unit_s8(const aiotc_lstm_params_s8 *p, int32_t forget_gate, int32_t input_gate,
                                        int32_t cell_gate, int32_t output_gate, int16_t *cell)
{
    if (AIOTC_LIKELY(p->unit_rights[0] >= 0)) {
        return aiotc_lstm_unit_form_s8(p, forget_gate, input_gate, cell_gate, output_gate, cell, 1);
    }
    return aiotc_lstm_unit_any_s8(p, forget_gate, input_gate, cell_gate, output_gate, cell);
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
    const int32_t round = p->cell_tanh_round;
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
