/* aiotc runtime: activations beyond aiotc_nn_elementwise.h (PReLU, lookup tables).
 * Integer kernels reproduce TFLite Micro's reference arithmetic; every constant
 * (multipliers, tables) is computed at compile time. */
#ifndef AIOTC_NN_ACTIVATION_H
#define AIOTC_NN_ACTIVATION_H

#include "aiotc_nn_elementwise.h"

typedef struct {
    int32_t input_offset; /* -input zero point */
    int32_t alpha_offset; /* -alpha zero point */
    int32_t output_offset;
    aiotc_per_tensor_quant_params identity; /* x >= 0: input scale / output scale */
    aiotc_per_tensor_quant_params alpha;    /* x < 0: input scale * alpha scale / output scale */
} aiotc_prelu_params;

/* PReLU: x >= 0 ? x : alpha * x, input and alpha broadcast to shape->output. */
int32_t aiotc_prelu_s8(const aiotc_prelu_params *params, const aiotc_broadcast_shape *shape, const int8_t *input,
                       const int8_t *alpha, int8_t *output);
int32_t aiotc_prelu_f32(const aiotc_broadcast_shape *shape, const float *input, const float *alpha, float *output);

/* output[i] = table[(uint8_t)input[i]]: any int8 -> int8 function tabulated at compile time
 * (ELU, GELU, LOGISTIC, TANH, HARD_SWISH, ABS, RSQRT). */
int32_t aiotc_lookup_s8(const int8_t *table, int32_t size, const int8_t *input, int8_t *output);

int32_t aiotc_elu_f32(int32_t size, const float *input, float *output);
/* float32 GELU: 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3))) when `approximate`, else
 * 0.5 x (1 + erf(x / sqrt(2))). (int8 GELU is a table: aiotc_lookup_s8.) */
int32_t aiotc_gelu_f32(int32_t approximate, int32_t size, const float *input, float *output);

/* Each of `rows` rows of `depth` values divided by its L2 norm; int8 output has scale 1/128,
 * zero point 0 (TFLite Micro's integer L2Normalization, an integer inverse square root). */
int32_t aiotc_l2_normalization_s8(int32_t input_offset, int32_t rows, int32_t depth, const int8_t *input,
                                  int8_t *output);
int32_t aiotc_l2_normalization_f32(int32_t rows, int32_t depth, const float *input, float *output);

typedef struct {
    int32_t input_multiplier;  /* input differences to Q5.26 */
    int32_t input_left_shift;
    int32_t reverse_multiplier; /* Q5.26 back to input differences */
    int32_t reverse_shift;
    int32_t diff_min;           /* differences below it contribute exp() = 0 */
} aiotc_log_softmax_params;

/* log(softmax(x)) over each of `rows` rows of `depth` values; int8 output has scale
 * 16/256 and zero point 127 (TFLite Micro's LogSoftmaxQuantized). */
int32_t aiotc_log_softmax_s8(const aiotc_log_softmax_params *params, int32_t rows, int32_t depth,
                             const int8_t *input, int8_t *output);
int32_t aiotc_log_softmax_f32(int32_t rows, int32_t depth, const float *input, float *output);

typedef struct { /* ADD_N and CUMSUM: each input rescaled as ADD rescales it, summed, requantized */
    int32_t input_offset; /* -zero point, shared by all inputs */
    int32_t output_offset;
    int32_t left_shift;   /* 20, as ADD */
    aiotc_per_tensor_quant_params input;
    aiotc_per_tensor_quant_params output;
} aiotc_rescaled_sum_params;

/* The element-wise sum of `count` inputs of `size` elements each. int8 reproduces
 * TFLite's AddN, which also adds one extra (rescaled) -zero point. */
int32_t aiotc_add_n_s8(const aiotc_rescaled_sum_params *params, int32_t count, int32_t size, const int8_t *const *inputs,
                       int8_t *output);
int32_t aiotc_add_n_f32(int32_t count, int32_t size, const float *const *inputs, float *output);

/* Running sums along the middle axis of [before, depth, after] (from its end when reverse;
 * exclusive: each output leaves its own input out). int8 starts, as TFLite, from the
 * rescaled input offset. */
int32_t aiotc_cumsum_s8(const aiotc_rescaled_sum_params *params, int32_t before, int32_t depth, int32_t after,
                        int32_t exclusive, int32_t reverse, const int8_t *input, int8_t *output);
int32_t aiotc_cumsum_f32(int32_t before, int32_t depth, int32_t after, int32_t exclusive, int32_t reverse,
                         const float *input, float *output);

#endif /* AIOTC_NN_ACTIVATION_H */
