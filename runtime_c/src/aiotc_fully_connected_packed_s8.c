/* int8 fully connected over weights the lowering packed (aiotc_nn_conv.h): 4 rows at a
 * time, each weight read once per batch, the input offset folded into the bias.
 *
 * Layout: blocks of 4 output channels (the last one padded with zero rows); inside a
 * block, 4 inputs of row 0, the same 4 of rows 1, 2, 3, then the next 4, each row zero
 * padded to a multiple of 16 inputs. One pointer walks the weights in order.
 * - DSP: the input widened once to int16 pairs (SXTB16 order, zero padded) in the
 *   scratch buffer; per 4 inputs, one LDM of the 4 rows' words, then per row 2 SXTB16
 *   and 2 SMLAD;
 * - MVE: per 16 inputs, one input vector, a VLD4 that gathers each row's 16 weights
 *   into one vector, and 4 VMLADAVA;
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
/* The 4 rows' words of inputs 4g..4g+3 against the widened inputs, all pointers
 * post-incremented: 3 LDRD, 8 SXTB16, 8 SMLAD for 16 MACs (gcc, left to itself,
 * reloads words and spills accumulators here). */
static inline void group(const int32_t **w, const int32_t **x, int32_t *a0, int32_t *a1, int32_t *a2, int32_t *a3)
{
    int32_t even, odd, v0, v1, t;
    __asm__("ldrd %[e], %[o], [%[x]], #8\n\t"
            "ldrd %[v0], %[v1], [%[w]], #8\n\t"
            "sxtb16 %[t], %[v0]\n\t"
            "smlad %[a0], %[t], %[e], %[a0]\n\t"
            "sxtb16 %[v0], %[v0], ror #8\n\t"
            "smlad %[a0], %[v0], %[o], %[a0]\n\t"
            "sxtb16 %[t], %[v1]\n\t"
            "smlad %[a1], %[t], %[e], %[a1]\n\t"
            "sxtb16 %[v1], %[v1], ror #8\n\t"
            "smlad %[a1], %[v1], %[o], %[a1]\n\t"
            "ldrd %[v0], %[v1], [%[w]], #8\n\t"
            "sxtb16 %[t], %[v0]\n\t"
            "smlad %[a2], %[t], %[e], %[a2]\n\t"
            "sxtb16 %[v0], %[v0], ror #8\n\t"
            "smlad %[a2], %[v0], %[o], %[a2]\n\t"
            "sxtb16 %[t], %[v1]\n\t"
            "smlad %[a3], %[t], %[e], %[a3]\n\t"
            "sxtb16 %[v1], %[v1], ror #8\n\t"
            "smlad %[a3], %[v1], %[o], %[a3]"
            : [a0] "+r"(*a0), [a1] "+r"(*a1), [a2] "+r"(*a2), [a3] "+r"(*a3), [w] "+r"(*w), [x] "+r"(*x),
              [e] "=&r"(even), [o] "=&r"(odd), [v0] "=&r"(v0), [v1] "=&r"(v1), [t] "=&r"(t)
            :
            : "memory");
}

/* The 4 rows of a block against the widened input x (depth padded to 16). */
static AIOTC_INLINE sums dot_block(const int8_t *weights, const int32_t *x, int32_t depth, const int32_t *bias)
{
    const int32_t *w = (const int32_t *)(const void *)weights;
    const int32_t *const end = x + ROW16(depth) / 2;
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3];
    sums s;
    while (x < end) {
        group(&w, &x, &a0, &a1, &a2, &a3);
        group(&w, &x, &a0, &a1, &a2, &a3);
    }
    s.a[0] = a0;
    s.a[1] = a1;
    s.a[2] = a2;
    s.a[3] = a3;
    return s;
}
#elif defined(AIOTC_MVE)
/* VLD4 of 32-bit words takes every 4th word: row r's 16 inputs in one vector. */
static AIOTC_INLINE sums dot_block(const int8_t *w, const int8_t *x, int32_t depth, const int32_t *bias)
{
    int32_t a0 = bias[0], a1 = bias[1], a2 = bias[2], a3 = bias[3], i;
    sums s;
    for (i = 0; i < depth; i += CHUNK, w += BLOCK * CHUNK) {
        const int8x16_t v = vldrbq_z_s8(x + i, vctp8q((uint32_t)(depth - i)));
        const int32x4x4_t rows = vld4q_s32((const int32_t *)(const void *)w);
        a0 = vmladavaq_s8(a0, vreinterpretq_s8_s32(rows.val[0]), v);
        a1 = vmladavaq_s8(a1, vreinterpretq_s8_s32(rows.val[1]), v);
        a2 = vmladavaq_s8(a2, vreinterpretq_s8_s32(rows.val[2]), v);
        a3 = vmladavaq_s8(a3, vreinterpretq_s8_s32(rows.val[3]), v);
    }
    s.a[0] = a0;
    s.a[1] = a1;
    s.a[2] = a2;
    s.a[3] = a3;
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
            s.a[r] += w[(i / 4 * BLOCK + r) * 4 + i % 4] * x[i];
        }
    }
    return s;
}
#endif

/* All output channels of one input (x: widened on the DSP path), `common` constant in
 * each copy (aiotc_rq_common). */
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
    const int32_t common = aiotc_rq_common(quant_params->shift, out_c, params->activation.min, params->activation.max);
    int32_t b;
    if (filter_dims->c != depth || filter_dims->n != out_c || params->filter_offset != 0 ||
        ctx->size < aiotc_fully_connected_packed_s8_get_buffer_size(filter_dims)) {
        return AIOTC_ARG_ERROR;
    }
    for (b = 0; b < input_dims->n; b++) {
#if defined(AIOTC_DSP)
        int32_t *const x = (int32_t *)ctx->buf;
        aiotc_widen(input + b * depth, depth, x, 2);
        memset(x + AIOTC_ROW(depth) / 2, 0, (size_t)(2 * (ROW16(depth) - AIOTC_ROW(depth))));
#else
        const int8_t *const x = input + b * depth;
#endif
        if (common) {
            fc_rows(params, quant_params, filter, bias, x, depth, out_c, output + b * out_c, 1);
        } else {
            fc_rows(params, quant_params, filter, bias, x, depth, out_c, output + b * out_c, 0);
        }
    }
    return AIOTC_OK;
}
