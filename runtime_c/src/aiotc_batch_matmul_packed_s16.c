/* int16 batched matrix product, TFLite Micro's BatchMatMul<int16_t, int64_t>: the
 * structure of aiotc_batch_matmul_packed_s8 (each rhs batch copied transposed into
 * scratch, 2 lhs rows x 2 rhs columns at a time, zero points as row and column sums,
 * which tflite-micro has at 0) over int16 copies and int64 sums, requantized as
 * TFLite's MultiplyByQuantizedMultiplier(int64_t, ...) (aiotc_nn_gemm_s16.h).
 * - DSP (Cortex-M4/M7): a word holds 2 inputs, one SMLALD per word pair;
 * - MVE (Cortex-M55): 8 inputs per vector, VMLALDAVA;
 * - portable C: the same sums, input by input. */
#include "aiotc_nn_gemm.h"
#include "aiotc_nn_gemm_s16.h"
#include "aiotc_nn_matmul.h"

#define BMM_PAIR(n) (((n) + 1) & ~1)

int32_t aiotc_batch_matmul_packed_s16_get_buffer_size(const aiotc_matmul_shape *shape)
{
    /* the rhs columns and two lhs rows, an int64 correction per column */
    const int32_t kp = AIOTC_ROW_S16(shape->depth), cols = BMM_PAIR(shape->cols);
    return 2 * (cols + 2) * kp + 8 * cols;
}

/* n inputs, `stride` apart, into a zero padded row of kp; returns their sum. */
static int64_t copy_row(const int16_t *src, int32_t stride, int32_t n, int32_t kp, int16_t *dst)
{
    int64_t sum = 0;
    int32_t k;
    for (k = 0; k < n; k++) {
        dst[k] = src[k * stride];
        sum += dst[k];
    }
    for (; k < kp; k++) {
        dst[k] = 0;
    }
    return sum;
}

/* The 4 dot products of rows a, b and columns c, d (kp a multiple of 8) added to acc: ac, ad, bc, bd. */
static AIOTC_INLINE void dot_2x2(const int16_t *a, const int16_t *b, const int16_t *c, const int16_t *d, int32_t kp,
                                 int64_t acc[4])
{
    int64_t ac = acc[0], ad = acc[1], bc = acc[2], bd = acc[3];
    int32_t k;
#if defined(AIOTC_MVE)
    for (k = 0; k < kp; k += 8) {
        const int16x8_t va = vldrhq_s16(a + k), vb = vldrhq_s16(b + k), vc = vldrhq_s16(c + k), vd = vldrhq_s16(d + k);
        ac = vmlaldavaq_s16(ac, va, vc);
        ad = vmlaldavaq_s16(ad, va, vd);
        bc = vmlaldavaq_s16(bc, vb, vc);
        bd = vmlaldavaq_s16(bd, vb, vd);
    }
#elif defined(AIOTC_DSP)
    for (k = 0; k < kp; k += 2) {
        const int32_t wa = aiotc_load32(a + k), wb = aiotc_load32(b + k), wc = aiotc_load32(c + k),
                      wd = aiotc_load32(d + k);
        ac = __smlald(wa, wc, ac);
        ad = __smlald(wa, wd, ad);
        bc = __smlald(wb, wc, bc);
        bd = __smlald(wb, wd, bd);
    }
#else
    for (k = 0; k < kp; k++) {
        ac += (int32_t)a[k] * c[k];
        ad += (int32_t)a[k] * d[k];
        bc += (int32_t)b[k] * c[k];
        bd += (int32_t)b[k] * d[k];
    }
#endif
    acc[0] = ac;
    acc[1] = ad;
    acc[2] = bc;
    acc[3] = bd;
}

/* quant: the 16-bit multiplier and the total right shift (aiotc_requantize_s64) */
static inline int16_t bmm_out(const aiotc_batch_matmul_params *p, int64_t acc)
{
    const int32_t shift = p->quant.shift;
    const int32_t y = aiotc_requantize_s64(acc * p->quant.multiplier + ((int64_t)1 << (shift - 1)), shift);
    return (int16_t)AIOTC_CLAMP(y + p->output_offset, -32768, 32767);
}

int32_t aiotc_batch_matmul_packed_s16(const aiotc_context *ctx, const aiotc_batch_matmul_params *params,
                                      const aiotc_matmul_shape *shape, const int16_t *lhs, const int16_t *rhs,
                                      int16_t *output)
{
    const aiotc_matmul_shape s = *shape;
    const aiotc_batch_matmul_params p = *params;
    const int32_t kp = AIOTC_ROW_S16(s.depth), cols_p = BMM_PAIR(s.cols);
    /* layout: cols_p rhs columns, 2 lhs rows, cols_p int64 corrections */
    int16_t *const columns = (int16_t *)ctx->buf;
    int16_t *const rows = columns + cols_p * kp;
    int64_t *const column_terms = (int64_t *)(void *)(rows + 2 * kp);
    const int16_t *packed = 0; /* the rhs batch in scratch: broadcast batches pack once */
    int32_t b0, b1, i, j;
    if (ctx->size < aiotc_batch_matmul_packed_s16_get_buffer_size(shape)) {
        return AIOTC_ARG_ERROR;
    }
    for (b0 = 0; b0 < s.batch[0]; b0++) {
        for (b1 = 0; b1 < s.batch[1]; b1++, output += s.rows * s.cols) {
            const int16_t *l = lhs + b0 * s.lhs_batch_stride[0] + b1 * s.lhs_batch_stride[1];
            const int16_t *r = rhs + b0 * s.rhs_batch_stride[0] + b1 * s.rhs_batch_stride[1];
            if (r != packed) {
                for (j = 0; j < cols_p; j++) {
                    const int32_t n = j < s.cols ? s.depth : 0;
                    const int64_t sum = copy_row(r + j * s.rhs_col_stride, s.rhs_depth_stride, n, kp, columns + j * kp);
                    column_terms[j] = p.lhs_offset * (sum + (int64_t)s.depth * p.rhs_offset);
                }
                packed = r;
            }
            for (i = 0; i < s.rows; i += 2, l += 2 * s.lhs_row_stride) {
                const int32_t second = i + 1 < s.rows; /* an odd last row pairs with itself */
                const int64_t ta = p.rhs_offset * copy_row(l, s.lhs_depth_stride, s.depth, kp, rows);
                const int64_t tb =
                    second ? p.rhs_offset * copy_row(l + s.lhs_row_stride, s.lhs_depth_stride, s.depth, kp, rows + kp)
                           : ta;
                int16_t *out = output + i * s.cols;
                for (j = 0; j < s.cols; j += 2) {
                    int64_t acc[4];
                    acc[0] = ta + column_terms[j];
                    acc[1] = ta + column_terms[j + 1];
                    acc[2] = tb + column_terms[j];
                    acc[3] = tb + column_terms[j + 1];
                    dot_2x2(rows, second ? rows + kp : rows, columns + j * kp, columns + (j + 1) * kp, kp, acc);
                    out[j] = bmm_out(&p, acc[0]);
                    if (j + 1 < s.cols) {
                        out[j + 1] = bmm_out(&p, acc[1]);
                    }
                    if (second) {
                        out[s.cols + j] = bmm_out(&p, acc[2]);
                        if (j + 1 < s.cols) {
                            out[s.cols + j + 1] = bmm_out(&p, acc[3]);
                        }
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}
