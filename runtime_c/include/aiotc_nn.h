/* aiotc runtime: everything the generated graph code calls.
 *
 * Naming follows CMSIS-NN: aiotc_<op>[_<spec>]_<s8|s16|f32>, arguments
 * (ctx, params, quant_params, in_dims, in, filter_dims, filter, bias_dims, bias,
 * out_dims, out), output last and the only non-const pointer. Kernels return
 * AIOTC_OK, or AIOTC_ARG_ERROR when handed arguments they cannot honour.
 * Each kernel source includes only its own family header.
 *
 * In-place contract (aiotc/inplace.py relies on it): conv, depthwise conv, pooling
 * and the elementwise kernels compute output pixels (elements) in increasing order,
 * at most 4 at a time (aiotc_depthwise_conv_3x3_s8: 2 whole rows), and while computing
 * them read only input rows at or after the first row those pixels need. The planner
 * may then start such a kernel's output below its dying input and overlap it. A kernel path that breaks this order must
 * say so there. aiotc_dynamic_update_slice copies its operand forward (in chunks no longer than
 * the distance between the two), then writes only the output: its output may start at or below
 * the operand. aiotc_concat copies its output rows in order (memmove): its output may end where
 * one of its inputs ends. */
#ifndef AIOTC_NN_H
#define AIOTC_NN_H

#include "aiotc_nn_types.h"

#include "aiotc_nn_conv.h"
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_movement.h"
#include "aiotc_nn_recurrent.h"
#include "aiotc_nn_reduce.h"
#include "aiotc_nn_activation.h"
#include "aiotc_nn_matmul.h"

#endif /* AIOTC_NN_H */
