/* aiotc runtime: recurrent layers (UNIDIRECTIONAL_SEQUENCE_LSTM, SVDF).
 *
 * The hidden and cell state are the model's state: buffers outside the arena that
 * the kernel reads and updates in place, so a sequence may continue across invokes.
 * The integer kernel is TFLite Micro's integer LSTM (int8 input, weights and hidden
 * state, int16 gates and cell state); every multiplier is computed at compile time. */
#ifndef AIOTC_NN_RECURRENT_H
#define AIOTC_NN_RECURRENT_H

#include "aiotc_nn_types.h"

typedef struct {
    int32_t batches;     /* sequences */
    int32_t time_steps;
    int32_t input_size;  /* features of one input step */
    int32_t state_size;  /* units: features of the hidden and cell state */
    int32_t time_major;  /* 1: input [time, batch, features]; 0: [batch, time, features] */
} aiotc_lstm_dims;

/* One gate: fc(input) + fc(hidden). The zero points are folded into the biases
 * (bias - zero point x row sum of the weights), so the kernel sums plain products. */
typedef struct {
    const int8_t *input_weights;     /* [state_size, input_size] */
    const int8_t *recurrent_weights; /* [state_size, state_size] */
    const int32_t *input_bias;       /* [state_size] */
    const int32_t *recurrent_bias;   /* [state_size] */
    aiotc_per_tensor_quant_params input_quant;     /* to the gate's Q3.12 */
    aiotc_per_tensor_quant_params recurrent_quant;
} aiotc_lstm_gate_s8;

typedef struct {
    aiotc_lstm_gate_s8 forget, input, cell, output;
    aiotc_per_tensor_quant_params forget_times_cell; /* Q0.15 x cell -> cell */
    aiotc_per_tensor_quant_params input_times_cell;  /* Q0.15 x Q0.15 -> cell */
    aiotc_per_tensor_quant_params hidden;            /* Q0.15 x Q0.15 -> hidden state */
    int32_t hidden_offset;                           /* +zero point of the hidden state */
    aiotc_activation cell_clip;                      /* the int16 range when unclipped */
    int32_t cell_tanh_multiplier;                    /* tanh input: (cell * m + round) >> shift, in Q3.12 */
    int32_t cell_tanh_shift;
    int32_t cell_tanh_round;                         /* 2^(shift - 1), or 0 */
    /* -2 - the shifts of forget_times_cell, input_times_cell and hidden (aiotc_rq_right's
     * right shifts) when all three are right shifts of 2 or more, as TFLite's scales make
     * them; else -1 each. */
    int32_t unit_rights[3];
} aiotc_lstm_params_s8;

typedef struct {
    const float *input_weights;     /* [state_size, input_size] */
    const float *recurrent_weights; /* [state_size, state_size] */
    const float *bias;              /* [state_size] */
} aiotc_lstm_gate_f32;

typedef struct {
    aiotc_lstm_gate_f32 forget, input, cell, output;
    float cell_clip; /* 0: unclipped */
} aiotc_lstm_params_f32;

int32_t aiotc_lstm_s8(const aiotc_lstm_params_s8 *params, const aiotc_lstm_dims *dims, const int8_t *input,
                      int8_t *hidden_state, int16_t *cell_state, int8_t *output);

/* aiotc_lstm_s8 with each gate's weights packed for aiotc_nn_fc_packed.h (ops_conv.pack_fc_weights,
 * blocks of 4 units) and its biases zero padded to whole blocks; scratch of
 * aiotc_lstm_packed_s8_get_buffer_size bytes. */
int32_t aiotc_lstm_packed_s8(const aiotc_context *ctx, const aiotc_lstm_params_s8 *params,
                             const aiotc_lstm_dims *dims, const int8_t *input, int8_t *hidden_state,
                             int16_t *cell_state, int8_t *output);
int32_t aiotc_lstm_packed_s8_get_buffer_size(const aiotc_lstm_dims *dims);

/* aiotc_lstm_s8 with the four gates' weights widened to int16 and interleaved by unit, their
 * biases among them (ops_recurrent.pack_lstm_wide: the DSP path's SMLADs read them as they
 * are), the gates' weight and bias pointers unused; scratch of aiotc_lstm_wide_s8_get_buffer_size bytes. */
int32_t aiotc_lstm_wide_s8(const aiotc_context *ctx, const aiotc_lstm_params_s8 *params, const aiotc_lstm_dims *dims,
                           const int16_t *weights, const int8_t *input, int8_t *hidden_state, int16_t *cell_state,
                           int8_t *output);
int32_t aiotc_lstm_wide_s8_get_buffer_size(const aiotc_lstm_dims *dims);

int32_t aiotc_lstm_f32(const aiotc_lstm_params_f32 *params, const aiotc_lstm_dims *dims, const float *input,
                       float *hidden_state, float *cell_state, float *output);

/* SVDF: each filter's feature value (a row of the feature weights times the input) enters
 * its row of the state, which keeps the last `memory` of them; a unit's output sums, over
 * its `rank` filters, the time weights times that row. The state [batches, filters, memory]
 * is the model's state, shifted by one value per invoke. */
typedef struct {
    int32_t batches;
    int32_t input_size;
    int32_t filters; /* units x rank */
    int32_t memory;  /* values each filter keeps */
    int32_t rank;
} aiotc_svdf_dims;

/* TFLM's integer SVDF. state_bytes 2: int16 time weights and state; 1: int8. The kernels'
 * bias (one per unit) has the state's zero point folded in: bias - zero point x the sum of
 * the unit's time weights. */
typedef struct {
    int32_t input_offset;                        /* -input zero point */
    aiotc_per_tensor_quant_params feature_quant; /* input x feature weights -> state */
    int32_t state_zero_point;
    int32_t state_bytes;
    aiotc_per_tensor_quant_params output_quant; /* state x time weights -> output */
    int32_t output_offset;
} aiotc_svdf_params_s8;

/* The feature weights in the rows layout of aiotc_nn_fc_rows.h (ops_conv.pack_fc_rows:
 * any int8 weights, no scratch) and feature_bias the input offset folded in (-input zero
 * point x row sums, zero padded to whole blocks of 4 filters). */
int32_t aiotc_svdf_rows_s8(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims, const int8_t *input,
                           const int8_t *feature_weights, const int32_t *feature_bias, const void *time_weights,
                           const int32_t *bias, void *state, int8_t *output);

/* aiotc_svdf_rows_s8 with the feature weights packed for aiotc_nn_fc_packed.h
 * (ops_conv.pack_fc_weights: byte pairs, which cannot hold a -128 under a negative
 * weight) and the same feature_bias; scratch of
 * aiotc_svdf_packed_s8_get_buffer_size bytes. */
int32_t aiotc_svdf_packed_s8(const aiotc_context *ctx, const aiotc_svdf_params_s8 *params,
                             const aiotc_svdf_dims *dims, const int8_t *input, const int8_t *feature_weights,
                             const int32_t *feature_bias, const void *time_weights, const int32_t *bias, void *state,
                             int8_t *output);
int32_t aiotc_svdf_packed_s8_get_buffer_size(const aiotc_svdf_dims *dims);

/* bias may be NULL; the output is clamped to `activation`. */
int32_t aiotc_svdf_f32(const aiotc_svdf_dims *dims, const aiotc_activation_f32 *activation, const float *input,
                       const float *feature_weights, const float *time_weights, const float *bias, float *state,
                       float *output);

#endif /* AIOTC_NN_RECURRENT_H */
