/* int8 batched matrix product of two activations (or an activation and a constant
 * fully connected packing cannot take), TFLite Micro's BatchMatMul in other words:
 * each batch's rhs is copied transposed into scratch (its columns as contiguous rows,
 * zero padded), then 2 lhs rows x 2 rhs columns at a time take plain dot products of
 * the raw inputs. The zero points enter once per row and per column, as sums:
 * sum((l - zl)(r - zr)) = sum(l r) - zr sum(l) - zl (sum(r) - depth zr).
 * - DSP (Cortex-M4/M7): both operands widened to int16 while copied, so a word of
 *   each holds 2 inputs: 4 SMLAD per 4 words loaded, no unpacking in the loop;
 * - MVE (Cortex-M55): int8 copies, 16 inputs per vector, 4 VMLADAVA per 4 loads;
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
    /* the rhs columns and two lhs rows as int16 (the DSP's need), a correction per column */
    const int32_t kp = BMM_DEPTH(shape->depth), cols = BMM_PAIR(shape->cols);
    return 2 * (cols + 2) * kp + 4 * cols;
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

/* One batch's output rows from the packed columns (the lhs rows copied in pairs): `common`
 * a constant in each copy (aiotc_out_s8_mode; q.shift a right shift where it is 1). */
static AIOTC_INLINE void batch_rows(const aiotc_matmul_shape *shape, aiotc_rq q, int32_t rhs_offset,
                                    int32_t output_offset, const int8_t *l, const bmm_in *columns,
                                    const int32_t *column_terms, bmm_in *rows, int8_t *out, int32_t common)
{
    const int32_t depth = shape->depth, kp = BMM_DEPTH(depth), n_rows = shape->rows, cols = shape->cols;
    const int32_t row_stride = shape->lhs_row_stride, depth_stride = shape->lhs_depth_stride;
    int32_t i, j;
    for (i = 0; i < n_rows; i += 2, l += 2 * row_stride, out += 2 * cols) {
        const int32_t second = i + 1 < n_rows; /* an odd last row pairs with itself */
        const int32_t ta = rhs_offset * copy_row(l, depth_stride, depth, kp, rows);
        const int32_t tb = second ? rhs_offset * copy_row(l + row_stride, depth_stride, depth, kp, rows + kp) : ta;
        const bmm_in *const b = second ? rows + kp : rows;
        for (j = 0; j < cols; j += 2) {
            const int32_t ca = column_terms[j], cb = column_terms[j + 1];
            int32_t acc[4];
            acc[0] = ta + ca;
            acc[1] = ta + cb;
            acc[2] = tb + ca;
            acc[3] = tb + cb;
            dot_2x2(rows, b, columns + j * kp, columns + (j + 1) * kp, kp, acc);
            out[j] = aiotc_out_s8_mode(q, acc[0], output_offset, -128, 127, common);
            if (j + 1 < cols) {
                out[j + 1] = aiotc_out_s8_mode(q, acc[1], output_offset, -128, 127, common);
            }
            if (second) {
                out[cols + j] = aiotc_out_s8_mode(q, acc[2], output_offset, -128, 127, common);
                if (j + 1 < cols) {
                    out[cols + j + 1] = aiotc_out_s8_mode(q, acc[3], output_offset, -128, 127, common);
                }
            }
        }
    }
}

int32_t aiotc_batch_matmul_packed_s8(const aiotc_context *ctx, const aiotc_batch_matmul_params *params,
                                     const aiotc_matmul_shape *shape, const int8_t *lhs, const int8_t *rhs,
                                     int8_t *output)
{
    const aiotc_matmul_shape s = *shape;
    const aiotc_batch_matmul_params p = *params;
    const int32_t kp = BMM_DEPTH(s.depth), cols_p = BMM_PAIR(s.cols);
    /* the requantization without a shift test where it shifts right by 2 or more (aiotc_rq_right) */
    const int32_t common = p.quant.shift <= -2;
    const aiotc_rq q = aiotc_rq_channel(p.quant.multiplier, common ? -p.quant.shift - 2 : p.quant.shift);
    /* layout: cols_p rhs columns, 2 lhs rows (int16-sized whatever bmm_in is), cols_p int32 corrections */
    bmm_in *const columns = (bmm_in *)ctx->buf;
    bmm_in *const rows = columns + cols_p * kp;
    int32_t *const column_terms = (int32_t *)(void *)((int8_t *)ctx->buf + 2 * (cols_p + 2) * kp);
    const int8_t *packed = 0; /* the rhs batch in scratch: broadcast batches pack once */
    int32_t b0, b1, j;
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
            if (common) {
                batch_rows(&s, q, p.rhs_offset, p.output_offset, l, columns, column_terms, rows, output, 1);
            } else {
                batch_rows(&s, q, p.rhs_offset, p.output_offset, l, columns, column_terms, rows, output, 0);
            }
        }
    }
    return AIOTC_OK;
}
