/* float32 transposed convolution (TFLite's reference TransposeConv). */
#include "aiotc_nn_transpose_conv.h"

int32_t aiotc_transpose_conv_f32(const aiotc_conv_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                                 const aiotc_dims *filter_dims, const float *filter, const float *bias,
                                 const aiotc_dims *output_dims, float *output)
{
    aiotc_transpose_args a;
    memset(&a, 0, sizeof a);
    a.stride = params->stride;
    a.padding = params->padding;
    a.act_min_f32 = params->activation.min;
    a.act_max_f32 = params->activation.max;
    a.bias = bias;
    return aiotc_transpose_conv_loop(&a, AIOTC_TRANSPOSE_F32, input_dims, input, filter_dims, filter, output_dims, output);
}
