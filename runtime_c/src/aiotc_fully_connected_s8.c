/* fully connected, per-tensor or per-channel with int8 weights: the reference loop of aiotc_nn_conv_ref.h. */
#include "aiotc_nn_conv_ref.h"

int32_t aiotc_fully_connected_s8(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                 int8_t *output)
{
    return aiotc_fully_connected_ref(params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims, output, 0);
}
