/* TFLite Micro's integer LSTM (as aiotc_lstm_s8) with each gate's two matrix products,
 * over the input step and over the hidden state, run as packed fully connected layers
 * (aiotc_nn_fc_packed.h: its DSP and MVE paths): per step, every unit's pre-activation of
 * each gate into the scratch, then each unit's cell update (4 units per MVE vector on
 * the M55). The sums, requantizations and clamps are aiotc_lstm_s8's, so the result is
 * the same, bit for bit.
 *
 * Scratch: the input step and the hidden state prepared for the products (widened on
 * the DSP path), then the 4 gates' int16 pre-activations. */
#include <string.h>

#include "aiotc_nn_fc_packed.h"
#include "aiotc_nn_lstm.h"

int32_t aiotc_lstm_packed_s8_get_buffer_size(const aiotc_lstm_dims *dims)
{
    return AIOTC_FC_PREPARED_BYTES(dims->input_size) + AIOTC_FC_PREPARED_BYTES(dims->state_size) +
           4 * 2 * dims->state_size;
}

/* One product of a gate for every unit: the packed weights times x, requantized to
 * Q3.12 and clamped to int16 into `pre`, or (`add`) added to it with saturation. */
static void gate_part(const int8_t *weights, const int32_t *bias, aiotc_per_tensor_quant_params quant,
                      const aiotc_col *x, int32_t depth, int32_t units, int16_t *pre, int32_t add)
{
    const int32_t block_bytes = AIOTC_FC_BLOCK * AIOTC_ROW16(depth);
    int32_t u;
#if defined(AIOTC_MVE)
    /* The 4 units of a block requantized as one vector (TFLite's double rounding). */
    const int32x4_t multiplier = vdupq_n_s32(quant.multiplier), shift = vdupq_n_s32(quant.shift);
    const int32x4_t lo = vdupq_n_s32(INT16_MIN), hi = vdupq_n_s32(INT16_MAX);
    for (u = 0; u < units; u += AIOTC_FC_BLOCK, weights += block_bytes) {
        const aiotc_fc_sums s = aiotc_fc_dot_block(weights, x, depth, bias + u);
        const mve_pred16_t p = vctp32q((uint32_t)(units - u));
        int32x4_t v = vminq_s32(vmaxq_s32(aiotc_mve_requantize(vldrwq_s32(s.a), multiplier, shift), lo), hi);
        if (add) {
            v = vminq_s32(vmaxq_s32(vaddq_s32(v, vldrhq_z_s32(pre + u, p)), lo), hi);
        }
        vstrhq_p_s32(pre + u, v, p);
    }
#else
    int32_t r;
    for (u = 0; u < units; u += AIOTC_FC_BLOCK, weights += block_bytes) {
        const aiotc_fc_sums s = aiotc_fc_dot_block(weights, x, depth, bias + u);
        const int32_t n = AIOTC_MIN(AIOTC_FC_BLOCK, units - u);
        for (r = 0; r < n; r++) {
            int32_t v = aiotc_clamp_s16(aiotc_requantize_1r(s.a[r], quant.multiplier, quant.shift));
            if (add) {
                v = aiotc_clamp_s16(v + pre[u + r]);
            }
            pre[u + r] = (int16_t)v;
        }
    }
#endif
}

int32_t aiotc_lstm_packed_s8(const aiotc_context *ctx, const aiotc_lstm_params_s8 *params,
                             const aiotc_lstm_dims *dims, const int8_t *input, int8_t *hidden_state,
                             int16_t *cell_state, int8_t *output)
{
    /* Weights packed per gate (blocks of 4 units), biases zero padded to whole blocks. */
    const aiotc_lstm_gate_s8 *const gates[4] = {&params->forget, &params->input, &params->cell, &params->output};
    const int32_t sequences = dims->time_major ? 1 : dims->batches;
    const int32_t rows = dims->time_major ? dims->batches : 1;
    const int32_t in_size = dims->input_size, state_size = dims->state_size;
    uint8_t *const x_buf = (uint8_t *)ctx->buf, *const h_buf = x_buf + AIOTC_FC_PREPARED_BYTES(in_size);
    int16_t *const pre = (int16_t *)(void *)(h_buf + AIOTC_FC_PREPARED_BYTES(state_size));
    int32_t s, t, row, g;
    if (ctx->size < aiotc_lstm_packed_s8_get_buffer_size(dims)) {
        return AIOTC_ARG_ERROR;
    }
    for (s = 0; s < sequences; s++) {
        int8_t *hidden = hidden_state + s * state_size;
        int16_t *cell = cell_state + s * state_size;
        for (t = 0; t < dims->time_steps; t++) {
            const int32_t step = s * dims->time_steps + t;
            const int8_t *x = input + step * rows * in_size;
            int8_t *y = output + step * rows * state_size;
            for (row = 0; row < rows; row++) {
                const aiotc_col *xc = aiotc_fc_prepare(x + row * in_size, in_size, x_buf);
                const aiotc_col *hc = aiotc_fc_prepare(hidden + row * state_size, state_size, h_buf);
                for (g = 0; g < 4; g++) {
                    int16_t *gate = pre + g * state_size;
                    gate_part(gates[g]->input_weights, gates[g]->input_bias, gates[g]->input_quant, xc, in_size,
                              state_size, gate, 0);
                    gate_part(gates[g]->recurrent_weights, gates[g]->recurrent_bias, gates[g]->recurrent_quant, hc,
                              state_size, state_size, gate, 1);
                }
                aiotc_lstm_units_s8(params, pre, state_size, cell + row * state_size, y + row * state_size);
            }
            memcpy(hidden, y, (size_t)(rows * state_size));
        }
    }
    return AIOTC_OK;
}
