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
} dw_layer;

/* The planes' padding columns hold the zero point from the start (dw_clear) and are
 * never written again: a row of the image fills only its n inner columns. */
static void dw_clear(const dw_layer *d, int16_t *plane, int32_t values)
{
    int32_t i;
    for (i = 0; i < values; i++) {
        plane[i] = d->zero_point;
    }
}

/* Input rows iy0.. (rows of them) of channel c, and of channel c + 1 when `pair`, as
 * padded int16 plane rows; rows outside the image are all zero point. */
static void dw_fill(const dw_layer *d, int32_t iy0, int32_t rows, int32_t c, int32_t pair, int16_t *p0, int16_t *p1)
{
    const int32_t ch = d->channels, w = d->width, n = d->inner;
    int32_t r;
    for (r = 0; r < rows; r++) {
        const int32_t iy = iy0 + r;
        int16_t *const a = p0 + r * w, *const b = p1 + r * w;
        if (iy < 0 || iy >= d->in_h) {
            dw_clear(d, a, w);
            dw_clear(d, b, w);
        } else {
            const int8_t *src = d->image + iy * d->in_w * ch + c;
            int16_t *da = a + d->pad_left, *db = b + d->pad_left;
            int16_t *const end = da + n;
#if defined(__ARM_FEATURE_DSP)
            if (pair) {
                for (; da + 2 <= end; da += 2, db += 2, src += 2 * ch) {
                    /* bytes (x, c), (x, c+1), (x+1, c), (x+1, c+1): SXTB16 gives (x, x+1) of each */
                    uint16_t h0, h1;
                    int32_t v, even, odd;
                    memcpy(&h0, src, sizeof h0);
                    memcpy(&h1, src + ch, sizeof h1);
                    v = (int32_t)((uint32_t)h0 | (uint32_t)h1 << 16);
                    even = __sxtb16(v);
                    odd = aiotc_sxtb16_ror8(v);
                    memcpy(da, &even, sizeof even);
                    memcpy(db, &odd, sizeof odd);
                }
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

static inline int32_t dw_pair(int8_t lo, int8_t hi)
{
    return (int32_t)((uint32_t)(uint16_t)lo | (uint32_t)(uint16_t)hi << 16);
}

static inline int32_t dw_word(const int16_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* One output row of one channel into acc[0 .. out_w] (one past: an odd row's last
 * step computes a column more): two columns per step, each kernel row two SMLADs and
 * two halfword multiplies for both. Column x reads plane columns s*x .. s*x + 2. */
static void dw_row_acc(const dw_layer *d, const dw_weights *k, int32_t bias, const int16_t *plane, int32_t out_w,
                       int32_t *acc)
{
    const int16_t *r0 = plane, *r1 = plane + d->width, *r2 = plane + 2 * d->width;
    const int32_t *const end = acc + out_w;
    if (d->stride_w == 1) {
        for (; acc < end; acc += 2, r0 += 2, r1 += 2, r2 += 2) {
            /* column x: (i0, i1).(w0, w1) + i2.w2; column x + 1: i1.w0 + (i2, i3).(w1, w2) */
            int32_t s0, s1, lo, hi;
            lo = dw_word(r0), hi = dw_word(r0 + 2);
            s0 = __smlabt(hi, k->w12[0], __smlad(lo, k->w01[0], bias));
            s1 = __smlad(hi, k->w12[0], __smlatb(lo, k->w01[0], bias));
            lo = dw_word(r1), hi = dw_word(r1 + 2);
            s0 = __smlabt(hi, k->w12[1], __smlad(lo, k->w01[1], s0));
            s1 = __smlad(hi, k->w12[1], __smlatb(lo, k->w01[1], s1));
            lo = dw_word(r2), hi = dw_word(r2 + 2);
            acc[0] = __smlabt(hi, k->w12[2], __smlad(lo, k->w01[2], s0));
            acc[1] = __smlad(hi, k->w12[2], __smlatb(lo, k->w01[2], s1));
        }
    } else {
        for (; acc < end; acc += 2, r0 += 4, r1 += 4, r2 += 4) {
            /* column x: (i0, i1).(w0, w1) + i2.w2; column x + 1: (i2, i3).(w0, w1) + i4.w2 */
            int32_t s0, s1, lo, mid, hi;
            lo = dw_word(r0), mid = dw_word(r0 + 2), hi = dw_word(r0 + 4);
            s0 = __smlabt(mid, k->w12[0], __smlad(lo, k->w01[0], bias));
            s1 = __smlabt(hi, k->w12[0], __smlad(mid, k->w01[0], bias));
            lo = dw_word(r1), mid = dw_word(r1 + 2), hi = dw_word(r1 + 4);
            s0 = __smlabt(mid, k->w12[1], __smlad(lo, k->w01[1], s0));
            s1 = __smlabt(hi, k->w12[1], __smlad(mid, k->w01[1], s1));
            lo = dw_word(r2), mid = dw_word(r2 + 2), hi = dw_word(r2 + 4);
            acc[0] = __smlabt(mid, k->w12[2], __smlad(lo, k->w01[2], s0));
            acc[1] = __smlabt(hi, k->w12[2], __smlad(mid, k->w01[2], s1));
        }
    }
}

static void dw_weights_pack(const int8_t *k, dw_weights *w)
{
    int32_t r;
    for (r = 0; r < 3; r++) {
        w->w01[r] = dw_pair(k[3 * r], k[3 * r + 1]);
        w->w12[r] = dw_pair(k[3 * r + 1], k[3 * r + 2]);
    }
}
#elif defined(AIOTC_MVE)
/* One kernel row's 3 taps for 4 columns: a widening load (a gather of every other value
 * for stride 2) and a multiply-accumulate by the weight as a scalar per tap. */
static inline int32x4_t dw_taps(int32x4_t acc, const int16_t *p, int32_t stride, uint32x4_t columns, const int8_t *k)
{
    if (stride == 1) {
        acc = vmlaq_n_s32(acc, vldrhq_s32(p), k[0]);
        acc = vmlaq_n_s32(acc, vldrhq_s32(p + 1), k[1]);
        return vmlaq_n_s32(acc, vldrhq_s32(p + 2), k[2]);
    }
    acc = vmlaq_n_s32(acc, vldrhq_gather_shifted_offset_s32(p, columns), k[0]);
    acc = vmlaq_n_s32(acc, vldrhq_gather_shifted_offset_s32(p + 1, columns), k[1]);
    return vmlaq_n_s32(acc, vldrhq_gather_shifted_offset_s32(p + 2, columns), k[2]);
}

/* One output row of one channel, 4 columns per vector, the tail predicated on the store. */
static inline void dw_row_mve(const dw_layer *d, const int8_t *k, const int16_t *plane, int32_t out_w, int32_t c,
                              int8_t *out, int32_t stride)
{
    const int32_t w = d->width, ch = d->channels;
    const int32x4_t bias = vdupq_n_s32(d->bias[c]), lo = vdupq_n_s32(d->act_min), hi = vdupq_n_s32(d->act_max);
    const int32x4_t multiplier = vdupq_n_s32(d->multiplier[c]), shift = vdupq_n_s32(d->shift[c]);
    const uint32x4_t columns = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)stride);
    const uint32x4_t scatter = vmulq_n_u32(vidupq_n_u32(0, 1), (uint32_t)ch);
    int32_t x;
    for (x = 0; x < out_w; x += 4, plane += 4 * stride, out += 4 * ch) {
        int32x4_t acc = dw_taps(bias, plane, stride, columns, k), y;
        acc = dw_taps(acc, plane + w, stride, columns, k + 3);
        acc = dw_taps(acc, plane + 2 * w, stride, columns, k + 6);
        y = aiotc_mve_requantize(acc, multiplier, shift);
        y = vminq_s32(vmaxq_s32(vaddq_n_s32(y, d->offset), lo), hi);
        vstrbq_scatter_offset_p_s32(out, scatter, y, vctp32q((uint32_t)(out_w - x)));
    }
}

static void dw_row(const dw_layer *d, const int8_t *k, const int16_t *plane, int32_t out_w, int32_t c, int8_t *out)
{
    if (d->stride_w == 1) { /* the stride a constant in each copy of the loop */
        dw_row_mve(d, k, plane, out_w, c, out, 1);
    } else {
        dw_row_mve(d, k, plane, out_w, c, out, 2);
    }
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

#if defined(AIOTC_MVE)
static void dw_band(const dw_layer *d, const int8_t *k, const int16_t *plane, int32_t rows, int32_t out_w, int32_t c,
                    int32_t *acc, int8_t *out)
{
    int32_t r;
    (void)acc;
    for (r = 0; r < rows; r++) {
        dw_row(d, k, plane + r * d->stride_h * d->width, out_w, c, out + r * out_w * d->channels);
    }
}
#else
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
                             d->act_min, d->act_max, out, d->channels);
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
    if (filter_dims->h != 3 || filter_dims->w != 3 || filter_dims->c != ch || output_dims->c != ch ||
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
    d.offset = params->output_offset;
    d.act_min = params->activation.min;
    d.act_max = params->activation.max;
    dw_clear(&d, p0, 2 * plane_rows * d.width);
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
