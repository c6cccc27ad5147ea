/* int8 PReLU with broadcasting (TFLite Micro's BroadcastPrelu4DSlow): non-negative
 * inputs are rescaled, negative ones multiplied by alpha first, both in integers. */
#include "aiotc_nn_activation.h"
#include "aiotc_nn_support.h"

int32_t aiotc_prelu_s8(const aiotc_prelu_params *params, const aiotc_broadcast_shape *shape, const int8_t *input,
                       const int8_t *alpha, int8_t *output)
{
    int32_t n, h, w, c;
    for (n = 0; n < shape->output.n; n++) {
        for (h = 0; h < shape->output.h; h++) {
            for (w = 0; w < shape->output.w; w++) {
                const int8_t *in = input + n * shape->stride1.n + h * shape->stride1.h + w * shape->stride1.w;
                const int8_t *al = alpha + n * shape->stride2.n + h * shape->stride2.h + w * shape->stride2.w;
                for (c = 0; c < shape->output.c; c++) {
                    const int32_t x = params->input_offset + in[c * shape->stride1.c];
                    int32_t y;
                    if (x >= 0) {
                        y = aiotc_requantize(x, params->identity.multiplier, params->identity.shift);
                    } else {
                        const int32_t a = params->alpha_offset + al[c * shape->stride2.c];
                        y = aiotc_requantize(x * a, params->alpha.multiplier, params->alpha.shift);
                    }
                    y += params->output_offset;
                    *output++ = (int8_t)AIOTC_CLAMP(y, -128, 127);
                }
            }
        }
    }
    return AIOTC_OK;
}
