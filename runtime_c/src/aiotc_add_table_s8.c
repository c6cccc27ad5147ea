/* int8 addition and subtraction through two tables the lowering computed.
 *
 * TFLite rescales each input on its own before adding: (x - zero point) << 20, then a
 * requantization; an int8 input has only 256 values, so the lowering evaluates that
 * exactly for each (table[(uint8_t)x], negated in table2 for a subtraction). What is
 * left per element: two table reads, an add and the output requantization (exact
 * single rounding, aiotc_nn_gemm.h).
 * - MVE: 4 elements per step, the tables read by gather loads, the tail predicated;
 * - DSP and portable C: one element per step (its cost is the requantization), the
 *   usual requantization (aiotc_out_s8_mode) in a copy of the loop of its own.
 * Rows come from AIOTC_FOR_EACH_BROADCAST_ROW: the whole output where both inputs are dense. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_gemm.h"

typedef struct {
    const int32_t *table1, *table2;
    aiotc_rq q;
    int32_t offset, act_min, act_max;
} add_layer;

/* count outputs from inputs `step1` and `step2` elements apart (0: broadcast); `common`
 * is constant where inlined (aiotc_out_s8_mode). */
static AIOTC_INLINE void add_run(const add_layer *l, const int8_t *in1, int32_t step1, const int8_t *in2,
                                 int32_t step2, int32_t count, int8_t *out, int32_t common)
{
    const int32_t *const t1 = l->table1, *const t2 = l->table2;
    const aiotc_rq q = l->q;
    const int32_t offset = l->offset, lo = l->act_min, hi = l->act_max;
    int32_t i = 0;
#if defined(AIOTC_MVE)
    if (step1 == 1 && step2 == 1) {
        const int32x4_t multiplier = vdupq_n_s32(q.multiplier);
        const int32x4_t shift = vdupq_n_s32(common ? -2 - q.shift : q.shift); /* TFLite's shift again */
        const int32x4_t vlo = vdupq_n_s32(lo), vhi = vdupq_n_s32(hi);
        for (; i < count; i += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(count - i));
            const uint32x4_t a = vldrbq_z_u32((const uint8_t *)(const void *)(in1 + i), p);
            const uint32x4_t b = vldrbq_z_u32((const uint8_t *)(const void *)(in2 + i), p);
            const int32x4_t sum = vaddq_s32(vldrwq_gather_shifted_offset_z_s32(t1, a, p),
                                            vldrwq_gather_shifted_offset_z_s32(t2, b, p));
            const int32x4_t y = vaddq_n_s32(aiotc_mve_requantize(sum, multiplier, shift), offset);
            vstrbq_p_s32(out + i, vminq_s32(vmaxq_s32(y, vlo), vhi), p);
        }
        return;
    }
#endif
    for (; i < count; i++) {
        out[i] = aiotc_out_s8_mode(q, t1[(uint8_t)in1[i * step1]] + t2[(uint8_t)in2[i * step2]], offset, lo, hi, common);
    }
}

/* A row of AIOTC_FOR_EACH_BROADCAST_ROW (l->q.shift is aiotc_rq_right's where `common`):
 * dense rows in loops of their own, with the steps and the mode as constants. */
static void add_row(const add_layer *l, const int8_t *in1, int32_t step1, const int8_t *in2, int32_t step2,
                    int32_t count, int8_t *out, int32_t common)
{
    if (step1 == 1 && step2 == 1) {
        if (common) {
            add_run(l, in1, 1, in2, 1, count, out, 1);
        } else {
            add_run(l, in1, 1, in2, 1, count, out, 0);
        }
    } else {
        add_run(l, in1, step1, in2, step2, count, out, common);
    }
}

int32_t aiotc_add_table_s8(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape,
                           const int32_t *table1, const int32_t *table2, const int8_t *input1,
                           const int8_t *input2, int8_t *output)
{
    add_layer l;
    int32_t common;
    l.table1 = table1;
    l.table2 = table2;
    l.q = aiotc_rq_channel(params->output.multiplier, params->output.shift);
    l.offset = params->output_offset;
    l.act_min = params->activation.min;
    l.act_max = params->activation.max;
    common = l.q.shift <= -2 && l.act_min == -128 && l.act_max == 127; /* aiotc_out_s8_mode's common case */
    if (common) {
        l.q.shift = -l.q.shift - 2;
    }
    AIOTC_FOR_EACH_BROADCAST_ROW(shape, o, i1, step1, i2, step2, count, {
        add_row(&l, input1 + i1, step1, input2 + i2, step2, count, output + o, common);
    });
    return AIOTC_OK;
}
