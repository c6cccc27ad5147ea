/* Concatenation as row copies: along any axis, an NHWC concat is `outer` rows of
 * each input laid side by side. The rows are copied in order, front to back, so the
 * output may end where one input ends (the planner's in-place concat).
 * Off MVE, when every row is whole words and every buffer word aligned (a concat of
 * channels in multiples of 4), each row is aiotc_copy_words: a pixel's rows are short (16 and
 * 8 bytes in a U-Net's skip concat), where the checks and calls of a general byte copy
 * cost more than the copy. Off MVE, other rows under AIOTC_CONCAT_SHORT_ROW bytes (a detector's
 * heads of 4 and 3 values per anchor, at odd addresses) are aiotc_copy_run inline, where
 * aiotc_bytes_copy_down fell to a call of memcpy or memmove. */
#include "aiotc_nn_bytes.h"
#include "aiotc_nn_movement.h"

#define AIOTC_CONCAT_SHORT_ROW 16

/* One row of n bytes front to back (MVE: aiotc_bytes_copy's predicated vectors, fewer
 * instructions there than aiotc_copy_run's). */
static inline void concat_row(uint8_t *out, const uint8_t *src, int32_t n)
{
#if !defined(__ARM_FEATURE_MVE)
    if (n < AIOTC_CONCAT_SHORT_ROW) {
        aiotc_copy_run((int8_t *)out, (const int8_t *)src, n);
        return;
    }
#endif
    aiotc_bytes_copy_down(out, src, n);
}

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
                aiotc_copy_words(out, (const uint8_t *)inputs[i] + r * n, n);
                out += n;
            }
        }
        return AIOTC_OK;
    }
#endif
    for (r = 0; r < outer; r++) {
        for (i = 0; i < input_count; i++) {
            const int32_t n = input_row_bytes[i];
            concat_row(out, (const uint8_t *)inputs[i] + r * n, n);
            out += n;
        }
    }
    return AIOTC_OK;
}
