/* A 4-D gather with affine indices: one kernel for TRANSPOSE and STRIDED_SLICE. */
#include <string.h>

#include "aiotc_nn_movement.h"

int32_t aiotc_strided_copy(const aiotc_dims *output_dims, int32_t offset, const aiotc_dims *step, int32_t element_size,
                           const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const size_t size = (size_t)element_size;
    int32_t n, h, w, c;
    for (n = 0; n < output_dims->n; n++) {
        for (h = 0; h < output_dims->h; h++) {
            for (w = 0; w < output_dims->w; w++) {
                const int32_t base = offset + n * step->n + h * step->h + w * step->w;
                for (c = 0; c < output_dims->c; c++) {
                    memcpy(out, in + (base + c * step->c) * element_size, size);
                    out += size;
                }
            }
        }
    }
    return AIOTC_OK;
}
