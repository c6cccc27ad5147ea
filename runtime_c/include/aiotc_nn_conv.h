/* aiotc runtime: convolution, depthwise convolution, fully connected and pooling.
 *
 * Integer kernels reproduce TFLite Micro's reference integer kernels exactly:
 * acc = sum((input + input_offset) * filter) + bias over the taps inside the image
 * (padding taps are skipped, i.e. they count as the input zero point), then
 * requantized per output channel, offset and clamped. Layouts are NHWC; filters are
 * OHWI for conv, 1HW(C*M) for depthwise, [out][in] for fully connected. Padding
 * gives the top/left pad; what lies past the bottom/right edge is skipped. */
#ifndef AIOTC_NN_CONV_H
#define AIOTC_NN_CONV_H

#include "aiotc_nn_types.h"

typedef struct {
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* +output zero point */
    aiotc_tile stride;
    aiotc_tile padding;
    aiotc_tile dilation;
    aiotc_activation activation;
} aiotc_conv_params;

typedef struct {
    int32_t input_offset;
    int32_t output_offset;
    int32_t ch_mult; /* output channels per input channel */
    aiotc_tile stride;
    aiotc_tile padding;
    aiotc_tile dilation;
    aiotc_activation activation;
} aiotc_dw_conv_params;

typedef struct {
    int32_t input_offset;
    int32_t filter_offset;
    int32_t output_offset;
    aiotc_activation activation;
} aiotc_fc_params;

typedef struct {
    aiotc_tile stride;
    aiotc_tile padding;
    aiotc_activation activation;
} aiotc_pool_params;

typedef struct {
    aiotc_tile stride;
    aiotc_tile padding;
    aiotc_tile dilation;
    aiotc_activation_f32 activation;
} aiotc_conv_params_f32;

typedef struct {
    int32_t ch_mult;
    aiotc_tile stride;
    aiotc_tile padding;
    aiotc_tile dilation;
    aiotc_activation_f32 activation;
} aiotc_dw_conv_params_f32;

typedef struct {
    aiotc_tile stride;
    aiotc_tile padding;
    aiotc_activation_f32 activation;
} aiotc_pool_params_f32;

/* Convolution; groups = input_dims->c / filter_dims->c. bias may be NULL. */
int32_t aiotc_convolve_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                          const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                          const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
/* Few outputs over a long input, no scratch: weights in blocks of 4 rows (then 2 and 1),
 * words of a block's rows interleaved (aiotc_nn_fc_rows.h), the input offset folded into
 * the bias. */
int32_t aiotc_fully_connected_rows_s8(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                      const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                      const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                      int8_t *output);
/* The same with int4 weights packed two per byte (TFLite's order, low nibble first). */
int32_t aiotc_convolve_s4(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                          const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                          const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_f32(const aiotc_conv_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                           const aiotc_dims *filter_dims, const float *filter, const float *bias,
                           const aiotc_dims *output_dims, float *output);

/* The fast int8 kernels below take what the lowering prepared (aiotc_nn_gemm.h): weight
 * rows packed in the gemm's layout (channel pairs of byte pairs, the depthwise
 * kernels: as noted at each), and a bias (never NULL) with input_offset * sum(weights of
 * the channel) folded in. ctx holds a scratch buffer of at least *_get_buffer_size
 * bytes (the same size on every target). */

/* 1x1 convolution, any stride, no padding, groups 1. */
int32_t aiotc_convolve_1x1_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                              const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                              const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                              const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_1x1_s8_get_buffer_size(const aiotc_dims *input_dims);

/* Convolution whose window is one run of input bytes: 1x1, or 1xK with no dilation (a
 * Conv1D); any stride, no padding, groups 1, weights in TFLite's order (no scratch): each
 * output one dot product of its channel's row (few output channels). */
int32_t aiotc_convolve_rows_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                               const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                               const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                               int8_t *output);

/* 1x1 convolution, any stride, no padding, groups 1, of output channels in blocks of 8
 * and input channels in whole words: int16 weights, per 4 inputs and channel the pairs
 * (i0, i2), (i1, i3), 8 channels after another (the lowering's layout); the channels'
 * (multiplier, shift) pairs in one array at quant_params->multiplier; one pixel at a
 * time, no scratch. Chosen on DSP cores for few channels or short rows. */
int32_t aiotc_convolve_1x1_few_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                  const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                  const int16_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                  int8_t *output);

/* Convolution with groups 1, any kernel, stride, dilation and padding, of output channels
 * in blocks of 8: each pixel's window gathered into the scratch, then 8 channels at a time
 * over int16 weights in aiotc_convolve_1x1_few_s8's layout (rows of k taps zero padded to
 * whole words) and its (multiplier, shift) pairs. Chosen on DSP cores for first layers. */
int32_t aiotc_convolve_im2col_few_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                     const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                     const int8_t *input, const aiotc_dims *filter_dims, const int16_t *filter,
                                     const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_im2col_few_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);

/* Convolution with groups 1, any kernel, stride, dilation and padding, weights in TFLite's
 * order: the windows of 4 pixels gathered into the scratch, each output one dot product of
 * its channel's row (few output channels). */
int32_t aiotc_convolve_rows_im2col_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                      const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                      const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_rows_im2col_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);

/* Convolution with groups 1: any kernel, stride, dilation and padding, through im2col. */
int32_t aiotc_convolve_im2col_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                 const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                 const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                 const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_im2col_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);

/* Grouped convolution (groups > 1), any kernel, stride, dilation and padding: one im2col
 * gemm per group, the groups' weights one after the other, each in whole channel pairs. */
int32_t aiotc_convolve_grouped_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                  const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                  const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                  const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_grouped_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);

/* The two above 4 output pixels per pass over the weights on DSP cores (the pair kernels
 * elsewhere), the same weights and bias; 4 prepared columns of scratch. im2col: channels
 * in whole words (input_dims->c % 4 == 0). */
int32_t aiotc_convolve_1x1_quad_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                   const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                   const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                   const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_1x1_quad_s8_get_buffer_size(const aiotc_dims *input_dims);
int32_t aiotc_convolve_im2col_quad_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                      const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                      const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_im2col_quad_s8_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);

/* The two pair kernels with int4 weights (w4a8), packed by the lowering for aiotc_gemm_s4
 * (aiotc_nn_gemm_s4.h: each channel's row in words of 8 inputs), the bias folded as
 * above; the same scratch as the int8 kernels. */
int32_t aiotc_convolve_1x1_s4(const aiotc_context *ctx, const aiotc_conv_params *params,
                              const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                              const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                              const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_1x1_s4_get_buffer_size(const aiotc_dims *input_dims);
int32_t aiotc_convolve_im2col_s4(const aiotc_context *ctx, const aiotc_conv_params *params,
                                 const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                 const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                 const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_convolve_im2col_s4_get_buffer_size(const aiotc_dims *input_dims, const aiotc_dims *filter_dims);

/* Depthwise convolution: any depth multiplier, kernel, stride, dilation and padding.
 * Weights widened to int16 by the lowering (layout C/8 x kh*kw x 8), bias folded as above;
 * the scratch holds a row of input zero points that padded taps read, the tap table, and
 * for a multiplier over 1 the input rows the windows read with each channel repeated. */
int32_t aiotc_depthwise_conv_opt_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int16_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_depthwise_conv_opt_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
                                                    const aiotc_dims *filter_dims);

/* The same on DSP cores, one pixel at a time, two taps per SMLAD: weights widened by the
 * lowering to int16 in groups of 4 channels, each group's taps in pairs (per pair 4
 * words (tap t, tap t + 1), then an odd last tap's 4 values: C/4 x kh*kw x 4), bias
 * folded as above, the channels' (multiplier, shift) pairs in one array at
 * quant_params->multiplier; the scratch as above. */
int32_t aiotc_depthwise_conv_pairs_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                      const int8_t *input, const aiotc_dims *filter_dims, const int16_t *filter,
                                      const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_depthwise_conv_pairs_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
                                                      const aiotc_dims *filter_dims);

/* Depthwise 3x3 convolution, depth multiplier 1, stride 1 or 2, no dilation: channel
 * planes of int16 rows in the scratch, in bands of 2 output rows. Weights reordered by
 * the lowering to C x 3 x 3 (int8), bias folded as above. */
int32_t aiotc_depthwise_conv_3x3_s8(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_depthwise_conv_3x3_s8_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *output_dims);

/* The two depthwise kernels above with int4 weights (w4a8) in TFLite's packed order
 * (1HWC, two per byte), bias folded as above: they unpack the weights into the front
 * of the scratch (the int8 kernel's layout) and run the int8 kernel on the rest. */
int32_t aiotc_depthwise_conv_opt_s4(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_depthwise_conv_opt_s4_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *input_dims,
                                                    const aiotc_dims *filter_dims);
int32_t aiotc_depthwise_conv_3x3_s4(const aiotc_context *ctx, const aiotc_dw_conv_params *params,
                                    const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                    const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                    const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_depthwise_conv_3x3_s4_get_buffer_size(const aiotc_dw_conv_params *params, const aiotc_dims *output_dims);

/* Fully connected with filter_offset 0 over weights packed by the lowering: blocks of 4
 * rows (zero rows pad the last block), each row zero padded to a multiple of 16
 * inputs, stored word by word (inputs 4g..4g+3 of rows 0, 1, 2, 3, then 4g+4..), and a
 * bias with input_offset * sum(row) folded in, padded like the rows. */
int32_t aiotc_fully_connected_packed_s8(const aiotc_context *ctx, const aiotc_fc_params *params,
                                        const aiotc_per_channel_quant_params *quant_params,
                                        const aiotc_dims *input_dims, const int8_t *input,
                                        const aiotc_dims *filter_dims, const int8_t *filter, const int32_t *bias,
                                        const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_fully_connected_packed_s8_get_buffer_size(const aiotc_dims *filter_dims);

/* 16x8 (TFLite's int16 activations with int8 weights and int64 bias, CMSIS-NN's _s16):
 * activations symmetric (zero point 0: input_offset and output_offset are not read),
 * int64 accumulators, and quant_params holding what the lowering derived from TFLite's
 * multiplier and shift for its int64 MultiplyByQuantizedMultiplier: multiplier[] the
 * multiplier reduced to 16 bits (rounded, at most 0x7FFF), shift[] the total right shift
 * 15 - shift (right_shifts 0); and scaled_bias[c] = bias[c] * multiplier[c] +
 * 2^(shift[c] - 1), the int64 bias with the rounding folded in (never NULL).
 * The conv and fully connected weights come packed as the int8 gemm's byte pairs
 * (aiotc_nn_gemm_s16.h); the conv's ones group by group, each group's channel pairs. The
 * conv's scratch holds the receptive fields of two output pixels as int16, one after
 * the other. Depthwise weights stay 1HW(C*M). */
int32_t aiotc_convolve_s16(const aiotc_context *ctx, const aiotc_conv_params *params,
                           const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                           const int16_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                           const int64_t *scaled_bias, const aiotc_dims *output_dims, int16_t *output);
int32_t aiotc_convolve_s16_get_buffer_size(const aiotc_dims *filter_dims);
/* The same convolution in plain loops on OHWI weights, for weights the byte pairs cannot
 * hold (kernel selection in aiotc/kernels.py); fully connected layers too, as 1x1. */
int32_t aiotc_convolve_ref_s16(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                               const aiotc_dims *input_dims, const int16_t *input, const aiotc_dims *filter_dims,
                               const int8_t *filter, const int64_t *scaled_bias, const aiotc_dims *output_dims,
                               int16_t *output);
int32_t aiotc_depthwise_conv_s16(const aiotc_dw_conv_params *params,
                                 const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                 const int16_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                 const int64_t *scaled_bias, const aiotc_dims *output_dims, int16_t *output);
int32_t aiotc_fully_connected_s16(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                  const aiotc_dims *input_dims, const int16_t *input, const aiotc_dims *filter_dims,
                                  const int8_t *filter, const int64_t *scaled_bias, const aiotc_dims *output_dims,
                                  int16_t *output);

/* Transposed convolution (TFLite's TRANSPOSE_CONV, reference kernels): OHWI filter,
 * input pixel (y, x) adds its products to output pixels (y * stride - padding.h + ky,
 * x * stride - padding.w + kx); dilation is not read. Computed output by output (the sum
 * of every input that reaches it, TFLite scatters them: the same integers), requantized
 * as the conv. The 16x8 one takes aiotc_convolve_s16's quantization and scaled bias. */
int32_t aiotc_transpose_conv_s8(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                int8_t *output);
int32_t aiotc_transpose_conv_s16(const aiotc_conv_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const aiotc_dims *input_dims, const int16_t *input, const aiotc_dims *filter_dims,
                                 const int8_t *filter, const int64_t *scaled_bias, const aiotc_dims *output_dims,
                                 int16_t *output);
int32_t aiotc_transpose_conv_f32(const aiotc_conv_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                                 const aiotc_dims *filter_dims, const float *filter, const float *bias,
                                 const aiotc_dims *output_dims, float *output);

/* aiotc_transpose_conv_s8 as stride_h x stride_w ordinary convolutions, one per phase
 * (oy + padding.h, ox + padding.w) mod stride: the outputs of a phase are reached by the
 * same taps (ky = phase + j * stride), so each is a stride-1 window over the input,
 * gathered as im2col columns (taps outside the image hold the input zero point) for the
 * shared gemm (aiotc_nn_gemm.h). The lowering packs each phase's taps, input rows
 * ascending, as the gemm's weights (pack_gemm_weights, one block after the other, 32 zero
 * bytes after the last) and folds the input offset into one bias per phase and channel
 * (bias[phase * out_c + oc]). filter_dims is the layer's OHWI filter. */
int32_t aiotc_transpose_conv_gemm_s8(const aiotc_context *ctx, const aiotc_conv_params *params,
                                     const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                     const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                     const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_transpose_conv_gemm_s8_get_buffer_size(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                     const aiotc_dims *filter_dims);
/* The same phases for 16x8 (columns of int16, no input offset: every phase takes the
 * scaled bias of aiotc_convolve_s16), each phase's weights as aiotc_convolve_s16's
 * channel pairs (rows padded to AIOTC_ROW_S16), one block after the other. */
int32_t aiotc_transpose_conv_gemm_s16(const aiotc_context *ctx, const aiotc_conv_params *params,
                                      const aiotc_per_channel_quant_params *quant_params,
                                      const aiotc_dims *input_dims, const int16_t *input,
                                      const aiotc_dims *filter_dims, const int8_t *filter,
                                      const int64_t *scaled_bias, const aiotc_dims *output_dims, int16_t *output);
int32_t aiotc_transpose_conv_gemm_s16_get_buffer_size(const aiotc_conv_params *params, const aiotc_dims *input_dims,
                                                      const aiotc_dims *filter_dims);

/* Depthwise convolution; filter_dims = {1, kh, kw, c * ch_mult}. bias may be NULL. */
int32_t aiotc_depthwise_conv_s8(const aiotc_dw_conv_params *params,
                                const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
/* The same with int4 weights packed two per byte (TFLite's order, low nibble first). */
int32_t aiotc_depthwise_conv_s4(const aiotc_dw_conv_params *params,
                                const aiotc_per_channel_quant_params *quant_params, const aiotc_dims *input_dims,
                                const int8_t *input, const aiotc_dims *filter_dims, const int8_t *filter,
                                const int32_t *bias, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_depthwise_conv_f32(const aiotc_dw_conv_params_f32 *params, const aiotc_dims *input_dims,
                                 const float *input, const aiotc_dims *filter_dims, const float *filter,
                                 const float *bias, const aiotc_dims *output_dims, float *output);

/* Fully connected: input {batches,1,1,depth}, filter {out,1,1,depth}, output {batches,1,1,out}.
 * Per-channel multipliers (a per-tensor layer repeats its one multiplier). bias may be NULL. */
int32_t aiotc_fully_connected_s8(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                 int8_t *output);
/* The same with int4 weights packed two per byte (TFLite's order, low nibble first). */
int32_t aiotc_fully_connected_s4(const aiotc_fc_params *params, const aiotc_per_channel_quant_params *quant_params,
                                 const aiotc_dims *input_dims, const int8_t *input, const aiotc_dims *filter_dims,
                                 const int8_t *filter, const int32_t *bias, const aiotc_dims *output_dims,
                                 int8_t *output);
int32_t aiotc_fully_connected_f32(const aiotc_activation_f32 *activation, const aiotc_dims *input_dims,
                                  const float *input, const aiotc_dims *filter_dims, const float *filter,
                                  const float *bias, const aiotc_dims *output_dims, float *output);

/* Pooling over a filter_dims->h x filter_dims->w window; input and output share quantization. */
int32_t aiotc_avgpool_s8(const aiotc_pool_params *params, const aiotc_dims *input_dims, const int8_t *input,
                         const aiotc_dims *filter_dims, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_maxpool_s8(const aiotc_pool_params *params, const aiotc_dims *input_dims, const int8_t *input,
                         const aiotc_dims *filter_dims, const aiotc_dims *output_dims, int8_t *output);
int32_t aiotc_avgpool_f32(const aiotc_pool_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                          const aiotc_dims *filter_dims, const aiotc_dims *output_dims, float *output);
int32_t aiotc_maxpool_f32(const aiotc_pool_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                          const aiotc_dims *filter_dims, const aiotc_dims *output_dims, float *output);
/* sqrt of the mean square over the taps inside the image (tflite-micro's L2_POOL_2D: float32 only). */
int32_t aiotc_l2pool_f32(const aiotc_pool_params_f32 *params, const aiotc_dims *input_dims, const float *input,
                         const aiotc_dims *filter_dims, const aiotc_dims *output_dims, float *output);

#endif /* AIOTC_NN_CONV_H */
