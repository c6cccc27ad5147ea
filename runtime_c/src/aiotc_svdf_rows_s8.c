/* TFLite Micro's integer SVDF (svdf_common.cc): the new feature values are requantized to
 * the state's scale and clamped to its type, the time products summed in int32 per unit
 * with the bias, then requantized to int8. The arithmetic is TFLM's, so the result is
 * bit-exact with it. The feature product runs as the rows fully connected kernel
 * (aiotc_nn_fc_rows.h: 4 filters at a time, a last 1 or 2 alone, against the input as it is,
 * any int8 weights, no scratch), the input's zero point folded into the feature bias at
 * compile time; the rest is aiotc_nn_svdf.h's, as in aiotc_svdf_packed_s8. */
#include "aiotc_nn_fc_rows.h"
#include "aiotc_nn_svdf.h"

int32_t aiotc_svdf_rows_s8(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims, const int8_t *input,
                           const int8_t *feature_weights, const int32_t *feature_bias, const void *time_weights,
                           const int32_t *bias, void *state, int8_t *output)
{
    /* Copies: after a store through an int8 pointer, fields read through pointers are read again. */
    const aiotc_svdf_params_s8 p = *params;
    const aiotc_svdf_dims d = *dims;
    const int32_t filters = d.filters, row = filters * d.memory, depth = d.input_size;
    int32_t b, f, n;
    for (b = 0; b < d.batches; b++) {
        uint8_t *batch_state = (uint8_t *)state + b * row * p.state_bytes;
        int8_t *out = output + b * (filters / d.rank);
        const int8_t *w = feature_weights;
        aiotc_svdf_begin(&p, batch_state, row);
        for (f = 0; f < filters; f += n) {
            aiotc_fc_rows_sums s;
            n = aiotc_fc_rows_next(&w, input + b * depth, depth, filters - f, &s);
            aiotc_svdf_store_features(&p, s.a, feature_bias + f, AIOTC_MIN(n, filters - f), batch_state,
                                      f * d.memory + AIOTC_SVDF_NEW_AT(d.memory), d.memory);
        }
        aiotc_svdf_outputs(&p, &d, time_weights, bias, batch_state, out);
    }
    return AIOTC_OK;
}
