/* aiotc runtime: the few-channel kernels' dot product and requantization of 8 channels
 * of one pixel over int16 weights (aiotc_convolve_1x1_few_s8: the pixel's channels;
 * aiotc_convolve_im2col_few_s8: its window gathered). Only they include this header. */
#ifndef AIOTC_NN_CONV_FEW_H
#define AIOTC_NN_CONV_FEW_H

#include "aiotc_nn_conv_gemm.h" /* aiotc_1x1_pixel, aiotc_im2col_gather, aiotc_out_s8_mode */

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

/* The first n (1-7) of the 8 sums at s requantized as aiotc_few_out8 does: a last block
 * padded to 8 channels. */
static AIOTC_INLINE void aiotc_few_out_n(const int32_t *s, const int32_t *q, int32_t offset, int32_t lo, int32_t hi,
                                         int32_t common, int8_t *out, int32_t n)
{
    int32_t j;
    for (j = 0; j < n; j++) {
        out[j] = aiotc_out_s8_mode(aiotc_rq_channel(q[2 * j], q[2 * j + 1]), s[j], offset, lo, hi, common);
    }
}

#endif /* AIOTC_NN_CONV_FEW_H */
