/* float32 mean over the rows and columns, given band by band (a streamed stage): each band's
 * pixels added to their channel's sum in the output, in the order aiotc_mean_f32 adds them,
 * so the last band's quotients are its results bit for bit. */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

int32_t aiotc_mean_rows_f32(const aiotc_dims *input_dims, const float *input, int32_t first, int32_t count,
                            float *output)
{
    const int32_t channels = input_dims->c, pixels = input_dims->h * input_dims->w;
    int32_t p, c;
    if (input_dims->n != 1) {
        return AIOTC_ARG_ERROR;
    }
    if (first) {
        for (c = 0; c < channels; c++) {
            output[c] = 0.0f;
        }
    }
    for (p = 0; p < pixels; p++, input += channels) {
        for (c = 0; c < channels; c++) {
            output[c] += input[c];
        }
    }
    if (count > 0) {
        for (c = 0; c < channels; c++) {
            output[c] /= (float)count;
        }
    }
    return AIOTC_OK;
}
