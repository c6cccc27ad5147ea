/* int8 1x1 convolution (any stride, no padding) of output channels in blocks of 8 over
 * input channels in whole words, one pixel at a time, 8 channels per pass over its inputs,
 * no scratch: MobileNetV2's projections to 8 or 16 channels and its expansions of 8 to 32
 * inputs on DSP cores (aiotc/kernels.py). The gemm of aiotc_convolve_1x1_s8 widens every
 * pixel to int16 and sets up, sums and requantizes per channel pair, which on few channels
 * or short rows costs as much as the MACs. Here the weights are int16 already (the
 * lowering's layout: per 4 inputs i0..i3 and channel, the pairs (i0, i2), (i1, i3)), so
 * the pixel's 4 inputs take one LDR and two SXTB16 for all 8 channels, then per channel
 * one LDRD of weights and 2 SMLAD: 57 instructions for 64 MACs with the loop's test, the
 * 8 sums in registers (from the biases, the input offset folded in). The weights take
 * twice the flash of the gemm's byte pairs (aiotc/kernels.py weighs that). Outputs in
 * pixel order, a pixel's after its inputs are read (the in-place contract, aiotc_nn.h). */
#include "aiotc_nn_conv_gemm.h" /* aiotc_1x1_pixel, aiotc_out_s8_mode */

#if defined(AIOTC_DSP)
#define AIOTC_FEW_CHANNEL(a)                                                                                           \
    "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                                                                \
    "smlad %[" #a "], %[w0], %[x0], %[" #a "]\n\t"                                                                     \
    "smlad %[" #a "], %[w1], %[x1], %[" #a "]\n\t"
#define AIOTC_FEW_GROUP                                                                                                \
    "ldr %[x0], [%[x]], #4\n\t"                                                                                       \
    "sxtb16 %[x1], %[x0], ror #8\n\t"                                                                                 \
    "sxtb16 %[x0], %[x0]\n\t" AIOTC_FEW_CHANNEL(s0) AIOTC_FEW_CHANNEL(s1) AIOTC_FEW_CHANNEL(s2) AIOTC_FEW_CHANNEL(s3)  \
        AIOTC_FEW_CHANNEL(s4) AIOTC_FEW_CHANNEL(s5) AIOTC_FEW_CHANNEL(s6) AIOTC_FEW_CHANNEL(s7)
#endif

/* 8 channels' sums s[0..7], from their biases, over the k inputs at x, the weights at w
 * (by value: the caller steps to the next 8 channels', fewer instructions per call than
 * handing the pointer back): 4 groups of 4 inputs per loop test (kws_ref_model's 64
 * inputs: 4 tests, not 8), the groups over whole 4s first by entering the loop at its
 * second, third or fourth. Out of line: inlined, gcc finds no 14 registers for
 * the loop. */
static AIOTC_NOINLINE void aiotc_few_dot8(const int32_t *bias, const int16_t *p, const int8_t *x, int32_t k,
                                          int32_t *s)
{
#if defined(AIOTC_DSP)
    const int8_t *const end = x + k;
    int32_t s0 = bias[0], s1 = bias[1], s2 = bias[2], s3 = bias[3], s4 = bias[4], s5 = bias[5], s6 = bias[6],
            s7 = bias[7];
    int32_t w0 = k, w1, x0, x1;
    /* k's bits 3 and 2 (the groups modulo 4) to the carry and sign: 2 groups enter at the
     * third, 1 at the fourth, 3 at the second */
    __asm__("lsls %[w0], %[w0], #29\n\t"
            "bcc 5f\n\t"
            "bmi 2f\n\t"
            "b 3f\n"
            "5:\n\t"
            "bmi 4f\n"
            "1:\n\t" AIOTC_FEW_GROUP "2:\n\t" AIOTC_FEW_GROUP "3:\n\t" AIOTC_FEW_GROUP "4:\n\t" AIOTC_FEW_GROUP
            "ldr %[w0], %[end]\n\t"
            "cmp %[x], %[w0]\n\t"
            "bne 1b"
            : [s0] "+r"(s0), [s1] "+r"(s1), [s2] "+r"(s2), [s3] "+r"(s3), [s4] "+r"(s4), [s5] "+r"(s5),
              [s6] "+r"(s6), [s7] "+r"(s7), [w] "+r"(p), [x] "+r"(x), [w0] "+&r"(w0), [w1] "=&r"(w1),
              [x0] "=&r"(x0), [x1] "=&r"(x1)
            : [end] "m"(end)
            : "cc", "memory");
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3, s[4] = s4, s[5] = s5, s[6] = s6, s[7] = s7;
#else
    int32_t i, j;
    for (j = 0; j < 8; j++) {
        s[j] = bias[j];
    }
    for (i = 0; i < k; i += 4) {
        for (j = 0; j < 8; j++, p += 4) {
            s[j] += p[0] * x[i] + p[1] * x[i + 2] + p[2] * x[i + 1] + p[3] * x[i + 3];
        }
    }
#endif
}

/* The 8 sums at s requantized to out[0..7] (aiotc_out_s8_mode), the channels' constants
 * at q as (multiplier, shift) pairs: one LDRD per channel, not two loads. */
static AIOTC_INLINE void aiotc_few_out8(const int32_t *s, const int32_t *q, int32_t offset, int32_t lo, int32_t hi,
                                        int32_t common, int8_t *out)
{
    out[0] = aiotc_out_s8_mode(aiotc_rq_channel(q[0], q[1]), s[0], offset, lo, hi, common);
    out[1] = aiotc_out_s8_mode(aiotc_rq_channel(q[2], q[3]), s[1], offset, lo, hi, common);
    out[2] = aiotc_out_s8_mode(aiotc_rq_channel(q[4], q[5]), s[2], offset, lo, hi, common);
    out[3] = aiotc_out_s8_mode(aiotc_rq_channel(q[6], q[7]), s[3], offset, lo, hi, common);
    out[4] = aiotc_out_s8_mode(aiotc_rq_channel(q[8], q[9]), s[4], offset, lo, hi, common);
    out[5] = aiotc_out_s8_mode(aiotc_rq_channel(q[10], q[11]), s[5], offset, lo, hi, common);
    out[6] = aiotc_out_s8_mode(aiotc_rq_channel(q[12], q[13]), s[6], offset, lo, hi, common);
    out[7] = aiotc_out_s8_mode(aiotc_rq_channel(q[14], q[15]), s[7], offset, lo, hi, common);
}

/* The layer with `common` (quant_params->right_shifts) a constant in each copy. */
static AIOTC_INLINE void aiotc_few_loop(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                        const aiotc_dims *input_dims, const int8_t *input, const int16_t *filter,
                                        const int32_t *bias, const aiotc_dims *output_dims, int8_t *output,
                                        int32_t common)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t dense = params->stride.h == 1 && params->stride.w == 1;
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
    const int32_t *const q = quant_params->multiplier; /* (multiplier, shift) pairs */
    int32_t p, c;
    for (p = 0; p < pixels; p++, output += out_c) {
        const int8_t *const x = aiotc_1x1_pixel(params, input_dims, input, output_dims, p, dense);
        const int16_t *w = filter;
        for (c = 0; c < out_c; c += 8, w += 8 * in_c) {
            int32_t s[8];
            aiotc_few_dot8(bias + c, w, x, in_c, s);
            aiotc_few_out8(s, q + 2 * c, offset, lo, hi, common, output + c);
        }
    }
}

int32_t aiotc_convolve_1x1_few_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                  const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                  const int16_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                  int8_t *output)
{
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    if (filter_dims->h != 1 || filter_dims->w != 1 || filter_dims->c != in_c || filter_dims->n != out_c ||
        in_c % 4 != 0 || in_c == 0 || out_c % 8 != 0) {
        return AIOTC_ARG_ERROR;
    }
    if (quant_params->right_shifts == 1) {
        aiotc_few_loop(params, quant_params, input_dims, input, filter, bias, output_dims, output, 1);
    } else if (quant_params->right_shifts) {
        aiotc_few_loop(params, quant_params, input_dims, input, filter, bias, output_dims, output, 2);
    } else {
        aiotc_few_loop(params, quant_params, input_dims, input, filter, bias, output_dims, output, 0);
    }
    return AIOTC_OK;
}
