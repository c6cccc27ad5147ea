/* EMBEDDING_LOOKUP of int8 values into float32 rows: each value times its row's scale
 * (zero point 0), the one float multiply of tflite-micro's Dequantize. */
#include "aiotc_nn_movement.h"

int32_t aiotc_embedding_lookup_s8_f32(int32_t count, const int32_t *ids, int32_t rows, int32_t columns,
                                      const float *scales, int32_t per_row, const int8_t *values, float *output)
{
    int32_t i, c;
    for (i = 0; i < count; i++) {
        const int32_t id = ids[i];
        const int8_t *row;
        float scale;
        if (id < 0 || id >= rows) {
            return AIOTC_ARG_ERROR;
        }
        row = values + id * columns;
        scale = scales[per_row ? id : 0];
        for (c = 0; c < columns; c++) {
            *output++ = (float)row[c] * scale;
        }
    }
    return AIOTC_OK;
}
