/* LOGICAL_NOT of a bool (0/1) tensor. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_logical_not(int32_t size, const uint8_t *input, uint8_t *output)
{
    int32_t i;
    for (i = 0; i < size; i++) {
        output[i] = (uint8_t)(input[i] == 0);
    }
    return AIOTC_OK;
}
