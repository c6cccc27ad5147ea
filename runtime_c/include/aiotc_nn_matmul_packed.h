/* aiotc runtime: the loop of aiotc_batch_matmul_packed_s8 and _s16 (TFLite Micro's
 * BatchMatMul for int8, and int16 with int64 sums), called with a constant `type`, so each
 * kernel gets its own. Each batch's rhs is copied transposed into scratch (its columns as
 * contiguous rows, zero padded), then 2 lhs rows x 2 rhs columns at a time take plain dot
 * products of the raw inputs. The zero points enter once per row and per column, as sums:
 * sum((l - zl)(r - zr)) = sum(l r) - zr sum(l) - zl (sum(r) - depth zr).
 * int8: int32 sums, requantized a row at a time;
 * - DSP (Cortex-M4/M7): both operands widened to int16 while copied, so a word of each
 *   holds 2 inputs: 4 SMLAD per 4 words loaded, no unpacking in the loop;
 * - MVE (Cortex-M55): int8 copies, 16 inputs per vector, 4 VMLADAVA per 4 loads; the sums
 *   requantized 4 at a time;
 * - portable C: the same sums over the int16 copies.
 * int16: int16 copies, int64 sums, each requantized as TFLite's
 * MultiplyByQuantizedMultiplier(int64_t, ...) (aiotc_nn_gemm_s16.h);
 * - DSP: a word holds 2 inputs, one SMLALD per word pair;
 * - MVE: 8 inputs per vector, VMLALDAVA;
 * - portable C: the same sums, input by input. */
#ifndef AIOTC_NN_MATMUL_PACKED_H
#define AIOTC_NN_MATMUL_PACKED_H

#include "aiotc_nn_gemm.h"
#include "aiotc_nn_gemm_s16.h"
#include "aiotc_nn_matmul.h"

enum { AIOTC_MATMUL_S8, AIOTC_MATMUL_S16 };

#if defined(AIOTC_MVE)
typedef int8_t aiotc_matmul_in; /* the int8 kernel's copies */
#else
typedef int16_t aiotc_matmul_in;
#endif

/* A copied row: int8, whole MVE vectors and DSP word pairs (16 inputs); int16, whole MVE vectors (8). */
static inline int32_t aiotc_matmul_row(int32_t type, int32_t depth)
{
    return type == AIOTC_MATMUL_S16 ? AIOTC_ROW_S16(depth) : (depth + 15) & ~15;
}

/* The kernels' *_get_buffer_size: the rhs columns (an even number) and two lhs rows as
 * int16 (the DSP's need; int8 on MVE leaves half unused), then per column an int32
 * correction and two int32 sums (int8) or an int64 correction (int16). */
static inline int32_t aiotc_matmul_packed_buffer(int32_t type, const aiotc_matmul_shape *shape)
{
    const int32_t kp = aiotc_matmul_row(type, shape->depth), cols = (shape->cols + 1) & ~1;
    return 2 * (cols + 2) * kp + (type == AIOTC_MATMUL_S16 ? 8 : 3 * 4) * cols;
}

/* n inputs (int8 or int16), `stride` apart, into a zero padded row of kp copies (int8
 * ones: aiotc_matmul_in); returns their sum (the int8 kernel's: an int32). */
static AIOTC_INLINE int64_t aiotc_matmul_copy_row(int32_t type, const void *src, int32_t stride, int32_t n, int32_t kp,
                                                  void *dst)
{
    const int32_t s16 = type == AIOTC_MATMUL_S16;
    int64_t sum16 = 0;
    int32_t k, sum8 = 0;
    for (k = 0; k < n; k++) {
        const int32_t v = s16 ? ((const int16_t *)src)[k * stride] : ((const int8_t *)src)[k * stride];
        if (s16) {
            ((int16_t *)dst)[k] = (int16_t)v;
            sum16 += v;
        } else {
            ((aiotc_matmul_in *)dst)[k] = (aiotc_matmul_in)v;
            sum8 += v;
        }
    }
    for (; k < kp; k++) {
        if (s16) {
            ((int16_t *)dst)[k] = 0;
        } else {
            ((aiotc_matmul_in *)dst)[k] = 0;
        }
    }
    return s16 ? sum16 : sum8;
}

/* int8: the 4 dot products of rows a, b and columns c, d (kp inputs each, kp a multiple
 * of 16) added to acc: ac, ad, bc, bd. */
static AIOTC_INLINE void aiotc_matmul_dot_s8(const aiotc_matmul_in *a, const aiotc_matmul_in *b,
                                             const aiotc_matmul_in *c, const aiotc_matmul_in *d, int32_t kp,
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
    for (k = 0; k < kp; k += 4) { /* 4 inputs: 8 loads (int16 pairs, as copied: no aliasing), 8 SMLAD */
        const int32_t a0 = aiotc_load32(a + k), a1 = aiotc_load32(a + k + 2);
        const int32_t b0 = aiotc_load32(b + k), b1 = aiotc_load32(b + k + 2);
        const int32_t c0 = aiotc_load32(c + k), c1 = aiotc_load32(c + k + 2);
        const int32_t d0 = aiotc_load32(d + k), d1 = aiotc_load32(d + k + 2);
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

/* int16: the same with int64 sums (kp a multiple of 8). */
static AIOTC_INLINE void aiotc_matmul_dot_s16(const int16_t *a, const int16_t *b, const int16_t *c, const int16_t *d,
                                              int32_t kp, int64_t acc[4])
{
    int64_t ac = acc[0], ad = acc[1], bc = acc[2], bd = acc[3];
#if defined(AIOTC_MVE)
    int32_t k;
    for (k = 0; k < kp; k += 8) {
        const int16x8_t va = vldrhq_s16(a + k), vb = vldrhq_s16(b + k), vc = vldrhq_s16(c + k), vd = vldrhq_s16(d + k);
        ac = vmlaldavaq_s16(ac, va, vc);
        ad = vmlaldavaq_s16(ad, va, vd);
        bc = vmlaldavaq_s16(bc, vb, vc);
        bd = vmlaldavaq_s16(bd, vb, vd);
    }
#elif defined(AIOTC_DSP)
    const int16_t *const end = a + kp; /* pointers, not an index: no register left to spill */
    for (; a < end; a += 2, b += 2, c += 2, d += 2) {
        const int32_t wa = aiotc_load32(a), wb = aiotc_load32(b), wc = aiotc_load32(c), wd = aiotc_load32(d);
        ac = __smlald(wa, wc, ac);
        ad = __smlald(wa, wd, ad);
        bc = __smlald(wb, wc, bc);
        bd = __smlald(wb, wd, bd);
    }
#else
    int32_t k;
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

/* int8: one row of n sums to outputs; `common` as aiotc_out_s8_mode's (q.shift then a right shift). */
static inline void aiotc_matmul_out_row_s8(const aiotc_batch_matmul_params *p, aiotc_rq q, int32_t common,
                                           const int32_t *acc, int32_t n, int8_t *out)
{
#if defined(AIOTC_MVE)
    const int32x4_t multiplier = vdupq_n_s32(p->quant.multiplier), shift = vdupq_n_s32(p->quant.shift);
    int32_t j;
    (void)q;
    (void)common;
    for (j = 0; j < n; j += 4) {
        const mve_pred16_t lanes = vctp32q((uint32_t)(n - j));
        int32x4_t y = vaddq_n_s32(aiotc_mve_requantize(vldrwq_z_s32(acc + j, lanes), multiplier, shift), p->output_offset);
        y = vminq_s32(vmaxq_s32(y, vdupq_n_s32(-128)), vdupq_n_s32(127));
        vstrbq_p_s32(out + j, y, lanes);
    }
#else
    aiotc_requantize_strided(q, acc, n, p->output_offset, -128, 127, common, out, 1);
#endif
}

/* int16: one sum to an output; quant: the 16-bit multiplier and the total right shift (aiotc_requantize_s64). */
static inline int16_t aiotc_matmul_out_s16(const aiotc_batch_matmul_params *p, int64_t acc)
{
    const int32_t shift = p->quant.shift;
    const int32_t y = aiotc_requantize_s64(acc * p->quant.multiplier + ((int64_t)1 << (shift - 1)), shift);
    return (int16_t)AIOTC_CLAMP(y + p->output_offset, -32768, 32767);
}

/* The kernels' loop; always inlined, as aiotc_transpose_conv_phases (aiotc_nn_transpose_conv.h says why). */
static AIOTC_INLINE int32_t aiotc_matmul_packed(int32_t type, const aiotc_context *ctx,
                                                const aiotc_batch_matmul_params *params,
                                                const aiotc_matmul_shape *shape, const void *lhs, const void *rhs,
                                                void *output)
{
    const aiotc_matmul_shape s = *shape;
    const aiotc_batch_matmul_params p = *params;
    const int32_t s16 = type == AIOTC_MATMUL_S16, size = s16 ? 2 : 1; /* bytes per input and output */
    const int32_t copy = s16 ? 2 : (int32_t)sizeof(aiotc_matmul_in);  /* bytes per copied input */
    const int32_t kp = aiotc_matmul_row(type, s.depth), cols_p = (s.cols + 1) & ~1;
    /* int8: the scalar requantization without a shift test where it shifts right by 2 or more (aiotc_rq_right) */
    const int32_t common = p.quant.shift <= -2;
    const aiotc_rq q = aiotc_rq_channel(p.quant.multiplier, common ? -p.quant.shift - 2 : p.quant.shift);
    /* layout: aiotc_matmul_packed_buffer's */
    int8_t *const columns = (int8_t *)ctx->buf;
    int8_t *const rows = columns + cols_p * kp * copy;
    void *const terms = columns + 2 * (cols_p + 2) * kp;
    int32_t *const terms32 = (int32_t *)terms, *const sums = terms32 + cols_p;
    int64_t *const terms64 = (int64_t *)terms;
    const int8_t *packed = 0; /* the rhs batch in scratch: broadcast batches pack once */
    int8_t *out = (int8_t *)output;
    int32_t b0, b1, i, j;
    if (ctx->size < aiotc_matmul_packed_buffer(type, shape)) {
        return AIOTC_ARG_ERROR;
    }
    for (b0 = 0; b0 < s.batch[0]; b0++) {
        for (b1 = 0; b1 < s.batch[1]; b1++, out += size * s.rows * s.cols) {
            const int8_t *l = (const int8_t *)lhs + size * (b0 * s.lhs_batch_stride[0] + b1 * s.lhs_batch_stride[1]);
            const int8_t *r = (const int8_t *)rhs + size * (b0 * s.rhs_batch_stride[0] + b1 * s.rhs_batch_stride[1]);
            if (r != packed) {
                for (j = 0; j < cols_p; j++) {
                    const int32_t n = j < s.cols ? s.depth : 0;
                    const int64_t sum = aiotc_matmul_copy_row(type, r + size * j * s.rhs_col_stride, s.rhs_depth_stride,
                                                              n, kp, columns + copy * j * kp);
                    if (s16) {
                        terms64[j] = p.lhs_offset * (sum + (int64_t)s.depth * p.rhs_offset);
                    } else {
                        terms32[j] = p.lhs_offset * ((int32_t)sum + s.depth * p.rhs_offset);
                    }
                }
                packed = r;
            }
            for (i = 0; i < s.rows; i += 2, l += 2 * size * s.lhs_row_stride) {
                const int32_t second = i + 1 < s.rows; /* an odd last row pairs with itself */
                /* the rows' corrections (int8: the low words, as the int32 sums wrap) */
                const int64_t ta = p.rhs_offset * aiotc_matmul_copy_row(type, l, s.lhs_depth_stride, s.depth, kp, rows);
                const int64_t tb = second ? p.rhs_offset * aiotc_matmul_copy_row(type, l + size * s.lhs_row_stride,
                                                                                 s.lhs_depth_stride, s.depth, kp,
                                                                                 rows + copy * kp)
                                          : ta;
                const void *const a = rows, *const b = second ? rows + copy * kp : rows;
                for (j = 0; j < cols_p; j += 2) {
                    if (s16) {
                        int16_t *const o = (int16_t *)(void *)out + i * s.cols + j;
                        const int16_t *const c = (const int16_t *)(void *)columns + j * kp;
                        int64_t acc[4];
                        acc[0] = ta + terms64[j];
                        acc[1] = ta + terms64[j + 1];
                        acc[2] = tb + terms64[j];
                        acc[3] = tb + terms64[j + 1];
                        aiotc_matmul_dot_s16(a, b, c, c + kp, kp, acc);
                        o[0] = aiotc_matmul_out_s16(&p, acc[0]);
                        if (j + 1 < s.cols) {
                            o[1] = aiotc_matmul_out_s16(&p, acc[1]);
                        }
                        if (second) {
                            o[s.cols] = aiotc_matmul_out_s16(&p, acc[2]);
                            if (j + 1 < s.cols) {
                                o[s.cols + 1] = aiotc_matmul_out_s16(&p, acc[3]);
                            }
                        }
                    } else {
                        const aiotc_matmul_in *const c = (const aiotc_matmul_in *)(void *)columns + j * kp;
                        int32_t acc[4];
                        acc[0] = (int32_t)ta + terms32[j];
                        acc[1] = (int32_t)ta + terms32[j + 1];
                        acc[2] = (int32_t)tb + terms32[j];
                        acc[3] = (int32_t)tb + terms32[j + 1];
                        aiotc_matmul_dot_s8(a, b, c, c + kp, kp, acc);
                        sums[j] = acc[0];
                        sums[j + 1] = acc[1];
                        sums[cols_p + j] = acc[2];
                        sums[cols_p + j + 1] = acc[3];
                    }
                }
                if (!s16) {
                    aiotc_matmul_out_row_s8(&p, q, common, sums, s.cols, out + i * s.cols);
                    if (second) {
                        aiotc_matmul_out_row_s8(&p, q, common, sums + cols_p, s.cols, out + (i + 1) * s.cols);
                    }
                }
            }
        }
    }
    return AIOTC_OK;
}

#endif /* AIOTC_NN_MATMUL_PACKED_H */
