/* A 4-D gather whose input index is a sum of per-axis tables: one kernel for TILE,
 * BROADCAST_TO, RESIZE_NEAREST_NEIGHBOR, REVERSE_V2, GATHER, MIRROR_PAD,
 * DEPTH_TO_SPACE and SPACE_TO_DEPTH (the tables are computed at compile time). */
#include <string.h>

#include "aiotc_nn_bytes.h"
#include "aiotc_nn_gemm.h" /* AIOTC_INLINE */
#include "aiotc_nn_movement.h"

/* count elements of `size` bytes from the input at offsets (in elements): size is a
 * constant where this is inlined, so each memcpy is a load and a store. */
static AIOTC_INLINE void gather_run(uint8_t *out, const uint8_t *in, const int32_t *offsets, int32_t count,
                                    size_t size)
{
    int32_t c;
    for (c = 0; c < count; c++) {
        memcpy(out, in + offsets[c] * (int32_t)size, size);
        out += size;
    }
}

int32_t aiotc_index_copy(const aiotc_dims *output_dims, const int32_t *offsets, int32_t element_size, const void *input,
                         void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t count = output_dims->c;
    const int32_t run = count * element_size;
    const int32_t *off_n = offsets;
    const int32_t *off_h = off_n + output_dims->n;
    const int32_t *off_w = off_h + output_dims->h;
    const int32_t *off_c = off_w + output_dims->w;
    int32_t whole_rows = 1; /* the innermost table steps by one: rows are copied whole */
    int32_t n, h, w, c;
    for (c = 1; c < count; c++) {
        whole_rows &= off_c[c] == off_c[c - 1] + 1;
    }
    for (n = 0; n < output_dims->n; n++) {
        for (h = 0; h < output_dims->h; h++) {
            for (w = 0; w < output_dims->w; w++) {
                const uint8_t *from = in + (off_n[n] + off_h[h] + off_w[w]) * element_size;
                if (whole_rows) {
                    aiotc_bytes_copy(out, from + off_c[0] * element_size, run);
                } else if (element_size == 1) {
                    gather_run(out, from, off_c, count, 1);
                } else if (element_size == 2) {
                    gather_run(out, from, off_c, count, 2);
                } else {
                    gather_run(out, from, off_c, count, 4);
                }
                out += run;
            }
        }
    }
    return AIOTC_OK;
}
