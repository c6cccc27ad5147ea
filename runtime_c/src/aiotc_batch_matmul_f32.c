/* float32 batched matrix product; each output sums its products in depth order, as TFLite Micro. */
#include "aiotc_nn_matmul.h"

int32_t aiotc_batch_matmul_f32(const aiotc_matmul_shape *shape, const float *lhs, const float *rhs, float *output)
{
    int32_t b0, b1, i, j, k;
    for (b0 = 0; b0 < shape->batch[0]; b0++) {
        for (b1 = 0; b1 < shape->batch[1]; b1++) {
            const float *l = lhs + b0 * shape->lhs_batch_stride[0] + b1 * shape->lhs_batch_stride[1];
            const float *r = rhs + b0 * shape->rhs_batch_stride[0] + b1 * shape->rhs_batch_stride[1];
            for (i = 0; i < shape->rows; i++) {
                for (j = 0; j < shape->cols; j++) {
                    float acc = 0.0f;
                    for (k = 0; k < shape->depth; k++) {
                        acc += l[i * shape->lhs_row_stride + k * shape->lhs_depth_stride] *
                               r[k * shape->rhs_depth_stride + j * shape->rhs_col_stride];
                    }
                    *output++ = acc;
                }
            }
        }
    }
    return AIOTC_OK;
}
