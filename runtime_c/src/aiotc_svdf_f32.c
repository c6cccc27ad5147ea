/* TFLite Micro's float SVDF (svdf_common.cc), summing in the same order: each filter's time
 * product from 0, then the bias plus the unit's filters one after another. */
#include <string.h>

#include "aiotc_nn_recurrent.h"
#include "aiotc_nn_support.h"

int32_t aiotc_svdf_f32(const aiotc_svdf_dims *dims, const aiotc_activation_f32 *activation, const float *input,
                       const float *feature_weights, const float *time_weights, const float *bias, float *state,
                       float *output)
{
    const int32_t memory = dims->memory, filters = dims->filters;
    const int32_t units = filters / dims->rank, row = filters * memory;
    int32_t b, f, k, u;
    /* Every value moves one place towards the start: each filter's oldest value leaves. */
    memmove(state, state + 1, (size_t)(dims->batches * row - 1) * sizeof(float));
    for (b = 0; b < dims->batches; b++) {
        const float *x = input + b * dims->input_size;
        float *rows = state + b * row;
        for (f = 0; f < filters; f++) {
            const float *w = feature_weights + f * dims->input_size;
            float sum = 0.0f;
            for (k = 0; k < dims->input_size; k++) {
                sum += w[k] * x[k];
            }
            rows[f * memory + memory - 1] = sum;
        }
        for (u = 0; u < units; u++) {
            float acc = bias ? bias[u] : 0.0f;
            for (k = 0; k < dims->rank; k++) {
                const int32_t filter = u * dims->rank + k;
                const float *w = time_weights + filter * memory, *s = rows + filter * memory;
                float dot = 0.0f;
                int32_t m;
                for (m = 0; m < memory; m++) {
                    dot += w[m] * s[m];
                }
                acc += dot;
            }
            output[b * units + u] = AIOTC_CLAMP(acc, activation->min, activation->max);
        }
    }
    return AIOTC_OK;
}
