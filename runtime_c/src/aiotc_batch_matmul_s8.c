/* int8 batched matrix product: the int32 sum of zero-point-corrected products,
 * requantized (TFLite Micro's reference BatchMatMul). */
#include "aiotc_nn_matmul.h"
#include "aiotc_nn_support.h"

int32_t aiotc_batch_matmul_s8(const aiotc_batch_matmul_params *params, const aiotc_matmul_shape *shape,
                              const int8_t *lhs, const int8_t *rhs, int8_t *output)
{
    int32_t b0, b1, i, j, k;
    for (b0 = 0; b0 < shape->batch[0]; b0++) {
        for (b1 = 0; b1 < shape->batch[1]; b1++) {
            const int8_t *l = lhs + b0 * shape->lhs_batch_stride[0] + b1 * shape->lhs_batch_stride[1];
            const int8_t *r = rhs + b0 * shape->rhs_batch_stride[0] + b1 * shape->rhs_batch_stride[1];
            for (i = 0; i < shape->rows; i++) {
                for (j = 0; j < shape->cols; j++) {
                    int32_t acc = 0;
                    for (k = 0; k < shape->depth; k++) {
                        const int32_t a = l[i * shape->lhs_row_stride + k * shape->lhs_depth_stride] + params->lhs_offset;
                        const int32_t x = r[k * shape->rhs_depth_stride + j * shape->rhs_col_stride] + params->rhs_offset;
                        acc += a * x;
                    }
                    acc = aiotc_requantize(acc, params->quant.multiplier, params->quant.shift) + params->output_offset;
                    *output++ = (int8_t)AIOTC_CLAMP(acc, -128, 127);
                }
            }
        }
    }
    return AIOTC_OK;
}
