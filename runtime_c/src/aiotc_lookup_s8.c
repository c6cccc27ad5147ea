/* int8 -> int8 through a 256-entry table indexed by the input's byte (TFLite Micro's
 * EvalUsingLookupTable); output element i reads only input element i, so it runs in place. */
#include "aiotc_nn_activation.h"

int32_t aiotc_lookup_s8(const int8_t *table, int32_t size, const int8_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = table[(uint8_t)input[i]];
    }
    return AIOTC_OK;
}
