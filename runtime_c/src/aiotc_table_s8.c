/* int8 unary op by lookup: the 256 results are computed at compile time with the
 * reference kernel's arithmetic, so the C only indexes. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_table_s8(const int8_t *table, int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = table[(uint8_t)input[i]];
    }
    return AIOTC_OK;
}
