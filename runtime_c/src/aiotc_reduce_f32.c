/* float32 max / min / sum over the reduced dimensions. Like TFLite Micro, max starts
 * from -FLT_MAX and min from FLT_MAX, and sums add in input order. */
#include <float.h>

#include "aiotc_nn_reduce.h"

int32_t aiotc_reduce_f32(const aiotc_reduce_params *params, const aiotc_dims *input_dims,
                         const aiotc_dims *reduce_dims, const float *input, float *output)
{
    const int32_t op = params->operation;
    const int32_t on = reduce_dims->n ? 1 : input_dims->n, oh = reduce_dims->h ? 1 : input_dims->h;
    const int32_t ow = reduce_dims->w ? 1 : input_dims->w, oc = reduce_dims->c ? 1 : input_dims->c;
    const int32_t size = on * oh * ow * oc;
    int32_t n, h, w, c, i;
    if (op != AIOTC_REDUCE_MAX && op != AIOTC_REDUCE_MIN && op != AIOTC_REDUCE_SUM) {
        return AIOTC_ARG_ERROR;
    }
    for (i = 0; i < size; i++) {
        output[i] = op == AIOTC_REDUCE_MAX ? -FLT_MAX : op == AIOTC_REDUCE_MIN ? FLT_MAX : 0.0f;
    }
    /* Input order; each value folds into the output element of its kept coordinates
     * (an index modulo a kept size is the index, modulo 1 it is 0). */
    for (n = 0; n < input_dims->n; n++) {
        for (h = 0; h < input_dims->h; h++) {
            for (w = 0; w < input_dims->w; w++) {
                for (c = 0; c < input_dims->c; c++) {
                    const float x = *input++;
                    float *acc = &output[(((n % on) * oh + h % oh) * ow + w % ow) * oc + c % oc];
                    if (op == AIOTC_REDUCE_SUM) {
                        *acc = x + *acc;
                    } else if (op == AIOTC_REDUCE_MAX ? x > *acc : x < *acc) {
                        *acc = x;
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}
