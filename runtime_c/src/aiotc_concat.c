/* Concatenation as row copies: along any axis, an NHWC concat is `outer` rows of
 * each input laid side by side. The rows are copied in order, front to back, so the
 * output may end where one input ends (the planner's in-place concat). */
#include "aiotc_nn_bytes.h"
#include "aiotc_nn_movement.h"

int32_t aiotc_concat(const void *const *inputs, const int32_t *input_row_bytes, int32_t input_count, int32_t outer,
                     void *output)
{
    uint8_t *out = (uint8_t *)output;
    int32_t r, i;
    for (r = 0; r < outer; r++) {
        for (i = 0; i < input_count; i++) {
            const int32_t n = input_row_bytes[i];
            aiotc_bytes_copy_down(out, (const uint8_t *)inputs[i] + r * n, n);
            out += n;
        }
    }
    return AIOTC_OK;
}
