/* int8 PReLU with broadcasting (TFLite Micro's BroadcastPrelu4DSlow): non-negative
 * inputs are rescaled, negative ones multiplied by alpha first, both in integers. */
#include "aiotc_nn_activation.h"
#include "aiotc_nn_support.h"

int32_t aiotc_prelu_s8(const aiotc_prelu_params *params, const aiotc_broadcast_shape *shape, const int8_t *input,
                       const int8_t *alpha, int8_t *output)
{
    AIOTC_FOR_EACH_BROADCAST(shape, i1, i2, {
        const int32_t x = params->input_offset + input[i1];
        int32_t y;
        if (x >= 0) {
            y = aiotc_requantize(x, params->identity.multiplier, params->identity.shift);
        } else {
            const int32_t a = params->alpha_offset + alpha[i2];
            y = aiotc_requantize(x * a, params->alpha.multiplier, params->alpha.shift);
        }
        y += params->output_offset;
        *output++ = (int8_t)AIOTC_CLAMP(y, -128, 127);
    });
    return AIOTC_OK;
}
