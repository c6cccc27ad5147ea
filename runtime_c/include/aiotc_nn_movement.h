/* aiotc runtime: data movement (concatenation, padding, transpose, strided slice).
 *
 * These ops never change values, only where they sit, so the kernels work on bytes
 * and one kernel serves int8, int16 and float32 alike (element_size says how wide). */
#ifndef AIOTC_NN_MOVEMENT_H
#define AIOTC_NN_MOVEMENT_H

#include "aiotc_nn_types.h"

/* Concatenation: the output is `outer` rows; row r is input 0's row r, then input 1's, ...
 * Input i contributes input_row_bytes[i] bytes per row. */
int32_t aiotc_concat(const void *const *inputs, const int32_t *input_row_bytes, int32_t input_count, int32_t outer,
                     void *output);

/* For each index (n, h, w, c) of dims, in elements:
 * out[n*out_step.n + h*out_step.h + w*out_step.w + c*out_step.c] =
 *     in[offset + n*in_step.n + h*in_step.h + w*in_step.w + c*in_step.c]:
 * TRANSPOSE (input steps are the permuted input strides) and STRIDED_SLICE (input strides
 * times the slice strides, offset at the first element; input steps may be negative). */
int32_t aiotc_strided_copy(const aiotc_dims *dims, int32_t offset, const aiotc_dims *in_step,
                           const aiotc_dims *out_step, int32_t element_size, const void *input, void *output);

/* PAD: the output filled with pad_value (one element), the input copied in at `before`. */
int32_t aiotc_pad(const aiotc_dims *input_dims, const aiotc_dims *before, const aiotc_dims *output_dims,
                  int32_t element_size, const void *pad_value, const void *input, void *output);

/* out[n][h][w][c] = in[offsets_n[n] + offsets_h[h] + offsets_w[w] + offsets_c[c]] (in elements),
 * the four tables laid end to end in `offsets` (n + h + w + c entries): TILE, BROADCAST_TO,
 * RESIZE_NEAREST_NEIGHBOR, REVERSE_V2, GATHER, MIRROR_PAD, DEPTH_TO_SPACE, SPACE_TO_DEPTH. */
int32_t aiotc_index_copy(const aiotc_dims *output_dims, const int32_t *offsets, int32_t element_size, const void *input,
                         void *output);

/* GATHER_ND, and EMBEDDING_LOOKUP (its ids index rows): output slice s is the slice_size
 * input elements from sum_j indices[s * depth + j] * strides[j] on. The indices are read at
 * run time; a slice reaching outside the input_size input elements is an AIOTC_ARG_ERROR, as
 * tflite-micro fails (it checks the flat offset only, so an index past its axis may still read). */
#define AIOTC_GATHER_ND_MAX_DEPTH 5
typedef struct {
    int32_t slices;                               /* index rows */
    int32_t depth;                                /* indices per row */
    int32_t strides[AIOTC_GATHER_ND_MAX_DEPTH];   /* input elements per step of each indexed axis */
    int32_t slice_size;                           /* elements per slice */
    int32_t input_size;                           /* the input's elements */
    int32_t element_size;                         /* bytes per element */
} aiotc_gather_nd_params;
int32_t aiotc_gather_nd(const aiotc_gather_nd_params *params, const int32_t *indices, const void *input,
                        void *output);

/* EMBEDDING_LOOKUP of int8 values into float32 rows (TFLite's hybrid lookup): output row i is
 * values row ids[i] (of `columns`) times its scale, scales[ids[i]] when per_row, else scales[0].
 * An id outside 0..rows-1 is an AIOTC_ARG_ERROR, as tflite-micro fails. */
int32_t aiotc_embedding_lookup_s8_f32(int32_t count, const int32_t *ids, int32_t rows, int32_t columns,
                                      const float *scales, int32_t per_row, const int8_t *values, float *output);

/* DYNAMIC_UPDATE_SLICE: the output is the operand with the update written from `start` on
 * (rank entries for the last rank axes of the dims), each start clamped into
 * 0..operand - update as tflite-micro clamps it; an update as large as the operand is the
 * output whatever the start. The output may be the operand's own buffer. */
int32_t aiotc_dynamic_update_slice(const aiotc_dims *operand_dims, const aiotc_dims *update_dims, const int32_t *start,
                                   int32_t rank, int32_t element_size, const void *operand, const void *update,
                                   void *output);

/* RESIZE_BILINEAR: output row y blends input rows rows[2y] and rows[2y+1] by row_frac[y],
 * column x columns cols[2x] and cols[2x+1] by col_frac[x] (int8: in 1/1024ths, TFLite's
 * integer reference; float32: fractions). Input and output share quantization. */
int32_t aiotc_resize_bilinear_s8(const aiotc_dims *input_dims, const aiotc_dims *output_dims, const int32_t *rows,
                                 const int32_t *cols, const int32_t *row_frac, const int32_t *col_frac,
                                 const int8_t *input, int8_t *output);
int32_t aiotc_resize_bilinear_f32(const aiotc_dims *input_dims, const aiotc_dims *output_dims, const int32_t *rows,
                                  const int32_t *cols, const float *row_frac, const float *col_frac,
                                  const float *input, float *output);

/* CAST: size elements converted as C converts them (TFLite's static_cast). */
#define AIOTC_TYPE_INT8 0
#define AIOTC_TYPE_INT16 1
#define AIOTC_TYPE_INT32 2
#define AIOTC_TYPE_FLOAT32 3
int32_t aiotc_cast(int32_t size, int32_t input_type, int32_t output_type, const void *input, void *output);

#endif /* AIOTC_NN_MOVEMENT_H */
