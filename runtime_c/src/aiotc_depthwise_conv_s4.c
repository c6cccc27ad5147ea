/* depthwise convolution (depth multiplier, dilation, per-channel requantization) with int4 weights packed two per byte: the reference loop of aiotc_nn_conv_ref.h. */
#include "aiotc_nn_conv_ref.h"

int32_t aiotc_depthwise_conv_s4(const aiotc_dw_conv_params *params,
                                const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    return aiotc_depthwise_conv_ref(params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims, output, 1);
}
