/* aiotc runtime: the packed fully connected kernel's dot products, which the packed
 * fully connected layer and the LSTM's gate matrix products share: 4 weight rows at a
 * time, each weight read once per input vector, the input offset folded into the bias.
 *
 * Layout (ops_conv.pack_fc_weights): blocks of 4 rows (the last one padded with zero
 * rows, the bias with zeros), rows zero padded to a multiple of 16 inputs; per
 * AIOTC_FC_RUN inputs (8, or 16 in plain pairs for MVE), rows 0 and 1 as byte pairs,
 * then rows 2 and 3: the gemm's byte pairs (aiotc_nn_gemm.h), where a halfword reads as
 * 256 * b + a, so one SMLAD of it and one of its SXTB16 give both rows.
 * - DSP: the input widened once to int16 pairs in order (zero padded, aiotc_fc_prepare);
 *   per 8 inputs one LDM of input, per row pair one LDM of weights, 4 SXTB16 and 8
 *   SMLAD (27 instructions for 32 MACs), b's sums taken every AIOTC_GEMM_CHUNK inputs;
 * - MVE: per 16 inputs, one input vector, per row pair a VLD2 that splits the bytes
 *   into the two rows' vectors (aiotc_mve_pair_b), and 2 VMLADAVA;
 * - portable C: the same sums, input by input. */
#ifndef AIOTC_NN_FC_PACKED_H
#define AIOTC_NN_FC_PACKED_H

#include "aiotc_nn_gemm.h"

#define AIOTC_FC_CHUNK 16
#define AIOTC_FC_BLOCK 4
#define AIOTC_FC_RUN (AIOTC_PAIRS_PLAIN ? 16 : 8)
#define AIOTC_ROW16(k) (((k) + AIOTC_FC_CHUNK - 1) / AIOTC_FC_CHUNK * AIOTC_FC_CHUNK)

typedef struct {
    int32_t a[AIOTC_FC_BLOCK];
} aiotc_fc_sums;

#if defined(AIOTC_DSP)
/* The byte-pair aiotc_fc_sums of a block (aiotc_pair_sums' scheme, one column, two row pairs). */
typedef struct {
    int32_t lo01, hi01, lo23, hi23;
} aiotc_fc_pair_sums;

/* One weight word (2 inputs of a row pair's byte pairs, wr) against 2 inputs (xr): the
 * halfwords' SMLAD into hi, then the word's SXTB16 in place and its SMLAD into lo (no
 * temporary). */
#define AIOTC_FC_MAC(lo, hi, wr, xr)                                                                                   \
    "smlad %[" hi "], %[" wr "], %[" xr "], %[" hi "]\n\t"                                                              \
    "sxtb16 %[" wr "], %[" wr "]\n\t"                                                                                 \
    "smlad %[" lo "], %[" wr "], %[" xr "], %[" lo "]\n\t"
/* 8 inputs (x0 .. x3) against a row pair's next 16 bytes, one LDM. */
#define AIOTC_FC_PAIR8(lo, hi)                                                                                         \
    "ldm %[w]!, {%[w0], %[w1], %[w2], %[w3]}\n\t" AIOTC_FC_MAC(lo, hi, "w0", "x0") AIOTC_FC_MAC(lo, hi, "w1", "x1")     \
        AIOTC_FC_MAC(lo, hi, "w2", "x2") AIOTC_FC_MAC(lo, hi, "w3", "x3")
/* 8 inputs against both row pairs (the layout's runs of 8, AIOTC_FC_RUN), or rows 0 and
 * 1 alone (rows 2 and 3 skipped). */
#define AIOTC_FC_STEP8 "ldm %[x]!, {%[x0], %[x1], %[x2], %[x3]}\n\t" AIOTC_FC_PAIR8("lo01", "hi01") AIOTC_FC_PAIR8("lo23", "hi23")
#define AIOTC_FC_STEP8_01 "ldm %[x]!, {%[x0], %[x1], %[x2], %[x3]}\n\t" AIOTC_FC_PAIR8("lo01", "hi01") "add %[w], #16\n\t"

/* 16-input steps of a block in one assembly loop until x reaches *end (at least one,
 * at most a chunk), then channel 1's and 3's parts of hi moved into s (exact within a
 * chunk); `pairs` 1 (a constant where inlined: a last block of at most 2 rows) takes
 * rows 0 and 1 alone. Per 8 inputs one LDM of input, per row pair one LDM of weights,
 * 4 SXTB16 and 8 SMLAD (27 instructions for 32 MACs), the loop's test against an end
 * kept in memory: the LDMs want 8 registers in ascending order (pinned: not r7, a
 * Thumb frame pointer, nor r9, a platform register), the 4 sums and 2 pointers take
 * the 6 left. Cortex-M4: mlp_784_512_int8's 784x512 layer 4.1% fewer instructions than
 * with an LDRD of weights per row pair and 4 inputs. */
static AIOTC_INLINE void aiotc_fc_chunk(aiotc_fc_pair_sums *p, aiotc_fc_sums *s, const int8_t **w, const int32_t **x,
                                        const int32_t *const *end, int32_t pairs)
{
    register int32_t x0 __asm__("r0"), x1 __asm__("r1"), x2 __asm__("r2"), x3 __asm__("r3");
    register int32_t w0 __asm__("r4"), w1 __asm__("r5"), w2 __asm__("r6"), w3 __asm__("r8");
    if (pairs == 1) {
        __asm__("1:\n\t" AIOTC_FC_STEP8_01 AIOTC_FC_STEP8_01 "ldr %[w0], %[end]\n\t"
                "cmp %[x], %[w0]\n\t"
                "bne 1b\n\t"
                : [lo01] "+r"(p->lo01), [hi01] "+r"(p->hi01), [w] "+r"(*w), [x] "+r"(*x), [x0] "=&r"(x0),
                  [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3), [w0] "=&r"(w0), [w1] "=&r"(w1),
                  [w2] "=&r"(w2), [w3] "=&r"(w3)
                : [end] "m"(*end)
                : "cc", "memory");
    } else {
        __asm__("1:\n\t" AIOTC_FC_STEP8 AIOTC_FC_STEP8 "ldr %[w0], %[end]\n\t"
                "cmp %[x], %[w0]\n\t"
                "bne 1b\n\t"
                : [lo01] "+r"(p->lo01), [hi01] "+r"(p->hi01), [lo23] "+r"(p->lo23), [hi23] "+r"(p->hi23),
                  [w] "+r"(*w), [x] "+r"(*x), [x0] "=&r"(x0), [x1] "=&r"(x1), [x2] "=&r"(x2), [x3] "=&r"(x3),
                  [w0] "=&r"(w0), [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3)
                : [end] "m"(*end)
                : "cc", "memory");
    }
    s->a[1] += (p->hi01 - p->lo01) >> 8;
    s->a[3] += (p->hi23 - p->lo23) >> 8;
    p->hi01 = p->lo01;
    p->hi23 = p->lo23;
}
#undef AIOTC_FC_STEP8_01
#undef AIOTC_FC_STEP8
#undef AIOTC_FC_PAIR8
#undef AIOTC_FC_MAC

/* The 4 rows of a block (their weights at *w, left at the next block's) against the
 * widened input x (depth padded to 16), or (`pairs` 1, a constant where inlined: a last
 * block of at most 2 rows) rows 0 and 1, rows 2 and 3 then their biases. Depths of one
 * chunk (nearly all) take one loop with nothing else live across it, its end *x_end (x +
 * AIOTC_ROW16(depth) / 2) where the caller keeps it for all its blocks: no store per
 * block (ad01_int8 on the M4: 0.3% fewer instructions). */
static AIOTC_INLINE aiotc_fc_sums aiotc_fc_dot_pairs(const int8_t **w, const int32_t *x, int32_t depth,
                                                    const int32_t *bias, int32_t pairs, const int32_t *const *x_end)
{
    int32_t chunks = AIOTC_ROW16(depth) / AIOTC_FC_CHUNK;
    aiotc_fc_pair_sums p;
    aiotc_fc_sums s;
    p.lo01 = p.hi01 = bias[0];
    p.lo23 = p.hi23 = bias[2];
    if (AIOTC_LIKELY(chunks > 0 && chunks <= AIOTC_GEMM_CHUNK / AIOTC_FC_CHUNK)) {
        s.a[1] = s.a[3] = 0; /* the biases added after the loop: two registers fewer across it */
        aiotc_fc_chunk(&p, &s, w, &x, x_end, pairs);
        s.a[1] += bias[1];
        s.a[3] += bias[3];
    } else {
        s.a[1] = bias[1];
        s.a[3] = bias[3];
        for (; chunks > 0; chunks -= AIOTC_GEMM_CHUNK / AIOTC_FC_CHUNK) {
            const int32_t *const end = x + AIOTC_MIN(chunks, AIOTC_GEMM_CHUNK / AIOTC_FC_CHUNK) * AIOTC_FC_CHUNK / 2;
            aiotc_fc_chunk(&p, &s, w, &x, &end, pairs);
        }
    }
    s.a[0] = p.lo01;
    s.a[2] = p.lo23;
    return s;
}
static AIOTC_INLINE aiotc_fc_sums aiotc_fc_dot_block(const int8_t *weights, const int32_t *x, int32_t depth, const int32_t *bias)
{
    const int32_t *const end = x + AIOTC_ROW16(depth) / 2;
    return aiotc_fc_dot_pairs(&weights, x, depth, bias, 2, &end);
}
#elif defined(AIOTC_MVE) && AIOTC_PAIRS_PLAIN /* runs of 16 */
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
            const int8_t *pair = w + i / AIOTC_FC_RUN * AIOTC_FC_BLOCK * AIOTC_FC_RUN + r / 2 * 2 * AIOTC_FC_RUN + 2 * (i % AIOTC_FC_RUN);
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
