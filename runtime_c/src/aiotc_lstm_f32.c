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

/* The 4 gates' pre-activations of one unit (forget, input, cell, output): each gate's
 * products over the input and over the hidden state summed in order, then
 * (from_input + bias) + from_hidden, as TFLM does. The 4 gates go together so that each
 * input and hidden value is read once for 4 products. */
static void gates_f32(const aiotc_lstm_params_f32 *p, int32_t unit, const float *input, int32_t input_size,
                      const float *hidden, int32_t state_size, float *pre)
{
    const aiotc_lstm_gate_f32 *const g[4] = {&p->forget, &p->input, &p->cell, &p->output};
    const float *w0 = g[0]->input_weights + unit * input_size, *w1 = g[1]->input_weights + unit * input_size;
    const float *w2 = g[2]->input_weights + unit * input_size, *w3 = g[3]->input_weights + unit * input_size;
    const float *r0 = g[0]->recurrent_weights + unit * state_size, *r1 = g[1]->recurrent_weights + unit * state_size;
    const float *r2 = g[2]->recurrent_weights + unit * state_size, *r3 = g[3]->recurrent_weights + unit * state_size;
    float i[4], h[4];
    int32_t gate;
    aiotc_dot4_f32(input, input_size, w0, w1, w2, w3, i);
    aiotc_dot4_f32(hidden, state_size, r0, r1, r2, r3, h);
    for (gate = 0; gate < 4; gate++) {
        pre[gate] = (i[gate] + g[gate]->bias[unit]) + h[gate];
    }
}

static float unit_f32(const aiotc_lstm_params_f32 *p, int32_t unit, const float *input, int32_t input_size,
                      const float *hidden, int32_t state_size, float *cell)
{
    float pre[4], c;
    gates_f32(p, unit, input, input_size, hidden, state_size, pre);
    {
        const float forget = sigmoid_f32(pre[0]), in = sigmoid_f32(pre[1]), candidate = tanhf(pre[2]);
        const float out = sigmoid_f32(pre[3]);
        c = forget * *cell + in * candidate;
        if (p->cell_clip > 0.0f) {
            c = AIOTC_CLAMP(c, -p->cell_clip, p->cell_clip);
        }
        *cell = c;
        return tanhf(c) * out;
    }
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
