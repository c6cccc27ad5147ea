/* TFLite Micro's integer SVDF (as aiotc_svdf_rows_s8) with the feature matrix product run as
 * a packed fully connected layer (aiotc_nn_fc_packed.h: its DSP and MVE paths), the
 * input's zero point folded into the feature bias at compile time; the rest is
 * aiotc_svdf_rows_s8's (aiotc_nn_svdf.h), and so is the result, bit for bit.
 *
 * Scratch: the input prepared for the feature product (widened on the DSP path). */
#include "aiotc_nn_fc_packed.h"
#include "aiotc_nn_svdf.h"

int32_t aiotc_svdf_packed_s8_get_buffer_size(const aiotc_svdf_dims *dims)
{
    return AIOTC_FC_PREPARED_BYTES(dims->input_size);
}

int32_t aiotc_svdf_packed_s8(const aiotc_context *ctx, const aiotc_svdf_params_s8 *params,
                             const aiotc_svdf_dims *dims, const int8_t *input, const int8_t *feature_weights,
                             const int32_t *feature_bias, const void *time_weights, const int32_t *bias, void *state,
                             int8_t *output)
{
    /* Copies: after a store through an int8 pointer, fields read through pointers are read again. */
    const aiotc_svdf_params_s8 p = *params;
    const aiotc_svdf_dims d = *dims;
    const int32_t filters = d.filters, row = filters * d.memory, depth = d.input_size;
    const int32_t block_bytes = AIOTC_FC_BLOCK * AIOTC_ROW16(depth);
    int32_t b, f;
    if (ctx->size < aiotc_svdf_packed_s8_get_buffer_size(&d)) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < d.batches; b++) {
        const aiotc_col *x = aiotc_fc_prepare(input + b * depth, depth, ctx->buf);
        uint8_t *batch_state = (uint8_t *)state + b * row * p.state_bytes;
        int8_t *out = output + b * (filters / d.rank);
        aiotc_svdf_begin(&p, batch_state, row);
        for (f = 0; f < filters; f += AIOTC_FC_BLOCK) {
            const aiotc_fc_sums s = aiotc_fc_dot_block(feature_weights + f / AIOTC_FC_BLOCK * block_bytes, x, depth,
                                                       feature_bias + f);
            aiotc_svdf_store_features(&p, s.a, NULL, AIOTC_MIN(AIOTC_FC_BLOCK, filters - f), batch_state,
                                      f * d.memory + AIOTC_SVDF_NEW_AT(d.memory), d.memory);
        }
        aiotc_svdf_outputs(&p, &d, time_weights, bias, batch_state, out);
    }
    return AIOTC_OK;
}
