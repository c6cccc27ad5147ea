/* aiotc runtime: the requantization loop of the aiotc_requantize_* kernels (TFLite Micro's
 * Requantize and ReluQuantized), for int8, int16 or int32 on either side, and the value
 * of leaky ReLU and its loop (aiotc_leaky_relu_s8 and _s16).
 * Each kernel calls it with constant element sizes, so each gets its own plain loop. */
#ifndef AIOTC_NN_REQUANTIZE_H
#define AIOTC_NN_REQUANTIZE_H

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_gemm.h"
#include "aiotc_nn_support.h"

/* Element i of an int8, int16 or int32 array (`bytes` 1, 2 or 4). */
static inline int32_t aiotc_int_at(const void *data, int32_t bytes, int32_t i)
{
    if (bytes == 1) {
        return ((const int8_t *)data)[i];
    }
    return bytes == 2 ? ((const int16_t *)data)[i] : ((const int32_t *)data)[i];
}

/* Element i of an int8, int16 or int32 array (`bytes` 1, 2 or 4) set to value, truncated. */
static inline void aiotc_int_set(void *data, int32_t bytes, int32_t i, int32_t value)
{
    if (bytes == 1) {
        ((int8_t *)data)[i] = (int8_t)value;
    } else if (bytes == 2) {
        ((int16_t *)data)[i] = (int16_t)value;
    } else {
        ((int32_t *)data)[i] = value;
    }
}

/* aiotc_requantize_loop in one rounding step (multiplier >= 0); `right` (a constant in
 * each copy) where the shift is at most -2: aiotc_rq_right's one SMLAL, no test of the
 * shift per element; `clamp` (a constant too) 0 where the clamp is the whole int32 range. */
static AIOTC_INLINE void aiotc_requantize_1r_loop(const aiotc_requantize_params *params, int32_t size,
                                                  const void *input, int32_t in_bytes, void *output, int32_t out_bytes,
                                                  int32_t right, int32_t clamp)
{
    const uint32_t input_offset = (uint32_t)params->input_offset;
    const uint32_t output_offset = (uint32_t)params->output_offset;
    const int32_t multiplier = params->quant.multiplier, shift = params->quant.shift;
    const int32_t lo = params->activation.min, hi = params->activation.max;
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t x = (int32_t)((uint32_t)aiotc_int_at(input, in_bytes, i) + input_offset);
        const int32_t y = right ? aiotc_rq_right(x, multiplier, -shift - 2, 1) : aiotc_requantize_1r(x, multiplier, shift);
        const int32_t value = (int32_t)((uint32_t)y + output_offset);
        aiotc_int_set(output, out_bytes, i, clamp ? AIOTC_CLAMP(value, lo, hi) : value);
    }
}

/* The offsets are added modulo 2^32, as TFLite's int32 arithmetic wraps on the int32
 * QUANTIZE of the seanet models (an int32 value minus its zero point). The parameters are
 * read into locals first: an int32 output could alias them, which would make the compiler
 * reload them and recompute the shifts for every element. The multiplier is TFLite's
 * (non-negative, shift in [-31, 30]): MVE requantizes 4 lanes (aiotc_mve_requantize, the
 * double rounding), elsewhere one rounding step (aiotc_requantize_1r_loop), the same
 * integers as aiotc_requantize; other constants take that. */
static inline void aiotc_requantize_loop(const aiotc_requantize_params *params, int32_t size, const void *input,
                                         int32_t in_bytes, void *output, int32_t out_bytes)
{
    const uint32_t input_offset = (uint32_t)params->input_offset;
    const uint32_t output_offset = (uint32_t)params->output_offset;
    const int32_t multiplier = params->quant.multiplier;
    const int32_t shift = params->quant.shift;
    const int32_t lo = params->activation.min;
    const int32_t hi = params->activation.max;
    int32_t i = 0;
    if (multiplier >= 0 && shift >= -31 && shift <= 30) {
#if defined(AIOTC_MVE)
        const int32x4_t m = vdupq_n_s32(multiplier), sh = vdupq_n_s32(shift);
        const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
        for (; i < size; i += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(size - i));
            const int32x4_t raw = in_bytes == 1   ? vldrbq_z_s32((const int8_t *)input + i, p)
                                  : in_bytes == 2 ? vldrhq_z_s32((const int16_t *)input + i, p)
                                                  : vldrwq_z_s32((const int32_t *)input + i, p);
            int32x4_t y = aiotc_mve_requantize(vaddq_n_s32(raw, (int32_t)input_offset), m, sh);
            y = vminq_s32(vmaxq_s32(vaddq_n_s32(y, (int32_t)output_offset), vlo), vhi);
            if (out_bytes == 1) {
                vstrbq_p_s32((int8_t *)output + i, y, p);
            } else if (out_bytes == 2) {
                vstrhq_p_s32((int16_t *)output + i, y, p);
            } else {
                vstrwq_p_s32((int32_t *)output + i, y, p);
            }
        }
#else
        /* an int32 output clamped to the whole int32 range (an int32 QUANTIZE): no clamp */
        const int32_t clamp = out_bytes != 4 || lo != INT32_MIN || hi != INT32_MAX;
        if (shift <= -2 && clamp) {
            aiotc_requantize_1r_loop(params, size, input, in_bytes, output, out_bytes, 1, 1);
        } else if (shift <= -2) {
            aiotc_requantize_1r_loop(params, size, input, in_bytes, output, out_bytes, 1, 0);
        } else if (clamp) {
            aiotc_requantize_1r_loop(params, size, input, in_bytes, output, out_bytes, 0, 1);
        } else {
            aiotc_requantize_1r_loop(params, size, input, in_bytes, output, out_bytes, 0, 0);
        }
#endif
        return;
    }
    for (; i < size; i++) {
        const int32_t x = (int32_t)((uint32_t)aiotc_int_at(input, in_bytes, i) + input_offset);
        const int32_t value = (int32_t)((uint32_t)aiotc_requantize(x, multiplier, shift) + output_offset);
        aiotc_int_set(output, out_bytes, i, AIOTC_CLAMP(value, lo, hi));
    }
}

/* TFLite's QuantizeLeakyRelu for one input x (int8 or int16), before the clamp to the
 * output type: the identity multiplier at and above the zero point, alpha's below (a
 * negative alpha multiplier negates the product, as TFLite's QuantizeMultiplier does). */
static inline int32_t aiotc_leaky_relu_value(const aiotc_leaky_relu_params *params, int32_t x)
{
    const int32_t offset = x + params->input_offset;
    if (offset >= 0) {
        return params->output_offset + aiotc_requantize(offset, params->identity.multiplier, params->identity.shift);
    }
    if (params->alpha.multiplier < 0) {
        return params->output_offset - aiotc_requantize(offset, -params->alpha.multiplier, params->alpha.shift);
    }
    return params->output_offset + aiotc_requantize(offset, params->alpha.multiplier, params->alpha.shift);
}

/* aiotc_leaky_relu_value over `size` int8 or int16 values (`bytes` 1 or 2, a constant),
 * clamped to the type. Where both shifts lie in [-29, 8] (as TFLite's constants do) each
 * side is aiotc_requantize_small (its x, an input minus the zero point, shifted left at
 * most 8, stays far below 2^30): MVE requantizes 4 lanes both ways and picks by the sign;
 * elsewhere one element per step. Other constants take aiotc_leaky_relu_value. */
static AIOTC_INLINE void aiotc_leaky_relu_loop(const aiotc_leaky_relu_params *params, int32_t size, const void *input,
                                               void *output, int32_t bytes)
{
    const int32_t lo = bytes == 1 ? -128 : -32768, hi = bytes == 1 ? 127 : 32767;
    const int32_t alpha_sign = params->alpha.multiplier < 0 ? -1 : 1;
    const aiotc_rq_small identity = aiotc_rq_small_of(params->identity.multiplier, params->identity.shift);
    const aiotc_rq_small alpha = aiotc_rq_small_of(alpha_sign * params->alpha.multiplier, params->alpha.shift);
    const int32_t in_offset = params->input_offset, out_offset = params->output_offset;
    int32_t i = 0;
    if (params->identity.shift < -29 || params->identity.shift > 8 || params->alpha.shift < -29 ||
        params->alpha.shift > 8) {
        for (; i < size; i++) {
            const int32_t value = aiotc_leaky_relu_value(params, aiotc_int_at(input, bytes, i));
            const int32_t y = AIOTC_CLAMP(value, lo, hi);
            if (bytes == 1) {
                ((int8_t *)output)[i] = (int8_t)y;
            } else {
                ((int16_t *)output)[i] = (int16_t)y;
            }
        }
        return;
    }
#if defined(AIOTC_MVE)
    {
        const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
        for (; i < size; i += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(size - i));
            const int32x4_t raw = bytes == 1 ? vldrbq_z_s32((const int8_t *)input + i, p)
                                             : vldrhq_z_s32((const int16_t *)input + i, p);
            const int32x4_t x = vaddq_n_s32(raw, in_offset);
            const int32x4_t up = aiotc_mve_requantize_small(x, identity);
            const int32x4_t down = vmulq_n_s32(aiotc_mve_requantize_small(x, alpha), alpha_sign);
            int32x4_t y = vaddq_n_s32(vpselq_s32(up, down, vcmpgeq_n_s32(x, 0)), out_offset);
            y = vminq_s32(vmaxq_s32(y, vlo), vhi);
            if (bytes == 1) {
                vstrbq_p_s32((int8_t *)output + i, y, p);
            } else {
                vstrhq_p_s32((int16_t *)output + i, y, p);
            }
        }
    }
#else
    for (; i < size; i++) {
        const int32_t x = aiotc_int_at(input, bytes, i) + in_offset;
        int32_t y = out_offset + (x >= 0 ? aiotc_requantize_small(x, identity)
                                         : alpha_sign * aiotc_requantize_small(x, alpha));
        y = y < lo ? lo : y;
        y = y > hi ? hi : y;
        if (bytes == 1) {
            ((int8_t *)output)[i] = (int8_t)y;
        } else {
            ((int16_t *)output)[i] = (int16_t)y;
        }
    }
#endif
}

#endif /* AIOTC_NN_REQUANTIZE_H */
