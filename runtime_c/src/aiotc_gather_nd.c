/* GATHER_ND on bytes: one kernel for every element size, indices read at run time. */
#include <string.h>

#include "aiotc_nn_movement.h"

int32_t aiotc_gather_nd(const aiotc_gather_nd_params *params, const int32_t *indices, const void *input,
                        void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const size_t slice_bytes = (size_t)params->slice_size * (size_t)params->element_size;
    int32_t s, j;
    if (params->depth < 0 || params->depth > AIOTC_GATHER_ND_MAX_DEPTH) {
        return AIOTC_ARG_ERROR;
    }
    for (s = 0; s < params->slices; s++) {
        int64_t from = 0; /* wide: a large index times a stride must not wrap into range */
        for (j = 0; j < params->depth; j++) {
            from += (int64_t)indices[j] * params->strides[j];
        }
        indices += params->depth;
        if (from < 0 || from + params->slice_size > params->input_size) {
            return AIOTC_ARG_ERROR;
        }
        memcpy(out, in + (size_t)from * (size_t)params->element_size, slice_bytes);
        out += slice_bytes;
    }
    return AIOTC_OK;
}
