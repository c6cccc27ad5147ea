/* aiotc runtime: the structs every kernel shares (CMSIS-NN conventions).
 *
 * All fields are int32_t. Offsets follow CMSIS-NN: input_offset = -input zero point,
 * output_offset = +output zero point. Kernels never allocate: a kernel that needs a
 * scratch buffer reads it from aiotc_context, sized at compile time by its
 * *_get_buffer_size function, and placed in the arena by the memory planner. */
#ifndef AIOTC_NN_TYPES_H
#define AIOTC_NN_TYPES_H

#include <stdint.h>

/* Alignment of arenas and weight arrays; a no-op on compilers without GNU attributes. */
#if defined(__GNUC__) || defined(__clang__)
#define AIOTC_ALIGNED(n) __attribute__((aligned(n)))
#else
#define AIOTC_ALIGNED(n)
#endif

/* Kernel status codes. */
#define AIOTC_OK 0
#define AIOTC_ARG_ERROR (-1)

typedef struct {
    void *buf;    /* scratch memory, or NULL when the kernel needs none */
    int32_t size; /* bytes available at buf */
} aiotc_context;

typedef struct {
    int32_t n, h, w, c;
} aiotc_dims;

typedef struct {
    int32_t w, h;
} aiotc_tile;

typedef struct {
    int32_t min, max; /* clamp in the output's integer domain */
} aiotc_activation;

typedef struct {
    float min, max; /* clamp for float kernels */
} aiotc_activation_f32;

typedef struct {
    const int32_t *multiplier; /* one per output channel */
    const int32_t *shift;
    /* Set by the compiler for the fast kernels where every channel shifts right by 2 or
     * more and the clamp is the whole int8 range (nearly every conv): shift[] then holds
     * -shift - 2, the right shift of aiotc_rq_right, and the kernels skip the general
     * requantization (aiotc_out_s8_mode). 2 (the depthwise kernels only): the same right
     * shifts where the clamp's top is 127 and its bottom above -128 (a ReLU's zero point):
     * the fast requantization, the bottom clamped after it. 0 everywhere else. */
    int32_t right_shifts;
} aiotc_per_channel_quant_params;

typedef struct {
    int32_t multiplier;
    int32_t shift;
} aiotc_per_tensor_quant_params;

#endif /* AIOTC_NN_TYPES_H */
