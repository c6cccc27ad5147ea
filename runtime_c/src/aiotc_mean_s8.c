/* int8 mean: the integer sum over the reduced dimensions, minus count x zero point,
 * requantized by a multiplier with 1/count folded in at compile time (TFLite Micro's
 * QuantizedMeanOrSum). */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_mean_s8(const aiotc_mean_params *params, const aiotc_dims *input_dims, const aiotc_dims *reduce_dims,
                      const int8_t *input, int8_t *output)
{
    /* Output positions walk the kept dimensions (o*); the inner loops the reduced ones (r*). */
    const int32_t on = reduce_dims->n ? 1 : input_dims->n, oh = reduce_dims->h ? 1 : input_dims->h;
    const int32_t ow = reduce_dims->w ? 1 : input_dims->w, oc = reduce_dims->c ? 1 : input_dims->c;
    const int32_t rn = input_dims->n / on, rh = input_dims->h / oh, rw = input_dims->w / ow, rc = input_dims->c / oc;
    const int32_t count = rn * rh * rw * rc;
    int32_t n, h, w, c, i, j, k, l;
    for (n = 0; n < on; n++) {
        for (h = 0; h < oh; h++) {
            for (w = 0; w < ow; w++) {
                for (c = 0; c < oc; c++) {
                    int32_t acc = 0;
                    for (i = 0; i < rn; i++) {
                        for (j = 0; j < rh; j++) {
                            for (k = 0; k < rw; k++) {
                                for (l = 0; l < rc; l++) {
                                    acc += input[(((n + i) * input_dims->h + h + j) * input_dims->w + w + k) *
                                                     input_dims->c + c + l];
                                }
                            }
                        }
                    }
                    acc = aiotc_requantize(acc + params->input_offset * count, params->quant.multiplier, params->quant.shift);
                    acc += params->output_offset;
                    *output++ = (int8_t)AIOTC_CLAMP(acc, -128, 127);
                }
            }
        }
    }
    return AIOTC_OK;
}
