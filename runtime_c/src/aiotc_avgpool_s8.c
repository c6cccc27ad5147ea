/* int8 average pooling: the sum over the taps inside the image (padding is not counted)
 * divided by their count, rounded half away from zero, as TFLite Micro's reference computes it.
 * DSP path: 4 channels per word, summed as int16 pairs by SXTAB16 (exact for windows of up
 * to 255 taps: 255 * 128 fits an int16), 2 instructions per 4 taps instead of 4 loads;
 * MVE path (first): 16 channels (the last 1-15 predicated) summed as int16 lanes, a load and
 * an add per 8 per tap. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"
#include "aiotc_nn_support.h"

static inline int8_t average(int32_t acc, int32_t count, const aiotc_pool_params *params)
{
    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count; /* round half away from zero */
    return (int8_t)AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
}

#if defined(AIOTC_MVE)
/* `channels` channels (1 to 16) of one output, as average4 below: per tap a widening load and
 * an int16 add per 8 channels, then the sums divided 4 at a time as the reference does,
 * rounding half away from zero: sign(s) * floor((|s| + count/2) / count), the floor a VMULH
 * by ceil(2^32 / count) (exact: |s| + count/2 < 2^16 and count < 2^16, so the reciprocal's
 * error stays under 1/count). 16 channels (a constant once inlined) load and store whole
 * vectors; a layer's last 1-15 are predicated (12 channels: 8 here and 4 on the DSP's
 * scalar divisions cost 368 instructions a 2x2 output on the M55, 7% over CMSIS-NN). */
static inline void average_mve(const int8_t *first, int32_t rows, int32_t cols, int32_t c, int32_t stride,
                               int32_t count, const aiotc_pool_params *params, int32_t channels, int8_t *out)
{
    int16x8_t lo = vdupq_n_s16(0), hi = vdupq_n_s16(0);
    const uint32_t reciprocal = 0xFFFFFFFFu / (uint32_t)count + 1u; /* ceil(2^32 / count); 0 for 1, not used */
    const mve_pred16_t low = vctp16q((uint32_t)channels), high = vctp16q((uint32_t)AIOTC_MAX(channels - 8, 0));
    int16_t sums[16];
    int32_t r, k;
    for (r = 0; r < rows; r++, first += stride) {
        const int8_t *p = first;
        for (k = 0; k < cols; k++, p += c) {
            lo = vaddq_s16(lo, channels == 16 ? vldrbq_s16(p) : vldrbq_z_s16(p, low));
            if (channels > 8) {
                hi = vaddq_s16(hi, channels == 16 ? vldrbq_s16(p + 8) : vldrbq_z_s16(p + 8, high));
            }
        }
    }
    vstrhq_s16(sums, lo);
    vstrhq_s16(sums + 8, hi);
    for (k = 0; k < channels; k += 4) {
        const int32x4_t s = vldrhq_s32(sums + k);
        const uint32x4_t n = vreinterpretq_u32_s32(vaddq_n_s32(vabsq_s32(s), count / 2));
        const int32x4_t q = vreinterpretq_s32_u32(count == 1 ? n : vmulhq_u32(n, vdupq_n_u32(reciprocal)));
        const int32x4_t y = vpselq_s32(vnegq_s32(q), q, vcmpltq_n_s32(s, 0));
        const int32x4_t v = vminq_s32(vmaxq_s32(y, vdupq_n_s32(params->activation.min)), vdupq_n_s32(params->activation.max));
        if (channels == 16) {
            vstrbq_s32(out + k, v);
        } else {
            vstrbq_p_s32(out + k, v, vctp32q((uint32_t)(channels - k)));
        }
    }
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* acc + bytes 1 and 3 of x sign-extended, as two halfwords (ACLE has no rotated SXTAB16). */
static inline int32_t sxtab16_ror8(int32_t acc, int32_t x)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(acc), "r"(x));
    return r;
}

/* Channels ch..ch+3 of one output: the window's rows from `first` (its top-left tap),
 * `rows` x `cols` taps, `stride` bytes from one image row to the next. */
static void average4(const int8_t *first, int32_t rows, int32_t cols, int32_t c, int32_t stride, int32_t count,
                     const aiotc_pool_params *params, int8_t *out)
{
    int32_t even = 0, odd = 0, r, k;
    for (r = 0; r < rows; r++, first += stride) {
        const int8_t *p = first;
        for (k = 0; k < cols; k++, p += c) {
            const int32_t v = aiotc_read_word(p);
            even = __sxtab16(even, v);
            odd = sxtab16_ror8(odd, v);
        }
    }
    out[0] = average((int16_t)even, count, params);
    out[1] = average((int16_t)odd, count, params);
    out[2] = average(even >> 16, count, params);
    out[3] = average(odd >> 16, count, params);
}
#endif

int32_t aiotc_avgpool_s8(const aiotc_pool_params *params, const aiotc_dims *input_dims, const int8_t *input,
                         const aiotc_dims *filter_dims, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, c = input_dims->c;
    const int32_t out_h = output_dims->h, out_w = output_dims->w;
    const int8_t *in = input;
    int32_t b, oy, ox, ch, iy, ix;
    if (output_dims->c != c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        for (oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * params->stride.h - params->padding.h;
            int32_t ky_first, ky_last;
            aiotc_window(y0, filter_dims->h, 1, in_h, &ky_first, &ky_last);
            for (ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * params->stride.w - params->padding.w;
                int32_t kx_first, kx_last, count;
                aiotc_window(x0, filter_dims->w, 1, in_w, &kx_first, &kx_last);
                count = (ky_last - ky_first) * (kx_last - kx_first);
                if (count == 0) {
                    return AIOTC_ARG_ERROR;
                }
                int8_t *const out = output + ((b * out_h + oy) * out_w + ox) * c;
                ch = 0;
#if defined(__ARM_FEATURE_DSP)
                if (count <= 255) {
                    const int8_t *first = in + ((b * in_h + y0 + ky_first) * in_w + x0 + kx_first) * c;
#if defined(AIOTC_MVE)
                    const int32_t rows = ky_last - ky_first, cols = kx_last - kx_first;
                    for (; ch + 16 <= c; ch += 16) {
                        average_mve(first + ch, rows, cols, c, in_w * c, count, params, 16, out + ch);
                    }
                    if (ch < c) {
                        average_mve(first + ch, rows, cols, c, in_w * c, count, params, c - ch, out + ch);
                        ch = c;
                    }
#endif
                    for (; ch + 4 <= c; ch += 4) {
                        average4(first + ch, ky_last - ky_first, kx_last - kx_first, c, in_w * c, count, params, out + ch);
                    }
                }
#endif
                for (; ch < c; ch++) {
                    int32_t acc = 0;
                    for (iy = y0 + ky_first; iy < y0 + ky_last; iy++) {
                        for (ix = x0 + kx_first; ix < x0 + kx_last; ix++) {
                            acc += in[((b * in_h + iy) * in_w + ix) * c + ch];
                        }
                    }
                    out[ch] = average(acc, count, params);
                }
            }
        }
    }
    return AIOTC_OK;
}
