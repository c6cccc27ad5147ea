/* aiotc runtime: elementwise arithmetic, reductions and activations.
 *
 * Binary ops broadcast NumPy-style over 4-D NHWC shapes: the caller passes the
 * output dims and, per input, the element stride of each dimension (0 where that
 * input is broadcast). Integer kernels reproduce TFLite Micro's reference integer
 * arithmetic exactly; every constant they need is computed at compile time. */
#ifndef AIOTC_NN_ELEMENTWISE_H
#define AIOTC_NN_ELEMENTWISE_H

#include "aiotc_nn_types.h"

typedef struct {
    aiotc_dims output;  /* output dims */
    aiotc_dims stride1; /* element strides of input 1 per output dimension (0 = broadcast) */
    aiotc_dims stride2;
} aiotc_broadcast_shape;

/* How an input's strides read the output: 1 when in the output's own layout (the same
 * shape), 0 when one value for all (a scalar), -1 otherwise. The stride of a dimension
 * of size 1 is never stepped along: it does not count. */
static inline int32_t aiotc_broadcast_flat_step(const aiotc_dims *out, const aiotc_dims *stride)
{
    const int32_t wc = out->w * out->c, hwc = out->h * wc;
    if ((stride->n == 0 || out->n == 1) && (stride->h == 0 || out->h == 1) && (stride->w == 0 || out->w == 1) &&
        (stride->c == 0 || out->c == 1)) {
        return 0;
    }
    return (stride->n == hwc || out->n == 1) && (stride->h == wc || out->h == 1) &&
                   (stride->w == out->c || out->w == 1) && (stride->c == 1 || out->c == 1)
               ? 1
               : -1;
}

/* The one index walk of the broadcasting kernels, a row at a time: the statements run
 * once per row of `count` outputs from output offset `o`, in NHWC order, whose inputs
 * start at offsets i1 and i2 and step by step1 and step2 elements (0: broadcast). Where
 * each input has the output's layout or is one value, the whole output is one row, so a
 * kernel's fast inner loop sees it at once (steps 1 or 0); otherwise a row is the
 * channels of one pixel. */
#define AIOTC_FOR_EACH_BROADCAST_ROW(shape, o, i1, step1, i2, step2, count, ...)                            \
    do {                                                                                                 \
        const aiotc_dims *const out_ = &(shape)->output, *const s1_ = &(shape)->stride1;                 \
        const aiotc_dims *const s2_ = &(shape)->stride2;                                                 \
        const int32_t flat1_ = aiotc_broadcast_flat_step(out_, s1_);                                     \
        const int32_t flat2_ = aiotc_broadcast_flat_step(out_, s2_);                                     \
        const int32_t total_ = out_->n * out_->h * out_->w * out_->c;                                    \
        if (total_ == 0) {                                                                               \
            /* no rows (a kernel may read a row's first inputs before its loop) */                       \
        } else if (flat1_ >= 0 && flat2_ >= 0) {                                                         \
            const int32_t o = 0, i1 = 0, i2 = 0, step1 = flat1_, step2 = flat2_, count = total_;         \
            __VA_ARGS__                                                                                  \
        } else {                                                                                         \
            int32_t n_, h_, w_;                                                                          \
            for (n_ = 0; n_ < out_->n; n_++) {                                                           \
                for (h_ = 0; h_ < out_->h; h_++) {                                                       \
                    for (w_ = 0; w_ < out_->w; w_++) {                                                   \
                        const int32_t o = ((n_ * out_->h + h_) * out_->w + w_) * out_->c;                \
                        const int32_t i1 = n_ * s1_->n + h_ * s1_->h + w_ * s1_->w;                      \
                        const int32_t i2 = n_ * s2_->n + h_ * s2_->h + w_ * s2_->w;                      \
                        const int32_t step1 = s1_->c, step2 = s2_->c, count = out_->c;                   \
                        __VA_ARGS__                                                                      \
                    }                                                                                    \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
    } while (0)

/* The same walk an element at a time: the statements run once per output element, in
 * NHWC order, with i1 and i2 that element's offsets into the two inputs. */
#define AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, ...)                                                   \
    AIOTC_FOR_EACH_BROADCAST_ROW(shape, o_, r1_, t1_, r2_, t2_, k_, {                                  \
        int32_t j_;                                                                                    \
        (void)o_;                                                                                      \
        for (j_ = 0; j_ < k_; j_++) {                                                                  \
            const int32_t i1 = r1_ + j_ * t1_;                                                         \
            const int32_t i2 = r2_ + j_ * t2_;                                                         \
            __VA_ARGS__                                                                                \
        }                                                                                              \
    })

typedef struct {
    int32_t input1_offset; /* -zero points of the inputs */
    int32_t input2_offset;
    int32_t output_offset; /* +zero point of the output */
    int32_t left_shift;    /* add/sub: inputs are scaled by 2^left_shift before rescaling */
    aiotc_per_tensor_quant_params input1;
    aiotc_per_tensor_quant_params input2;
    aiotc_per_tensor_quant_params output;
    aiotc_activation activation;
} aiotc_arith_params;

/* Addition (or subtraction) with each input rescaled by a table of its 256 values:
 * table[(uint8_t)x] = TFLite's rescaled input (negated in table2 for a subtraction).
 * Uses params->output, output_offset and activation only. */
int32_t aiotc_add_table_s8(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape,
                           const int32_t *table1, const int32_t *table2, const int8_t *input1,
                           const int8_t *input2, int8_t *output);
/* int16 addition (subtract 0) or subtraction (1) as TFLite Micro's reference computes it
 * for int16 (AddElementwise, SubElementwise, their broadcasts): each input offset,
 * shifted left by params->left_shift (15) and rescaled by its multiplier, then the sum
 * (or difference) requantized to the output, offset and clamped. */
int32_t aiotc_add_s16(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape, int32_t subtract,
                      const int16_t *input1, const int16_t *input2, int16_t *output);
/* Mul uses input offsets and params->output only. */
int32_t aiotc_mul_s8(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape, const int8_t *input1,
                     const int8_t *input2, int8_t *output);
int32_t aiotc_add_f32(const aiotc_activation_f32 *activation, const aiotc_broadcast_shape *shape, const float *input1,
                      const float *input2, float *output);
int32_t aiotc_sub_f32(const aiotc_activation_f32 *activation, const aiotc_broadcast_shape *shape, const float *input1,
                      const float *input2, float *output);
int32_t aiotc_mul_f32(const aiotc_activation_f32 *activation, const aiotc_broadcast_shape *shape, const float *input1,
                      const float *input2, float *output);

typedef struct {
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* +output zero point */
    aiotc_per_tensor_quant_params quant; /* input_scale / output_scale with 1/count folded in */
} aiotc_mean_params;

/* Mean over the dimensions of input_dims where reduce_dims is 1 (as aiotc_dims flags). */
int32_t aiotc_mean_s8(const aiotc_mean_params *params, const aiotc_dims *input_dims, const aiotc_dims *reduce_dims,
                      const int8_t *input, int8_t *output);
int32_t aiotc_mean_f32(const aiotc_dims *input_dims, const aiotc_dims *reduce_dims, const float *input, float *output);
/* A band of rows of a mean over the rows and columns (n = 1): its pixels added to output's
 * per-channel sums, zeroed first if `first`; a last band (count > 0, the whole map's pixels)
 * then divides them: the mean aiotc_mean_f32 gives, bit for bit. */
int32_t aiotc_mean_rows_f32(const aiotc_dims *input_dims, const float *input, int32_t first, int32_t count,
                            float *output);

typedef struct {
    int32_t input_multiplier; /* beta * input scale, Q5.26 rescaling */
    int32_t input_left_shift;
    int32_t diff_min;         /* differences below this contribute exp() = 0 */
} aiotc_softmax_params;

/* Softmax over the last dimension of `rows` rows of `depth` values; output scale 1/256, zero point -128. */
int32_t aiotc_softmax_s8(const aiotc_softmax_params *params, int32_t rows, int32_t depth, const int8_t *input,
                         int8_t *output);
/* The same with an int16 output: scale 1/65536, zero point -32768. */
int32_t aiotc_softmax_s8_s16(const aiotc_softmax_params *params, int32_t rows, int32_t depth, const int8_t *input,
                             int16_t *output);
int32_t aiotc_softmax_f32(float beta, int32_t rows, int32_t depth, const float *input, float *output);

/* --- unary ops --------------------------------------------------------------- */

typedef struct {
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* +output zero point */
    aiotc_per_tensor_quant_params quant;
    aiotc_activation activation;
} aiotc_requantize_params;

/* out = clamp(requantize(in + input_offset) + output_offset): RELU, RELU6, int8 QUANTIZE. */
int32_t aiotc_requantize_s8(const aiotc_requantize_params *params, int32_t size, const int8_t *input,
                            int8_t *output);
/* The same between int8 and int16 (QUANTIZE into and out of 16x8 layers); the clamp is
 * the output type's range. */
int32_t aiotc_requantize_s8_s16(const aiotc_requantize_params *params, int32_t size, const int8_t *input,
                                int16_t *output);
int32_t aiotc_requantize_s16_s8(const aiotc_requantize_params *params, int32_t size, const int16_t *input,
                                int8_t *output);
int32_t aiotc_requantize_s16(const aiotc_requantize_params *params, int32_t size, const int16_t *input,
                             int16_t *output);
/* int32 on one side (TFLite Micro's QUANTIZE between int32 and int8 or int16); the offsets
 * wrap modulo 2^32 as TFLite's int32 arithmetic does. */
int32_t aiotc_requantize_s16_s32(const aiotc_requantize_params *params, int32_t size, const int16_t *input,
                                 int32_t *output);
int32_t aiotc_requantize_s32_s16(const aiotc_requantize_params *params, int32_t size, const int32_t *input,
                                 int16_t *output);
int32_t aiotc_requantize_s8_s32(const aiotc_requantize_params *params, int32_t size, const int8_t *input,
                                int32_t *output);
int32_t aiotc_requantize_s32_s8(const aiotc_requantize_params *params, int32_t size, const int32_t *input,
                                int8_t *output);

typedef struct {
    int32_t input_offset;
    int32_t output_offset;
    aiotc_per_tensor_quant_params identity; /* input >= 0 */
    aiotc_per_tensor_quant_params alpha;    /* input < 0; a negative multiplier means a negative alpha */
} aiotc_leaky_relu_params;

int32_t aiotc_leaky_relu_s8(const aiotc_leaky_relu_params *params, int32_t size, const int8_t *input,
                            int8_t *output);
int32_t aiotc_leaky_relu_s16(const aiotc_leaky_relu_params *params, int32_t size, const int16_t *input,
                             int16_t *output);

/* float -> int8: round(in / scale) + zero_point, clamped; int8 -> float: scale * (in - zero_point). */
int32_t aiotc_quantize_f32_s8(float scale, int32_t zero_point, int32_t size, const float *input, int8_t *output);
int32_t aiotc_dequantize_s8_f32(float scale, int32_t zero_point, int32_t size, const int8_t *input, float *output);

int32_t aiotc_clamp_f32(float min, float max, int32_t size, const float *input, float *output);
int32_t aiotc_leaky_relu_f32(float alpha, int32_t size, const float *input, float *output);
int32_t aiotc_logistic_f32(int32_t size, const float *input, float *output);
int32_t aiotc_tanh_f32(int32_t size, const float *input, float *output);
int32_t aiotc_hard_swish_f32(int32_t size, const float *input, float *output);

/* --- elementwise math (MAXIMUM, MINIMUM, DIV, ABS, SQRT, ...) ----------------- */

/* Selectors of aiotc_math_f32: out = f(in), as TFLite's float reference computes f. */
enum {
    AIOTC_MATH_ABS,
    AIOTC_MATH_NEG,
    AIOTC_MATH_SQRT,
    AIOTC_MATH_RSQRT,
    AIOTC_MATH_SQUARE,
    AIOTC_MATH_EXP,
    AIOTC_MATH_LOG,
    AIOTC_MATH_SIN,
    AIOTC_MATH_COS,
    AIOTC_MATH_CEIL,
    AIOTC_MATH_FLOOR,
    AIOTC_MATH_ROUND, /* to nearest, ties to even */
    AIOTC_MATH_UNARY_COUNT
};

/* Selectors of aiotc_binary_math_{s8,f32}: out = f(in1, in2) (float: clamped). The int8 kernel
 * takes MAXIMUM and MINIMUM only (raw values compared: one quantization for all three
 * tensors, as TFLite Micro assumes). */
enum {
    AIOTC_MATH_MAXIMUM,
    AIOTC_MATH_MINIMUM,
    AIOTC_MATH_DIV,
    AIOTC_MATH_SQUARED_DIFFERENCE,
    AIOTC_MATH_FLOOR_DIV,
    AIOTC_MATH_FLOOR_MOD,
    AIOTC_MATH_BINARY_COUNT
};

int32_t aiotc_math_f32(int32_t op, int32_t size, const float *input, float *output);
int32_t aiotc_binary_math_f32(int32_t op, const aiotc_activation_f32 *activation, const aiotc_broadcast_shape *shape,
                              const float *input1, const float *input2, float *output);
int32_t aiotc_binary_math_s8(int32_t op, const aiotc_broadcast_shape *shape, const int8_t *input1, const int8_t *input2,
                             int8_t *output);

/* The difference of the tables' rescaled inputs, squared and requantized (TFLite's int8
 * SQUARED_DIFFERENCE); tables as aiotc_add_table_s8's, neither negated. */
int32_t aiotc_squared_difference_s8(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape,
                                    const int32_t *table1, const int32_t *table2, const int8_t *input1,
                                    const int8_t *input2, int8_t *output);

/* Selectors of aiotc_compare_{s8,f32}: out (bool, 0 or 1) = in1 <op> in2. */
enum {
    AIOTC_COMPARE_EQUAL,
    AIOTC_COMPARE_NOT_EQUAL,
    AIOTC_COMPARE_GREATER,
    AIOTC_COMPARE_GREATER_EQUAL,
    AIOTC_COMPARE_LESS,
    AIOTC_COMPARE_LESS_EQUAL,
    AIOTC_COMPARE_COUNT
};

#define AIOTC_COMPARE(op, a, b)                                                                                     \
    ((op) == AIOTC_COMPARE_EQUAL           ? (a) == (b)                                                            \
     : (op) == AIOTC_COMPARE_NOT_EQUAL     ? (a) != (b)                                                            \
     : (op) == AIOTC_COMPARE_GREATER       ? (a) > (b)                                                             \
     : (op) == AIOTC_COMPARE_GREATER_EQUAL ? (a) >= (b)                                                            \
     : (op) == AIOTC_COMPARE_LESS          ? (a) < (b)                                                             \
                                           : (a) <= (b))

/* int8 compares the inputs rescaled by tables of their 256 values (table[(uint8_t)x],
 * TFLite's left shift 8 and input-scale multiplier), so differently quantized inputs
 * compare as TFLite compares them. */
int32_t aiotc_compare_s8(int32_t op, const aiotc_broadcast_shape *shape, const int32_t *table1, const int32_t *table2,
                         const int8_t *input1, const int8_t *input2, uint8_t *output);
int32_t aiotc_compare_f32(int32_t op, const aiotc_broadcast_shape *shape, const float *input1, const float *input2,
                          uint8_t *output);

/* Selectors of aiotc_logical: bool (0/1) inputs and output. */
enum { AIOTC_LOGICAL_AND, AIOTC_LOGICAL_OR };

int32_t aiotc_logical(int32_t op, const aiotc_broadcast_shape *shape, const uint8_t *input1, const uint8_t *input2,
                      uint8_t *output);
int32_t aiotc_logical_not(int32_t size, const uint8_t *input, uint8_t *output);

typedef struct {
    aiotc_dims output;    /* output dims */
    aiotc_dims condition; /* element strides per output dimension (0 = broadcast) */
    aiotc_dims stride1;
    aiotc_dims stride2;
} aiotc_select_shape;

/* SELECT_V2: out = condition ? input1 : input2, elements of element_size bytes copied
 * as they are (any type; quantized inputs share the output's quantization). */
int32_t aiotc_select(int32_t element_size, const aiotc_select_shape *shape, const uint8_t *condition,
                     const void *input1, const void *input2, void *output);

#endif /* AIOTC_NN_ELEMENTWISE_H */
