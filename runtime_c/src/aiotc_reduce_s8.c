/* int8 max / min over the reduced dimensions; values are copied, not rescaled
 * (tflite-micro requires the output to keep the input's scale and zero point). */
#include "aiotc_nn_reduce.h"

int32_t aiotc_reduce_s8(const aiotc_reduce_params *params, const aiotc_dims *input_dims,
                        const aiotc_dims *reduce_dims, const int8_t *input, int8_t *output)
{
    const int32_t is_max = params->operation == AIOTC_REDUCE_MAX;
    const int32_t on = reduce_dims->n ? 1 : input_dims->n, oh = reduce_dims->h ? 1 : input_dims->h;
    const int32_t ow = reduce_dims->w ? 1 : input_dims->w, oc = reduce_dims->c ? 1 : input_dims->c;
    const int32_t size = on * oh * ow * oc;
    int32_t n, h, w, c, i;
    if (!is_max && params->operation != AIOTC_REDUCE_MIN) {
        return AIOTC_ARG_ERROR;
    }
    for (i = 0; i < size; i++) {
        output[i] = is_max ? -128 : 127;
    }
    /* Input order; each value folds into the output element of its kept coordinates
     * (an index modulo a kept size is the index, modulo 1 it is 0). */
    for (n = 0; n < input_dims->n; n++) {
        for (h = 0; h < input_dims->h; h++) {
            for (w = 0; w < input_dims->w; w++) {
                for (c = 0; c < input_dims->c; c++) {
                    const int8_t x = *input++;
                    int8_t *acc = &output[(((n % on) * oh + h % oh) * ow + w % ow) * oc + c % oc];
                    if (is_max ? x > *acc : x < *acc) {
                        *acc = x;
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}
