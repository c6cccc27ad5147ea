/* float32 LSTM as TFLite Micro computes it: each gate a fully connected layer of the
 * input (with the bias) plus one of the previous hidden state, the cell updated in
 * place, the new hidden state written to the output step and then kept. */
#include <math.h>
#include <string.h>

#include "aiotc_nn_recurrent.h"
#include "aiotc_nn_support.h"

static float sigmoid_f32(float x)
{
    return x > 16.619047164916992188f ? 1.0f : x < -9.0f ? expf(x) : 1.0f / (1.0f + expf(-x));
}

static float gate_f32(const aiotc_lstm_gate_f32 *gate, int32_t unit, const float *input, int32_t input_size,
                      const float *hidden, int32_t state_size)
{
    const float *w = gate->input_weights + unit * input_size;
    const float *r = gate->recurrent_weights + unit * state_size;
    float from_input = 0.0f, from_hidden = 0.0f;
    int32_t k;
    for (k = 0; k < input_size; k++) {
        from_input += input[k] * w[k];
    }
    for (k = 0; k < state_size; k++) {
        from_hidden += hidden[k] * r[k];
    }
    return (from_input + gate->bias[unit]) + from_hidden;
}

static float unit_f32(const aiotc_lstm_params_f32 *p, int32_t unit, const float *input, int32_t input_size,
                      const float *hidden, int32_t state_size, float *cell)
{
    const float forget = sigmoid_f32(gate_f32(&p->forget, unit, input, input_size, hidden, state_size));
    const float in = sigmoid_f32(gate_f32(&p->input, unit, input, input_size, hidden, state_size));
    const float candidate = tanhf(gate_f32(&p->cell, unit, input, input_size, hidden, state_size));
    const float out = sigmoid_f32(gate_f32(&p->output, unit, input, input_size, hidden, state_size));
    float c = forget * *cell + in * candidate;
    if (p->cell_clip > 0.0f) {
        c = AIOTC_CLAMP(c, -p->cell_clip, p->cell_clip);
    }
    *cell = c;
    return tanhf(c) * out;
}

int32_t aiotc_lstm_f32(const aiotc_lstm_params_f32 *params, const aiotc_lstm_dims *dims, const float *input,
                       float *hidden_state, float *cell_state, float *output)
{
    const int32_t sequences = dims->time_major ? 1 : dims->batches;
    const int32_t rows = dims->time_major ? dims->batches : 1;
    const int32_t in_size = dims->input_size, state_size = dims->state_size;
    int32_t s, t, row, unit;
    for (s = 0; s < sequences; s++) {
        float *hidden = hidden_state + s * state_size;
        float *cell = cell_state + s * state_size;
        for (t = 0; t < dims->time_steps; t++) {
            const int32_t step = s * dims->time_steps + t;
            const float *x = input + step * rows * in_size;
            float *y = output + step * rows * state_size;
            for (row = 0; row < rows; row++) {
                for (unit = 0; unit < state_size; unit++) {
                    y[row * state_size + unit] = unit_f32(params, unit, x + row * in_size, in_size, hidden + row * state_size,
                                                          state_size, cell + row * state_size + unit);
                }
            }
            memcpy(hidden, y, (size_t)(rows * state_size) * sizeof(float));
        }
    }
    return AIOTC_OK;
}
