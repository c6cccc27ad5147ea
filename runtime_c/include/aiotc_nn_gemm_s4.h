/* aiotc runtime: the gemm of aiotc_nn_gemm.h with int4 weights (w4a8), for the conv 1x1,
 * im2col conv and fully connected kernels. Columns, bias (input offset folded in) and
 * requantization are the int8 gemm's; only the weights differ.
 *
 * The lowering packs each channel's row on its own (no channel pairs: an int4 weight
 * needs no byte-pair trick), zero padded to a multiple of 8 inputs, one word per 8
 * inputs w0..w7: bytes (w0 | w4 << 4), (w2 | w6 << 4), (w1 | w5 << 4), (w3 | w7 << 4);
 * the array then padded with 16 zero bytes (the MVE path reads 16 bytes at a time). Why
 * that order: with m = 0xF0F0F0F0, the bytes of (w << 4) & m are 16 * (w0, w2, w1, w3)
 * and those of w & m 16 * (w4, w6, w5, w7), each a signed byte, so SXTB16 and
 * SXTB16 ROR 8 of the two give the int16 pairs 16 * (w0, w1), (w2, w3), (w4, w5),
 * (w6, w7): the order of the DSP path's widened columns, ready for SMLAD. A word of 8
 * weights costs 1 load, 2 ANDs (one with a shifted operand) and 4 SXTB16.
 *
 * The DSP path so sums 16 * w * x; |16 * w * x| <= 2^14, so the sum is exact below 2^17
 * inputs (the lowering sends longer rows to the reference kernel), and a multiple of 16:
 * >> 4 gives sum(w * x) exactly, to which the bias is added.
 * The MVE path (Cortex-M55): per 32 inputs one 16-byte load, VSHL #4 and VAND 0xF0 give
 * 16 * the low and the high nibbles as int8 lanes; two gathers of the int8 column (the
 * inputs those lanes hold, offsets below) and two VMLADAVA per column. Channels go 4 at
 * a time, sharing the gathers, requantized as one vector (aiotc_gemm_store4).
 * Portable C reads each nibble where the layout put it. All compute the same integers. */
#ifndef AIOTC_NN_GEMM_S4_H
#define AIOTC_NN_GEMM_S4_H

#include "aiotc_nn_gemm.h"

/* Bytes of one channel's packed row of k inputs. */
#define AIOTC_ROW_S4_BYTES(k) ((((k) + 7) & ~7) / 2)

typedef struct {
    int32_t x0, x1; /* column 0 and 1 */
} aiotc_acc2;

#if defined(AIOTC_DSP)
#define AIOTC_S4_MASK 0xF0F0F0F0

/* 8 inputs of one channel (one word at *w) against the column pair at *cols (groups of
 * 4 inputs: column 0's two words, column 1's two), both pointers post-incremented;
 * `half` (a constant): only the first 4 inputs, the row's last group. 19 instructions
 * for 16 MACs, 10 for 8 with `half`. */
static AIOTC_INLINE void aiotc_s4_mac_2(int32_t *a0, int32_t *a1, const int32_t **w, const int32_t **cols, int32_t m,
                                        int32_t half)
{
    int32_t v, l, s0, s1, x0, x1;
    __asm__("ldr %[v], [%[w]], #4\n\t"
            "ldrd %[x0], %[x1], [%[c]], #8\n\t"
            "and %[l], %[m], %[v], lsl #4\n\t"
            "sxtb16 %[s0], %[l]\n\t"
            "sxtb16 %[s1], %[l], ror #8\n\t"
            "smlad %[a0], %[s0], %[x0], %[a0]\n\t"
            "smlad %[a0], %[s1], %[x1], %[a0]\n\t"
            "ldrd %[x0], %[x1], [%[c]], #8\n\t"
            "smlad %[a1], %[s0], %[x0], %[a1]\n\t"
            "smlad %[a1], %[s1], %[x1], %[a1]"
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [w] "+r"(*w), [c] "+r"(*cols), [v] "=&r"(v), [l] "=&r"(l),
              [s0] "=&r"(s0), [s1] "=&r"(s1), [x0] "=&r"(x0), [x1] "=&r"(x1)
            : [m] "r"(m)
            : "memory");
    if (half) {
        return;
    }
    __asm__("and %[v], %[v], %[m]\n\t"
            "ldrd %[x0], %[x1], [%[c]], #8\n\t"
            "sxtb16 %[s0], %[v]\n\t"
            "sxtb16 %[s1], %[v], ror #8\n\t"
            "smlad %[a0], %[s0], %[x0], %[a0]\n\t"
            "smlad %[a0], %[s1], %[x1], %[a0]\n\t"
            "ldrd %[x0], %[x1], [%[c]], #8\n\t"
            "smlad %[a1], %[s0], %[x0], %[a1]\n\t"
            "smlad %[a1], %[s1], %[x1], %[a1]"
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [c] "+r"(*cols), [v] "+r"(v), [s0] "=&r"(s0), [s1] "=&r"(s1),
              [x0] "=&r"(x0), [x1] "=&r"(x1)
            : [m] "r"(m)
            : "memory");
}

/* aiotc_s4_mac_2 for a lone column (column 0 of the pair at cols): 11 instructions for 8. */
static AIOTC_INLINE void aiotc_s4_mac_1(int32_t *a0, const int32_t **w, const int32_t **cols, int32_t m, int32_t half)
{
    int32_t v, l, s0, s1, x0, x1;
    __asm__("ldr %[v], [%[w]], #4\n\t"
            "ldrd %[x0], %[x1], [%[c]], #16\n\t"
            "and %[l], %[m], %[v], lsl #4\n\t"
            "sxtb16 %[s0], %[l]\n\t"
            "sxtb16 %[s1], %[l], ror #8\n\t"
            "smlad %[a0], %[s0], %[x0], %[a0]\n\t"
            "smlad %[a0], %[s1], %[x1], %[a0]"
            : [a0] "+r"(*a0), [w] "+r"(*w), [c] "+r"(*cols), [v] "=&r"(v), [l] "=&r"(l), [s0] "=&r"(s0),
              [s1] "=&r"(s1), [x0] "=&r"(x0), [x1] "=&r"(x1)
            : [m] "r"(m)
            : "memory");
    if (half) {
        return;
    }
    __asm__("and %[v], %[v], %[m]\n\t"
            "ldrd %[x0], %[x1], [%[c]], #16\n\t"
            "sxtb16 %[s0], %[v]\n\t"
            "sxtb16 %[s1], %[v], ror #8\n\t"
            "smlad %[a0], %[s0], %[x0], %[a0]\n\t"
            "smlad %[a0], %[s1], %[x1], %[a0]"
            : [a0] "+r"(*a0), [c] "+r"(*cols), [v] "+r"(v), [s0] "=&r"(s0), [s1] "=&r"(s1), [x0] "=&r"(x0),
              [x1] "=&r"(x1)
            : [m] "r"(m)
            : "memory");
}

static AIOTC_INLINE void aiotc_s4_step(aiotc_acc2 *s, const int32_t **w, const int32_t **cols, int32_t m,
                                       int32_t columns, int32_t half)
{
    if (columns == 2) {
        aiotc_s4_mac_2(&s->x0, &s->x1, w, cols, m, half);
    } else {
        aiotc_s4_mac_1(&s->x0, w, cols, m, half);
    }
}

/* Channel oc against the column pair at cols (or its column 0 alone: `columns` 1). */
static AIOTC_INLINE aiotc_acc2 aiotc_s4_dot(const aiotc_gemm *g, int32_t oc, const aiotc_col *cols,
                                           const aiotc_col *unused, int32_t columns)
{
    const int32_t *w = (const int32_t *)(const void *)(g->weights + oc * AIOTC_ROW_S4_BYTES(g->k));
    const int32_t m = (int32_t)AIOTC_S4_MASK;
    const int32_t bias = g->bias[oc];
    int32_t n = (int32_t)((uint32_t)g->row / 8u); /* whole groups of 8; row is a multiple of 4 */
    aiotc_acc2 s;
    (void)unused;
    s.x0 = s.x1 = 0;
    for (; n >= 2; n -= 2) { /* two words per loop test */
        aiotc_s4_step(&s, &w, &cols, m, columns, 0);
        aiotc_s4_step(&s, &w, &cols, m, columns, 0);
    }
    if (n) {
        aiotc_s4_step(&s, &w, &cols, m, columns, 0);
    }
    if (g->row & 4) {
        aiotc_s4_step(&s, &w, &cols, m, columns, 1);
    }
    s.x0 = bias + (s.x0 >> 4);
    s.x1 = bias + (s.x1 >> 4);
    return s;
}
#elif defined(AIOTC_MVE)
/* Per byte of a 16-byte load: the input its low nibble weights (its high nibble: + 4). */
static AIOTC_INLINE uint8x16_t aiotc_s4_offsets(void)
{
    static const uint8_t offsets[16] = {0, 2, 1, 3, 8, 10, 9, 11, 16, 18, 17, 19, 24, 26, 25, 27};
    return vld1q_u8(offsets);
}

/* The inputs of one 32-input step that the low and the high nibbles weight, per column. */
typedef struct {
    int8x16_t lo0, hi0, lo1, hi1;
} aiotc_s4_cols;

/* One step of n channels (rows `stride` bytes apart from w) against the gathered inputs:
 * acc[j] column 0's sums, acc[4 + j] column 1's. */
static AIOTC_INLINE void aiotc_s4_mve_step(const int8_t *w, int32_t stride, int32_t n, const aiotc_s4_cols *x,
                                           int32_t columns, int32_t *acc)
{
    int32_t j;
    for (j = 0; j < n; j++) {
        const int8x16_t v = vldrbq_s8(w + j * stride);
        const int8x16_t lo = vshlq_n_s8(v, 4), hi = vandq_s8(v, vdupq_n_s8((int8_t)0xF0));
        acc[j] = vmladavaq_s8(vmladavaq_s8(acc[j], lo, x->lo0), hi, x->hi0);
        if (columns == 2) {
            acc[4 + j] = vmladavaq_s8(vmladavaq_s8(acc[4 + j], lo, x->lo1), hi, x->hi1);
        }
    }
}

/* Channels oc..oc+n-1 (n 1 or 4) against one or two columns: whole 32-input steps with
 * plain gathers, then the tail's predicated (lanes at or past k read 0, so the padding
 * and the next row's weights a last load reaches count nothing). */
static AIOTC_INLINE void aiotc_s4_mve_dot(const aiotc_gemm *g, int32_t oc, int32_t n, const int8_t *c0,
                                          const int8_t *c1, int32_t columns, int32_t *acc)
{
    const int32_t stride = AIOTC_ROW_S4_BYTES(g->k), k = g->k;
    const int8_t *w = g->weights + oc * stride;
    const uint8x16_t lo_at = aiotc_s4_offsets(), hi_at = vaddq_n_u8(lo_at, 4);
    aiotc_s4_cols x;
    int32_t i, j;
    for (j = 0; j < 8; j++) {
        acc[j] = 0;
    }
    for (i = 0; i + 32 <= k; i += 32, w += 16) {
        x.lo0 = vldrbq_gather_offset_s8(c0 + i, lo_at);
        x.hi0 = vldrbq_gather_offset_s8(c0 + i, hi_at);
        x.lo1 = columns == 2 ? vldrbq_gather_offset_s8(c1 + i, lo_at) : x.lo0;
        x.hi1 = columns == 2 ? vldrbq_gather_offset_s8(c1 + i, hi_at) : x.hi0;
        aiotc_s4_mve_step(w, stride, n, &x, columns, acc);
    }
    if (i < k) {
        const uint8x16_t left = vdupq_n_u8((uint8_t)(k - i)); /* < 32 */
        const mve_pred16_t p_lo = vcmphiq_u8(left, lo_at), p_hi = vcmphiq_u8(left, hi_at);
        x.lo0 = vldrbq_gather_offset_z_s8(c0 + i, lo_at, p_lo);
        x.hi0 = vldrbq_gather_offset_z_s8(c0 + i, hi_at, p_hi);
        x.lo1 = columns == 2 ? vldrbq_gather_offset_z_s8(c1 + i, lo_at, p_lo) : x.lo0;
        x.hi1 = columns == 2 ? vldrbq_gather_offset_z_s8(c1 + i, hi_at, p_hi) : x.hi0;
        aiotc_s4_mve_step(w, stride, n, &x, columns, acc);
    }
    for (j = 0; j < n; j++) {
        acc[j] = g->bias[oc + j] + (acc[j] >> 4);
        acc[4 + j] = g->bias[oc + j] + (acc[4 + j] >> 4);
    }
}

static AIOTC_INLINE aiotc_acc2 aiotc_s4_dot(const aiotc_gemm *g, int32_t oc, const int8_t *c0, const int8_t *c1,
                                           int32_t columns)
{
    int32_t acc[8];
    aiotc_acc2 s;
    aiotc_s4_mve_dot(g, oc, 1, c0, c1, columns, acc);
    s.x0 = acc[0];
    s.x1 = acc[4];
    return s;
}
#else
/* Input i's weight: nibble (i & 4) of byte (i & 1) * 2 + (i & 2) / 2 of word i / 8. */
static inline int32_t aiotc_s4_weight(const int8_t *row, int32_t i)
{
    const int32_t byte = row[(i >> 3) * 4 + (i & 1) * 2 + ((i >> 1) & 1)];
    return (i & 4) ? (int32_t)(int8_t)byte >> 4 : (int32_t)(int8_t)(uint8_t)((uint32_t)byte << 4) >> 4;
}

static AIOTC_INLINE aiotc_acc2 aiotc_s4_dot(const aiotc_gemm *g, int32_t oc, const int8_t *c0, const int8_t *c1,
                                           int32_t columns)
{
    const int8_t *row = g->weights + oc * AIOTC_ROW_S4_BYTES(g->k);
    aiotc_acc2 s;
    int32_t i;
    (void)columns; /* a lone column is computed twice */
    s.x0 = s.x1 = g->bias[oc];
    for (i = 0; i < g->k; i++) {
        const int32_t w = aiotc_s4_weight(row, i);
        s.x0 += w * c0[i];
        s.x1 += w * c1[i];
    }
    return s;
}
#endif

/* Every channel for one column or (`columns` 2) the column pair, `common` and `columns`
 * constant in each copy. */
static AIOTC_INLINE void aiotc_gemm_s4_mode(const aiotc_gemm *g, const aiotc_col *c0, const aiotc_col *c1, int8_t *out0,
                                           int8_t *out1, int32_t common, int32_t columns)
{
    const int32_t rows = g->rows, offset = g->output_offset, lo = g->act_min, hi = g->act_max;
    int32_t oc = 0;
#if defined(AIOTC_MVE)
    for (; oc + 4 <= rows; oc += 4) { /* 4 channels share the gathers; requantized as vectors */
        int32_t acc[8];
        aiotc_s4_mve_dot(g, oc, 4, c0, c1, columns, acc);
        aiotc_gemm_store4(g, oc, acc[0], acc[1], acc[2], acc[3], out0 + oc, common);
        if (columns == 2) {
            aiotc_gemm_store4(g, oc, acc[4], acc[5], acc[6], acc[7], out1 + oc, common);
        }
    }
#endif
    for (; oc < rows; oc++) {
        const aiotc_acc2 s = aiotc_s4_dot(g, oc, c0, c1, columns);
        const aiotc_rq q = aiotc_rq_channel(g->multiplier[oc], g->shift[oc]);
        out0[oc] = aiotc_out_s8_mode(q, s.x0, offset, lo, hi, common);
        if (columns == 2) {
            out1[oc] = aiotc_out_s8_mode(q, s.x1, offset, lo, hi, common);
        }
    }
}

/* aiotc_gemm_s8 with int4 weights: out0 from c0 and, unless c1 is NULL, out1 from c1. */
static inline void aiotc_gemm_s4(const aiotc_gemm *gemm, const aiotc_col *c0, const aiotc_col *c1, int8_t *out0,
                                 int8_t *out1)
{
    const aiotc_gemm g = *gemm;
    if (c1 == 0) {
        aiotc_gemm_s4_mode(&g, c0, c0, out0, out0, g.common, 1);
    } else if (g.common) {
        aiotc_gemm_s4_mode(&g, c0, c1, out0, out1, 1, 2);
    } else {
        aiotc_gemm_s4_mode(&g, c0, c1, out0, out1, 0, 2);
    }
}

#endif /* AIOTC_NN_GEMM_S4_H */
