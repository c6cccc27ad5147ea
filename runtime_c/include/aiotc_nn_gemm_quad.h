/* aiotc runtime: the quad kernels' gemm and drivers (aiotc_convolve_1x1_quad_s8,
 * aiotc_convolve_im2col_quad_s8). On the DSP path they run 4 output pixels per pass over
 * the weights (aiotc_gemm_quad), a last partial quad of 3 repeating its last pixel; elsewhere
 * (portable C, MVE) the pair kernels' drivers, in the same scratch. Only the quad kernels
 * include this header, so that their code links only where a layer runs one
 * (aiotc/kernels.py chooses them: rows of QUAD_ROW inputs and more, DSP cores).
 * AIOTC_QUAD_TAIL: a call's last 1 or 2 pixels (a layer's, or a streamed band's: a row of
 * 5 pixels) go through the pair gemm in the pair kernels' column layout, where a quad
 * would do 4 columns' work for them (Cortex-M4: micronet_kws_49x10's 1x1 layers over
 * 1-row bands of 5 pixels, 8 columns' work for 5 pixels, 1.45 instructions/MAC). */
#ifndef AIOTC_NN_GEMM_QUAD_H
#define AIOTC_NN_GEMM_QUAD_H

#include "aiotc_nn_conv_gemm.h"

/* The quad kernels' scratch: 4 prepared columns (on the portable and MVE paths, the pair
 * drivers' scratch, which is smaller: AIOTC_CONV_1X1_BUFFER, AIOTC_CONV_IM2COL_BUFFER). */
#define AIOTC_CONV_QUAD_BUFFER(k) (4 * AIOTC_COL_BYTES(k))
/* The im2col quad kernel's: the 4 columns, and where channels are not whole words (a first
 * layer's 1-3) the window's k taps gathered as bytes before they are widened. */
#define AIOTC_CONV_IM2COL_QUAD_BUFFER(k, c) (AIOTC_CONV_QUAD_BUFFER(k) + ((c) % 4 ? AIOTC_ROW(k) : 0))

#if defined(AIOTC_DSP)
/* Column j (0-3) of a quad, the layout aiotc_gemm_quad reads: per 4 inputs 8 words, the
 * first word of columns 0 and 1, their second, then the same of columns 2 and 3, so that
 * one LDRD fetches two columns' int16 pairs for the same 2 inputs. */
static inline void aiotc_col_quad(const int8_t *src, int32_t k, int32_t *buf, int32_t j)
{
    aiotc_widen_pairs(src, k, buf + 4 * (j >> 1) + (j & 1), 8, 2);
}

/* The byte-pair sums of one channel pair and the 4 columns of a quad (as aiotc_pair_sums). */
typedef struct {
    int32_t lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3;
} aiotc_quad_sums;

/* `groups` (> 0) groups of 4 inputs of a channel pair (weights at *w) against the quad
 * at *cols (aiotc_col_quad), both pointers post-incremented: 4 groups per loop test, then
 * one per test. Per 2 inputs one LDR of weights, one SXTB16, 2 LDRD of columns and 8
 * SMLAD (12 instructions for 16 MACs). The 8 sums, both pointers and 4 temporaries take
 * the 14 registers gcc has, so the loops' ends are read from the stack. */
#define AIOTC_QUAD_GROUP                                                                                              \
    "ldrd %[x0], %[x1], [%[c]], #32\n\t" /* columns 0, 1: inputs 0, 1 */                                             \
    "ldr %[w0], [%[w]], #4\n\t"                                                                                      \
    "sxtb16 %[s0], %[w0]\n\t" AIOTC_SMLAD4(lo0, hi0, lo1, hi1) "ldrd %[x0], %[x1], [%[c], #-16]\n\t" /* 2, 3 */    \
    AIOTC_SMLAD4(lo2, hi2, lo3, hi3) "ldr %[w0], [%[w]], #4\n\t"                                                    \
    "sxtb16 %[s0], %[w0]\n\t"                                                                                        \
    "ldrd %[x0], %[x1], [%[c], #-24]\n\t" /* columns 0, 1: inputs 2, 3 */                                            \
    AIOTC_SMLAD4(lo0, hi0, lo1, hi1) "ldrd %[x0], %[x1], [%[c], #-8]\n\t" /* 2, 3 */                                \
    AIOTC_SMLAD4(lo2, hi2, lo3, hi3)
#define AIOTC_SMLAD4(l0, h0, l1, h1)                                                                                  \
    "smlad %[" #l0 "], %[s0], %[x0], %[" #l0 "]\n\t"                                                                 \
    "smlad %[" #h0 "], %[w0], %[x0], %[" #h0 "]\n\t"                                                                 \
    "smlad %[" #l1 "], %[s0], %[x1], %[" #l1 "]\n\t"                                                                 \
    "smlad %[" #h1 "], %[w0], %[x1], %[" #h1 "]\n\t"
static AIOTC_INLINE void aiotc_mac_4x2(aiotc_quad_sums *s, const int32_t **w, const int32_t **cols, int32_t groups)
{
    const int32_t *const end4 = *cols + 8 * (groups & ~3), *const end = *cols + 8 * groups;
    int32_t w0, s0, x0, x1;
    __asm__("ldr %[x0], %[end4]\n\t"
            "cmp %[c], %[x0]\n\t"
            "beq 2f\n"
            "1:\n\t" AIOTC_QUAD_GROUP AIOTC_QUAD_GROUP AIOTC_QUAD_GROUP AIOTC_QUAD_GROUP
            "ldr %[x0], %[end4]\n\t"
            "cmp %[c], %[x0]\n\t"
            "bne 1b\n"
            "2:\n\t"
            "ldr %[x0], %[end]\n\t"
            "cmp %[c], %[x0]\n\t"
            "beq 4f\n"
            "3:\n\t" AIOTC_QUAD_GROUP "ldr %[x0], %[end]\n\t"
            "cmp %[c], %[x0]\n\t"
            "bne 3b\n"
            "4:"
            : [lo0] "+r"(s->lo0), [hi0] "+r"(s->hi0), [lo1] "+r"(s->lo1), [hi1] "+r"(s->hi1), [lo2] "+r"(s->lo2),
              [hi2] "+r"(s->hi2), [lo3] "+r"(s->lo3), [hi3] "+r"(s->hi3), [w] "+r"(*w), [c] "+r"(*cols),
              [w0] "=&r"(w0), [s0] "=&r"(s0), [x0] "=&r"(x0), [x1] "=&r"(x1)
            : [end4] "m"(end4), [end] "m"(end)
            : "cc", "memory");
}


/* A channel pair's weights at *w (left at the next pair's) against the quad at cols,
 * `groups` (> 0) groups of 4 inputs, from the channels' biases; channel b's sums (as
 * aiotc_dot_pair) in b[4], channel a's in a[4]. */
static AIOTC_INLINE void aiotc_dot_quad(const int32_t **w, int32_t groups, int32_t bias_a, int32_t bias_b,
                                        const int32_t *cols, int32_t *a, int32_t *b)
{
    const int32_t chunk = AIOTC_GEMM_CHUNK / 4;
    int32_t rest = (int32_t)((uint32_t)(groups - 1) / (uint32_t)chunk) * chunk;
    aiotc_quad_sums s;
    s.lo0 = s.hi0 = s.lo1 = s.hi1 = s.lo2 = s.hi2 = s.lo3 = s.hi3 = bias_a;
    b[0] = b[1] = b[2] = b[3] = bias_b;
    for (groups -= rest;; groups = chunk, rest -= chunk) {
        aiotc_mac_4x2(&s, w, &cols, groups);
        b[0] += (s.hi0 - s.lo0) >> 8;
        b[1] += (s.hi1 - s.lo1) >> 8;
        b[2] += (s.hi2 - s.lo2) >> 8;
        b[3] += (s.hi3 - s.lo3) >> 8;
        s.hi0 = s.lo0;
        s.hi1 = s.lo1;
        s.hi2 = s.lo2;
        s.hi3 = s.lo3;
        if (rest == 0) {
            break;
        }
    }
    a[0] = s.lo0;
    a[1] = s.lo1;
    a[2] = s.lo2;
    a[3] = s.lo3;
}

/* One channel's sums of a quad to its outputs of the first `count` columns, `common`
 * (quant_params->right_shifts) a constant: a whole quad (4 a constant) written out, not
 * looped, so that its sums stay in registers, never stored to the stack and read back. */
static AIOTC_INLINE void aiotc_quad_out(const aiotc_gemm *g, int32_t channel, const int32_t *sums, int32_t count,
                                        int8_t *out, int32_t stride, int32_t common)
{
    const aiotc_rq q = aiotc_rq_channel(g->multiplier[channel], g->shift[channel]);
    const int32_t offset = g->output_offset, lo = common == 1 ? -128 : g->act_min, hi = common ? 127 : g->act_max;
    if (AIOTC_LIKELY(count == 4)) {
        out[0] = aiotc_out_s8_mode(q, sums[0], offset, lo, hi, common);
        out[stride] = aiotc_out_s8_mode(q, sums[1], offset, lo, hi, common);
        out[2 * stride] = aiotc_out_s8_mode(q, sums[2], offset, lo, hi, common);
        out[3 * stride] = aiotc_out_s8_mode(q, sums[3], offset, lo, hi, common);
    } else {
        aiotc_requantize_strided(q, sums, count, offset, g->act_min, g->act_max, common, out, stride);
    }
}

/* aiotc_gemm_quad for one requantization mode (`common`, a constant in each copy: one
 * copy's registers do not weigh on another's). */
static AIOTC_INLINE void aiotc_gemm_quad_mode(const aiotc_gemm *g, const int32_t *cols, int8_t *out, int32_t stride,
                                              int32_t count, int32_t common)
{
    const int32_t *w = (const int32_t *)(const void *)g->weights;
    const int32_t groups = (int32_t)((uint32_t)g->row / 4u);
    int32_t oc;
    for (oc = 0; oc < g->rows; oc += 2) {
        const int32_t b = AIOTC_MIN(oc + 1, g->rows - 1);
        int32_t sums_a[4], sums_b[4];
        aiotc_dot_quad(&w, groups, g->bias[oc], g->bias[b], cols, sums_a, sums_b);
        aiotc_quad_out(g, oc, sums_a, count, out + oc, stride, common);
        if (b != oc) {
            aiotc_quad_out(g, b, sums_b, count, out + b, stride, common);
        }
    }
}

/* What aiotc_gemm_quad_right's asm walks, at fixed offsets (bytes, 32-bit pointers): the
 * weights (0), the quad's columns (4) and the ends of their groups of 4 and of all (8, 12),
 * the channels' biases (16), how many channels are left (20), their multipliers and shifts
 * (24, 28), the outputs (32) and one column's `stride` bytes between them (36), offset2 =
 * 2 * offset + 1 (40) and act_min (44). */
typedef struct {
    const int32_t *w, *cols, *end4, *end, *bias;
    int32_t left;
    const int32_t *mult, *shift;
    int8_t *out;
    int32_t stride, offset2, act_min;
} aiotc_quad_walk;

/* One output by right shifts (aiotc_rq_right, as DW_RIGHT), registers named after their
 * role in the multiply: sum `x`, multiplier w, shift c, 2^30 in w0, offset2 in x0, the
 * nudge's and product's words in hi1 and hi2, then `clamp` (act_min in hi3) and `store`
 * (outputs at x1, stride in hi0). */
#define AIOTC_QUAD_RIGHT(x, clamp, store)                                                                              \
    "asr %[hi2], %[" x "], #31\n\t"                                                                                    \
    "orr %[hi1], %[w0], %[hi2], lsl #31\n\t"                                                                           \
    "smlal %[hi1], %[hi2], %[" x "], %[w]\n\t"                                                                         \
    "asr %[hi2], %[hi2], %[c]\n\t"                                                                                     \
    "add %[hi2], %[hi2], %[x0]\n\t"                                                                                    \
    "ssat %[hi2], #8, %[hi2], asr #1\n\t" clamp store
/* A channel's 4 outputs from lo0..lo3 (Thumb has no register post-index: two stores off
 * x1, then it moves two strides). */
#define AIOTC_QUAD_OUTS(clamp)                                                                                         \
    AIOTC_QUAD_RIGHT("lo0", clamp, "strb %[hi2], [%[x1]]\n\t")                                                         \
    AIOTC_QUAD_RIGHT("lo1", clamp, "strb %[hi2], [%[x1], %[hi0]]\n\tadd %[x1], %[x1], %[hi0], lsl #1\n\t")             \
    AIOTC_QUAD_RIGHT("lo2", clamp, "strb %[hi2], [%[x1]]\n\t")                                                         \
    AIOTC_QUAD_RIGHT("lo3", clamp, "strb %[hi2], [%[x1], %[hi0]]\n\t")
/* `common` 2: the bottom of a ReLU's clamp (act_min >= -128). */
#define AIOTC_QUAD_AT_LEAST                                                                                            \
    "cmp %[hi2], %[hi3]\n\t"                                                                                           \
    "it lt\n\t"                                                                                                        \
    "movlt %[hi2], %[hi3]\n\t"
/* The channel pairs of a quad (an even count), the walk's pointer in s0 (pushed while the
 * multiplies take its register): per pair the 8 sums from channel a's bias, the multiplies
 * (AIOTC_QUAD_GROUP, as aiotc_mac_4x2, the loops' ends on the stack), channel b's sums
 * from the byte-pair sums (aiotc_dot_quad's for one chunk) kept on the stack while channel
 * a's outputs are made, then channel b's. */
#define AIOTC_QUAD_PAIRS(clamp)                                                                                        \
    "1:\n\t"                                                                                                           \
    "ldr %[x0], [%[s0], #16]\n\t"                                                                                      \
    "ldr %[lo0], [%[x0]]\n\t"                                                                                          \
    "mov %[hi0], %[lo0]\n\t"                                                                                           \
    "mov %[lo1], %[lo0]\n\t"                                                                                           \
    "mov %[hi1], %[lo0]\n\t"                                                                                           \
    "mov %[lo2], %[lo0]\n\t"                                                                                           \
    "mov %[hi2], %[lo0]\n\t"                                                                                           \
    "mov %[lo3], %[lo0]\n\t"                                                                                           \
    "mov %[hi3], %[lo0]\n\t"                                                                                           \
    "ldrd %[w], %[c], [%[s0]]\n\t"                                                                                     \
    "ldrd %[x0], %[x1], [%[s0], #8]\n\t"                                                                               \
    "str %[s0], [sp, #-4]!\n\t"                                                                                        \
    "strd %[x0], %[x1], [sp, #-8]!\n\t"                                                                                \
    "cmp %[c], %[x0]\n\t"                                                                                              \
    "beq 3f\n"                                                                                                         \
    "2:\n\t" AIOTC_QUAD_GROUP AIOTC_QUAD_GROUP AIOTC_QUAD_GROUP AIOTC_QUAD_GROUP                                       \
    "ldr %[x0], [sp]\n\t"                                                                                              \
    "cmp %[c], %[x0]\n\t"                                                                                              \
    "bne 2b\n"                                                                                                         \
    "3:\n\t"                                                                                                           \
    "ldr %[x0], [sp, #4]\n\t"                                                                                          \
    "cmp %[c], %[x0]\n\t"                                                                                              \
    "beq 5f\n"                                                                                                         \
    "4:\n\t" AIOTC_QUAD_GROUP                                                                                          \
    "ldr %[x0], [sp, #4]\n\t"                                                                                          \
    "cmp %[c], %[x0]\n\t"                                                                                              \
    "bne 4b\n"                                                                                                         \
    "5:\n\t"                                                                                                           \
    "ldr %[s0], [sp, #8]\n\t"                                                                                          \
    "str %[w], [%[s0]]\n\t"                                                                                            \
    "ldr %[x0], [%[s0], #16]\n\t"                                                                                      \
    "ldr %[w0], [%[x0], #4]\n\t"                                                                                       \
    "sub %[hi0], %[hi0], %[lo0]\n\t"                                                                                   \
    "add %[hi0], %[w0], %[hi0], asr #8\n\t"                                                                            \
    "sub %[hi1], %[hi1], %[lo1]\n\t"                                                                                   \
    "add %[hi1], %[w0], %[hi1], asr #8\n\t"                                                                            \
    "sub %[hi2], %[hi2], %[lo2]\n\t"                                                                                   \
    "add %[hi2], %[w0], %[hi2], asr #8\n\t"                                                                            \
    "sub %[hi3], %[hi3], %[lo3]\n\t"                                                                                   \
    "add %[hi3], %[w0], %[hi3], asr #8\n\t"                                                                           \
    "add %[x0], %[x0], #8\n\t"                                                                                         \
    "str %[x0], [%[s0], #16]\n\t"                                                                                      \
    "strd %[hi0], %[hi1], [sp, #-4]!\n\t"                                                                              \
    "strd %[hi2], %[hi3], [sp, #8]\n\t"                                                                                \
    "ldrd %[x1], %[hi0], [%[s0], #32]\n\t"                                                                             \
    "ldrd %[w], %[c], [%[s0], #24]\n\t"                                                                                \
    "ldr %[w], [%[w]]\n\t"                                                                                             \
    "ldr %[c], [%[c]]\n\t"                                                                                             \
    "ldrd %[x0], %[hi3], [%[s0], #40]\n\t"                                                                             \
    "mov %[w0], #0x40000000\n\t" AIOTC_QUAD_OUTS(clamp)                                                                \
    "ldrd %[lo0], %[lo1], [sp]\n\t"                                                                                    \
    "ldrd %[lo2], %[lo3], [sp, #8]\n\t"                                                                                \
    "ldrd %[w], %[c], [%[s0], #24]\n\t"                                                                                \
    "ldr %[w], [%[w], #4]\n\t"                                                                                         \
    "ldr %[c], [%[c], #4]\n\t"                                                                                         \
    "ldr %[x1], [%[s0], #32]\n\t"                                                                                      \
    "add %[x1], %[x1], #1\n\t" AIOTC_QUAD_OUTS(clamp)                                                                  \
    "add sp, sp, #16\n\t"                                                                                              \
    "ldrd %[w], %[c], [%[s0], #24]\n\t"                                                                                \
    "add %[w], %[w], #8\n\t"                                                                                           \
    "add %[c], %[c], #8\n\t"                                                                                           \
    "strd %[w], %[c], [%[s0], #24]\n\t"                                                                                \
    "ldr %[x1], [%[s0], #32]\n\t"                                                                                      \
    "add %[x1], %[x1], #2\n\t"                                                                                         \
    "str %[x1], [%[s0], #32]\n\t"                                                                                      \
    "ldr %[x1], [%[s0], #20]\n\t"                                                                                      \
    "subs %[x1], %[x1], #2\n\t"                                                                                        \
    "str %[x1], [%[s0], #20]\n\t"                                                                                      \
    "bgt 1b\n\t"
#define AIOTC_QUAD_PAIR_OPERANDS                                                                                       \
    : [lo0] "=&r"(lo0), [hi0] "=&r"(hi0), [lo1] "=&r"(lo1), [hi1] "=&r"(hi1), [lo2] "=&r"(lo2), [hi2] "=&r"(hi2),     \
      [lo3] "=&r"(lo3), [hi3] "=&r"(hi3), [w] "=&r"(w), [c] "=&r"(c), [w0] "=&r"(w0), [x0] "=&r"(x0), [x1] "=&r"(x1)   \
    : [s0] "r"(&q)                                                                                                     \
    : "cc", "memory"

/* aiotc_gemm_quad for a whole quad by right shifts (`common` 1 or 2), each channel's inputs
 * in one chunk, the channel pairs in one asm (AIOTC_QUAD_PAIRS; gcc spilled the C loop's
 * constants and sums around the multiplies' 14 registers), an odd last channel by the C
 * loop. Cortex-M4, a 1x1 layer 140 -> 140 with a ReLU over 8x5 pixels: per channel pair
 * and quad 141 instructions besides the multiply loops (80 of them the 8 outputs'
 * requantization) where the C loop took 176; the layer 755k -> 725k instructions. */
static AIOTC_NOINLINE void aiotc_gemm_quad_right(const aiotc_gemm *g, const int32_t *cols, int8_t *out, int32_t stride,
                                                 int32_t common)
{
    const int32_t groups = (int32_t)((uint32_t)g->row / 4u), paired = g->rows & ~1;
    aiotc_quad_walk q;
    int32_t lo0, hi0, lo1, hi1, lo2, hi2, lo3, hi3, w, c, w0, x0, x1;
    q.w = (const int32_t *)(const void *)g->weights;
    q.cols = cols;
    q.end4 = cols + 8 * (groups & ~3);
    q.end = cols + 8 * groups;
    q.bias = g->bias;
    q.left = paired; /* counted down by the asm */
    q.mult = g->multiplier;
    q.shift = g->shift;
    q.out = out;
    q.stride = stride;
    q.offset2 = 2 * g->output_offset + 1;
    q.act_min = g->act_min;
    if (paired && common == 1) {
        __asm__ volatile(AIOTC_QUAD_PAIRS("") AIOTC_QUAD_PAIR_OPERANDS);
    } else if (paired) {
        __asm__ volatile(AIOTC_QUAD_PAIRS(AIOTC_QUAD_AT_LEAST) AIOTC_QUAD_PAIR_OPERANDS);
    }
    if (g->rows & 1) { /* the last channel alone, paired with the zero row the weights end with */
        aiotc_gemm last = *g;
        last.weights = (const int8_t *)(const void *)q.w;
        last.bias += paired;
        last.multiplier += paired;
        last.shift += paired;
        last.rows = 1;
        aiotc_gemm_quad_mode(&last, cols, out + paired, stride, 4, common);
    }
}
#undef AIOTC_QUAD_PAIR_OPERANDS
#undef AIOTC_QUAD_PAIRS
#undef AIOTC_QUAD_AT_LEAST
#undef AIOTC_QUAD_OUTS
#undef AIOTC_QUAD_RIGHT
#undef AIOTC_SMLAD4
#undef AIOTC_QUAD_GROUP

/* All channels for the 4 columns of a quad (aiotc_col_quad at cols): outputs of the first
 * `count` (1-4) at out, one column's `stride` bytes after the previous one's. Each channel
 * pair's weights are read once per 4 pixels, where aiotc_gemm_pairs reads them once per 2:
 * a layer whose weights exceed a flash cache's data lines (STM32's ART: 256 bytes) reads
 * flash half as often. Odd rows: the last channel is paired with the zero row the weights
 * end with. The requantization mode is tested once per quad, not per channel, and each
 * mode has its own loop (Cortex-M4: vww_96_int8's quad layers 4% fewer instructions,
 * mobilenet_v1_a050_128's 1-2%, than one loop testing it per channel's outputs). */
static AIOTC_INLINE void aiotc_gemm_quad(const aiotc_gemm *gemm, const int32_t *cols, int8_t *out, int32_t stride, int32_t count)
{
    const aiotc_gemm g = *gemm; /* fields in registers (aiotc_gemm_s8): its address not taken */
    if (count == 4 && g.common && g.row <= AIOTC_GEMM_CHUNK) {
        aiotc_gemm_quad_right(gemm, cols, out, stride, g.common);
    } else if (g.common == 1) {
        aiotc_gemm_quad_mode(&g, cols, out, stride, count, 1);
    } else if (g.common) {
        aiotc_gemm_quad_mode(&g, cols, out, stride, count, 2);
    } else {
        aiotc_gemm_quad_mode(&g, cols, out, stride, count, 0);
    }
}

/* Column j of the window at *at: with channels in whole words widened straight from the
 * image (a quad's column: `quad`, else a pair's), else gathered into `taps` (k bytes and
 * zeros up to the row) and widened from there. */
static inline void aiotc_gather_column(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                       const aiotc_dims *filter_dims, const aiotc_pixel_walk *at, int8_t *taps,
                                       int32_t row, int32_t *cols, int32_t j, int32_t quad)
{
    const int32_t y0 = at->oy * params->stride.h - params->padding.h;
    const int32_t x0 = at->ox * params->stride.w - params->padding.w;
    if (input_dims->c % 4 == 0) {
        aiotc_gather_widened(params, input_dims, at->image, filter_dims, y0, x0,
                             quad ? cols + 4 * (j >> 1) + (j & 1) : cols + 2 * j, quad ? 8 : 4, quad ? 2 : 1);
        return;
    }
    aiotc_im2col_gather(params, input_dims, at->image, filter_dims, y0, x0, taps);
    if (quad) {
        aiotc_col_quad(taps, row, cols, j);
    } else {
        aiotc_col_prepare(taps, row, cols, j);
    }
}

/* The windows of the `count` (1-4) output pixels from *at on as a quad at cols
 * (aiotc_col_quad; past `count`, the last one again); *at left at the pixel after them. */
static inline void aiotc_gather_quad(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                     const aiotc_dims *filter_dims, const aiotc_dims *output_dims,
                                     aiotc_pixel_walk *at, int32_t count, int8_t *taps, int32_t row, int32_t *cols)
{
    int32_t j;
    for (j = 0; j < 4; j++) {
        aiotc_gather_column(params, input_dims, filter_dims, at, taps, row, cols, j, 1);
        if (j + 1 < count) {
            aiotc_pixel_step(at, input_dims, output_dims);
        }
    }
    aiotc_pixel_step(at, input_dims, output_dims);
}
#endif

/* 1x1 convolution (aiotc_conv_1x1_gemm's contract), 4 pixels at a time on the DSP path. */
static inline int32_t aiotc_conv_1x1_quads(const aiotc_context *ctx, const aiotc_conv_params *params,
                                           const aiotc_per_channel_quant_params *quant_params,
                                           const aiotc_dims *input_dims, const int8_t *input,
                                           const aiotc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                           const aiotc_dims *output_dims, int8_t *output)
{
#if defined(AIOTC_DSP)
    const int32_t in_c = input_dims->c, out_c = output_dims->c;
    const int32_t pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t dense = params->stride.h == 1 && params->stride.w == 1;
    int32_t *const cols = (int32_t *)ctx->buf;
    aiotc_gemm g;
    int32_t p;
    if (filter_dims->c != in_c || filter_dims->n != out_c || ctx->size < AIOTC_CONV_QUAD_BUFFER(in_c)) {
        return AIOTC_ARG_ERROR;
    }
    aiotc_gemm_setup(&g, filter, in_c, out_c, bias, quant_params, params, cols);
    for (p = 0; p < pixels; p += 4) {
        const int32_t count = AIOTC_MIN(4, pixels - p);
        int32_t j;
        if (count <= 2) { /* AIOTC_QUAD_TAIL */
            const aiotc_col *c0 = aiotc_col_prepare(aiotc_1x1_pixel(params, input_dims, input, output_dims, p, dense),
                                                    in_c, cols, 0);
            if (count == 2) {
                aiotc_col_prepare(aiotc_1x1_pixel(params, input_dims, input, output_dims, p + 1, dense), in_c, cols, 1);
            }
            aiotc_gemm_s8(&g, c0, count == 2 ? c0 : 0, output + p * out_c, output + (p + 1) * out_c);
            break;
        }
        for (j = 0; j < 4; j++) {
            const int32_t q = p + AIOTC_MIN(j, count - 1);
            aiotc_col_quad(aiotc_1x1_pixel(params, input_dims, input, output_dims, q, dense), in_c, cols, j);
        }
        aiotc_gemm_quad(&g, cols, output + p * out_c, out_c, count);
    }
    return AIOTC_OK;
#else
    return aiotc_conv_1x1_gemm(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias, output_dims,
                               output, 0);
#endif
}

/* Convolution through im2col (aiotc_conv_im2col_gemm's contract), 4 pixels at a time on
 * the DSP path, the taps widened straight from the image where channels are whole words,
 * else gathered as bytes first (aiotc_gather_column). */
static inline int32_t aiotc_conv_im2col_quads(const aiotc_context *ctx, const aiotc_conv_params *params,
                                              const aiotc_per_channel_quant_params *quant_params,
                                              const aiotc_dims *input_dims, const int8_t *input,
                                              const aiotc_dims *filter_dims, const int8_t *filter,
                                              const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
#if defined(AIOTC_DSP)
    const int32_t out_c = output_dims->c, pixels = output_dims->n * output_dims->h * output_dims->w;
    const int32_t k = filter_dims->h * filter_dims->w * input_dims->c, row = AIOTC_ROW(k);
    int32_t *const cols = (int32_t *)ctx->buf;
    int8_t *const taps = (int8_t *)ctx->buf + AIOTC_CONV_QUAD_BUFFER(k); /* channels not whole words */
    aiotc_gemm g;
    aiotc_pixel_walk at;
    int32_t p;
    if (filter_dims->c != input_dims->c || filter_dims->n != out_c ||
        ctx->size < AIOTC_CONV_IM2COL_QUAD_BUFFER(k, input_dims->c)) {
        return AIOTC_ARG_ERROR;
    }
    if (input_dims->c % 4) {
        memset(taps, 0, (size_t)row); /* the padding after the k taps: widened whole */
    }
    aiotc_gemm_setup(&g, filter, k, out_c, bias, quant_params, params, cols);
    at.image = input;
    at.oy = at.ox = 0;
    for (p = 0; p < pixels; p += 4) {
        const int32_t count = AIOTC_MIN(4, pixels - p);
        if (count <= 2) { /* AIOTC_QUAD_TAIL */
            int32_t j;
            for (j = 0; j < count; j++) {
                aiotc_gather_column(params, input_dims, filter_dims, &at, taps, row, cols, j, 0);
                aiotc_pixel_step(&at, input_dims, output_dims);
            }
            aiotc_gemm_s8(&g, cols, count == 2 ? cols : 0, output + p * out_c, output + (p + 1) * out_c);
            break;
        }
        aiotc_gather_quad(params, input_dims, filter_dims, output_dims, &at, count, taps, row, cols);
        aiotc_gemm_quad(&g, cols, output + p * out_c, out_c, count);
    }
    return AIOTC_OK;
#else
    return aiotc_conv_im2col_gemm(ctx, params, quant_params, input_dims, input, filter_dims, filter, bias,
                                  output_dims, output, 0);
#endif
}

#endif /* AIOTC_NN_GEMM_QUAD_H */
