/* DYNAMIC_UPDATE_SLICE on bytes: one kernel for every element size, the start read at run time. */
#include <string.h>

#include "aiotc_nn_movement.h"

/* dst may start below src and overlap it (the planner runs the op in place): chunks no longer
 * than their distance never overlap, and each reads source bytes no chunk has written yet. */
static void copy_forward(uint8_t *dst, const uint8_t *src, size_t bytes)
{
    const uintptr_t to = (uintptr_t)dst, from = (uintptr_t)src; /* the two may be different objects */
    size_t done, gap;
    if (to == from) {
        return;
    }
    if (to > from || from - to >= bytes) {
        memcpy(dst, src, bytes);
        return;
    }
    gap = (size_t)(from - to);
    for (done = 0; done < bytes; done += gap) {
        memcpy(dst + done, src + done, bytes - done < gap ? bytes - done : gap);
    }
}

static int32_t clamped(int32_t value, int32_t high)
{
    return value < 0 ? 0 : value > high ? high : value;
}

int32_t aiotc_dynamic_update_slice(const aiotc_dims *operand_dims, const aiotc_dims *update_dims, const int32_t *start,
                                   int32_t rank, int32_t element_size, const void *operand, const void *update,
                                   void *output)
{
    const aiotc_dims *o = operand_dims, *u = update_dims;
    const size_t size = (size_t)element_size;
    const uint8_t *from = (const uint8_t *)update;
    uint8_t *out = (uint8_t *)output;
    const int32_t lead = 4 - rank; /* axes the dims add in front: start 0 */
    const int32_t room[4] = {o->n - u->n, o->h - u->h, o->w - u->w, o->c - u->c};
    int32_t at[4], i, n, h, w;
    if (rank < 0 || rank > 4) {
        return AIOTC_ARG_ERROR;
    }
    if (o->n * o->h * o->w * o->c == u->n * u->h * u->w * u->c) {
        memcpy(out, from, (size_t)(o->n * o->h * o->w * o->c) * size);
        return AIOTC_OK;
    }
    copy_forward(out, (const uint8_t *)operand, (size_t)(o->n * o->h * o->w * o->c) * size);
    for (i = 0; i < 4; i++) {
        at[i] = i < lead ? 0 : clamped(start[i - lead], room[i]);
    }
    for (n = 0; n < u->n; n++) {
        for (h = 0; h < u->h; h++) {
            for (w = 0; w < u->w; w++) {
                const int32_t row = (((at[0] + n) * o->h + at[1] + h) * o->w + at[2] + w) * o->c + at[3];
                memcpy(out + (size_t)row * size, from, (size_t)u->c * size);
                from += (size_t)u->c * size;
            }
        }
    }
    return AIOTC_OK;
}
