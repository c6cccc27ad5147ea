/* TFLite Micro's integer LSTM (as aiotc_lstm_s8) with its weights widened to int16 at
 * compile time (ops_recurrent.pack_lstm_wide): one pass per unit computes its four gates
 * and updates its cell, no pre-activations stored. The sums, requantizations and clamps
 * are aiotc_lstm_s8's, so the result is the same, bit for bit.
 *
 * Layout, per unit: its input products then its recurrent ones, each as two row pairs
 * (forget and input gates, then cell and output); per pair its two biases (int32, zero
 * points folded in), then per 8 inputs (zero padded) the first row's 8 int16 weights, then
 * the second's. On the DSP path a group of 8 inputs
 * is one LDM of the widened input and one per row, and 8 SMLAD: 11 instructions for 16
 * MACs, against the byte-pair kernels' 15 (their SXTB16s and input loads).
 *
 * Scratch: the input step and the hidden state widened to int16, zero padded to 8. */
#include <string.h>

#include "aiotc_nn_lstm.h"

#define AIOTC_LSTM_GROUP 8
#define AIOTC_LSTM_ROW(k) (((k) + AIOTC_LSTM_GROUP - 1) / AIOTC_LSTM_GROUP * AIOTC_LSTM_GROUP)

int32_t aiotc_lstm_wide_s8_get_buffer_size(const aiotc_lstm_dims *dims)
{
    return 2 * AIOTC_LSTM_ROW(dims->input_size) + 2 * AIOTC_LSTM_ROW(dims->state_size);
}

/* n int8 values to int16 at dst (word aligned), zero padded to whole groups. */
static void widen(const int8_t *src, int32_t n, int16_t *dst)
{
    int32_t i = 0;
#if defined(AIOTC_DSP)
    aiotc_widen_pairs(src, n, (int32_t *)(void *)dst, 2, 1);
    i = AIOTC_ROW(n);
#else
    for (; i < n; i++) {
        dst[i] = src[i];
    }
#endif
    memset(dst + i, 0, (size_t)(2 * (AIOTC_LSTM_ROW(n) - i)));
}

/* What unit_sums reads and writes: the weights of the next unit (moved past its own),
 * the widened input step and hidden state with their groups of 8, and the unit's 8 sums
 * (input products of the forget, input, cell and output gates, then the recurrent ones).
 * Offsets fixed for the assembly below. */
typedef struct {
    const int16_t *w;
    const int16_t *x, *h;
    int32_t x_groups, h_groups;
    int32_t sums[8];
} unit_state;

#if defined(AIOTC_DSP)
/* One group of 8 inputs (r0-r3, from r11) against a row pair's weights (r4-r6, r8, from
 * r12) into sums a and b. */
#define AIOTC_LSTM_WIDE_GROUP                                                                                          \
    "ldmia r11!, {r0, r1, r2, r3}\n\t"                                                                                \
    "ldmia r12!, {r4, r5, r6, r8}\n\t"                                                                                \
    "smlad r9, r4, r0, r9\n\t"                                                                                        \
    "smlad r9, r5, r1, r9\n\t"                                                                                        \
    "smlad r9, r6, r2, r9\n\t"                                                                                        \
    "smlad r9, r8, r3, r9\n\t"                                                                                        \
    "ldmia r12!, {r4, r5, r6, r8}\n\t"                                                                                \
    "smlad r10, r4, r0, r10\n\t"                                                                                      \
    "smlad r10, r5, r1, r10\n\t"                                                                                      \
    "smlad r10, r6, r2, r10\n\t"                                                                                      \
    "smlad r10, r8, r3, r10\n\t"

/* A row pair over a column (its pointer and group count at byte offsets col and groups of
 * unit_state), from its biases, into the sums at byte offset sums: one group first when their count is odd
 * (the LSR's carry), then two per loop (its zero flag skips the loop). */
#define AIOTC_LSTM_WIDE_PAIR(col, groups, sums)                                                                        \
    "ldr r11, [%[u], #" col "]\n\t"                                                                                   \
    "ldr lr, [%[u], #" groups "]\n\t"                                                                                 \
    "ldmia r12!, {r9, r10}\n\t"                                                                                       \
    "lsrs lr, lr, #1\n\t"                                                                                             \
    "bcc 1f\n\t" AIOTC_LSTM_WIDE_GROUP "1:\n\t"                                                                      \
    "beq 3f\n"                                                                                                        \
    "2:\n\t" AIOTC_LSTM_WIDE_GROUP AIOTC_LSTM_WIDE_GROUP "subs lr, lr, #1\n\t"                                        \
    "bne 2b\n"                                                                                                        \
    "3:\n\t"                                                                                                          \
    "strd r9, r10, [%[u], #" sums "]\n\t"
#endif

/* The 4 row pairs of a unit (the input's then the hidden state's) into its sums. DSP:
 * one assembly block over fixed registers (the LDMs' lists ascend), out of line: with
 * the FPU's registers in play gcc finds no registers for such a block's operands inlined. */
static AIOTC_NOINLINE void unit_sums(unit_state *u)
{
#if defined(AIOTC_DSP)
    __asm__ volatile("ldr r12, [%[u]]\n\t" AIOTC_LSTM_WIDE_PAIR("4", "12", "20") AIOTC_LSTM_WIDE_PAIR("4", "12", "28")
                         AIOTC_LSTM_WIDE_PAIR("8", "16", "36") AIOTC_LSTM_WIDE_PAIR("8", "16", "44") "str r12, [%[u]]"
                     :
                     : [u] "r"(u)
                     : "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
#else
    int32_t pair, g, k;
    for (pair = 0; pair < 4; pair++) {
        const int16_t *col = pair < 2 ? u->x : u->h;
        const int32_t groups = pair < 2 ? u->x_groups : u->h_groups;
        int32_t *const s = u->sums + 2 * pair;
        memcpy(s, u->w, 2 * sizeof *s);
        u->w += 4;
        for (g = 0; g < groups; g++, col += AIOTC_LSTM_GROUP, u->w += 2 * AIOTC_LSTM_GROUP) {
            for (k = 0; k < AIOTC_LSTM_GROUP; k++) {
                s[0] += u->w[k] * col[k];
                s[1] += u->w[AIOTC_LSTM_GROUP + k] * col[k];
            }
        }
    }
#endif
}

/* A gate's pre-activation from its two sums (TFLM's order: each requantized to Q3.12 and
 * clamped, then added with saturation); `left` as aiotc_lstm_to_q3_12's. */
static AIOTC_INLINE int32_t gate_pre(const aiotc_lstm_gate_s8 *gate, int32_t from_input, int32_t from_hidden,
                                     int32_t left)
{
    return aiotc_clamp_s16(aiotc_lstm_to_q3_12(from_input, gate->input_quant, left) +
                           aiotc_lstm_to_q3_12(from_hidden, gate->recurrent_quant, left));
}

/* One row of one step: every unit's sums, gates, cell and hidden value; `left` and
 * `rights` (constants where inlined): every gate's shifts are left shifts, the unit's
 * requantizations the compile-time right shifts (aiotc_lstm_unit_form_s8). */
static AIOTC_INLINE void row_units(const aiotc_lstm_params_s8 *p, unit_state *us, int32_t units, int16_t *cell,
                                   int8_t *out, int32_t left, int32_t rights)
{
    int32_t u;
    for (u = 0; u < units; u++) {
        int32_t f, i, c, o;
        unit_sums(us);
        f = gate_pre(&p->forget, us->sums[0], us->sums[4], left);
        i = gate_pre(&p->input, us->sums[1], us->sums[5], left);
        c = gate_pre(&p->cell, us->sums[2], us->sums[6], left);
        o = gate_pre(&p->output, us->sums[3], us->sums[7], left);
        out[u] = rights ? aiotc_lstm_unit_form_s8(p, f, i, c, o, cell + u, 1) : aiotc_lstm_unit_any_s8(p, f, i, c, o, cell + u);
    }
}

int32_t aiotc_lstm_wide_s8(const aiotc_context *ctx, const aiotc_lstm_params_s8 *params, const aiotc_lstm_dims *dims,
                           const int16_t *weights, const int8_t *input, int8_t *hidden_state, int16_t *cell_state,
                           int8_t *output)
{
    const int32_t sequences = dims->time_major ? 1 : dims->batches;
    const int32_t rows = dims->time_major ? dims->batches : 1;
    const int32_t in_size = dims->input_size, state_size = dims->state_size;
    int16_t *const x_buf = (int16_t *)ctx->buf, *const h_buf = x_buf + AIOTC_LSTM_ROW(in_size);
    const aiotc_lstm_gate_s8 *const gates[4] = {&params->forget, &params->input, &params->cell, &params->output};
    unit_state us;
    int32_t s, t, row, left = 1;
    if (ctx->size < aiotc_lstm_wide_s8_get_buffer_size(dims)) {
        return AIOTC_ARG_ERROR;
    }
    for (s = 0; s < 4; s++) {
        left &= gates[s]->input_quant.shift >= 0 && gates[s]->recurrent_quant.shift >= 0;
    }
    us.x = x_buf;
    us.h = h_buf;
    us.x_groups = AIOTC_LSTM_ROW(in_size) / AIOTC_LSTM_GROUP;
    us.h_groups = AIOTC_LSTM_ROW(state_size) / AIOTC_LSTM_GROUP;
    for (s = 0; s < sequences; s++) {
        int8_t *hidden = hidden_state + s * state_size;
        int16_t *cell = cell_state + s * state_size;
        for (t = 0; t < dims->time_steps; t++) {
            const int32_t step = s * dims->time_steps + t;
            const int8_t *x = input + step * rows * in_size;
            int8_t *y = output + step * rows * state_size;
            for (row = 0; row < rows; row++) {
                widen(x + row * in_size, in_size, x_buf);
                widen(hidden + row * state_size, state_size, h_buf);
                us.w = weights;
                int16_t *const cells = cell + row * state_size;
                int8_t *const out = y + row * state_size;
                if (params->unit_rights[0] < 0) {
                    row_units(params, &us, state_size, cells, out, 0, 0);
                } else if (left) {
                    row_units(params, &us, state_size, cells, out, 1, 1);
                } else {
                    row_units(params, &us, state_size, cells, out, 0, 1);
                }
            }
            memcpy(hidden, y, (size_t)(rows * state_size));
        }
    }
    return AIOTC_OK;
}
