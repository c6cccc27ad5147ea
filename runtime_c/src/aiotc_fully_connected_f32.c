/* float32 fully connected, as TFLite's reference computes it. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

int32_t aiotc_fully_connected_f32(const aiotc_activation_f32 *activation, const aiotc_dims *input_dims,
                                  const float *input, const aiotc_dims *filter_dims, const float *filter,
                                  const float *bias, const aiotc_dims *output_dims, float *output)
{
    const int32_t depth = input_dims->c, out_c = output_dims->c;
    int32_t b, oc, i;
    if (filter_dims->c != depth || filter_dims->n != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        const float *in = input + b * depth;
        for (oc = 0; oc < out_c; oc++) {
            const float *w = filter + oc * depth;
            float acc = 0.0f;
            for (i = 0; i < depth; i++) {
                acc += in[i] * w[i];
            }
            if (bias != 0) {
                acc += bias[oc];
            }
            output[b * out_c + oc] = AIOTC_CLAMP(acc, activation->min, activation->max);
        }
    }
    return AIOTC_OK;
}
