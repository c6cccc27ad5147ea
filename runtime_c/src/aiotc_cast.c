/* CAST between int8, int16, int32 and float32: C's conversions, as TFLite's static_cast
 * (float to integer truncates toward zero; integers narrow modulo 2^n). Quantization is
 * ignored, as in TFLite. */
#include "aiotc_nn_movement.h"

static int64_t load_integer(int32_t type, const void *data, int32_t i)
{
    switch (type) {
    case AIOTC_TYPE_INT8:
        return ((const int8_t *)data)[i];
    case AIOTC_TYPE_INT16:
        return ((const int16_t *)data)[i];
    default:
        return ((const int32_t *)data)[i];
    }
}

int32_t aiotc_cast(int32_t size, int32_t input_type, int32_t output_type, const void *input, void *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        const float real = input_type == AIOTC_TYPE_FLOAT32 ? ((const float *)input)[i] : 0.0f;
        const int64_t value = input_type == AIOTC_TYPE_FLOAT32 ? (int64_t)real : load_integer(input_type, input, i);
        switch (output_type) {
        case AIOTC_TYPE_INT8:
            ((int8_t *)output)[i] = (int8_t)value;
            break;
        case AIOTC_TYPE_INT16:
            ((int16_t *)output)[i] = (int16_t)value;
            break;
        case AIOTC_TYPE_INT32:
            ((int32_t *)output)[i] = (int32_t)value;
            break;
        case AIOTC_TYPE_FLOAT32:
            ((float *)output)[i] = input_type == AIOTC_TYPE_FLOAT32 ? real : (float)value;
            break;
        default:
            return AIOTC_ARG_ERROR;
        }
    }
    return AIOTC_OK;
}
