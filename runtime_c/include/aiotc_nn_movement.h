/* aiotc runtime: data movement (concatenation, padding, transpose, strided slice).
 *
 * These ops never change values, only where they sit, so the kernels work on bytes
 * and one kernel serves int8, int16 and float32 alike (element_size says how wide). */
#ifndef AIOTC_NN_MOVEMENT_H
#define AIOTC_NN_MOVEMENT_H

#include "aiotc_nn_types.h"

/* Concatenation: the output is `outer` rows; row r is input 0's row r, then input 1's, ...
 * Input i contributes input_row_bytes[i] bytes per row. */
int32_t aiotc_concat(const void *const *inputs, const int32_t *input_row_bytes, int32_t input_count, int32_t outer,
                     void *output);

#endif /* AIOTC_NN_MOVEMENT_H */
