/* int8 depthwise convolution, any depth multiplier, kernel, stride, dilation and padding.
 *
 * The lowering widens the weights to int16, groups of 8 channels one after the other,
 * each group's taps in order (C/8 x kh*kw x 8, zero padded to whole groups), and folds
 * the input offset into the bias, so a tap is one multiply of the raw input. Each output
 * pixel reads its taps through a table of pointers in the scratch buffer
 * (aiotc_nn_dw_channels.h), and 3x3 kernels get the loop over them unrolled.
 * Fast paths:
 * - DSP: 4 channels per word (half a group); SXTB16 splits them into even/odd halves,
 *   and SMLABB, SMLABT, SMLATB, SMLATT multiply each half by its int16 weight without
 *   unpacking; two pixels per step share the weight loads and the requantization
 *   constants (19 instructions per tap of 4 channels of both, a lone pixel 9), their
 *   taps rolled 4 per loop step so that the channel loop fits a 1 KB flash cache;
 * - MVE: a group per step: per tap one widening load of the 8 inputs and one load of
 *   the 8 weights, VMULLB/VMULLT into int32 accumulators of the even and the odd
 *   channels, each requantized as a vector (its constants gathered); two pixels per
 *   step in one block of assembly that narrows the even and odd sums back into
 *   channel order and stores 8 bytes at once, a lone pixel and the last group
 *   (predicated) by scatters. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_dw_channels.h"
#include "aiotc_nn_gemm.h"

/* Scratch: one 8-byte slot per tap (a pointer on any target), the row of zero points, and
 * for a depth multiplier over 1 the widened input rows (aiotc_nn_dw_channels.h). */
int32_t aiotc_depthwise_conv_opt_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
                                                    const aiotc_dims *filter_dims)
{
    const int32_t ch = filter_dims->c, rows = AIOTC_DW_REPEAT_ROWS(filter_dims->h, params->dilation.h);
    return AIOTC_ROW(ch) + 8 * filter_dims->h * filter_dims->w + (ch != input_dims->c ? rows * input_dims->w * ch : 0);
}

typedef aiotc_dw_layer dw_layer;
typedef struct dw_mve_s dw_mve; /* the MVE pair steps' vectors (defined there) */

/* Pixels computed at once (their tap tables fill the scratch's 8 bytes per tap: two
 * of 4-byte pointers on the M55 and the M4, where two pixels share each weight load),
 * and how far apart a table's entries are: on the DSP path the two tables interleave,
 * so that one pointer walks both (the 8 sums leave no register for a second). */
#if defined(AIOTC_MVE)
#define DW_PIXELS 2
#define DW_SPREAD 1
#elif defined(AIOTC_DSP)
#define DW_PIXELS 2
#define DW_SPREAD 2
#else
#define DW_PIXELS 1
#define DW_SPREAD 1
#endif

/* Pixel n's table (n < DW_PIXELS). */
#define DW_TABLE(tables, n, taps) ((tables) + (n) * (DW_SPREAD == 1 ? (taps) : 1))

/* Channel c of one pixel. */
static inline int8_t dw_channel(const dw_layer *d, const int8_t *const *tap, int32_t taps, int32_t c)
{
    int32_t acc = d->bias[c], t;
    for (t = 0; t < taps; t++) {
        acc += tap[t * DW_SPREAD][c] * d->weights[(c / 8 * taps + t) * 8 + c % 8];
    }
    return aiotc_out_s8_mode(aiotc_rq_channel(d->multiplier[c], d->shift[c]), acc, d->offset, d->act_min, d->act_max,
                             d->common);
}

/* A group of DW_PIXELS pixels' channels (ta, tb: their tables; ob NULL: a lone
 * pixel). Inlined at each call: there taps and `common` may be constants (the 3x3 tap
 * loop unrolls; aiotc_out_s8_mode). */
#if defined(AIOTC_DSP)
typedef struct {
    int32_t a0, a1, a2, a3;
} dw_acc;

/* One tap of 4 channels of a lone pixel: the input word `c` bytes into the pixel its
 * next table entry points at, times the group's next 4 int16 weights. In assembly:
 * gcc, given the 9 taps unrolled, hoists the loads and spills (worse than the rolled
 * loop). */
static AIOTC_INLINE void dw_tap(dw_acc *s, const int8_t *const **tap, const int16_t **w, int32_t c)
{
    const int8_t *p;
    int32_t x, w01, w23, e;
    __asm__("ldr %[p], [%[tp]], #8\n\t"
            "ldr %[x], [%[p], %[c]]\n\t"
            "ldrd %[w01], %[w23], [%[w]], #16\n\t"
            "sxtb16 %[e], %[x]\n\t"
            "sxtb16 %[x], %[x], ror #8\n\t"
            "smlabb %[a0], %[e], %[w01], %[a0]\n\t"
            "smlabt %[a1], %[x], %[w01], %[a1]\n\t"
            "smlatb %[a2], %[e], %[w23], %[a2]\n\t"
            "smlatt %[a3], %[x], %[w23], %[a3]"
            : [a0] "+r"(s->a0), [a1] "+r"(s->a1), [a2] "+r"(s->a2), [a3] "+r"(s->a3), [tp] "+r"(*tap), [w] "+r"(*w),
              [p] "=&r"(p), [x] "=&r"(x), [w01] "=&r"(w01), [w23] "=&r"(w23), [e] "=&r"(e)
            : [c] "r"(c)
            : "memory");
}

/* dw_tap for both pixels (the interleaved tables: a's entry, then b's), the weights
 * w01 then w23 in one register: with the 8 sums, the pointers and `c` that is all 14
 * (dw_sums2). */
#define DW_TAP2                                                                                                        \
    "ldr %[t0], [%[tp]], #4\n\t"                                                                                      \
    "ldr %[t1], [%[t0], %[c]]\n\t"                                                                                    \
    "ldr %[t2], [%[w]]\n\t"                                                                                           \
    "sxtb16 %[t0], %[t1]\n\t"                                                                                         \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                                                                                 \
    "smlabb %[a0], %[t0], %[t2], %[a0]\n\t"                                                                           \
    "smlabt %[a1], %[t1], %[t2], %[a1]\n\t"                                                                           \
    "ldr %[t2], [%[w], #4]\n\t"                                                                                       \
    "smlatb %[a2], %[t0], %[t2], %[a2]\n\t"                                                                           \
    "smlatt %[a3], %[t1], %[t2], %[a3]\n\t"                                                                           \
    "ldr %[t0], [%[tp]], #4\n\t"                                                                                      \
    "ldr %[t1], [%[t0], %[c]]\n\t"                                                                                    \
    "sxtb16 %[t0], %[t1]\n\t"                                                                                         \
    "sxtb16 %[t1], %[t1], ror #8\n\t"                                                                                 \
    "smlatb %[b2], %[t0], %[t2], %[b2]\n\t"                                                                           \
    "smlatt %[b3], %[t1], %[t2], %[b3]\n\t"                                                                           \
    "ldr %[t2], [%[w]], #16\n\t"                                                                                      \
    "smlabb %[b0], %[t0], %[t2], %[b0]\n\t"                                                                           \
    "smlabt %[b1], %[t1], %[t2], %[b1]\n\t"
/* Both pixels' sums of channels c .. c + 3 over all `taps` taps: the bias, then DW_TAP2
 * four taps per loop step, the loop's end (the weights') read from the stack (no register
 * is left for a counter). `enter` runs the taps % 4 taps before the first whole step: the
 * usual 9 taps peel one (`t1` is then only a scratch register, `rem` its operand); any other
 * count jumps into the loop at the block that leaves them. Rolled, the channel loop of two
 * pixels fits a 1 KB instruction cache (STM32's ART: with the 9 taps unrolled it took
 * 1,044 B, and every line missed on every step). */
#define DW_SUMS2(enter, rem)                                                                                           \
    __asm__("ldrd %[a0], %[a1], [%[t0]]\n\t"                                                                          \
            "ldrd %[a2], %[a3], [%[t0], #8]\n\t"                                                                      \
            "mov %[b0], %[a0]\n\t"                                                                                    \
            "mov %[b1], %[a1]\n\t"                                                                                    \
            "mov %[b2], %[a2]\n\t"                                                                                    \
            "mov %[b3], %[a3]\n\t" enter "1:\n\t" DW_TAP2 "2:\n\t" DW_TAP2 "3:\n\t" DW_TAP2 "4:\n\t" DW_TAP2        \
            "ldr %[t0], %[end]\n\t"                                                                                   \
            "cmp %[w], %[t0]\n\t"                                                                                     \
            "bne 1b"                                                                                                   \
            : [a0] "=&r"(a->a0), [a1] "=&r"(a->a1), [a2] "=&r"(a->a2), [a3] "=&r"(a->a3), [b0] "=&r"(b->a0),          \
              [b1] "=&r"(b->a1), [b2] "=&r"(b->a2), [b3] "=&r"(b->a3), [tp] "+r"(tap), [w] "+r"(w), [t0] "+&r"(t0),  \
              rem, [t2] "=&r"(t2)                                                                                      \
            : [c] "r"(c), [end] "m"(end)                                                                               \
            : "memory", "cc")

static AIOTC_INLINE void dw_sums2(dw_acc *a, dw_acc *b, const int8_t *const *tap, const int16_t *w,
                                  const int32_t *bias, int32_t c, int32_t taps)
{
    const int16_t *const end = w + 8 * taps;
    int32_t t0 = (int32_t)(uintptr_t)bias, t1, t2;
    if (taps == 9) {
        DW_SUMS2(DW_TAP2, [t1] "=&l"(t1));
    } else {
        t1 = taps % 4;
        DW_SUMS2("cbz %[t1], 1f\n\t"
                 "cmp %[t1], #2\n\t"
                 "blo 4f\n\t"
                 "beq 3f\n\t"
                 "b 2f\n\t",
                 [t1] "+&l"(t1));
    }
}

/* Channel c's sums sa (and sb, unless ob is NULL) to oa[c] (ob[c]), its constants
 * read once. */
static AIOTC_INLINE void dw_out(const dw_layer *d, int32_t c, int32_t sa, int32_t sb, int8_t *oa, int8_t *ob,
                                int32_t common)
{
    const aiotc_rq q = aiotc_rq_channel(d->multiplier[c], d->shift[c]);
    oa[c] = aiotc_out_s8_mode(q, sa, d->offset, d->act_min, d->act_max, common);
    if (ob != 0) {
        ob[c] = aiotc_out_s8_mode(q, sb, d->offset, d->act_min, d->act_max, common);
    }
}

static AIOTC_INLINE void dw_channels(const dw_layer *d, const int8_t *const *ta, const int8_t *const *tb,
                                     int32_t taps, int8_t *oa, int8_t *ob, int32_t common)
{
    const int32_t ch = d->channels;
    int32_t c;
    for (c = 0; c + 4 <= ch; c += 4) {
        const int8_t *const *tp = ta;
        const int16_t *w = d->weights + (c & ~7) * taps + (c & 7);
        dw_acc a, b;
        int32_t t;
        if (ob != 0) {
            dw_sums2(&a, &b, ta, w, d->bias + c, c, taps);
        } else {
            a.a0 = d->bias[c];
            a.a1 = d->bias[c + 1];
            a.a2 = d->bias[c + 2];
            a.a3 = d->bias[c + 3];
            b = a;
            if (taps == 9) {
                dw_tap(&a, &tp, &w, c);
                dw_tap(&a, &tp, &w, c);
                dw_tap(&a, &tp, &w, c);
                dw_tap(&a, &tp, &w, c);
                dw_tap(&a, &tp, &w, c);
                dw_tap(&a, &tp, &w, c);
                dw_tap(&a, &tp, &w, c);
                dw_tap(&a, &tp, &w, c);
                dw_tap(&a, &tp, &w, c);
            } else {
                for (t = 0; t < taps; t++) {
                    dw_tap(&a, &tp, &w, c);
                }
            }
        }
        dw_out(d, c, a.a0, b.a0, oa, ob, common);
        dw_out(d, c + 1, a.a1, b.a1, oa, ob, common);
        dw_out(d, c + 2, a.a2, b.a2, oa, ob, common);
        dw_out(d, c + 3, a.a3, b.a3, oa, ob, common);
    }
    for (; c < ch; c++) {
        oa[c] = dw_channel(d, ta, taps, c);
        if (ob != 0) {
            ob[c] = dw_channel(d, tb, taps, c);
        }
    }
}

static AIOTC_INLINE void dw_pixels(const dw_layer *d, const dw_mve *unused, const int8_t *const *ta,
                                   const int8_t *const *tb, int32_t taps, int8_t *oa, int8_t *ob, int32_t common)
{
    (void)unused;
    if (ob != 0) {
        dw_channels(d, ta, tb, taps, oa, ob, common);
    } else {
        dw_channels(d, ta, tb, taps, oa, 0, common);
    }
}
#elif defined(AIOTC_MVE)
/* Requantization constants of a step's even (odd: from c + 1) channels c, c + 2, c + 4,
 * c + 6, gathered once for both pixels; in the last step (`tail`) the lanes p allows. */
typedef struct {
    int32x4_t multiplier, shift;
} dw_rq;

static AIOTC_INLINE dw_rq dw_rq_mve(const dw_layer *d, int32_t c, int32_t tail, mve_pred16_t p, int32_t common)
{
    const uint32x4_t even = vidupq_n_u32(0, 2);
    dw_rq q;
    q.multiplier = tail ? vldrwq_gather_shifted_offset_z_s32(d->multiplier + c, even, p)
                        : vldrwq_gather_shifted_offset_s32(d->multiplier + c, even);
    q.shift = tail ? vldrwq_gather_shifted_offset_z_s32(d->shift + c, even, p)
                   : vldrwq_gather_shifted_offset_s32(d->shift + c, even);
    if (common) {
        q.shift = vsubq_s32(vdupq_n_s32(-2), q.shift);
    }
    return q;
}

/* acc (channels c, c + 2, c + 4, c + 6) to int8 at out[c], out[c + 2], ... */
static AIOTC_INLINE void dw_store_mve(const dw_layer *d, dw_rq q, int32x4_t acc, int32_t c, int32_t tail,
                                      mve_pred16_t p, int8_t *out, int32_t common)
{
    const uint32x4_t even = vidupq_n_u32(0, 2);
    const int32x4_t y = common ? aiotc_mve_requantize_right(acc, q.multiplier, q.shift)
                               : aiotc_mve_requantize(acc, q.multiplier, q.shift);
    const int32x4_t z =
        vminq_s32(vmaxq_s32(vaddq_n_s32(y, d->offset), vdupq_n_s32(d->act_min)), vdupq_n_s32(d->act_max));
    if (tail) {
        vstrbq_scatter_offset_p_s32(out + c, even, z, p);
    } else {
        vstrbq_scatter_offset_s32(out + c, even, z);
    }
}

/* The int32 accumulators of 8 channels of one pixel: even channels, odd channels. */
typedef struct {
    int32x4_t even, odd;
} dw_acc;

/* One tap of 8 channels: their inputs x (int16) times their weights k, VMULLB/VMULLT
 * into the even and the odd channels' accumulators. */
static AIOTC_INLINE void dw_tap_mve(dw_acc *a, int16x8_t x, int16x8_t k)
{
    a->even = vaddq_s32(a->even, vmullbq_int_s16(x, k));
    a->odd = vaddq_s32(a->odd, vmulltq_int_s16(x, k));
}

/* What the asm of dw_step2_mve reads by offsets from one pointer: the vectors it would
 * otherwise hold in registers (it needs all 8 for the taps), and the layer's arrays;
 * the asm knows the order of the fields (16 bytes a vector, 4 a scalar: checked below). */
struct dw_mve_s {
    uint16x8_t lanes;        /* 0 .. 7: the channels of a step, plus c */
    int16x8_t lo, hi;        /* the clamp, on the int16 lanes of the narrowed outputs */
    uint32x4_t even;         /* 0, 2, 4, 6: a step's even (from c + 1: odd) channels' constants */
    int32x4_t minus2;        /* right shifts -s - 2 (`common`) back to TFLite's shifts */
    const int32_t *bias, *multiplier, *shift;
    int32_t offset;
};
#define DW_AT(field, base, bytes) (offsetof(dw_mve, field) == offsetof(dw_mve, base) + (bytes))
typedef char dw_mve_layout[DW_AT(lo, lanes, 16) && DW_AT(hi, lanes, 32) && DW_AT(even, lanes, 48) &&
                                   DW_AT(minus2, lanes, 64) && DW_AT(multiplier, bias, 4) && DW_AT(shift, bias, 8) &&
                                   DW_AT(offset, bias, 12) ? 1 : -1];

/* The requantization of the even (odd) channels' sums a and b of a step, multipliers at
 * [r + 4 * even] into k, shifts at [p + 4 * even] into s: TFLite's (aiotc_mve_requantize),
 * aiotc_nn_gemm.h's AIOTC_RQ_GENERAL: the shift's left and right parts once for both. */
#define DW_REQUANTIZE(a, b)                                                                                            \
    "vldrw.u32 %q[k], [%[r], %q[l], uxtw #2]\n\t"                                                                      \
    "vldrw.u32 %q[s], [%[p], %q[l], uxtw #2]\n\t" AIOTC_RQ_GENERAL("%q[" a "]", "%q[" b "]", "%q[k]", "%q[s]", "%q[t]", "%[m]")

/* DW_REQUANTIZE with right shifts (`common`: shift[] holds r, the shift is -2 - r, the
 * -2s at minus2): AIOTC_RQ_RIGHT, no left shift (aiotc_mve_requantize_right). */
#define DW_REQUANTIZE_RIGHT(a, b)                                                                                      \
    "vldrw.u32 %q[k], [%[r], %q[l], uxtw #2]\n\t"                                                                      \
    "vldrw.u32 %q[s], [%[p], %q[l], uxtw #2]\n\t"                                                                      \
    "vldrw.u32 %q[t], [%[m], #%c[o_vectors]+64]\n\t"                                                                   \
    "vsub.i32 %q[s], %q[t], %q[s]\n\t" AIOTC_RQ_RIGHT("%q[" a "]", "%q[k]", "%q[s]", "%q[t]")                        \
        AIOTC_RQ_RIGHT("%q[" b "]", "%q[k]", "%q[s]", "%q[t]")

/* One tap of the pair step: the 8 weights, the two pixels' inputs, their products. */
#define DW_TAP2                                                                                                        \
    "ldr %[p], [%[ta]], #4\n\t"                                                                                        \
    "vldrh.16 %q[k], [%[w]], #16\n\t"                                                                                  \
    "vldrb.s16 %q[s], [%[p], %q[l]]\n\t"                                                                               \
    "ldr %[p], [%[tb]], #4\n\t"                                                                                        \
    "vmullb.s16 %q[t], %q[s], %q[k]\n\t"                                                                               \
    "vadd.i32 %q[a0], %q[a0], %q[t]\n\t"                                                                               \
    "vmullt.s16 %q[t], %q[s], %q[k]\n\t"                                                                               \
    "vldrb.s16 %q[s], [%[p], %q[l]]\n\t"                                                                               \
    "vadd.i32 %q[a1], %q[a1], %q[t]\n\t"                                                                               \
    "vmullb.s16 %q[t], %q[s], %q[k]\n\t"                                                                               \
    "vadd.i32 %q[b0], %q[b0], %q[t]\n\t"                                                                               \
    "vmullt.s16 %q[t], %q[s], %q[k]\n\t"                                                                               \
    "vadd.i32 %q[b1], %q[b1], %q[t]\n\t"

/* All taps: a loop, or the usual 9 unrolled (no loop instruction). */
#define DW_TAPS_LOOP "dls lr, lr\n1:\n\t" DW_TAP2 "le lr, 1b\n\t"
#define DW_TAPS_9 ".rept 9\n\t" DW_TAP2 ".endr\n\t"

/* Channels c .. c + 7 of pixels a and b, all in registers: the bias, per tap one load
 * of the 8 weights (w) for both and per pixel one gather of the 8 inputs widened to
 * int16 (the tap's pointer plus the lanes), VMULLB/VMULLT into the even and odd
 * channels' int32 sums (13 instructions for 16 MACs); then each pair of sums
 * requantized (DW_REQUANTIZE), narrowed by VQMOVNB/VQMOVNT back into channel order
 * with saturation (the clamp lies inside int16), offset, clamped and stored as 8
 * contiguous bytes: about 180 instructions a step of 9 taps. In assembly: gcc 12
 * spills the accumulators and the constants around the loop (a 25x5x64 layer: 142.8k
 * instructions, 123.5k here). `taps`: DW_TAPS_LOOP or DW_TAPS_9; `requantize`:
 * DW_REQUANTIZE or DW_REQUANTIZE_RIGHT. */
#define DW_STEP2(taps, requantize)                                                                                     \
    __asm__ volatile("vldrh.u16 %q[l], [%[m], #%c[o_vectors]]\n\t"                                                     \
                     "vadd.i16 %q[l], %q[l], %[c]\n\t"                                                                 \
                     "vldrw.u32 %q[t], [%[m], #%c[o_vectors]+48]\n\t"                                                  \
                     "ldr %[r], [%[m], #%c[o_scalars]]\n\t"                                                            \
                     "add %[r], %[r], %[c], lsl #2\n\t"                                                                \
                     "vldrw.u32 %q[a0], [%[r], %q[t], uxtw #2]\n\t"                                                    \
                     "adds %[r], #4\n\t"                                                                               \
                     "vldrw.u32 %q[a1], [%[r], %q[t], uxtw #2]\n\t"                                                    \
                     "vmov %q[b0], %q[a0]\n\t"                                                                         \
                     "vmov %q[b1], %q[a1]\n\t"                                                                         \
                     taps                                                                                              \
                     "vldrw.u32 %q[l], [%[m], #%c[o_vectors]+48]\n\t"                                                  \
                     "ldr %[r], [%[m], #%c[o_scalars]+4]\n\t"                                                          \
                     "add %[r], %[r], %[c], lsl #2\n\t"                                                                \
                     "ldr %[p], [%[m], #%c[o_scalars]+8]\n\t"                                                          \
                     "add %[p], %[p], %[c], lsl #2\n\t" requantize("a0", "b0") "adds %[r], #4\n\t"                     \
                     "adds %[p], #4\n\t" requantize("a1", "b1") "ldr %[r], [%[m], #%c[o_scalars]+12]\n\t"              \
                     "vldrh.u16 %q[k], [%[m], #%c[o_vectors]+16]\n\t"                                                  \
                     "vldrh.u16 %q[l], [%[m], #%c[o_vectors]+32]\n\t"                                                  \
                     "vqmovnb.s32 %q[t], %q[a0]\n\t"                                                                   \
                     "vqmovnt.s32 %q[t], %q[a1]\n\t"                                                                   \
                     "vqmovnb.s32 %q[s], %q[b0]\n\t"                                                                   \
                     "vqmovnt.s32 %q[s], %q[b1]\n\t"                                                                   \
                     "vqadd.s16 %q[t], %q[t], %[r]\n\t"                                                                \
                     "vqadd.s16 %q[s], %q[s], %[r]\n\t"                                                                \
                     "vmax.s16 %q[t], %q[t], %q[k]\n\t"                                                                \
                     "vmax.s16 %q[s], %q[s], %q[k]\n\t"                                                                \
                     "vmin.s16 %q[t], %q[t], %q[l]\n\t"                                                                \
                     "vmin.s16 %q[s], %q[s], %q[l]\n\t"                                                                \
                     "vstrb.16 %q[t], [%[oa]]\n\t"                                                                     \
                     "vstrb.16 %q[s], [%[ob]]"                                                                         \
                     : [a0] "=&w"(a0), [a1] "=&w"(a1), [b0] "=&w"(b0), [b1] "=&w"(b1), [k] "=&w"(k), [s] "=&w"(s),     \
                       [t] "=&w"(t), [l] "=&w"(l), [p] "=&r"(p), [r] "=&r"(r), [ta] "+r"(ta), [tb] "+r"(tb),           \
                       [w] "+r"(w), [n] "+r"(n)                                                                        \
                     : [m] "r"(m), [c] "r"(c), [oa] "l"(oa), [ob] "l"(ob), /* VSTRB.16: r0-r7 */                     \
                       [o_vectors] "i"(offsetof(dw_mve, lanes)), [o_scalars] "i"(offsetof(dw_mve, bias))               \
                     : "memory")

static AIOTC_INLINE void dw_step2_mve(const dw_mve *m, const int8_t *const *ta, const int8_t *const *tb,
                                      const int16_t *w, int32_t taps, int32_t c, int8_t *oa, int8_t *ob,
                                      int32_t common)
{
    int32x4_t a0, a1, b0, b1, k, s, t, l; /* s: the inputs of a tap, the shifts, pixel b's outputs */
    const int8_t *p;
    int32_t r;
    register int32_t n __asm__("lr") = taps;
    if (taps == 9 && common) {
        DW_STEP2(DW_TAPS_9, DW_REQUANTIZE_RIGHT);
    } else if (taps == 9) {
        DW_STEP2(DW_TAPS_9, DW_REQUANTIZE);
    } else if (common) {
        DW_STEP2(DW_TAPS_LOOP, DW_REQUANTIZE_RIGHT);
    } else {
        DW_STEP2(DW_TAPS_LOOP, DW_REQUANTIZE);
    }
}

/* The taps of dw_step2_mve for pixel a alone: 8 instructions for 8 MACs. */
static AIOTC_INLINE void dw_taps1_mve(dw_acc *a, const int8_t *const *ta, const int16_t *w, uint16x8_t lanes,
                                      int32_t taps)
{
    int16x8_t k, x;
    int32x4_t t;
    const int8_t *p;
    register int32_t n __asm__("lr") = taps;
    __asm__ volatile("dls lr, lr\n"
                     "1:\n\t"
                     "ldr %[p], [%[ta]], #4\n\t"
                     "vldrh.16 %q[k], [%[w]], #16\n\t"
                     "vldrb.s16 %q[x], [%[p], %q[lanes]]\n\t"
                     "vmullb.s16 %q[t], %q[x], %q[k]\n\t"
                     "vadd.i32 %q[a0], %q[a0], %q[t]\n\t"
                     "vmullt.s16 %q[t], %q[x], %q[k]\n\t"
                     "vadd.i32 %q[a1], %q[a1], %q[t]\n\t"
                     "le lr, 1b"
                     : [a0] "+w"(a->even), [a1] "+w"(a->odd), [k] "=&w"(k), [x] "=&w"(x), [t] "=&w"(t), [p] "=&r"(p),
                       [ta] "+r"(ta), [w] "+r"(w), [n] "+r"(n)
                     : [lanes] "w"(lanes)
                     : "memory");
}

/* Channels c .. c + 7 of pixel a alone, or in the last step (`tail`: lanes past the
 * channels zero) of pixels a and b when `pair` (dw_step2_mve runs the others). */
static AIOTC_INLINE void dw_step(const dw_layer *d, const int8_t *const *ta, const int8_t *const *tb, int32_t taps,
                                 int32_t c, const int16_t *w, uint16x8_t lanes, int32_t tail, int8_t *oa, int8_t *ob,
                                 int32_t common, int32_t pair)
{
    const uint32x4_t even = vidupq_n_u32(0, 2);
    const uint32_t left = (uint32_t)(d->channels - c);
    const mve_pred16_t p = tail ? vctp16q(left) : 0, p0 = tail ? vctp32q((left + 1) / 2u) : 0;
    const mve_pred16_t p1 = tail ? vctp32q(left / 2u) : 0;
    dw_acc a, b;
    dw_rq q;
    int32_t t;
    a.even = tail ? vldrwq_gather_shifted_offset_z_s32(d->bias + c, even, p0)
                  : vldrwq_gather_shifted_offset_s32(d->bias + c, even);
    a.odd = tail ? vldrwq_gather_shifted_offset_z_s32(d->bias + c + 1, even, p1)
                 : vldrwq_gather_shifted_offset_s32(d->bias + c + 1, even);
    b = a;
    if (tail) {
        for (t = 0; t < taps; t++, w += 8) {
            const int16x8_t k = vldrhq_s16(w);
            dw_tap_mve(&a, vldrbq_gather_offset_z_s16(ta[t], lanes, p), k);
            if (pair) {
                dw_tap_mve(&b, vldrbq_gather_offset_z_s16(tb[t], lanes, p), k);
            }
        }
    } else {
        dw_taps1_mve(&a, ta, w, lanes, taps);
    }
    q = dw_rq_mve(d, c, tail, p0, common);
    dw_store_mve(d, q, a.even, c, tail, p0, oa, common);
    if (pair) {
        dw_store_mve(d, q, b.even, c, tail, p0, ob, common);
    }
    q = dw_rq_mve(d, c + 1, tail, p1, common);
    dw_store_mve(d, q, a.odd, c + 1, tail, p1, oa, common);
    if (pair) {
        dw_store_mve(d, q, b.odd, c + 1, tail, p1, ob, common);
    }
}

/* The layer's dw_mve, set up once a call (dw_rows), not once a pair of pixels: with
 * few channels (2 steps at 16) that took a quarter of a pair's instructions. */
static void dw_mve_of(const dw_layer *d, dw_mve *m)
{
    m->lanes = vidupq_n_u16(0, 1);
    m->lo = vdupq_n_s16((int16_t)d->act_min);
    m->hi = vdupq_n_s16((int16_t)d->act_max);
    m->even = vidupq_n_u32(0, 2);
    m->minus2 = vdupq_n_s32(-2);
    m->bias = d->bias;
    m->multiplier = d->multiplier;
    m->shift = d->shift;
    m->offset = d->offset;
}

/* Two pixels (DW_PIXELS) at once, or (`pair` 0) a lone last one, 8 channels (a group of
 * the weights) per step, the last step predicated. */
static AIOTC_INLINE void dw_channels(const dw_layer *d, const dw_mve *m, const int8_t *const *ta,
                                     const int8_t *const *tb, int32_t taps, int8_t *oa, int8_t *ob, int32_t common,
                                     int32_t pair)
{
    const int16_t *w = d->weights;
    uint16x8_t lanes = vidupq_n_u16(0, 1);
    int32_t c;
    if (pair) { /* the lanes are the asm's */
        for (c = 0; c + 8 <= d->channels; c += 8, w += 8 * taps) {
            dw_step2_mve(m, ta, tb, w, taps, c, oa + c, ob + c, common);
        }
        lanes = vaddq_n_u16(lanes, (uint16_t)c);
    } else {
        for (c = 0; c + 8 <= d->channels; c += 8, w += 8 * taps, lanes = vaddq_n_u16(lanes, 8)) {
            dw_step(d, ta, tb, taps, c, w, lanes, 0, oa, ob, common, pair);
        }
    }
    if (c < d->channels) {
        dw_step(d, ta, tb, taps, c, w, lanes, 1, oa, ob, common, pair);
    }
}

/* Pixels a and b, or a alone where ob is NULL. */
static AIOTC_INLINE void dw_pixels(const dw_layer *d, const dw_mve *m, const int8_t *const *ta,
                                   const int8_t *const *tb, int32_t taps, int8_t *oa, int8_t *ob, int32_t common)
{
    if (ob != 0) {
        dw_channels(d, m, ta, tb, taps, oa, ob, common, 1);
    } else {
        dw_channels(d, m, ta, tb, taps, oa, ob, common, 0);
    }
}
#else
static AIOTC_INLINE void dw_pixels(const dw_layer *d, const dw_mve *unused_m, const int8_t *const *tap,
                                   const int8_t *const *unused, int32_t taps, int8_t *out, int8_t *unused_out,
                                   int32_t common)
{
    int32_t c;
    (void)unused_m;
    (void)unused;
    (void)unused_out;
    (void)common;
    for (c = 0; c < d->channels; c++) {
        out[c] = dw_channel(d, tap, taps, c);
    }
}
#endif

/* dw_run's other layers (any taps, any mode), on the DSP path in a function of their own:
 * inlined, their tests of the mode (right_shifts 2) took registers from the usual 3x3's
 * loops (kws's 25x5x64: +3.2k instructions a layer). The MVE path clamps to act_min and
 * act_max in every mode: there right_shifts 2 is 1. */
#if defined(AIOTC_MVE)
#define DW_RIGHT_SHIFTS(common) ((common) != 0)
#else
#define DW_RIGHT_SHIFTS(common) ((common) == 1)
#endif
#if defined(AIOTC_DSP)
AIOTC_NOINLINE
#endif
static void dw_run_any(const dw_layer *layer, const dw_mve *m, const int8_t *const *tap, int32_t taps, int8_t *oa,
                       int8_t *ob)
{
    const dw_layer d = *layer;
    dw_pixels(&d, m, tap, DW_TABLE(tap, DW_PIXELS - 1, taps), taps, oa, ob, d.common);
}

/* A group of DW_PIXELS pixels (their tables: DW_TABLE; ob NULL: a lone last pixel),
 * the usual 3x3 with constant taps. */
static void dw_run(const dw_layer *layer, const dw_mve *m, const int8_t *const *tap, int32_t taps, int8_t *oa,
                   int8_t *ob)
{
    const dw_layer d = *layer; /* a local: its fields stay in registers across the int8 stores */
    const int8_t *const *const tb = DW_TABLE(tap, DW_PIXELS - 1, 9);
    if (taps == 9 && DW_RIGHT_SHIFTS(d.common)) {
        dw_pixels(&d, m, tap, tb, 9, oa, ob, 1);
    } else if (taps == 9 && !d.common) {
        dw_pixels(&d, m, tap, tb, 9, oa, ob, 0);
    } else {
        dw_run_any(layer, m, tap, taps, oa, ob);
    }
}

/* `height` output rows, the first one's windows from input row y0 of `image` on, DW_PIXELS
 * pixels at a time (across rows), a lone last one alone. A function of its own, so that
 * its loop's registers hold the pixels, not the multiplier's copy of the input rows. */
static AIOTC_NOINLINE int8_t *dw_rows(const dw_layer *d, const aiotc_dw_window *window, const int8_t *image,
                                      int32_t y0, int32_t height, const aiotc_dw_conv_params *params, int32_t out_w,
                                      const int8_t **tables, int32_t taps, int8_t *out)
{
    const aiotc_dw_window v = *window; /* a local: its fields stay in registers across the int8 stores */
    const int32_t stride = params->stride.w, left = -params->padding.w, right = left + out_w * stride;
    int8_t *first = out;
    int32_t n = 0, oy, x0;
    const dw_mve *m = 0;
#if defined(AIOTC_MVE)
    dw_mve vectors;
    dw_mve_of(d, &vectors);
    m = &vectors;
#endif
    for (oy = 0; oy < height; oy++, y0 += params->stride.h) {
        for (x0 = left; x0 != right; x0 += stride, out += d->channels) {
            aiotc_dw_tap_table(&v, image, d->channels, y0, x0, DW_TABLE(tables, n, taps), DW_SPREAD);
            if (n == 0) {
                first = out;
            }
            if (++n == DW_PIXELS) {
                dw_run(d, m, tables, taps, first, out);
                n = 0;
            }
        }
    }
    if (n != 0) {
        dw_run(d, m, tables, taps, first, 0);
    }
    return out;
}

int32_t aiotc_depthwise_conv_opt_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int16_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t in_h = input_dims->h, in_w = input_dims->w, in_c = input_dims->c, ch = output_dims->c;
    const int32_t mult = params->ch_mult, taps = filter_dims->h * filter_dims->w;
    const int8_t **const tables = (const int8_t **)ctx->buf;
    int8_t *const pad = (int8_t *)ctx->buf + 8 * taps;
    const aiotc_dims wide_dims = {input_dims->n, in_h, in_w, ch};
    aiotc_dw_window window = aiotc_dw_window_of(params, &wide_dims, filter_dims, pad);
    aiotc_dw_repeat repeat = {pad + AIOTC_ROW(ch), AIOTC_DW_REPEAT_ROWS(filter_dims->h, params->dilation.h), in_w * ch,
                              0, 0, 0};
    int8_t *out = output;
    dw_layer d;
    int32_t b, oy;
    if (filter_dims->c != ch || ch != in_c * mult ||
        ctx->size < aiotc_depthwise_conv_opt_s8_get_buffer_size(params, input_dims, filter_dims)) {
        return AIOTC_ARG_ERROR;
    }
    memset(pad, -params->input_offset, (size_t)ch);
    d = aiotc_dw_layer_of(params, quant_params, filter, bias, ch);
    for (b = 0; b < input_dims->n; b++) {
        const int8_t *image = input + b * in_h * in_w * in_c;
        if (mult == 1) { /* all rows at once */
            out = dw_rows(&d, &window, image, -params->padding.h, output_dims->h, params, output_dims->w, tables, taps,
                          out);
            continue;
        }
        repeat.lo = repeat.hi = 0;
        for (oy = 0; oy < output_dims->h; oy++) { /* a row at a time: the next one may move the copy */
            int32_t y0 = oy * params->stride.h - params->padding.h;
            const int8_t *rows = aiotc_dw_repeat_rows(&repeat, &window, input_dims, image, &y0);
            out = dw_rows(&d, &window, rows, y0, 1, params, output_dims->w, tables, taps, out);
        }
    }
    return AIOTC_OK;
}
