/* int8 fully connected, per-tensor or per-channel, as TFLite Micro's reference computes it. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_support.h"

int32_t aiotc_fully_connected_s8(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                 int8_t *output)
{
    const int32_t depth = input_dims->c, out_c = output_dims->c;
    int32_t b, oc, i;
    if (filter_dims->c != depth || filter_dims->n != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *in = input + b * depth;
        for (oc = 0; oc < out_c; oc++) {
            const int8_t *w = filter + oc * depth;
            int32_t acc = 0;
            for (i = 0; i < depth; i++) {
                acc += (in[i] + params->input_offset) * (w[i] + params->filter_offset);
            }
            if (bias != 0) {
                acc += bias[oc];
            }
            acc = aiotc_requantize(acc, quant_params->multiplier[oc], quant_params->shift[oc]);
            acc += params->output_offset;
            output[b * out_c + oc] = (int8_t)AIOTC_CLAMP(acc, params->activation.min, params->activation.max);
        }
    }
    return AIOTC_OK;
}
