/* aiotc runtime: batched matrix products of two activations (or an activation and a constant). */
#ifndef AIOTC_NN_MATMUL_H
#define AIOTC_NN_MATMUL_H

#include "aiotc_nn_types.h"

typedef struct {
    int32_t batch[2];            /* output batch dims (1 for missing ones) */
    int32_t lhs_batch_stride[2]; /* element strides of each operand per batch dim, 0 where broadcast */
    int32_t rhs_batch_stride[2];
    int32_t rows, cols, depth;
    int32_t lhs_row_stride, lhs_depth_stride; /* strides express adj_x / adj_y: no transposed copies */
    int32_t rhs_depth_stride, rhs_col_stride;
} aiotc_matmul_shape;

typedef struct {
    int32_t lhs_offset; /* -zero points */
    int32_t rhs_offset;
    int32_t output_offset;
    aiotc_per_tensor_quant_params quant; /* lhs scale * rhs scale / output scale */
} aiotc_batch_matmul_params;

/* output[b][i][j] = sum over k of lhs[b][i][k] * rhs[b][k][j], row-major [batch..., rows, cols]. */
int32_t aiotc_batch_matmul_s8(const aiotc_batch_matmul_params *params, const aiotc_matmul_shape *shape,
                              const int8_t *lhs, const int8_t *rhs, int8_t *output);
/* The same over rhs columns copied into scratch, zero points applied by row and column sums:
 * DSP and MVE dot products (aiotc_batch_matmul_packed_s8.c). */
int32_t aiotc_batch_matmul_packed_s8(const aiotc_context *ctx, const aiotc_batch_matmul_params *params,
                                     const aiotc_matmul_shape *shape, const int8_t *lhs, const int8_t *rhs,
                                     int8_t *output);
int32_t aiotc_batch_matmul_packed_s8_get_buffer_size(const aiotc_matmul_shape *shape);
/* int16 (int64 sums), the structure of the one above; quant holds the multiplier reduced
 * to 16 bits and the total right shift of aiotc_requantize_s64 (aiotc_nn_gemm_s16.h). */
int32_t aiotc_batch_matmul_packed_s16(const aiotc_context *ctx, const aiotc_batch_matmul_params *params,
                                      const aiotc_matmul_shape *shape, const int16_t *lhs, const int16_t *rhs,
                                      int16_t *output);
int32_t aiotc_batch_matmul_packed_s16_get_buffer_size(const aiotc_matmul_shape *shape);
int32_t aiotc_batch_matmul_f32(const aiotc_matmul_shape *shape, const float *lhs, const float *rhs, float *output);

#endif /* AIOTC_NN_MATMUL_H */
