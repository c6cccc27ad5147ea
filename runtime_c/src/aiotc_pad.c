/* PAD: fill the output with the pad value, then copy each input row into place. */
#include <string.h>

#include "aiotc_nn_movement.h"

int32_t aiotc_pad(const aiotc_dims *input_dims, const aiotc_dims *before, const aiotc_dims *output_dims,
                  int32_t element_size, const void *pad_value, const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t total = output_dims->n * output_dims->h * output_dims->w * output_dims->c;
    const size_t row = (size_t)(input_dims->c * element_size);
    int32_t i, n, h, w;
    for (i = 0; i < total; i++) {
        memcpy(out + i * element_size, pad_value, (size_t)element_size);
    }
    for (n = 0; n < input_dims->n; n++) {
        for (h = 0; h < input_dims->h; h++) {
            for (w = 0; w < input_dims->w; w++) {
                const int32_t at = (((n + before->n) * output_dims->h + h + before->h) * output_dims->w + w + before->w) *
                                       output_dims->c + before->c;
                memcpy(out + at * element_size, in, row);
                in += row;
            }
        }
    }
    return AIOTC_OK;
}
