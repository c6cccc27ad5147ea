/* aiotc runtime: the packed fully connected kernel's dot products, which the packed
 * fully connected layer and the LSTM's gate matrix products share: 4 weight rows at a
 * time, each weight read once per input vector, the input offset folded into the bias.
 *
 * Layout (ops_conv.pack_fc_weights): blocks of 4 rows (the last one padded with zero
 * rows, the bias with zeros), rows zero padded to a multiple of 16 inputs; per 16
 * inputs, rows 0 and 1 as byte pairs (32 bytes), then rows 2 and 3: the gemm's byte
 * pairs (aiotc_nn_gemm.h), where a halfword reads as 256 * b + a, so one SMLAD of it and
 * one of its SXTB16 give both rows.
 * - DSP: the input widened once to int16 pairs in order (zero padded, aiotc_fc_prepare);
 *   per 8 inputs one LDM of input, per row pair and 4 inputs one LDRD, 2 SXTB16 and 4
 *   SMLAD (29 instructions for 32 MACs), b's sums taken every AIOTC_GEMM_CHUNK inputs;
 * - MVE: per 16 inputs, one input vector, per row pair a VLD2 that splits the bytes
 *   into the two rows' vectors (aiotc_mve_pair_b), and 2 VMLADAVA;
 * - portable C: the same sums, input by input. */
#ifndef AIOTC_NN_FC_PACKED_H
#define AIOTC_NN_FC_PACKED_H

#include "aiotc_nn_gemm.h"

#define AIOTC_FC_CHUNK 16
#define AIOTC_FC_BLOCK 4
#define AIOTC_ROW16(k) (((k) + AIOTC_FC_CHUNK - 1) / AIOTC_FC_CHUNK * AIOTC_FC_CHUNK)

typedef struct {
    int32_t a[AIOTC_FC_BLOCK];
} aiotc_fc_sums;

#if defined(AIOTC_DSP)
/* The byte-pair aiotc_fc_sums of a block (aiotc_pair_sums' scheme, one column, two row pairs). */
typedef struct {
    int32_t lo01, hi01, lo23, hi23;
} aiotc_fc_pair_sums;

/* The MACs of 2 inputs (xa) against a row pair's byte pairs (wa), and of 4 (xa, xb)
 * against both its words (w0, w1), one temporary, shared by the steps below. */
#define AIOTC_FC_MAC1(lo, hi, wa, xa)                                                                                  \
    "sxtb16 %[s0], %[" wa "]\n\t"                                                                                       \
    "smlad %[" lo "], %[s0], %[" xa "], %[" lo "]\n\t"                                                                  \
    "smlad %[" hi "], %[" wa "], %[" xa "], %[" hi "]\n\t"
#define AIOTC_FC_MAC2(lo, hi, xa, xb) AIOTC_FC_MAC1(lo, hi, "w0", xa) AIOTC_FC_MAC1(lo, hi, "w1", xb)

/* Inputs 4k .. 4k + 3 of a 16-input step (x, post-incremented) against rows 0 and 1's
 * byte pairs alone (a last block of at most 2 rows). The weight pointer w trails the
 * step's 64 bytes by 8 (as aiotc_fc_group2). In assembly: gcc, left to itself, spills
 * accumulators here. */
static AIOTC_INLINE void aiotc_fc_group(aiotc_fc_pair_sums *s, uintptr_t w, const int32_t **x, int32_t k)
{
    int32_t w0, w1, s0, x0, x1;
    __asm__("ldrd %[x0], %[x1], [%[x]], #8\n\t"
            "ldrd %[w0], %[w1], [%[w], #%c[o01]]\n\t" AIOTC_FC_MAC2("lo01", "hi01", "x0", "x1")
            : [lo01] "+r"(s->lo01), [hi01] "+r"(s->hi01), [x] "+r"(*x), [w0] "=&r"(w0), [w1] "=&r"(w1),
              [s0] "=&r"(s0), [x0] "=&r"(x0), [x1] "=&r"(x1)
            : [w] "r"(w), [o01] "n"(8 + 8 * k)
            : "memory");
}

/* Inputs 4k .. 4k + 7 (k 0 or 2) of a 16-input step (x, post-incremented) against both
 * row pairs' byte pairs: the 8 inputs by one LDM (into r4-r6 and r8, ascending as LDM
 * fills them; not r7, a Thumb frame pointer, nor r9, a platform register),
 * per row pair and 4 inputs one LDRD, 2 SXTB16 and 4 SMLAD (one temporary for
 * both). The weight pointer w trails the step's 64 bytes by 8, so that the last load's
 * writeback (k 2) moves it to the next step: no add of its own. Cortex-M4: ad01_int8's
 * layers 2.5% fewer instructions than with two LDRD of inputs. */
static AIOTC_INLINE void aiotc_fc_group2(aiotc_fc_pair_sums *s, uintptr_t *w, const int32_t **x, int32_t k)
{
    register int32_t x0 __asm__("r4"), x1 __asm__("r5"), x2 __asm__("r6"), x3 __asm__("r8");
    int32_t w0, w1, s0;
    if (k == 0) {
        __asm__("ldm %[x]!, {%[x0], %[x1], %[x2], %[x3]}\n\t"
                "ldrd %[w0], %[w1], [%[w], #8]\n\t" AIOTC_FC_MAC2("lo01", "hi01", "x0", "x1")
                "ldrd %[w0], %[w1], [%[w], #40]\n\t" AIOTC_FC_MAC2("lo23", "hi23", "x0", "x1")
                "ldrd %[w0], %[w1], [%[w], #16]\n\t" AIOTC_FC_MAC2("lo01", "hi01", "x2", "x3")
                "ldrd %[w0], %[w1], [%[w], #48]\n\t" AIOTC_FC_MAC2("lo23", "hi23", "x2", "x3")
                : [lo01] "+r"(s->lo01), [hi01] "+r"(s->hi01), [lo23] "+r"(s->lo23), [hi23] "+r"(s->hi23),
                  [x] "+r"(*x), [w0] "=&r"(w0), [w1] "=&r"(w1), [s0] "=&r"(s0), [x0] "=&r"(x0), [x1] "=&r"(x1),
                  [x2] "=&r"(x2), [x3] "=&r"(x3)
                : [w] "r"(*w)
                : "memory");
    } else {
        __asm__("ldm %[x]!, {%[x0], %[x1], %[x2], %[x3]}\n\t"
                "ldrd %[w0], %[w1], [%[w], #24]\n\t" AIOTC_FC_MAC2("lo01", "hi01", "x0", "x1")
                "ldrd %[w0], %[w1], [%[w], #56]\n\t" AIOTC_FC_MAC2("lo23", "hi23", "x0", "x1")
                "ldrd %[w0], %[w1], [%[w], #32]\n\t" AIOTC_FC_MAC2("lo01", "hi01", "x2", "x3")
                "ldrd %[w0], %[w1], [%[w], #64]!\n\t" AIOTC_FC_MAC2("lo23", "hi23", "x2", "x3")
                : [lo01] "+r"(s->lo01), [hi01] "+r"(s->hi01), [lo23] "+r"(s->lo23), [hi23] "+r"(s->hi23),
                  [w] "+r"(*w), [x] "+r"(*x), [w0] "=&r"(w0), [w1] "=&r"(w1), [s0] "=&r"(s0), [x0] "=&r"(x0),
                  [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3)
                :
                : "memory");
    }
}
#undef AIOTC_FC_MAC2
#undef AIOTC_FC_MAC1

/* 16 inputs per step for n steps (n > 0), then channel 1's and 3's parts of hi moved
 * into s (exact: n steps are at most a chunk). */
static AIOTC_INLINE void aiotc_fc_chunk(aiotc_fc_pair_sums *p, aiotc_fc_sums *s, uintptr_t *w, const int32_t **x,
                                        int32_t n, int32_t pairs)
{
    do {
        if (pairs == 1) {
            aiotc_fc_group(p, *w, x, 0);
            aiotc_fc_group(p, *w, x, 1);
            aiotc_fc_group(p, *w, x, 2);
            aiotc_fc_group(p, *w, x, 3);
            *w += 64;
        } else {
            aiotc_fc_group2(p, w, x, 0);
            aiotc_fc_group2(p, w, x, 2);
        }
    } while (--n != 0);
    s->a[1] += (p->hi01 - p->lo01) >> 8;
    s->a[3] += (p->hi23 - p->lo23) >> 8;
    p->hi01 = p->lo01;
    p->hi23 = p->lo23;
}

/* The 4 rows of a block (their weights at *w + 8: aiotc_fc_group's trailing pointer,
 * left at the next block's) against the widened input x (depth padded to 16), or
 * (`pairs` 1, a constant where inlined: a last block of at most 2 rows) rows 0 and 1,
 * rows 2 and 3 then their biases. Depths of one chunk (nearly all) take one loop with
 * nothing else live across it. */
static AIOTC_INLINE aiotc_fc_sums aiotc_fc_dot_pairs(uintptr_t *w, const int32_t *x, int32_t depth,
                                                    const int32_t *bias, int32_t pairs)
{
    int32_t chunks = AIOTC_ROW16(depth) / AIOTC_FC_CHUNK;
    aiotc_fc_pair_sums p;
    aiotc_fc_sums s;
    p.lo01 = p.hi01 = bias[0];
    p.lo23 = p.hi23 = bias[2];
    s.a[1] = bias[1];
    s.a[3] = bias[3];
    if (AIOTC_LIKELY(chunks > 0 && chunks <= AIOTC_GEMM_CHUNK / AIOTC_FC_CHUNK)) {
        aiotc_fc_chunk(&p, &s, w, &x, chunks, pairs);
    } else {
        for (; chunks > 0; chunks -= AIOTC_GEMM_CHUNK / AIOTC_FC_CHUNK) {
            aiotc_fc_chunk(&p, &s, w, &x, AIOTC_MIN(chunks, AIOTC_GEMM_CHUNK / AIOTC_FC_CHUNK), pairs);
        }
    }
    s.a[0] = p.lo01;
    s.a[2] = p.lo23;
    return s;
}
static AIOTC_INLINE aiotc_fc_sums aiotc_fc_dot_block(const int8_t *weights, const int32_t *x, int32_t depth, const int32_t *bias)
{
    uintptr_t w = (uintptr_t)weights - 8;
    return aiotc_fc_dot_pairs(&w, x, depth, bias, 2);
}
#elif defined(AIOTC_MVE)
/* 16 inputs v against a block's two row pairs, each pair's weights from one VLD2 of
 * bytes (aiotc_mve_pair_b). */
static AIOTC_INLINE void aiotc_fc_block_mac(aiotc_fc_sums *s, const int8_t *w, int8x16_t v)
{
    const int8x16x2_t r01 = vld2q_s8(w), r23 = vld2q_s8(w + 2 * AIOTC_FC_CHUNK);
    s->a[0] = vmladavaq_s8(s->a[0], r01.val[0], v);
    s->a[1] = vmladavaq_s8(s->a[1], aiotc_mve_pair_b(r01), v);
    s->a[2] = vmladavaq_s8(s->a[2], r23.val[0], v);
    s->a[3] = vmladavaq_s8(s->a[3], aiotc_mve_pair_b(r23), v);
}

/* Whole 16-input steps unpredicated, the input's tail predicated to zero. */
static AIOTC_INLINE aiotc_fc_sums aiotc_fc_dot_block(const int8_t *w, const int8_t *x, int32_t depth, const int32_t *bias)
{
    aiotc_fc_sums s;
    int32_t i;
    s.a[0] = bias[0];
    s.a[1] = bias[1];
    s.a[2] = bias[2];
    s.a[3] = bias[3];
    for (i = 0; i + AIOTC_FC_CHUNK <= depth; i += AIOTC_FC_CHUNK, w += AIOTC_FC_BLOCK * AIOTC_FC_CHUNK) {
        aiotc_fc_block_mac(&s, w, vldrbq_s8(x + i));
    }
    if (i < depth) {
        aiotc_fc_block_mac(&s, w, vldrbq_z_s8(x + i, vctp8q((uint32_t)(depth - i))));
    }
    return s;
}
#else
static AIOTC_INLINE aiotc_fc_sums aiotc_fc_dot_block(const int8_t *w, const int8_t *x, int32_t depth, const int32_t *bias)
{
    aiotc_fc_sums s;
    int32_t r, i;
    for (r = 0; r < AIOTC_FC_BLOCK; r++) {
        s.a[r] = bias[r];
        for (i = 0; i < depth; i++) {
            const int8_t *pair = w + i / AIOTC_FC_CHUNK * AIOTC_FC_BLOCK * AIOTC_FC_CHUNK + r / 2 * 2 * AIOTC_FC_CHUNK + 2 * (i % AIOTC_FC_CHUNK);
            const int32_t weight = r % 2 == 0 ? pair[0] : aiotc_pair_b(pair[0], pair[1]);
            s.a[r] += weight * x[i];
        }
    }
    return s;
}
#endif

/* Bytes of the scratch aiotc_fc_prepare widens `depth` inputs into. */
#define AIOTC_FC_PREPARED_BYTES(depth) (2 * AIOTC_ROW16(depth))

/* The input as aiotc_fc_dot_block reads it: on the DSP path widened into buf (word
 * aligned, AIOTC_FC_PREPARED_BYTES), elsewhere the input itself. */
static inline const aiotc_col *aiotc_fc_prepare(const int8_t *input, int32_t depth, void *buf)
{
#if defined(AIOTC_DSP)
    int32_t *const x = (int32_t *)buf;
    aiotc_widen_pairs(input, depth, x, 2, 1);
    memset(x + AIOTC_ROW(depth) / 2, 0, (size_t)(2 * (AIOTC_ROW16(depth) - AIOTC_ROW(depth))));
    return x;
#else
    (void)depth;
    (void)buf;
    return input;
#endif
}

#endif /* AIOTC_NN_FC_PACKED_H */
