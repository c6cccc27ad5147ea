/* int8 -> int8 through a 256-entry table indexed by the input's byte (TFLite Micro's
 * EvalUsingLookupTable); output element i reads only input element i, so it runs in place.
 * MVE: 16 bytes per gather load (its offsets are the input bytes), the last 1-15
 * predicated. DSP: a word of four inputs per load and per store. */
#include <string.h>

#include "aiotc_nn_activation.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif

int32_t aiotc_lookup_s8(const int8_t *table, int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i = 0;
#if defined(__ARM_FEATURE_MVE)
    const uint8_t *t = (const uint8_t *)table;
    for (; i + 16 <= size; i += 16) {
        vstrbq_u8((uint8_t *)output + i, vldrbq_gather_offset_u8(t, vldrbq_u8((const uint8_t *)input + i)));
    }
    if (i < size) { /* the last 1-15 */
        const mve_pred16_t p = vctp8q((uint32_t)(size - i));
        const uint8x16_t bytes = vldrbq_z_u8((const uint8_t *)input + i, p);
        vstrbq_p_u8((uint8_t *)output + i, vldrbq_gather_offset_z_u8(t, bytes, p), p);
    }
    return AIOTC_OK;
#elif defined(__ARM_FEATURE_DSP)
    const uint8_t *t = (const uint8_t *)table;
    for (; i + 4 <= size; i += 4) {
        uint32_t w;
        memcpy(&w, input + i, sizeof w); /* little-endian: element i in the low byte */
        w = (uint32_t)t[w & 0xffu] | (uint32_t)t[(w >> 8) & 0xffu] << 8 | (uint32_t)t[(w >> 16) & 0xffu] << 16 |
            (uint32_t)t[w >> 24] << 24;
        memcpy(output + i, &w, sizeof w);
    }
#endif
    for (; i < size; i++) {
        output[i] = table[(uint8_t)input[i]];
    }
    return AIOTC_OK;
}
