/* aiotc runtime: reductions over dimensions (max, min, sum) and along one axis (arg max, arg min).
 *
 * Reductions walk the input in memory order and fold each value into its output
 * element, as TFLite Micro's reference Reduce does, so float sums add in the same order.
 * int8 SUM is aiotc_mean_s8 with a multiplier that does not fold in 1/count. */
#ifndef AIOTC_NN_REDUCE_H
#define AIOTC_NN_REDUCE_H

#include "aiotc_nn_types.h"

#define AIOTC_REDUCE_MAX 0
#define AIOTC_REDUCE_MIN 1
#define AIOTC_REDUCE_SUM 2 /* float32 only */

typedef struct {
    int32_t operation; /* AIOTC_REDUCE_* */
} aiotc_reduce_params;

/* Reduce the dimensions of input_dims where reduce_dims is 1 (as aiotc_dims flags);
 * the output holds the kept dimensions in order. int8 max/min keep the input's scale. */
int32_t aiotc_reduce_s8(const aiotc_reduce_params *params, const aiotc_dims *input_dims,
                        const aiotc_dims *reduce_dims, const int8_t *input, int8_t *output);
int32_t aiotc_reduce_f32(const aiotc_reduce_params *params, const aiotc_dims *input_dims,
                         const aiotc_dims *reduce_dims, const float *input, float *output);

typedef struct {
    int32_t is_max; /* 1: arg max, 0: arg min */
} aiotc_arg_min_max_params;

/* The index of the first maximum (minimum) along the middle axis of [outer, axis_size, inner];
 * plain comparisons (tflite-micro's GreaterFn / LessFn), so a NaN never replaces the best value. */
int32_t aiotc_arg_min_max_s8(const aiotc_arg_min_max_params *params, int32_t outer, int32_t axis_size,
                             int32_t inner, const int8_t *input, int32_t *output);
int32_t aiotc_arg_min_max_f32(const aiotc_arg_min_max_params *params, int32_t outer, int32_t axis_size,
                              int32_t inner, const float *input, int32_t *output);

#endif /* AIOTC_NN_REDUCE_H */
