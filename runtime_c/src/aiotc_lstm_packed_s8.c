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

/* The pre-activations of a block's first n units from both products' sums (n a
 * constant for whole blocks: unrolled, the sums kept in registers), `left` as aiotc_lstm_to_q3_12's. */
static AIOTC_INLINE void block_pre(const aiotc_fc_sums *a, const aiotc_fc_sums *b, aiotc_per_tensor_quant_params qx,
                                   aiotc_per_tensor_quant_params qh, int32_t n, int32_t left, int16_t *pre)
{
    int32_t r;
    for (r = 0; r < n; r++) {
        pre[r] = (int16_t)aiotc_clamp_s16(aiotc_lstm_to_q3_12(a->a[r], qx, left) + aiotc_lstm_to_q3_12(b->a[r], qh, left));
    }
}

/* One gate's pre-activation of every unit, a block of 4 units at a time: its products
 * over the input step (x) and over the hidden state (h), each requantized to Q3.12 and
 * clamped to int16, then added with saturation (TFLM's order), straight into `pre`. Out of
 * line: inlined into the step loop it runs slower (M55: 1% of the layer). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void gate_pre(const aiotc_lstm_gate_s8 *gate, const aiotc_col *x, int32_t in_size, const aiotc_col *h,
                     int32_t units, int16_t *pre)
{
    const aiotc_per_tensor_quant_params qx = gate->input_quant, qh = gate->recurrent_quant;
    const int32_t x_block = AIOTC_FC_BLOCK * AIOTC_ROW16(in_size), h_block = AIOTC_FC_BLOCK * AIOTC_ROW16(units);
    const int8_t *wx = gate->input_weights, *wh = gate->recurrent_weights;
    int32_t u;
#if defined(AIOTC_MVE)
    /* A pass over the blocks per product (one block's sums live at a time), the 4 units
     * of a block requantized as one vector (TFLite's double rounding). */
    const int32x4_t lo = vdupq_n_s32(INT16_MIN), hi = vdupq_n_s32(INT16_MAX);
    for (u = 0; u < units; u += AIOTC_FC_BLOCK, wx += x_block) {
        const aiotc_fc_sums a = aiotc_fc_dot_block(wx, x, in_size, gate->input_bias + u);
        const int32x4_t v = vminq_s32(vmaxq_s32(aiotc_lstm_requantize_x4(vldrwq_s32(a.a), qx), lo), hi);
        vstrhq_p_s32(pre + u, v, vctp32q((uint32_t)(units - u)));
    }
    for (u = 0; u < units; u += AIOTC_FC_BLOCK, wh += h_block) {
        const mve_pred16_t p = vctp32q((uint32_t)(units - u));
        const aiotc_fc_sums b = aiotc_fc_dot_block(wh, h, units, gate->recurrent_bias + u);
        const int32x4_t v = vminq_s32(vmaxq_s32(aiotc_lstm_requantize_x4(vldrwq_s32(b.a), qh), lo), hi);
        vstrhq_p_s32(pre + u, vminq_s32(vmaxq_s32(vaddq_s32(v, vldrhq_z_s32(pre + u, p)), lo), hi), p);
    }
#else
    const int32_t left = qx.shift >= 0 && qh.shift >= 0;
    for (u = 0; u < units; u += AIOTC_FC_BLOCK, wx += x_block, wh += h_block) {
        const aiotc_fc_sums a = aiotc_fc_dot_block(wx, x, in_size, gate->input_bias + u);
        const aiotc_fc_sums b = aiotc_fc_dot_block(wh, h, units, gate->recurrent_bias + u);
        if (u + AIOTC_FC_BLOCK > units) {
            block_pre(&a, &b, qx, qh, units - u, 0, pre + u);
        } else if (left) {
            block_pre(&a, &b, qx, qh, AIOTC_FC_BLOCK, 1, pre + u);
        } else {
            block_pre(&a, &b, qx, qh, AIOTC_FC_BLOCK, 0, pre + u);
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
                    gate_pre(gates[g], xc, in_size, hc, state_size, pre + g * state_size);
                }
                aiotc_lstm_units_s8(params, pre, state_size, cell + row * state_size, y + row * state_size);
            }
            memcpy(hidden, y, (size_t)(rows * state_size));
        }
    }
    return AIOTC_OK;
}
