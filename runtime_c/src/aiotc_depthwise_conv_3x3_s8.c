/* int8 depthwise 3x3 convolution, depth multiplier 1, stride 1 or 2 on each axis, no
 * dilation: the shape of nearly every depthwise layer of MobileNets and DS-CNNs.
 *
 * A 3x3 depthwise tap pairs no two channels, so SIMD over channels (as in
 * aiotc_depthwise_conv_opt_s8) gets one multiply per instruction. Here each channel is
 * laid out as a plane of int16 rows instead (TinyEngine's channel-wise layout), padded
 * with the input zero point (the lowering folded input_offset * sum(weights) into the
 * bias, so padding contributes nothing), and neighbouring taps of one row meet in one
 * word: the DSP path does 2 multiply-accumulates per SMLAD, and the MVE path runs 4
 * output columns per vector with the weight as a scalar operand.
 *
 * MVE (Cortex-M55): the planes are filled by gathers (8 pixels of a channel widened to
 * int16 per instruction); a channel's band is accumulated into the int32 row of the
 * scratch by a tail-predicated loop in assembly with the 9 weights in registers (one
 * load and one VMLA per tap of 4 columns; for stride 1 two output rows at once, sharing
 * the loads of their 2 common plane rows), then requantized as vectors in one loop.
 *
 * Work goes in bands of DW_BAND output rows: per pair of channels, the input rows the
 * band needs are converted to two planes at once (one SXTB16 splits two pixels of two
 * channels), then each channel's 9 weights are packed as int16 pairs and its band
 * rows computed and requantized. A band reads input rows from the first one it needs
 * and writes only its own output rows: the in-place contract of aiotc_nn.h with a
 * group of DW_BAND rows (aiotc/inplace.py). */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"

#define DW_BAND 2

/* int16 values per plane row: every column the paths read for ceil4(out_w) outputs,
 * and a whole number of words. */
static int32_t dw_plane_width(int32_t out_w, int32_t stride_w)
{
    return ((out_w + 3) & ~3) * stride_w + 4;
}

static int32_t dw_plane_rows(int32_t stride_h)
{
    return (DW_BAND - 1) * stride_h + 3;
}

/* Scratch: the two planes (a word multiple), then the int32 accumulators of a band. */
int32_t aiotc_depthwise_conv_3x3_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *output_dims)
{
    const int32_t planes = 2 * dw_plane_rows(params->stride.h) * dw_plane_width(output_dims->w, params->stride.w);
    return planes * (int32_t)sizeof(int16_t) + (DW_BAND * output_dims->w + 1) * (int32_t)sizeof(int32_t);
}

typedef struct {
    const int8_t *image;     /* one batch of the input */
    int32_t in_h, in_w, channels;
    int32_t pad_top, pad_left, stride_h, stride_w;
    int32_t width;           /* dw_plane_width */
    int32_t inner;           /* image columns in a plane row */
    int16_t zero_point;      /* the padding value */
    const int32_t *bias, *multiplier, *shift;
    int32_t offset, act_min, act_max;
    int32_t common;          /* quant_params->right_shifts: shift[] holds right shifts */
} dw_layer;

/* n int16 values of the zero point at plane. */
static void dw_clear(const dw_layer *d, int16_t *plane, int32_t values)
{
    int32_t i = 0;
#if defined(AIOTC_MVE)
    const int16x8_t zero_point = vdupq_n_s16(d->zero_point);
    for (i = 0; i + 8 <= values; i += 8) { /* 8 values per store */
        vstrhq_s16(plane + i, zero_point);
    }
    vstrhq_p_s16(plane + i, zero_point, vctp16q((uint32_t)(values - i)));
    return;
#else
    const uint32_t pair = (uint16_t)d->zero_point * 0x10001u;
    for (i = 0; i + 2 <= values; i += 2) { /* two values per (unaligned) word store */
        memcpy(plane + i, &pair, sizeof pair);
    }
#endif
    for (; i < values; i++) {
        plane[i] = d->zero_point;
    }
}

/* The planes' padding columns hold the zero point from the start of a call and are
 * never written again: a row of the image fills only its inner columns. Only they are
 * cleared: a streamed layer calls the kernel for each output row, and clearing whole
 * planes cost more than the row's work on narrow layers (3 instructions an output on
 * vww_96's 48x48x8 on the M4). */
static void dw_clear_border(const dw_layer *d, int16_t *plane, int32_t rows)
{
    const int32_t right = d->pad_left + d->inner;
    int32_t r;
    for (r = 0; r < rows; r++, plane += d->width) {
        dw_clear(d, plane, d->pad_left);
        dw_clear(d, plane + right, d->width - right);
    }
}

#if defined(AIOTC_MVE)
/* n pixels of channels 0 (and 1 when `pair`) from src, `ch` bytes apart, to int16 at
 * a (and b): a gather of 8 bytes widened to int16 and one store per 8 pixels and
 * channel, the last ones predicated. */
static void dw_fill_mve(const int8_t *src, int32_t ch, int32_t n, int32_t pair, int16_t *a, int16_t *b)
{
    const uint16x8_t pixels = vmulq_n_u16(vidupq_n_u16(0, 1), (uint16_t)ch);
    int32_t i = 0;
    mve_pred16_t p;
    if (pair) {
        for (; i + 8 <= n; i += 8, src += 8 * ch) {
            vstrhq_s16(a + i, vldrbq_gather_offset_s16(src, pixels));
            vstrhq_s16(b + i, vldrbq_gather_offset_s16(src + 1, pixels));
        }
    } else {
        for (; i + 8 <= n; i += 8, src += 8 * ch) {
            vstrhq_s16(a + i, vldrbq_gather_offset_s16(src, pixels));
        }
    }
    if (i < n) {
        p = vctp16q((uint32_t)(n - i));
        vstrhq_p_s16(a + i, vldrbq_gather_offset_z_s16(src, pixels, p), p);
        if (pair) {
            vstrhq_p_s16(b + i, vldrbq_gather_offset_z_s16(src + 1, pixels, p), p);
        }
    }
}
#endif

#if defined(__ARM_FEATURE_DSP)
/* n pixels of channels 0 and 1 from src, `ch` bytes apart, to int16 at a and b: per two
 * pixels two halfword loads, one SXTB16 per channel (bytes (x, c), (x, c+1), (x+1, c),
 * (x+1, c+1) give (x, x+1) of each) and one word store each; an odd last pixel by bytes.
 * In assembly: gcc's set-up and spills around its loop cost more than the loop on the
 * 9-pixel rows of MobileNet's late layers (70 instructions a row for 4 steps of 10). */
static void dw_fill_pair_dsp(const int8_t *src, int32_t ch, int32_t n, int16_t *a, int16_t *b)
{
    int32_t t0, t1;
    __asm__ volatile("subs %[n], %[n], #2\n\t"
                     "blt 2f\n"
                     "1:\n\t"
                     "ldrh %[t0], [%[src]]\n\t"
                     "ldrh %[t1], [%[src], %[ch]]\n\t"
                     "add %[src], %[src], %[ch], lsl #1\n\t"
                     "orr %[t0], %[t0], %[t1], lsl #16\n\t"
                     "sxtb16 %[t1], %[t0]\n\t"
                     "sxtb16 %[t0], %[t0], ror #8\n\t"
                     "str %[t1], [%[a]], #4\n\t"
                     "str %[t0], [%[b]], #4\n\t"
                     "subs %[n], %[n], #2\n\t"
                     "bge 1b\n"
                     "2:\n\t"
                     "adds %[n], %[n], #1\n\t" /* 0: one pixel left */
                     "bne 3f\n\t"
                     "ldrsb %[t0], [%[src]]\n\t"
                     "ldrsb %[t1], [%[src], #1]\n\t"
                     "strh %[t0], [%[a]]\n\t"
                     "strh %[t1], [%[b]]\n"
                     "3:"
                     : [src] "+r"(src), [n] "+r"(n), [a] "+r"(a), [b] "+r"(b), [t0] "=&r"(t0), [t1] "=&r"(t1)
                     : [ch] "r"(ch)
                     : "memory", "cc");
}
#endif

/* Input rows iy0.. (rows of them) of channel c, and of channel c + 1 when `pair`, as
 * padded int16 plane rows; rows outside the image are all zero point. */
static void dw_fill(const dw_layer *d, int32_t iy0, int32_t rows, int32_t c, int32_t pair, int16_t *p0, int16_t *p1)
{
    const int32_t ch = d->channels, w = d->width, n = d->inner, line = d->in_w * ch;
    int32_t r;
    for (r = 0; r < rows; r++, p0 += w, p1 += w) {
        const int32_t iy = iy0 + r;
        if ((uint32_t)iy >= (uint32_t)d->in_h) {
            dw_clear(d, p0, w);
            dw_clear(d, p1, w);
        } else {
            const int8_t *src = d->image + iy * line + c;
            int16_t *da = p0 + d->pad_left, *db = p1 + d->pad_left;
            int16_t *const end = da + n;
#if defined(AIOTC_MVE)
            if (ch <= 0xffff / 7) { /* 8 pixels of a channel per gather (16-bit offsets) */
                dw_fill_mve(src, ch, end - da, pair, da, db);
                da = end;
            }
#endif
#if defined(__ARM_FEATURE_DSP)
            if (pair && da < end) {
                dw_fill_pair_dsp(src, ch, end - da, da, db);
                continue;
            }
#endif
            for (; da < end; da++, db++, src += ch) {
                *da = src[0];
                if (pair) {
                    *db = src[1];
                }
            }
        }
    }
}

#if defined(AIOTC_DSP)
/* The 9 weights of a channel as int16 pairs: per kernel row, (w0, w1) and (w1, w2). */
typedef struct {
    int32_t w01[3], w12[3];
} dw_weights;

/* (lo, hi) as int16 halves: one PKHBT (gcc takes 2 instructions from C). */
static inline int32_t dw_pair(int32_t lo, int32_t hi)
{
    int32_t v;
    __asm__("pkhbt %0, %1, %2, lsl #16" : "=r"(v) : "r"(lo), "r"(hi));
    return v;
}

/* One kernel row's taps for two output columns (%[s0], %[s1]) of stride 1, from plane
 * values (i0, i1) and (i2, i3) in lo and hi: column x is (i0, i1).(w0, w1) + i2.w2,
 * column x + 1 is i1.w0 + (i2, i3).(w1, w2). The first row starts from the bias in s0. */
#define DW_S1_FIRST(row, w01, w12, step)                                                                               \
    "ldrd %[lo], %[hi], [%[" row "]], #" step "\n\t"                                                                   \
    "smlatb %[s1], %[lo], %[" w01 "], %[s0]\n\t"                                                                       \
    "smlad %[s0], %[lo], %[" w01 "], %[s0]\n\t"                                                                        \
    "smlabt %[s0], %[hi], %[" w12 "], %[s0]\n\t"                                                                       \
    "smlad %[s1], %[hi], %[" w12 "], %[s1]\n\t"
#define DW_S1_NEXT(row, w01, w12, step)                                                                                \
    "ldrd %[lo], %[hi], [%[" row "]], #" step "\n\t"                                                                   \
    "smlad %[s0], %[lo], %[" w01 "], %[s0]\n\t"                                                                        \
    "smlatb %[s1], %[lo], %[" w01 "], %[s1]\n\t"                                                                       \
    "smlabt %[s0], %[hi], %[" w12 "], %[s0]\n\t"                                                                       \
    "smlad %[s1], %[hi], %[" w12 "], %[s1]\n\t"
/* Stride 2: plane values (i0, i1), (i2, i3) in lo and hi, i4 then in lo: column x is
 * (i0, i1).(w0, w1) + i2.w2, column x + 1 is (i2, i3).(w0, w1) + i4.w2. */
#define DW_S2_FIRST(row, w01, w12, step)                                                                               \
    "ldrd %[lo], %[hi], [%[" row "]], #" step "\n\t"                                                                   \
    "smlad %[s1], %[hi], %[" w01 "], %[s0]\n\t"                                                                        \
    "smlad %[s0], %[lo], %[" w01 "], %[s0]\n\t"                                                                        \
    "ldr %[lo], [%[" row "]]\n\t"                                                                                      \
    "smlabt %[s0], %[hi], %[" w12 "], %[s0]\n\t"                                                                       \
    "smlabt %[s1], %[lo], %[" w12 "], %[s1]\n\t"
#define DW_S2_NEXT(row, w01, w12, step)                                                                                \
    "ldrd %[lo], %[hi], [%[" row "]], #" step "\n\t"                                                                   \
    "smlad %[s0], %[lo], %[" w01 "], %[s0]\n\t"                                                                        \
    "smlad %[s1], %[hi], %[" w01 "], %[s1]\n\t"                                                                        \
    "ldr %[lo], [%[" row "]]\n\t"                                                                                      \
    "smlabt %[s0], %[hi], %[" w12 "], %[s0]\n\t"                                                                       \
    "smlabt %[s1], %[lo], %[" w12 "], %[s1]\n\t"

/* One output row of one channel into acc[0 .. out_w] (one past: an odd row's last
 * step computes a column more): two columns per step, each kernel row one LDRD (plane
 * rows are word aligned, as the planner aligns scratch) and two SMLADs and two halfword
 * multiplies for both. Column x reads plane columns s*x .. s*x + 2. In assembly, not
 * inlined, for the 14 registers: the 6 weight pairs stay in registers and the bias and
 * the end are read from the stack each step (gcc 12 spilled the weights: 29
 * instructions a stride-1 step, here 20). */
#define DW_ROW_LOOP(first, next, step)                                                                                 \
    __asm__ volatile("1:\n\t"                                                                                          \
                     "ldr %[s0], %[bias]\n\t"                                                                          \
                     first("r0", "a0", "b0", step)                                                                     \
                     next("r1", "a1", "b1", step)                                                                      \
                     next("r2", "a2", "b2", step)                                                                      \
                     "strd %[s0], %[s1], [%[acc]], #8\n\t"                                                             \
                     "ldr %[lo], %[end]\n\t"                                                                           \
                     "cmp %[acc], %[lo]\n\t"                                                                           \
                     "blo 1b"                                                                                          \
                     : [lo] "=&r"(lo), [hi] "=&r"(hi), [s0] "=&r"(s0), [s1] "=&r"(s1), [r0] "+r"(r0), [r1] "+r"(r1),   \
                       [r2] "+r"(r2), [acc] "+r"(acc)                                                                  \
                     : [a0] "r"(k->w01[0]), [a1] "r"(k->w01[1]), [a2] "r"(k->w01[2]), [b0] "r"(k->w12[0]),             \
                       [b1] "r"(k->w12[1]), [b2] "r"(k->w12[2]), [bias] "m"(bias), [end] "m"(end)                      \
                     : "memory", "cc")

static __attribute__((noinline)) void dw_row_acc(const dw_layer *d, const dw_weights *k, int32_t bias,
                                                 const int16_t *plane, int32_t out_w, int32_t *acc)
{
    const int16_t *r0 = plane, *r1 = plane + d->width, *r2 = plane + 2 * d->width;
    const int32_t *const end = acc + out_w;
    int32_t lo, hi, s0, s1;
    if (d->stride_w == 1) {
        DW_ROW_LOOP(DW_S1_FIRST, DW_S1_NEXT, "4");
    } else {
        DW_ROW_LOOP(DW_S2_FIRST, DW_S2_NEXT, "8");
    }
}

/* Unrolled: packed once per channel and band, where the loop's counting cost a third. */
static void dw_weights_pack(const int8_t *k, dw_weights *w)
{
    w->w01[0] = dw_pair(k[0], k[1]);
    w->w12[0] = dw_pair(k[1], k[2]);
    w->w01[1] = dw_pair(k[3], k[4]);
    w->w12[1] = dw_pair(k[4], k[5]);
    w->w01[2] = dw_pair(k[6], k[7]);
    w->w12[2] = dw_pair(k[7], k[8]);
}
#elif defined(AIOTC_MVE)
/* One output row of one channel into acc[0 .. out_w), 4 columns per vector in a
 * tail-predicated loop (DLSTP/LETP: the last vector stores only the columns left).
 * The 9 weights stay in general registers for the row, each tap one load of 4 plane
 * values widened to int32 and one VMLA by the weight as a scalar; the accumulators
 * go out through a vector of 4 addresses with writeback, which spares a register.
 * In assembly (not inlined, so that gcc finds the 13 registers): gcc 12 spills the
 * weights and reloads the constants every vector.
 * Stride 1: the taps are 3 contiguous loads per row. */
static __attribute__((noinline)) void dw_acc_row_s1(const int8_t *k, const int16_t *plane, int32_t w, int32_t out_w,
                                                    int32_t bias, int32_t *acc)
{
    const int16_t *r0 = plane, *r1 = plane + w, *r2 = plane + 2 * w;
    const int32_t k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
    const int32x4_t b = vdupq_n_s32(bias);
    int32x4_t addr = vreinterpretq_s32_u32(vidupq_n_u32((uint32_t)(uintptr_t)(acc - 4), 4));
    int32x4_t a, t0, t1;
    register int32_t n __asm__("lr") = out_w;
    __asm__ volatile("dlstp.32 lr, lr\n"
                     "1:\n\t"
                     "vldrh.s32 %q[t0], [%[r0], #2]\n\t"
                     "vmov %q[a], %q[b]\n\t"
                     "vldrh.s32 %q[t1], [%[r0], #4]\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k1]\n\t"
                     "vldrh.s32 %q[t0], [%[r0]], #8\n\t"
                     "vmla.s32 %q[a], %q[t1], %[k2]\n\t"
                     "vldrh.s32 %q[t1], [%[r1], #2]\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k0]\n\t"
                     "vldrh.s32 %q[t0], [%[r1], #4]\n\t"
                     "vmla.s32 %q[a], %q[t1], %[k4]\n\t"
                     "vldrh.s32 %q[t1], [%[r1]], #8\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k5]\n\t"
                     "vldrh.s32 %q[t0], [%[r2], #2]\n\t"
                     "vmla.s32 %q[a], %q[t1], %[k3]\n\t"
                     "vldrh.s32 %q[t1], [%[r2], #4]\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k7]\n\t"
                     "vldrh.s32 %q[t0], [%[r2]], #8\n\t"
                     "vmla.s32 %q[a], %q[t1], %[k8]\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k6]\n\t"
                     "vstrw.32 %q[a], [%q[addr], #16]!\n\t"
                     "letp lr, 1b"
                     : [a] "=&w"(a), [t0] "=&w"(t0), [t1] "=&w"(t1), [addr] "+w"(addr), [r0] "+l"(r0), [r1] "+l"(r1),
                       [r2] "+l"(r2), [n] "+r"(n)
                     : [b] "w"(b), [k0] "r"(k0), [k1] "r"(k1), [k2] "r"(k2), [k3] "r"(k3), [k4] "r"(k4), [k5] "r"(k5),
                       [k6] "r"(k6), [k7] "r"(k7), [k8] "r"(k8)
                     : "memory");
}

/* Two output rows of stride 1 (plane rows 0-3) into acc[0 .. out_w) and
 * acc[out_w .. 2 * out_w): plane rows 1 and 2 serve both, so 12 loads feed 18 VMLAs. */
static __attribute__((noinline)) void dw_acc_rows2_s1(const int8_t *k, const int16_t *plane, int32_t w, int32_t out_w,
                                                      int32_t bias, int32_t *acc)
{
    const int16_t *r0 = plane, *r1 = plane + w, *r2 = plane + 2 * w, *r3 = plane + 3 * w;
    const int32_t k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
    const int32x4_t b = vdupq_n_s32(bias);
    int32x4_t addr0 = vreinterpretq_s32_u32(vidupq_n_u32((uint32_t)(uintptr_t)(acc - 4), 4));
    int32x4_t addr1 = vreinterpretq_s32_u32(vidupq_n_u32((uint32_t)(uintptr_t)(acc + out_w - 4), 4));
    int32x4_t a0, a1, t0, t1;
    register int32_t n __asm__("lr") = out_w;
    __asm__ volatile("dlstp.32 lr, lr\n"
                     "1:\n\t"
                     "vldrh.s32 %q[t0], [%[r0], #2]\n\t"
                     "vmov %q[a0], %q[b]\n\t"
                     "vldrh.s32 %q[t1], [%[r0], #4]\n\t"
                     "vmla.s32 %q[a0], %q[t0], %[k1]\n\t"
                     "vldrh.s32 %q[t0], [%[r0]], #8\n\t"
                     "vmla.s32 %q[a0], %q[t1], %[k2]\n\t"
                     "vldrh.s32 %q[t1], [%[r1], #2]\n\t"
                     "vmla.s32 %q[a0], %q[t0], %[k0]\n\t"
                     "vmov %q[a1], %q[b]\n\t"
                     "vmla.s32 %q[a0], %q[t1], %[k4]\n\t"
                     "vmla.s32 %q[a1], %q[t1], %[k1]\n\t"
                     "vldrh.s32 %q[t0], [%[r1], #4]\n\t"
                     "vldrh.s32 %q[t1], [%[r1]], #8\n\t"
                     "vmla.s32 %q[a0], %q[t0], %[k5]\n\t"
                     "vmla.s32 %q[a1], %q[t0], %[k2]\n\t"
                     "vldrh.s32 %q[t0], [%[r2], #2]\n\t"
                     "vmla.s32 %q[a0], %q[t1], %[k3]\n\t"
                     "vmla.s32 %q[a1], %q[t1], %[k0]\n\t"
                     "vldrh.s32 %q[t1], [%[r2], #4]\n\t"
                     "vmla.s32 %q[a0], %q[t0], %[k7]\n\t"
                     "vmla.s32 %q[a1], %q[t0], %[k4]\n\t"
                     "vldrh.s32 %q[t0], [%[r2]], #8\n\t"
                     "vmla.s32 %q[a0], %q[t1], %[k8]\n\t"
                     "vmla.s32 %q[a1], %q[t1], %[k5]\n\t"
                     "vldrh.s32 %q[t1], [%[r3], #2]\n\t"
                     "vmla.s32 %q[a0], %q[t0], %[k6]\n\t"
                     "vmla.s32 %q[a1], %q[t0], %[k3]\n\t"
                     "vldrh.s32 %q[t0], [%[r3], #4]\n\t"
                     "vstrw.32 %q[a0], [%q[addr0], #16]!\n\t"
                     "vmla.s32 %q[a1], %q[t1], %[k7]\n\t"
                     "vldrh.s32 %q[t1], [%[r3]], #8\n\t"
                     "vmla.s32 %q[a1], %q[t0], %[k8]\n\t"
                     "vmla.s32 %q[a1], %q[t1], %[k6]\n\t"
                     "vstrw.32 %q[a1], [%q[addr1], #16]!\n\t"
                     "letp lr, 1b"
                     : [a0] "=&w"(a0), [a1] "=&w"(a1), [t0] "=&w"(t0), [t1] "=&w"(t1), [addr0] "+w"(addr0),
                       [addr1] "+w"(addr1), [r0] "+l"(r0), [r1] "+l"(r1), [r2] "+l"(r2), [r3] "+l"(r3), [n] "+r"(n)
                     : [b] "w"(b), [k0] "r"(k0), [k1] "r"(k1), [k2] "r"(k2), [k3] "r"(k3), [k4] "r"(k4), [k5] "r"(k5),
                       [k6] "r"(k6), [k7] "r"(k7), [k8] "r"(k8)
                     : "memory");
}

/* Stride 2: each tap a gather of every other plane value (offsets 2i, 2i + 1, 2i + 2). */
static __attribute__((noinline)) void dw_acc_row_s2(const int8_t *k, const int16_t *plane, int32_t w, int32_t out_w,
                                                    int32_t bias, int32_t *acc)
{
    const int16_t *r0 = plane, *r1 = plane + w, *r2 = plane + 2 * w;
    const int32_t k0 = k[0], k1 = k[1], k2 = k[2], k3 = k[3], k4 = k[4], k5 = k[5], k6 = k[6], k7 = k[7], k8 = k[8];
    const int32x4_t b = vdupq_n_s32(bias);
    const uint32x4_t c0 = vidupq_n_u32(0, 2), c1 = vaddq_n_u32(c0, 1), c2 = vaddq_n_u32(c0, 2);
    int32x4_t addr = vreinterpretq_s32_u32(vidupq_n_u32((uint32_t)(uintptr_t)(acc - 4), 4));
    int32x4_t a, t0, t1;
    register int32_t n __asm__("lr") = out_w;
    __asm__ volatile("dlstp.32 lr, lr\n"
                     "1:\n\t"
                     "vldrh.s32 %q[t0], [%[r0], %q[c0], uxtw #1]\n\t"
                     "vmov %q[a], %q[b]\n\t"
                     "vldrh.s32 %q[t1], [%[r0], %q[c1], uxtw #1]\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k0]\n\t"
                     "vldrh.s32 %q[t0], [%[r0], %q[c2], uxtw #1]\n\t"
                     "vmla.s32 %q[a], %q[t1], %[k1]\n\t"
                     "vldrh.s32 %q[t1], [%[r1], %q[c0], uxtw #1]\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k2]\n\t"
                     "vldrh.s32 %q[t0], [%[r1], %q[c1], uxtw #1]\n\t"
                     "vmla.s32 %q[a], %q[t1], %[k3]\n\t"
                     "vldrh.s32 %q[t1], [%[r1], %q[c2], uxtw #1]\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k4]\n\t"
                     "vldrh.s32 %q[t0], [%[r2], %q[c0], uxtw #1]\n\t"
                     "vmla.s32 %q[a], %q[t1], %[k5]\n\t"
                     "vldrh.s32 %q[t1], [%[r2], %q[c1], uxtw #1]\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k6]\n\t"
                     "vldrh.s32 %q[t0], [%[r2], %q[c2], uxtw #1]\n\t"
                     "vmla.s32 %q[a], %q[t1], %[k7]\n\t"
                     "adds %[r0], #16\n\t"
                     "vmla.s32 %q[a], %q[t0], %[k8]\n\t"
                     "adds %[r1], #16\n\t"
                     "vstrw.32 %q[a], [%q[addr], #16]!\n\t"
                     "adds %[r2], #16\n\t"
                     "letp lr, 1b"
                     : [a] "=&w"(a), [t0] "=&w"(t0), [t1] "=&w"(t1), [addr] "+w"(addr), [r0] "+r"(r0), [r1] "+r"(r1),
                       [r2] "+r"(r2), [n] "+r"(n)
                     : [b] "w"(b), [c0] "w"(c0), [c1] "w"(c1), [c2] "w"(c2), [k0] "r"(k0), [k1] "r"(k1), [k2] "r"(k2),
                       [k3] "r"(k3), [k4] "r"(k4), [k5] "r"(k5), [k6] "r"(k6), [k7] "r"(k7), [k8] "r"(k8)
                     : "memory", "cc");
}

/* n accumulators to int8, `channels` bytes apart: TFLite's requantization on 4 lanes,
 * the channel's constants as vectors, a last partial vector predicated. */
static void dw_requantize_mve(const dw_layer *d, int32_t c, const int32_t *acc, int32_t n, int8_t *out)
{
    const int32_t ch = d->channels, offset = d->offset;
    const int32x4_t multiplier = vdupq_n_s32(d->multiplier[c]);
    const int32x4_t shift = vdupq_n_s32(d->common ? -2 - d->shift[c] : d->shift[c]);
    const int32x4_t lo = vdupq_n_s32(d->act_min), hi = vdupq_n_s32(d->act_max);
    const uint32x4_t scatter = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)ch);
    int32_t i;
    for (i = 0; i + 4 <= n; i += 4, acc += 4, out += 4 * ch) {
        const int32x4_t y = aiotc_mve_requantize(vldrwq_s32(acc), multiplier, shift);
        vstrbq_scatter_offset_s32(out, scatter, vminq_s32(vmaxq_s32(vaddq_n_s32(y, offset), lo), hi));
    }
    if (i < n) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - i));
        const int32x4_t y = aiotc_mve_requantize(vldrwq_z_s32(acc, p), multiplier, shift);
        vstrbq_scatter_offset_p_s32(out, scatter, vminq_s32(vmaxq_s32(vaddq_n_s32(y, offset), lo), hi), p);
    }
}

/* A channel's band: its rows accumulated, then requantized in one loop (the band's
 * output rows are one run of pixels). */
static void dw_band(const dw_layer *d, const int8_t *k, const int16_t *plane, int32_t rows, int32_t out_w, int32_t c,
                    int32_t *acc, int8_t *out)
{
    int32_t r = 0;
    if (d->stride_w == 1 && d->stride_h == 1 && rows == 2) {
        dw_acc_rows2_s1(k, plane, d->width, out_w, d->bias[c], acc);
        r = 2;
    }
    for (; r < rows; r++) {
        const int16_t *const p = plane + r * d->stride_h * d->width;
        if (d->stride_w == 1) {
            dw_acc_row_s1(k, p, d->width, out_w, d->bias[c], acc + r * out_w);
        } else {
            dw_acc_row_s2(k, p, d->width, out_w, d->bias[c], acc + r * out_w);
        }
    }
    dw_requantize_mve(d, c, acc, rows * out_w, out);
}
#else
typedef struct {
    const int8_t *k; /* C x 3 x 3 */
} dw_weights;

static void dw_weights_pack(const int8_t *k, dw_weights *w)
{
    w->k = k;
}

static void dw_row_acc(const dw_layer *d, const dw_weights *w, int32_t bias, const int16_t *plane, int32_t out_w,
                       int32_t *acc)
{
    int32_t x, r, t;
    for (x = 0; x < out_w; x++, plane += d->stride_w) {
        int32_t sum = bias;
        for (r = 0; r < 3; r++) {
            for (t = 0; t < 3; t++) {
                sum += plane[r * d->width + t] * w->k[3 * r + t];
            }
        }
        acc[x] = sum;
    }
}
#endif

#if !defined(AIOTC_MVE)
/* A channel's band: its rows accumulated, then requantized in one loop with the
 * channel's constants in registers. */
static void dw_band(const dw_layer *d, const int8_t *k, const int16_t *plane, int32_t rows, int32_t out_w, int32_t c,
                    int32_t *acc, int8_t *out)
{
    dw_weights w;
    int32_t r;
    dw_weights_pack(k, &w);
    for (r = 0; r < rows; r++) {
        dw_row_acc(d, &w, d->bias[c], plane + r * d->stride_h * d->width, out_w, acc + r * out_w);
    }
    aiotc_requantize_strided(aiotc_rq_channel(d->multiplier[c], d->shift[c]), acc, rows * out_w, d->offset,
                             d->act_min, d->act_max, d->common, out, d->channels);
}
#endif

int32_t aiotc_depthwise_conv_3x3_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t ch = input_dims->c, out_h = output_dims->h, out_w = output_dims->w;
    const int32_t plane_rows = dw_plane_rows(params->stride.h);
    int16_t *const p0 = (int16_t *)ctx->buf;
    int32_t *const acc = (int32_t *)(void *)(p0 + 2 * plane_rows * dw_plane_width(out_w, params->stride.w));
    dw_layer d;
    int32_t b, oy, c;
    /* out_w >= 1: dw_row_acc (DSP) always takes a step of 2 columns, which the scratch holds only then */
    if (out_w < 1 || filter_dims->h != 3 || filter_dims->w != 3 || filter_dims->c != ch || output_dims->c != ch ||
        params->ch_mult != 1 || params->dilation.h != 1 || params->dilation.w != 1 || params->stride.h < 1 ||
        params->stride.h > 2 || params->stride.w < 1 || params->stride.w > 2 ||
        ctx->size < aiotc_depthwise_conv_3x3_s8_get_buffer_size(params, output_dims)) {
        return AIOTC_ARG_ERROR;
    }
    d.in_h = input_dims->h;
    d.in_w = input_dims->w;
    d.channels = ch;
    d.pad_top = params->padding.h;
    d.pad_left = params->padding.w;
    d.stride_h = params->stride.h;
    d.stride_w = params->stride.w;
    d.width = dw_plane_width(out_w, params->stride.w);
    d.zero_point = (int16_t)-params->input_offset;
    d.inner = AIOTC_MIN(d.in_w, d.width - d.pad_left);
    d.bias = bias;
    d.multiplier = quant_params->multiplier;
    d.shift = quant_params->shift;
    d.common = quant_params->right_shifts;
    d.offset = params->output_offset;
    d.act_min = params->activation.min;
    d.act_max = params->activation.max;
    dw_clear_border(&d, p0, 2 * plane_rows);
    for (b = 0; b < input_dims->n; b++) {
        d.image = input + b * d.in_h * d.in_w * ch;
        for (oy = 0; oy < out_h; oy += DW_BAND) {
            const int32_t rows = AIOTC_MIN(DW_BAND, out_h - oy);
            int8_t *const band = output + (b * out_h + oy) * out_w * ch;
            for (c = 0; c < ch; c += 2) {
                const int32_t pair = c + 1 < ch;
                int16_t *const p1 = p0 + plane_rows * d.width;
                int32_t j;
                dw_fill(&d, oy * d.stride_h - d.pad_top, (rows - 1) * d.stride_h + 3, c, pair, p0, p1);
                for (j = 0; j <= pair; j++) {
                    dw_band(&d, filter + 9 * (c + j), j ? p1 : p0, rows, out_w, c + j, acc, band + c + j);
                }
            }
        }
    }
    return AIOTC_OK;
}
