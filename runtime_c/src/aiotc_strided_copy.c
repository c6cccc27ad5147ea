/* A 4-D copy with affine indices on both sides: one kernel for TRANSPOSE and
 * STRIDED_SLICE. The lowering merges axes that step contiguously and picks the innermost
 * axis, so a slice of whole rows is one copy and a transpose reads its input in order.
 * A slice of unit strides may run in place, its output at or below its input: every
 * element moves down or stays, front to back. */
#include <string.h>

#include "aiotc_nn_bytes.h"
#include "aiotc_nn_gemm.h" /* AIOTC_INLINE */
#include "aiotc_nn_movement.h"

/* count elements of `size` bytes, in_step apart in the input and out_step apart in the
 * output: size is a constant where this is inlined, so each memmove is a load and a store;
 * four per pass, as a transpose's runs are long and the loop would cost as much as the copy. */
static AIOTC_INLINE void copy_run(uint8_t *out, const uint8_t *in, int32_t count, int32_t in_step, int32_t out_step,
                                  size_t size)
{
    const int32_t s = in_step * (int32_t)size;
    const int32_t o = out_step * (int32_t)size;
    int32_t i;
    for (i = 0; i + 4 <= count; i += 4) {
        memmove(out, in, size);
        memmove(out + o, in + s, size);
        memmove(out + 2 * o, in + 2 * s, size);
        memmove(out + 3 * o, in + 3 * s, size);
        out += 4 * o;
        in += 4 * s;
    }
    for (; i < count; i++) {
        memmove(out, in, size);
        out += o;
        in += s;
    }
}

int32_t aiotc_strided_copy(const aiotc_dims *dims, int32_t offset, const aiotc_dims *in_step,
                           const aiotc_dims *out_step, int32_t element_size, const void *input, void *output)
{
    /* Steps in bytes, read once: the stores through uint8_t pointers may alias the structs. */
    const int32_t in_n = in_step->n * element_size, in_h = in_step->h * element_size;
    const int32_t in_w = in_step->w * element_size, in_c = in_step->c;
    const int32_t out_n = out_step->n * element_size, out_h = out_step->h * element_size;
    const int32_t out_w = out_step->w * element_size, out_c = out_step->c;
    const int32_t rows_n = dims->n, rows_h = dims->h, rows_w = dims->w, count = dims->c;
    const uint8_t *in = (const uint8_t *)input + offset * element_size;
    uint8_t *out = (uint8_t *)output;
    int32_t n, h, w;
    for (n = 0; n < rows_n; n++) {
        for (h = 0; h < rows_h; h++) {
            const uint8_t *from = in + n * in_n + h * in_h;
            uint8_t *to = out + n * out_n + h * out_h;
            for (w = 0; w < rows_w; w++) {
                if (in_c == 1 && out_c == 1) {
                    aiotc_bytes_copy_down(to, from, count * element_size);
                } else if (element_size == 1) {
                    copy_run(to, from, count, in_c, out_c, 1);
                } else if (element_size == 2) {
                    copy_run(to, from, count, in_c, out_c, 2);
                } else {
                    copy_run(to, from, count, in_c, out_c, 4);
                }
                from += in_w;
                to += out_w;
            }
        }
    }
    return AIOTC_OK;
}
