/* aiotc runtime: the requantization loop of aiotc_requantize_s8, _s8_s16, _s16_s8, _s16 and
 * _s8_s32, _s16_s32 (TFLite Micro's Requantize and ReluQuantized), for int8 or int16 in and
 * int8, int16 or int32 out.
 * Each kernel calls it with constant element sizes, so each gets its own plain loop. */
#ifndef AIOTC_NN_REQUANTIZE_H
#define AIOTC_NN_REQUANTIZE_H

#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

static inline void aiotc_requantize_loop(const aiotc_requantize_params *params, int32_t size, const void *input,
                                         int32_t in_bytes, void *output, int32_t out_bytes)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const int32_t x = in_bytes == 1 ? ((const int8_t *)input)[i] : ((const int16_t *)input)[i];
        int32_t value = aiotc_requantize(x + params->input_offset, params->quant.multiplier, params->quant.shift);
        value = AIOTC_CLAMP(value + params->output_offset, params->activation.min, params->activation.max);
        if (out_bytes == 1) {
            ((int8_t *)output)[i] = (int8_t)value;
        } else if (out_bytes == 2) {
            ((int16_t *)output)[i] = (int16_t)value;
        } else {
            ((int32_t *)output)[i] = value;
        }
    }
}

#endif /* AIOTC_NN_REQUANTIZE_H */
