/* int8 batched matrix product of two activations (or an activation and a constant
 * fully connected packing cannot take), TFLite Micro's BatchMatMul in other words:
 * each batch's rhs is copied transposed into scratch (its columns as contiguous rows,
 * zero padded), then 2 lhs rows x 2 rhs columns at a time take plain dot products of
 * the raw inputs into two rows of int32 sums, requantized a row at a time. The zero
 * points enter once per row and per column, as sums:
 * sum((l - zl)(r - zr)) = sum(l r) - zr sum(l) - zl (sum(r) - depth zr).
 * - DSP (Cortex-M4/M7): both operands widened to int16 while copied, so a word of
 *   each holds 2 inputs: 4 SMLAD per 4 words loaded, no unpacking in the loop;
 * - MVE (Cortex-M55): int8 copies, 16 inputs per vector, 4 VMLADAVA per 4 loads; the
 *   sums requantized 4 at a time;
 * - portable C: the same sums over the int16 copies. */
#include "aiotc_nn_gemm.h"
#include "aiotc_nn_matmul.h"

#define BMM_DEPTH(k) (((k) + 15) & ~15) /* a copied row: whole MVE vectors, whole DSP word pairs */
#define BMM_PAIR(n) (((n) + 1) & ~1)

#if defined(AIOTC_MVE)
typedef int8_t bmm_in;
#else
typedef int16_t bmm_in;
#endif

int32_t aiotc_batch_matmul_packed_s8_get_buffer_size(const aiotc_matmul_shape *shape)
{
    /* the rhs columns and two lhs rows as int16 (the DSP's need), per column a correction and two sums */
    const int32_t kp = BMM_DEPTH(shape->depth), cols = BMM_PAIR(shape->cols);
    return 2 * (cols + 2) * kp + 3 * 4 * cols;
}

/* n inputs, `stride` apart, into a zero padded row of kp; returns their sum. */
static int32_t copy_row(const int8_t *src, int32_t stride, int32_t n, int32_t kp, bmm_in *dst)
{
    int32_t k, sum = 0;
    for (k = 0; k < n; k++) {
        const int32_t v = src[k * stride];
        dst[k] = (bmm_in)v;
        sum += v;
    }
    for (; k < kp; k++) {
        dst[k] = 0;
    }
    return sum;
}

/* The 4 dot products of rows a, b and columns c, d (kp inputs each, kp a multiple of 16)
 * added to acc: ac, ad, bc, bd. */
static AIOTC_INLINE void dot_2x2(const bmm_in *a, const bmm_in *b, const bmm_in *c, const bmm_in *d, int32_t kp,
                                 int32_t acc[4])
{
    int32_t ac = acc[0], ad = acc[1], bc = acc[2], bd = acc[3], k;
#if defined(AIOTC_MVE)
    for (k = 0; k < kp; k += 16) {
        const int8x16_t va = vldrbq_s8(a + k), vb = vldrbq_s8(b + k), vc = vldrbq_s8(c + k), vd = vldrbq_s8(d + k);
        ac = vmladavaq_s8(ac, va, vc);
        ad = vmladavaq_s8(ad, va, vd);
        bc = vmladavaq_s8(bc, vb, vc);
        bd = vmladavaq_s8(bd, vb, vd);
    }
#elif defined(AIOTC_DSP)
    const int32_t *wa = (const int32_t *)(const void *)a, *wb = (const int32_t *)(const void *)b;
    const int32_t *wc = (const int32_t *)(const void *)c, *wd = (const int32_t *)(const void *)d;
    for (k = 0; k < kp / 2; k += 2) { /* 4 inputs: 8 loads, 8 SMLAD */
        const int32_t a0 = wa[k], a1 = wa[k + 1], b0 = wb[k], b1 = wb[k + 1];
        const int32_t c0 = wc[k], c1 = wc[k + 1], d0 = wd[k], d1 = wd[k + 1];
        ac = __smlad(a1, c1, __smlad(a0, c0, ac));
        ad = __smlad(a1, d1, __smlad(a0, d0, ad));
        bc = __smlad(b1, c1, __smlad(b0, c0, bc));
        bd = __smlad(b1, d1, __smlad(b0, d0, bd));
    }
#else
    for (k = 0; k < kp; k++) {
        ac += a[k] * c[k];
        ad += a[k] * d[k];
        bc += b[k] * c[k];
        bd += b[k] * d[k];
    }
#endif
    acc[0] = ac;
    acc[1] = ad;
    acc[2] = bc;
    acc[3] = bd;
}

/* One row of n sums to int8 outputs: `common` as aiotc_out_s8_mode's (q.shift then a right shift). */
static void requantize_row(const aiotc_batch_matmul_params *p, aiotc_rq q, int32_t common, const int32_t *acc,
                           int32_t n, int8_t *out)
{
#if defined(AIOTC_MVE)
    const int32x4_t multiplier = vdupq_n_s32(p->quant.multiplier), shift = vdupq_n_s32(p->quant.shift);
    int32_t j;
    (void)q;
    (void)common;
    for (j = 0; j < n; j += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(n - j));
        int32x4_t y = vaddq_n_s32(aiotc_mve_requantize(vldrwq_s32(acc + j), multiplier, shift), p->output_offset);
        y = vminq_s32(vmaxq_s32(y, vdupq_n_s32(-128)), vdupq_n_s32(127));
        vstrbq_p_s32(out + j, y, lanes);
    }
#else
    aiotc_requantize_strided(q, acc, n, p->output_offset, -128, 127, common, out, 1);
#endif
}

int32_t aiotc_batch_matmul_packed_s8(const aiotc_context *ctx, const aiotc_batch_matmul_params *params,
                                     const aiotc_matmul_shape *shape, const int8_t *lhs, const int8_t *rhs,
                                     int8_t *output)
{
    const aiotc_matmul_shape s = *shape;
    const aiotc_batch_matmul_params p = *params;
    const int32_t kp = BMM_DEPTH(s.depth), cols_p = BMM_PAIR(s.cols);
    /* the scalar requantization without a shift test where it shifts right by 2 or more (aiotc_rq_right) */
    const int32_t common = p.quant.shift <= -2;
    const aiotc_rq q = aiotc_rq_channel(p.quant.multiplier, common ? -p.quant.shift - 2 : p.quant.shift);
    /* layout: cols_p rhs columns, 2 lhs rows (int16-sized whatever bmm_in is), then per column
     * an int32 correction and the sums of the two rows */
    bmm_in *const columns = (bmm_in *)ctx->buf;
    bmm_in *const rows = columns + cols_p * kp;
    int32_t *const column_terms = (int32_t *)(void *)((int8_t *)ctx->buf + 2 * (cols_p + 2) * kp);
    int32_t *const sums = column_terms + cols_p;
    const int8_t *packed = 0; /* the rhs batch in scratch: broadcast batches pack once */
    int32_t b0, b1, i, j;
    if (ctx->size < aiotc_batch_matmul_packed_s8_get_buffer_size(shape)) {
        return AIOTC_ARG_ERROR;
    }
    for (b0 = 0; b0 < s.batch[0]; b0++) {
        for (b1 = 0; b1 < s.batch[1]; b1++, output += s.rows * s.cols) {
            const int8_t *l = lhs + b0 * s.lhs_batch_stride[0] + b1 * s.lhs_batch_stride[1];
            const int8_t *r = rhs + b0 * s.rhs_batch_stride[0] + b1 * s.rhs_batch_stride[1];
            if (r != packed) {
                for (j = 0; j < cols_p; j++) {
                    const int32_t n = j < s.cols ? s.depth : 0;
                    const int32_t sum = copy_row(r + j * s.rhs_col_stride, s.rhs_depth_stride, n, kp, columns + j * kp);
                    column_terms[j] = p.lhs_offset * (sum + s.depth * p.rhs_offset);
                }
                packed = r;
            }
            for (i = 0; i < s.rows; i += 2, l += 2 * s.lhs_row_stride) {
                const int32_t second = i + 1 < s.rows; /* an odd last row pairs with itself */
                const int32_t ta = p.rhs_offset * copy_row(l, s.lhs_depth_stride, s.depth, kp, rows);
                const int32_t tb =
                    second ? p.rhs_offset * copy_row(l + s.lhs_row_stride, s.lhs_depth_stride, s.depth, kp, rows + kp)
                           : ta;
                const bmm_in *const b = second ? rows + kp : rows;
                for (j = 0; j < cols_p; j += 2) {
                    int32_t acc[4];
                    acc[0] = ta + column_terms[j];
                    acc[1] = ta + column_terms[j + 1];
                    acc[2] = tb + column_terms[j];
                    acc[3] = tb + column_terms[j + 1];
                    dot_2x2(rows, b, columns + j * kp, columns + (j + 1) * kp, kp, acc);
                    sums[j] = acc[0];
                    sums[j + 1] = acc[1];
                    sums[cols_p + j] = acc[2];
                    sums[cols_p + j + 1] = acc[3];
                }
                requantize_row(&p, q, common, sums, s.cols, output + i * s.cols);
                if (second) {
                    requantize_row(&p, q, common, sums + cols_p, s.cols, output + (i + 1) * s.cols);
                }
            }
        }
    }
    return AIOTC_OK;
}
