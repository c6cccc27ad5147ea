/* Concatenation as row copies: along any axis, an NHWC concat is `outer` rows of
 * each input laid side by side. The rows are copied in order, front to back, so the
 * output may end where one input ends (the planner's in-place concat).
 * Off MVE, when every row is whole words and every buffer word aligned (a concat of
 * channels in multiples of 4), each row is copy_words: a pixel's rows are short (16 and
 * 8 bytes in a U-Net's skip concat), where the checks and calls of a general byte copy
 * cost more than the copy. */
#include "aiotc_nn_bytes.h"
#include "aiotc_nn_movement.h"

#if !defined(__ARM_FEATURE_MVE)
/* 1 when every row is whole words and every buffer starts on a word. */
static int all_words(const void *const *inputs, const int32_t *input_row_bytes, int32_t input_count,
                     const void *output)
{
    uintptr_t bits = (uintptr_t)output;
    int32_t i;
    for (i = 0; i < input_count; i++) {
        bits |= (uintptr_t)inputs[i] | (uintptr_t)input_row_bytes[i];
    }
    return (bits & 3u) == 0;
}

/* n bytes (whole words, both ends word aligned) front to back, each block loaded before it
 * is stored: right where dst lies below src. DSP: 16 bytes per LDM/STM pair, then 8, then 4
 * (bits 3 and 2 of what is left, tested as newlib's memcpy does); else word by word. */
static inline void copy_words(uint8_t *dst, const uint8_t *src, int32_t n)
{
#if defined(__ARM_FEATURE_DSP)
    __asm__ volatile("subs %[n], %[n], #16\n\t"
                     "blt 2f\n"
                     "1:\n\t"
                     "ldmia %[src]!, {r3, r4, r5, r6}\n\t"
                     "stmia %[dst]!, {r3, r4, r5, r6}\n\t"
                     "subs %[n], %[n], #16\n\t"
                     "bge 1b\n"
                     "2:\n\t"
                     "lsls %[n], %[n], #29\n\t"
                     "itt cs\n\t"
                     "ldmcs %[src]!, {r3, r4}\n\t"
                     "stmcs %[dst]!, {r3, r4}\n\t"
                     "itt mi\n\t"
                     "ldrmi r3, [%[src]], #4\n\t"
                     "strmi r3, [%[dst]], #4"
                     : [src] "+r"(src), [dst] "+r"(dst), [n] "+r"(n)
                     :
                     : "r3", "r4", "r5", "r6", "cc", "memory");
#else
    for (; n > 0; n -= 4, src += 4, dst += 4) {
        uint32_t w;
        memcpy(&w, src, sizeof w);
        memcpy(dst, &w, sizeof w);
    }
#endif
}
#endif

int32_t aiotc_concat(const void *const *inputs, const int32_t *input_row_bytes, int32_t input_count, int32_t outer,
                     void *output)
{
    uint8_t *out = (uint8_t *)output;
    int32_t r, i;
#if !defined(__ARM_FEATURE_MVE)
    if (all_words(inputs, input_row_bytes, input_count, output)) {
        for (r = 0; r < outer; r++) {
            for (i = 0; i < input_count; i++) {
                const int32_t n = input_row_bytes[i];
                copy_words(out, (const uint8_t *)inputs[i] + r * n, n);
                out += n;
            }
        }
        return AIOTC_OK;
    }
#endif
    for (r = 0; r < outer; r++) {
        for (i = 0; i < input_count; i++) {
            const int32_t n = input_row_bytes[i];
            aiotc_bytes_copy_down(out, (const uint8_t *)inputs[i] + r * n, n);
            out += n;
        }
    }
    return AIOTC_OK;
}
