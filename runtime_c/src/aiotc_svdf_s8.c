/* TFLite Micro's integer SVDF (svdf_common.cc): the new feature values are requantized to
 * the state's scale and clamped to its type, the time products summed in int32 per unit
 * with the bias, then requantized to int8. The arithmetic is TFLM's, so the result is
 * bit-exact with it; the sums over a unit's filters go straight into its accumulator
 * (the same int32 sum), so no scratch is needed. */
#include <string.h>

#include "aiotc_nn_recurrent.h"
#include "aiotc_nn_support.h"

/* One filter's row of the state (at `at`) times its time weights (at `filter`), less the
 * state's zero point. */
static int32_t time_dot(const void *weights, const void *state, int32_t filter, int32_t at, int32_t memory,
                        int32_t wide, int32_t zero_point)
{
    int32_t sum = 0, m;
    if (wide) {
        const int16_t *w = (const int16_t *)weights + filter, *s = (const int16_t *)state + at;
        for (m = 0; m < memory; m++) {
            sum += w[m] * (s[m] - zero_point);
        }
    } else {
        const int8_t *w = (const int8_t *)weights + filter, *s = (const int8_t *)state + at;
        for (m = 0; m < memory; m++) {
            sum += w[m] * (s[m] - zero_point);
        }
    }
    return sum;
}

int32_t aiotc_svdf_s8(const aiotc_svdf_params_s8 *params, const aiotc_svdf_dims *dims, const int8_t *input,
                      const int8_t *feature_weights, const void *time_weights, const int32_t *bias, void *state,
                      int8_t *output)
{
    const int32_t wide = params->state_bytes == 2, memory = dims->memory, filters = dims->filters;
    const int32_t low = wide ? INT16_MIN : INT8_MIN, high = wide ? INT16_MAX : INT8_MAX;
    const int32_t units = filters / dims->rank, row = filters * memory;
    int32_t b, f, k, u;
    /* Every value moves one place towards the start: each filter's oldest value leaves. */
    memmove(state, (uint8_t *)state + params->state_bytes, (size_t)((dims->batches * row - 1) * params->state_bytes));
    for (b = 0; b < dims->batches; b++) {
        const int8_t *x = input + b * dims->input_size;
        for (f = 0; f < filters; f++) {
            const int8_t *w = feature_weights + f * dims->input_size;
            const int32_t newest = b * row + f * memory + memory - 1;
            int32_t sum = 0, value;
            for (k = 0; k < dims->input_size; k++) {
                sum += w[k] * (x[k] + params->input_offset);
            }
            value = AIOTC_CLAMP(aiotc_requantize(sum, params->feature_quant.multiplier, params->feature_quant.shift),
                                low, high) + params->state_zero_point;
            if (wide) {
                ((int16_t *)state)[newest] = (int16_t)value;
            } else {
                ((int8_t *)state)[newest] = (int8_t)value; /* wraps as TFLM's int8_t store does */
            }
        }
        for (u = 0; u < units; u++) {
            int32_t acc = bias[u];
            for (k = 0; k < dims->rank; k++) {
                const int32_t filter = u * dims->rank + k;
                acc += time_dot(time_weights, state, filter * memory, b * row + filter * memory, memory, wide,
                                params->state_zero_point);
            }
            acc = aiotc_requantize(acc, params->output_quant.multiplier, params->output_quant.shift) +
                  params->output_offset;
            output[b * units + u] = (int8_t)AIOTC_CLAMP(acc, INT8_MIN, INT8_MAX);
        }
    }
    return AIOTC_OK;
}
