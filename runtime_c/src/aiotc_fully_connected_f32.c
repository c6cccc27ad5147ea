/* float32 fully connected, as TFLite's reference computes it: each output's products
 * summed in input order, then its bias. Rows are taken 4 at a time, so that each input
 * is read once per 4 rows (on the M4 and M55 the loads, not the multiply-adds, were
 * most of the loop); every row's sum is the same sequence of operations, so the result
 * is the same float for float. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

/* One output from its sum: the bias added, the activation's clamp. */
static float finish(float acc, const float *bias, int32_t oc, const aiotc_activation_f32 *activation)
{
    if (bias != 0) {
        acc += bias[oc];
    }
    return AIOTC_CLAMP(acc, activation->min, activation->max);
}

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
        float *out = output + b * out_c;
        for (oc = 0; oc + 4 <= out_c; oc += 4) {
            const float *w0 = filter + oc * depth, *w1 = w0 + depth, *w2 = w1 + depth, *w3 = w2 + depth;
            float a[4];
            aiotc_dot4_f32(in, depth, w0, w1, w2, w3, a);
            out[oc] = finish(a[0], bias, oc, activation);
            out[oc + 1] = finish(a[1], bias, oc + 1, activation);
            out[oc + 2] = finish(a[2], bias, oc + 2, activation);
            out[oc + 3] = finish(a[3], bias, oc + 3, activation);
        }
        for (; oc < out_c; oc++) {
            const float *w = filter + oc * depth;
            float acc = 0.0f;
            for (i = 0; i < depth; i++) {
                acc += in[i] * w[i];
            }
            out[oc] = finish(acc, bias, oc, activation);
        }
    }
    return AIOTC_OK;
}
