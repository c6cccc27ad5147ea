/* aiotc runtime: the rows kernel's dot products (aiotc_fully_connected_rows_s8), which the
 * fully connected layer and the SVDF's feature product share: blocks of 4 weight rows,
 * a last 1 or 2 rows as a block of their own (2 outputs do not pay for 4), against the
 * int8 input as it is (no scratch), any int8 weights (the packed layout's byte pairs
 * cannot hold a -128 under a negative weight), the input offset folded into the bias.
 *
 * Layout (ops_conv.pack_fc_rows): blocks of 4 rows while 3 or more are left (a zero row
 * pads a last 3: a block of 2 and one of 1 cost the DSP as much, the MVE more), then a
 * block of the 1 or 2 rows left; each row zero padded to a multiple of 16 inputs; per 4
 * inputs the block's rows' words one after the other.
 * - DSP: per 4 inputs one word of input widened (SXTB16, and of its odd bytes), per row
 *   one word of weights widened the same way and 2 SMLAD (23 instructions for 16 MACs,
 *   13 for 8); blocks of 1 or 2 rows 8 inputs per loop step;
 * - MVE: per 16 inputs one input vector (the tail predicated to zero), one VLD4 (VLD2)
 *   of words that splits a block's 4 (2) rows, one VMLADAVA per row;
 * - portable C: the same sums, input by input. */
#ifndef AIOTC_NN_FC_ROWS_H
#define AIOTC_NN_FC_ROWS_H

#include "aiotc_nn_gemm.h"

#define AIOTC_FC_ROWS_BLOCK 4
#define AIOTC_FC_ROWS_ROW16(k) (((k) + 15) & ~15)

typedef struct {
    int32_t a[AIOTC_FC_ROWS_BLOCK];
} aiotc_fc_rows_sums;

#if defined(AIOTC_DSP)
/* The sum *a of a row's word w against inputs x02 (0 and 2) and x13 (1 and 3). */
static AIOTC_INLINE void aiotc_fc_rows_mac(int32_t *a, int32_t w, int32_t x02, int32_t x13)
{
    *a = __smlad(aiotc_sxtb16_ror8(w), x13, __smlad(__sxtb16(w), x02, *a));
}

/* Inputs x[0..3] against n rows' words wp[0..n-1] (n a constant where inlined). */
static AIOTC_INLINE void aiotc_fc_rows_step(int32_t *a, const int8_t *x, const int32_t *wp, int32_t n)
{
    const int32_t xv = aiotc_read_word(x), x02 = __sxtb16(xv), x13 = aiotc_sxtb16_ror8(xv);
    aiotc_fc_rows_mac(&a[0], wp[0], x02, x13);
    if (n > 1) {
        aiotc_fc_rows_mac(&a[1], wp[1], x02, x13);
    }
    if (n > 2) {
        aiotc_fc_rows_mac(&a[2], wp[2], x02, x13);
        aiotc_fc_rows_mac(&a[3], wp[3], x02, x13);
    }
}
#endif

/* The sums of a block of n rows (1, 2 or 4, a constant where inlined) at w against x
 * (depth inputs) into s->a[0 .. n-1]. Rows written out, never in a loop: gcc keeps the
 * sums of a rolled loop in memory. */
static AIOTC_INLINE void aiotc_fc_rows_dot(const int8_t *w, const int8_t *x, int32_t depth, int32_t n,
                                           aiotc_fc_rows_sums *s)
{
    int32_t a[AIOTC_FC_ROWS_BLOCK] = {0, 0, 0, 0};
    int32_t k = 0;
#if defined(AIOTC_MVE)
    for (; k < depth; k += 16, w += 16 * n) {
        const int8x16_t v = vldrbq_z_s8(x + k, vctp8q((uint32_t)(depth - k)));
        if (n == 4) {
            const int32x4x4_t q = vld4q_s32((const int32_t *)(const void *)w);
            a[0] = vmladavaq_s8(a[0], vreinterpretq_s8_s32(q.val[0]), v);
            a[1] = vmladavaq_s8(a[1], vreinterpretq_s8_s32(q.val[1]), v);
            a[2] = vmladavaq_s8(a[2], vreinterpretq_s8_s32(q.val[2]), v);
            a[3] = vmladavaq_s8(a[3], vreinterpretq_s8_s32(q.val[3]), v);
        } else if (n == 2) {
            const int32x4x2_t q = vld2q_s32((const int32_t *)(const void *)w);
            a[0] = vmladavaq_s8(a[0], vreinterpretq_s8_s32(q.val[0]), v);
            a[1] = vmladavaq_s8(a[1], vreinterpretq_s8_s32(q.val[1]), v);
        } else {
            a[0] = vmladavaq_s8(a[0], vldrbq_s8(w), v);
        }
    }
#else
#if defined(AIOTC_DSP)
    const int32_t *wp = (const int32_t *)(const void *)w;
    if (n < 4) { /* few registers live: 8 inputs per loop step */
        for (; k + 8 <= depth; k += 8, wp += 2 * n) {
            aiotc_fc_rows_step(a, x + k, wp, n);
            aiotc_fc_rows_step(a, x + k + 4, wp + n, n);
        }
    }
    for (; k + 4 <= depth; k += 4, wp += n) {
        aiotc_fc_rows_step(a, x + k, wp, n);
    }
#endif
    for (; k < depth; k++) { /* input k: byte k % 4 of each row's word k / 4 */
        const int8_t *word = w + (k / 4) * 4 * n + k % 4;
        a[0] += word[0] * x[k];
        if (n > 1) {
            a[1] += word[4] * x[k];
        }
        if (n > 2) {
            a[2] += word[8] * x[k];
            a[3] += word[12] * x[k];
        }
    }
#endif
    s->a[0] = a[0];
    s->a[1] = a[1];
    s->a[2] = a[2];
    s->a[3] = a[3];
}

/* The sums of a last block of 1 or 2 rows, out of line: inlined beside the blocks of 4,
 * its loops cost the blocks' own registers (M4: 40 instructions more per layer) and
 * their code space. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static void aiotc_fc_rows_few(const int8_t *w, const int8_t *x, int32_t depth, int32_t n, aiotc_fc_rows_sums *s)
{
    if (n == 2) {
        aiotc_fc_rows_dot(w, x, depth, 2, s);
    } else {
        aiotc_fc_rows_dot(w, x, depth, 1, s);
    }
}

/* The sums of the next block of rows at *w (of 4 rows unless `left` is 1 or 2), *w moved
 * past it; returns its rows (a last 3 rows: 4, the zero row's sum 0). */
static AIOTC_INLINE int32_t aiotc_fc_rows_next(const int8_t **w, const int8_t *x, int32_t depth, int32_t left,
                                               aiotc_fc_rows_sums *s)
{
    const int32_t n = left >= 3 ? 4 : left;
    if (n == 4) {
        aiotc_fc_rows_dot(*w, x, depth, 4, s);
    } else {
        aiotc_fc_rows_few(*w, x, depth, n, s);
    }
    *w += n * AIOTC_FC_ROWS_ROW16(depth);
    return n;
}

#endif /* AIOTC_NN_FC_ROWS_H */
