/* int8 fully connected over weights the lowering packed (aiotc_nn_conv.h): 4 rows at a
 * time, each weight read once per batch, the input offset folded into the bias.
 *
 * Layout: blocks of 4 output channels (the last one padded with zero rows), rows zero
 * padded to a multiple of 16 inputs; per 16 inputs, rows 0 and 1 as byte pairs (32
 * bytes), then rows 2 and 3: the gemm's byte pairs (aiotc_nn_gemm.h), where a halfword
 * reads as 256 * b + a, so one SMLAD of it and one of its SXTB16 give both rows.
 * - DSP: the input widened once to int16 pairs in order (zero padded) in the scratch
 *   buffer; per 4 inputs one LDRD of input, per row pair one LDRD, 2 SXTB16 and 4
 *   SMLAD (15 instructions for 16 MACs), b's sums taken every AIOTC_GEMM_CHUNK inputs;
 * - MVE: per 16 inputs, one input vector, per row pair a VLD2 that splits the bytes
 *   into the two rows' vectors (b corrected by a's sign), and 2 VMLADAVA;
 * - portable C: the same sums, input by input. */
#include "aiotc_nn_conv.h"
#include "aiotc_nn_gemm.h"

#define CHUNK 16
#define BLOCK 4
#define ROW16(k) (((k) + CHUNK - 1) / CHUNK * CHUNK)

int32_t aiotc_fully_connected_packed_s8_get_buffer_size(const aiotc_dims *filter_dims)
{
    return 2 * ROW16(filter_dims->c);
}

typedef struct {
    int32_t a[BLOCK];
} sums;

#if defined(AIOTC_DSP)
/* The byte-pair sums of a block (aiotc_pair_sums' scheme, one column, two row pairs). */
typedef struct {
    int32_t lo01, hi01, lo23, hi23;
} fc_pair_sums;

/* 4 inputs (x, in order) against both row pairs' byte pairs (at w and w + 32), pointers
 * post-incremented. In assembly: gcc, left to itself, spills accumulators here. */
static AIOTC_INLINE void group(fc_pair_sums *s, const int32_t **w, const int32_t **x)
{
    int32_t w0, w1, s0, s1, x0, x1;
    __asm__("ldrd %[x0], %[x1], [%[x]], #8\n\t"
            "ldrd %[w0], %[w1], [%[w]], #8\n\t"
            "sxtb16 %[s0], %[w0]\n\t"
            "sxtb16 %[s1], %[w1]\n\t"
            "smlad %[lo01], %[s0], %[x0], %[lo01]\n\t"
            "smlad %[hi01], %[w0], %[x0], %[hi01]\n\t"
            "smlad %[lo01], %[s1], %[x1], %[lo01]\n\t"
            "smlad %[hi01], %[w1], %[x1], %[hi01]\n\t"
            "ldrd %[w0], %[w1], [%[w], #24]\n\t"
            "sxtb16 %[s0], %[w0]\n\t"
            "sxtb16 %[s1], %[w1]\n\t"
            "smlad %[lo23], %[s0], %[x0], %[lo23]\n\t"
            "smlad %[hi23], %[w0], %[x0], %[hi23]\n\t"
            "smlad %[lo23], %[s1], %[x1], %[lo23]\n\t"
            "smlad %[hi23], %[w1], %[x1], %[hi23]"
            : [lo01] "+r"(s->lo01), [hi01] "+r"(s->hi01), [lo23] "+r"(s->lo23), [hi23] "+r"(s->hi23), [w] "+r"(*w),
              [x] "+r"(*x), [w0] "=&r"(w0), [w1] "=&r"(w1), [s0] "=&r"(s0), [s1] "=&r"(s1), [x0] "=&r"(x0),
              [x1] "=&r"(x1)
            :
            : "memory");
}

/* The 4 rows of a block against the widened input x (depth padded to 16). */
static AIOTC_INLINE sums dot_block(const int8_t *weights, const int32_t *x, int32_t depth, const int32_t *bias)
{
    const int32_t *w = (const int32_t *)(const void *)weights;
    int32_t chunks = ROW16(depth) / CHUNK;
    fc_pair_sums p;
    sums s;
    p.lo01 = p.hi01 = bias[0];
    p.lo23 = p.hi23 = bias[2];
    s.a[1] = bias[1];
    s.a[3] = bias[3];
    while (chunks > 0) {
        int32_t n = AIOTC_MIN(chunks, AIOTC_GEMM_CHUNK / CHUNK);
        for (chunks -= n; n > 0; n--, w += 8) { /* 16 inputs, then past rows 2 and 3's 32 bytes */
            group(&p, &w, &x);
            group(&p, &w, &x);
            group(&p, &w, &x);
            group(&p, &w, &x);
        }
        s.a[1] += (p.hi01 - p.lo01) >> 8;
        s.a[3] += (p.hi23 - p.lo23) >> 8;
        p.hi01 = p.lo01;
        p.hi23 = p.lo23;
    }
    s.a[0] = p.lo01;
    s.a[2] = p.lo23;
    return s;
}
#elif defined(AIOTC_MVE)
/* 16 inputs v against a block's two row pairs, each pair's weights from one VLD2 of
 * bytes, b corrected by a's sign. */
static AIOTC_INLINE void block_mac(sums *s, const int8_t *w, int8x16_t v)
{
    const int8x16x2_t r01 = vld2q_s8(w), r23 = vld2q_s8(w + 2 * CHUNK);
    s->a[0] = vmladavaq_s8(s->a[0], r01.val[0], v);
    s->a[1] = vmladavaq_s8(s->a[1], vsubq_s8(r01.val[1], vshrq_n_s8(r01.val[0], 7)), v);
    s->a[2] = vmladavaq_s8(s->a[2], r23.val[0], v);
    s->a[3] = vmladavaq_s8(s->a[3], vsubq_s8(r23.val[1], vshrq_n_s8(r23.val[0], 7)), v);
}

/* Whole 16-input steps unpredicated, the input's tail predicated to zero. */
static AIOTC_INLINE sums dot_block(const int8_t *w, const int8_t *x, int32_t depth, const int32_t *bias)
{
    sums s;
    int32_t i;
    s.a[0] = bias[0];
    s.a[1] = bias[1];
    s.a[2] = bias[2];
    s.a[3] = bias[3];
    for (i = 0; i + CHUNK <= depth; i += CHUNK, w += BLOCK * CHUNK) {
        block_mac(&s, w, vldrbq_s8(x + i));
    }
    if (i < depth) {
        block_mac(&s, w, vldrbq_z_s8(x + i, vctp8q((uint32_t)(depth - i))));
    }
    return s;
}
#else
static AIOTC_INLINE sums dot_block(const int8_t *w, const int8_t *x, int32_t depth, const int32_t *bias)
{
    sums s;
    int32_t r, i;
    for (r = 0; r < BLOCK; r++) {
        s.a[r] = bias[r];
        for (i = 0; i < depth; i++) {
            const int8_t *pair = w + i / CHUNK * BLOCK * CHUNK + r / 2 * 2 * CHUNK + 2 * (i % CHUNK);
            const int32_t weight = r % 2 == 0 ? pair[0] : pair[1] + (pair[0] < 0);
            s.a[r] += weight * x[i];
        }
    }
    return s;
}
#endif

/* All output channels of one input (x: widened on the DSP path), `common` constant in
 * each copy (aiotc_out_s8_mode). */
static AIOTC_INLINE void fc_rows(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const int8_t *filter, const int32_t *bias, const aiotc_col *x, int32_t depth,
                                 int32_t out_c, int8_t *out, int32_t common)
{
    const int32_t block_bytes = BLOCK * ROW16(depth);
    const int32_t *const multiplier = quant_params->multiplier, *const shift = quant_params->shift;
    const int32_t offset = params->output_offset, lo = params->activation.min, hi = params->activation.max;
    int32_t oc, r;
    for (oc = 0; oc < out_c; oc += BLOCK, out += BLOCK) {
        const sums s = dot_block(filter + oc / BLOCK * block_bytes, x, depth, bias + oc);
        const int32_t n = AIOTC_MIN(BLOCK, out_c - oc);
        for (r = 0; r < n; r++) {
            out[r] = aiotc_out_s8_mode(aiotc_rq_channel(multiplier[oc + r], shift[oc + r]), s.a[r], offset, lo, hi, common);
        }
    }
}

int32_t aiotc_fully_connected_packed_s8(const aiotc_context *ctx, const aiotc_fc_params *params,
                                        const aiotc_per_channel_quant_params *quant_params,
                                        const aiotc_dims *input_dims, const int8_t *input,
                                        const aiotc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                        const aiotc_dims *output_dims, int8_t *output)
{
    const int32_t depth = input_dims->c, out_c = output_dims->c;
    int32_t b;
    if (filter_dims->c != depth || filter_dims->n != out_c || params->filter_offset != 0 ||
        ctx->size < aiotc_fully_connected_packed_s8_get_buffer_size(filter_dims)) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
#if defined(AIOTC_DSP)
        int32_t *const x = (int32_t *)ctx->buf;
        aiotc_widen_pairs(input + b * depth, depth, x, 2);
        memset(x + AIOTC_ROW(depth) / 2, 0, (size_t)(2 * (ROW16(depth) - AIOTC_ROW(depth))));
#else
        const int8_t *const x = input + b * depth;
#endif
        if (quant_params->right_shifts) {
            fc_rows(params, quant_params, filter, bias, x, depth, out_c, output + b * out_c, 1);
        } else {
            fc_rows(params, quant_params, filter, bias, x, depth, out_c, output + b * out_c, 0);
        }
    }
    return AIOTC_OK;
}
