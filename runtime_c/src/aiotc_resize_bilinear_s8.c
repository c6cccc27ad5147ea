/* RESIZE_BILINEAR, int8, as TFLite's integer reference: Q10 positions, a Q20 sum of the
 * four neighbours rounded half away from zero. In and out share quantization.
 * The reference sums in int64; the four weights add up to 2^20 and the values are int8,
 * so the sum stays within 2^27 and int32 is exact. Per output pixel the weights once,
 * then its channels: MVE 4 at a time (a multiply and three multiply-adds). */
#include "aiotc_nn_movement.h"

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif

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
            const int32_t dy = row_frac[y];
            const int8_t *top = image + rows[2 * y] * row_stride;
            const int8_t *bottom = image + rows[2 * y + 1] * row_stride;
            for (x = 0; x < output_dims->w; x++, output += depth) {
                const int32_t dx = col_frac[x];
                const int32_t w_tl = (1024 - dy) * (1024 - dx), w_bl = dy * (1024 - dx);
                const int32_t w_tr = (1024 - dy) * dx, w_br = dy * dx;
                const int8_t *tl = top + cols[2 * x] * depth, *bl = bottom + cols[2 * x] * depth;
                const int8_t *tr = top + cols[2 * x + 1] * depth, *br = bottom + cols[2 * x + 1] * depth;
                c = 0;
#if defined(__ARM_FEATURE_MVE)
                for (; c + 4 <= depth; c += 4) {
                    int32x4_t sum = vmulq_n_s32(vldrbq_s32(tl + c), w_tl);
                    sum = vmlaq_n_s32(sum, vldrbq_s32(bl + c), w_bl);
                    sum = vmlaq_n_s32(sum, vldrbq_s32(tr + c), w_tr);
                    sum = vmlaq_n_s32(sum, vldrbq_s32(br + c), w_br);
                    /* (sum +- 2^19) / 2^20 truncated: sign(sum) * ((|sum| + 2^19) >> 20) */
                    const int32x4_t q = vshrq_n_s32(vaddq_n_s32(vabsq_s32(sum), 1 << 19), 20);
                    vstrbq_s32(output + c, vpselq_s32(vnegq_s32(q), q, vcmpltq_n_s32(sum, 0)));
                }
#endif
                for (; c < depth; c++) {
                    const int32_t sum = tl[c] * w_tl + bl[c] * w_bl + tr[c] * w_tr + br[c] * w_br;
                    output[c] = (int8_t)((sum + (sum > 0 ? (1 << 19) : -(1 << 19))) / (1 << 20));
                }
            }
        }
    }
    return AIOTC_OK;
}
