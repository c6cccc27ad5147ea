/* aiotc runtime: the layout of an output's packed weights, which the board it was
 * generated for decides: codegen writes this file into the output's aiotc_runtime/ (the
 * copy here, the default, is for cores without MVE).
 *
 * AIOTC_PAIRS_PLAIN: the byte pairs of the int8 gemm and of the packed fully connected
 * kernel (aiotc_nn_gemm.h, aiotc_nn_fc_packed.h) hold b_i itself (1: for an MVE core,
 * whose VLD2 splits the channels), or b_i - [a_i < 0] (0: for the DSP path's SMLAD of a
 * halfword as 256 * b_i + a_i). Every path reads either; a DSP core given plain pairs
 * takes the portable C, an MVE core given corrected ones undoes the correction. */
#ifndef AIOTC_NN_LAYOUT_H
#define AIOTC_NN_LAYOUT_H

#define AIOTC_PAIRS_PLAIN 0

#endif /* AIOTC_NN_LAYOUT_H */
