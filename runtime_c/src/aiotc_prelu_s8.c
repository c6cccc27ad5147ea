/* int8 PReLU with broadcasting (TFLite Micro's BroadcastPrelu4DSlow): non-negative
 * inputs are rescaled, negative ones multiplied by alpha first, both in integers.
 *
 * Where both shifts lie in [-29, 8] (as TFLite's constants do), each side is
 * aiotc_requantize_small: its x, an input or its product with alpha (at most 255 * 255),
 * shifted left at most 8, stays far below 2^30, as an int16 leaky ReLU's. The rows of
 * AIOTC_FOR_EACH_BROADCAST_ROW (a pixel's channels against per-channel alphas) then run
 * 4 lanes at a time on MVE where the input steps by 1 and alpha by 1 or 0 (both sides
 * requantized, picked by the sign), else one element per step. */
#include "aiotc_nn_activation.h"
#include "aiotc_nn_gemm.h"
#include "aiotc_nn_support.h"

typedef struct {
    aiotc_rq_small identity, alpha;
    int32_t input_offset, alpha_offset, output_offset;
} prelu_layer;

static void prelu_row(const prelu_layer *l, const int8_t *input, int32_t step1, const int8_t *alpha, int32_t step2,
                      int32_t count, int8_t *output)
{
    int32_t j = 0;
#if defined(AIOTC_MVE)
    if (step1 == 1 && (step2 == 0 || step2 == 1)) {
        const int32x4_t broadcast = vdupq_n_s32(alpha[0] + l->alpha_offset);
        for (; j < count; j += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(count - j));
            const int32x4_t x = vaddq_n_s32(vldrbq_z_s32(input + j, p), l->input_offset);
            const int32x4_t a = step2 ? vaddq_n_s32(vldrbq_z_s32(alpha + j, p), l->alpha_offset) : broadcast;
            const int32x4_t up = aiotc_mve_requantize_small(x, l->identity);
            const int32x4_t down = aiotc_mve_requantize_small(vmulq_s32(x, a), l->alpha);
            const int32x4_t y = vaddq_n_s32(vpselq_s32(up, down, vcmpgeq_n_s32(x, 0)), l->output_offset);
            vstrbq_p_s32(output + j, vminq_s32(vmaxq_s32(y, vdupq_n_s32(-128)), vdupq_n_s32(127)), p);
        }
        return;
    }
#endif
    {
        /* locals, not l's fields: the int8 stores could alias those, and be reloaded */
        const aiotc_rq_small identity = l->identity, alpha_q = l->alpha;
        const int32_t input_offset = l->input_offset, alpha_offset = l->alpha_offset;
        const int32_t output_offset = l->output_offset;
        for (; j < count; j++) {
            const int32_t x = input[j * step1] + input_offset;
            const int32_t y = output_offset + (x >= 0 ? aiotc_requantize_small(x, identity)
                                                      : aiotc_requantize_small(x * (alpha[j * step2] + alpha_offset),
                                                                               alpha_q));
#if defined(__ARM_FEATURE_SAT)
            output[j] = (int8_t)__ssat(y, 8);
#else
            output[j] = (int8_t)AIOTC_CLAMP(y, -128, 127);
#endif
        }
    }
}

int32_t aiotc_prelu_s8(const aiotc_prelu_params *params, const aiotc_broadcast_shape *shape, const int8_t *input,
                       const int8_t *alpha, int8_t *output)
{
    if (params->identity.shift < -29 || params->identity.shift > 8 || params->alpha.shift < -29 ||
        params->alpha.shift > 8) {
        AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
            const int32_t x = params->input_offset + input[i1];
            int32_t y;
            if (x >= 0) {
                y = aiotc_requantize(x, params->identity.multiplier, params->identity.shift);
            } else {
                const int32_t a = params->alpha_offset + alpha[i2];
                y = aiotc_requantize(x * a, params->alpha.multiplier, params->alpha.shift);
            }
            y += params->output_offset;
            *output++ = (int8_t)AIOTC_CLAMP(y, -128, 127);
        });
    } else {
        prelu_layer l;
        l.identity = aiotc_rq_small_of(params->identity.multiplier, params->identity.shift);
        l.alpha = aiotc_rq_small_of(params->alpha.multiplier, params->alpha.shift);
        l.input_offset = params->input_offset;
        l.alpha_offset = params->alpha_offset;
        l.output_offset = params->output_offset;
        AIOTC_FOR_EACH_BROADCAST_ROW(shape, o, i1, step1, i2, step2, count,
                                     { prelu_row(&l, input + i1, step1, alpha + i2, step2, count, output + o); });
    }
    return AIOTC_OK;
}
