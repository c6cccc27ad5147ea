/* RESIZE_BILINEAR, int8, as TFLite's integer reference: Q10 positions, a Q20 sum of the
 * four neighbours rounded half away from zero. In and out share quantization. */
#include "aiotc_nn_movement.h"

int32_t aiotc_resize_bilinear_s8(const aiotc_dims *input_dims, const aiotc_dims *output_dims, const int32_t *rows,
                                 const int32_t *cols, const int32_t *row_frac, const int32_t *col_frac,
                                 const int8_t *input, int8_t *output)
{
    const int32_t depth = output_dims->c;
    const int32_t row_stride = input_dims->w * depth;
    int32_t n, y, x, c;
    for (n = 0; n < output_dims->n; n++) {
        const int8_t *image = input + n * input_dims->h * row_stride;
        for (y = 0; y < output_dims->h; y++) {
            const int64_t dy = row_frac[y];
            const int8_t *top = image + rows[2 * y] * row_stride;
            const int8_t *bottom = image + rows[2 * y + 1] * row_stride;
            for (x = 0; x < output_dims->w; x++) {
                const int64_t dx = col_frac[x];
                const int32_t left = cols[2 * x] * depth;
                const int32_t right = cols[2 * x + 1] * depth;
                for (c = 0; c < depth; c++) {
                    const int64_t sum = top[left + c] * (1024 - dy) * (1024 - dx) + bottom[left + c] * dy * (1024 - dx) +
                                        top[right + c] * (1024 - dy) * dx + bottom[right + c] * dy * dx;
                    const int64_t round = sum > 0 ? (1 << 19) : -(1 << 19);
                    *output++ = (int8_t)((sum + round) / (1 << 20));
                }
            }
        }
    }
    return AIOTC_OK;
}
