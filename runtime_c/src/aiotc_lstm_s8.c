/* TFLite Micro's integer LSTM: int8 input, weights and hidden state, int16 gates and
 * cell state. Each unit's four gates are computed from the previous hidden state, its
 * cell updated in place, and its new hidden value written to the output step; the
 * hidden state takes the step's outputs once all units are done. The arithmetic is
 * TFLM's, element for element, so the result is bit-exact with it. */
#include <string.h>

#include "aiotc_nn_lstm.h"

/* A gate's pre-activation in Q3.12: each fully connected part requantized and clamped
 * to int16 on its own, then added with saturation, as TFLM does. */
static int32_t gate_s8(const aiotc_lstm_gate_s8 *gate, int32_t unit, const int8_t *input, int32_t input_size,
                       const int8_t *hidden, int32_t state_size)
{
    const int8_t *w = gate->input_weights + unit * input_size;
    const int8_t *r = gate->recurrent_weights + unit * state_size;
    int32_t from_input = gate->input_bias[unit];
    int32_t from_hidden = gate->recurrent_bias[unit];
    int32_t k;
    for (k = 0; k < input_size; k++) {
        from_input += w[k] * input[k];
    }
    for (k = 0; k < state_size; k++) {
        from_hidden += r[k] * hidden[k];
    }
    from_input = aiotc_clamp_s16(aiotc_requantize(from_input, gate->input_quant.multiplier, gate->input_quant.shift));
    from_hidden = aiotc_clamp_s16(aiotc_requantize(from_hidden, gate->recurrent_quant.multiplier, gate->recurrent_quant.shift));
    return aiotc_clamp_s16(from_input + from_hidden);
}

/* One unit of one step: updates its cell and returns its new hidden value. */
static int8_t unit_s8(const aiotc_lstm_params_s8 *p, int32_t unit, const int8_t *input, int32_t input_size,
                      const int8_t *hidden, int32_t state_size, int16_t *cell)
{
    return aiotc_lstm_unit_s8(p, gate_s8(&p->forget, unit, input, input_size, hidden, state_size),
                              gate_s8(&p->input, unit, input, input_size, hidden, state_size),
                              gate_s8(&p->cell, unit, input, input_size, hidden, state_size),
                              gate_s8(&p->output, unit, input, input_size, hidden, state_size), cell);
}

int32_t aiotc_lstm_s8(const aiotc_lstm_params_s8 *params, const aiotc_lstm_dims *dims, const int8_t *input,
                      int8_t *hidden_state, int16_t *cell_state, int8_t *output)
{
    /* Batch-major: each sequence runs alone on its own state row. Time-major: each step
     * runs all batches at once. */
    const int32_t sequences = dims->time_major ? 1 : dims->batches;
    const int32_t rows = dims->time_major ? dims->batches : 1;
    const int32_t in_size = dims->input_size, state_size = dims->state_size;
    int32_t s, t, row, unit;
    for (s = 0; s < sequences; s++) {
        int8_t *hidden = hidden_state + s * state_size;
        int16_t *cell = cell_state + s * state_size;
        for (t = 0; t < dims->time_steps; t++) {
            const int32_t step = s * dims->time_steps + t;
            const int8_t *x = input + step * rows * in_size;
            int8_t *y = output + step * rows * state_size;
            for (row = 0; row < rows; row++) {
                for (unit = 0; unit < state_size; unit++) {
                    y[row * state_size + unit] = unit_s8(params, unit, x + row * in_size, in_size, hidden + row * state_size,
                                                         state_size, cell + row * state_size + unit);
                }
            }
            memcpy(hidden, y, (size_t)(rows * state_size));
        }
    }
    return AIOTC_OK;
}
