/* int8 batched matrix product of two activations (or an activation and a constant
 * fully connected packing cannot take), TFLite Micro's BatchMatMul in other words: each
 * rhs batch copied transposed into scratch, 2 lhs rows x 2 rhs columns at a time, the
 * zero points as row and column sums (aiotc_nn_matmul_packed.h: the loop, its DSP and
 * MVE paths). */
#include "aiotc_nn_matmul_packed.h"

int32_t aiotc_batch_matmul_packed_s8_get_buffer_size(const aiotc_matmul_shape *shape)
{
    return aiotc_matmul_packed_buffer(AIOTC_MATMUL_S8, shape);
}

int32_t aiotc_batch_matmul_packed_s8(const aiotc_context *ctx, const aiotc_batch_matmul_params *params,
                                     const aiotc_matmul_shape *shape, const int8_t *lhs, const int8_t *rhs,
                                     int8_t *output)
{
    return aiotc_matmul_packed(AIOTC_MATMUL_S8, ctx, params, shape, lhs, rhs, output);
}
