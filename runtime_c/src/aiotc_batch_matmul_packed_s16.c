/* int16 batched matrix product, TFLite Micro's BatchMatMul<int16_t, int64_t>: the loop of
 * aiotc_batch_matmul_packed_s8 (aiotc_nn_matmul_packed.h) over int16 copies and int64
 * sums, requantized as TFLite's MultiplyByQuantizedMultiplier(int64_t, ...). */
#include "aiotc_nn_matmul_packed.h"

int32_t aiotc_batch_matmul_packed_s16_get_buffer_size(const aiotc_matmul_shape *shape)
{
    return aiotc_matmul_packed_buffer(AIOTC_MATMUL_S16, shape);
}

int32_t aiotc_batch_matmul_packed_s16(const aiotc_context *ctx, const aiotc_batch_matmul_params *params,
                                      const aiotc_matmul_shape *shape, const int16_t *lhs, const int16_t *rhs,
                                      int16_t *output)
{
    return aiotc_matmul_packed(AIOTC_MATMUL_S16, ctx, params, shape, lhs, rhs, output);
}
