/* aiotc runtime: everything the generated graph code calls.
 *
 * Naming follows CMSIS-NN: aiotc_<op>[_<spec>]_<s8|s16|f32>, arguments
 * (ctx, params, quant_params, in_dims, in, filter_dims, filter, bias_dims, bias,
 * out_dims, out), output last and the only non-const pointer. Kernels return
 * AIOTC_OK, or AIOTC_ARG_ERROR when handed arguments they cannot honour.
 * Each kernel source includes only its own family header. */
#ifndef AIOTC_NN_H
#define AIOTC_NN_H

#include "aiotc_nn_types.h"

#include "aiotc_nn_conv.h"
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_movement.h"

#endif /* AIOTC_NN_H */
