/* RESIZE_BILINEAR, float32, as TFLite's reference: the four neighbours weighted by the
 * fractional input position (computed at compile time per row and column). */
#include "aiotc_nn_movement.h"

int32_t aiotc_resize_bilinear_f32(const aiotc_dims *input_dims, const aiotc_dims *output_dims, const int32_t *rows,
                                  const int32_t *cols, const float *row_frac, const float *col_frac,
                                  const float *input, float *output)
{
    const int32_t depth = output_dims->c;
    const int32_t row_stride = input_dims->w * depth;
    int32_t n, y, x, c;
    for (n = 0; n < output_dims->n; n++) {
        const float *image = input + n * input_dims->h * row_stride;
        for (y = 0; y < output_dims->h; y++) {
            const float dy = row_frac[y];
            const float *top = image + rows[2 * y] * row_stride;
            const float *bottom = image + rows[2 * y + 1] * row_stride;
            for (x = 0; x < output_dims->w; x++) {
                const float dx = col_frac[x];
                const int32_t left = cols[2 * x] * depth;
                const int32_t right = cols[2 * x + 1] * depth;
                for (c = 0; c < depth; c++) {
                    *output++ = top[left + c] * (1 - dy) * (1 - dx) + bottom[left + c] * dy * (1 - dx) +
                                top[right + c] * (1 - dy) * dx + bottom[right + c] * dy * dx;
                }
            }
        }
    }
    return AIOTC_OK;
}
