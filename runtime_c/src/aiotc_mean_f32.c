/* float32 mean over the reduced dimensions. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_mean_f32(const aiotc_dims *input_dims, const aiotc_dims *reduce_dims, const float *input, float *output)
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
                    float acc = 0.0f;
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
                    *output++ = acc / (float)count;
                }
            }
        }
    }
    return AIOTC_OK;
}
