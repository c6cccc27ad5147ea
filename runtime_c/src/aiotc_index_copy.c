/* A 4-D gather whose input index is a sum of per-axis tables: one kernel for TILE,
 * BROADCAST_TO, RESIZE_NEAREST_NEIGHBOR, REVERSE_V2, GATHER, MIRROR_PAD,
 * DEPTH_TO_SPACE and SPACE_TO_DEPTH (the tables are computed at compile time). */
#include <string.h>

#include "aiotc_nn_movement.h"

int32_t aiotc_index_copy(const aiotc_dims *output_dims, const int32_t *offsets, int32_t element_size, const void *input,
                         void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const size_t size = (size_t)element_size;
    const int32_t *off_n = offsets;
    const int32_t *off_h = off_n + output_dims->n;
    const int32_t *off_w = off_h + output_dims->h;
    const int32_t *off_c = off_w + output_dims->w;
    int32_t n, h, w, c;
    for (n = 0; n < output_dims->n; n++) {
        for (h = 0; h < output_dims->h; h++) {
            for (w = 0; w < output_dims->w; w++) {
                const int32_t base = off_n[n] + off_h[h] + off_w[w];
                for (c = 0; c < output_dims->c; c++) {
                    memcpy(out, in + (base + off_c[c]) * element_size, size);
                    out += size;
                }
            }
        }
    }
    return AIOTC_OK;
}
