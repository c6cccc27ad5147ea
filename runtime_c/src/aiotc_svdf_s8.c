/* TFLite Micro's integer SVDF (svdf_common.cc): the new feature values are requantized to
 * the state's scale and clamped to its type, the time products summed in int32 per unit
 * with the bias, then requantized to int8. The arithmetic is TFLM's, so the result is
 * bit-exact with it; the sums over a unit's filters go straight into its accumulator
 * (the same int32 sum), so no scratch is needed. aiotc_nn_svdf.h has the parts, with
 * their MVE paths. */
#include "aiotc_nn_svdf.h"

int32_t aiotc_svdf_s8(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims, const int8_t *input,
                      const int8_t *feature_weights, const void *time_weights, const int32_t *bias, void *state,
                      int8_t *output)
{
    /* Copies: after a store through an int8 pointer, fields read through pointers are read again. */
    const aiotc_svdf_params_s8 p = *params;
    const aiotc_svdf_dims d = *dims;
    const int32_t filters = d.filters, row = filters * d.memory, depth = d.input_size;
    int32_t b, f;
    aiotc_svdf_shift_state(state, d.batches * row, p.state_bytes);
    for (b = 0; b < d.batches; b++) {
        uint8_t *batch_state = (uint8_t *)state + b * row * p.state_bytes;
        for (f = 0; f < filters; f += 4) {
            int32_t sums[4], r;
            const int32_t n = AIOTC_MIN(4, filters - f);
            for (r = 0; r < n; r++) {
                sums[r] = aiotc_dot_offset_s8(feature_weights + (f + r) * depth, input + b * depth, depth,
                                                 p.input_offset);
            }
            aiotc_svdf_store_features(&p, sums, n, batch_state, (f + 1) * d.memory - 1, d.memory);
        }
        aiotc_svdf_outputs(&p, &d, time_weights, bias, batch_state, output + b * (filters / d.rank));
    }
    return AIOTC_OK;
}
