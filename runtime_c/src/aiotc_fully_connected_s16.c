/* 16x8 fully connected (TFLite's int16 FullyConnected with int64 bias): the byte-pair
 * gemm of aiotc_nn_gemm_s16.h, one input row at a time. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm_s16.h"

int32_t aiotc_fully_connected_s16(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                  const aiotc_dims *input_dims, const int16_t *input, const aiotc_dims *filter_dims,
                                  const int8_t *filter, const int64_t *scaled_bias, const aiotc_dims *output_dims,
                                  int16_t *output)
{
    const aiotc_gemm16 g = {filter,
                            input_dims->c,
                            output_dims->c,
                            scaled_bias,
                            quant_params->multiplier,
                            quant_params->shift,
                            params->activation.min,
                            params->activation.max};
    int32_t b;
    if (filter_dims->c != g.k || filter_dims->n != g.rows) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
        aiotc_gemm_s16(&g, input + b * g.k, output + b * g.rows);
    }
    return AIOTC_OK;
}
