/* fully connected, per-tensor or per-channel with int8 weights in TFLite's order (those
 * the packed kernel's byte pairs cannot hold, or where its scratch would not pay): with
 * symmetric weights, each row's dot product on the DSP or MVE paths of aiotc_nn_dot_s8.h,
 * requantized in one rounding step (the same integers); otherwise the reference loop of
 * aiotc_nn_conv_ref.h. */
#include "aiotc_nn_conv_ref.h"
#include "aiotc_nn_dot_s8.h"

int32_t aiotc_fully_connected_s8(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                 int8_t *output)
{
    /* Copies: after a store through an int8 pointer, fields read through pointers are read again. */
    const aiotc_fc_params p = *params;
    const int32_t depth = input_dims->c, out_c = output_dims->c;
    int32_t b, oc;
    if (p.filter_offset != 0) {
        return aiotc_fully_connected_ref(params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims,
                                         output, 0);
    }
    if (filter_dims->c != depth || filter_dims->n != out_c) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *in = input + b * depth;
        for (oc = 0; oc < out_c; oc++) {
            int32_t acc = aiotc_dot_offset_s8(filter + oc * depth, in, depth, p.input_offset);
            if (bias != 0) {
                acc += bias[oc];
            }
            acc = aiotc_requantize_1r(acc, quant_params->multiplier[oc], quant_params->shift[oc]) + p.output_offset;
            output[b * out_c + oc] = (int8_t)AIOTC_CLAMP(acc, p.activation.min, p.activation.max);
        }
    }
    return AIOTC_OK;
}
