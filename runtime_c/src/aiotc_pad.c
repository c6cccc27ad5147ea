/* PAD: the output written front to back in runs, each input row copied whole and the
 * padding between two rows set at once (the lowering merges unpadded inner axes into
 * their outer neighbour, so the rows are as long as the padding lets them be). In place,
 * the output starts below the input (ops.py's pad_lead) and each row moves down onto it. */
#include "aiotc_nn_bytes.h"
#include "aiotc_nn_movement.h"

int32_t aiotc_pad(const aiotc_dims *input_dims, const aiotc_dims *before, const aiotc_dims *output_dims,
                  int32_t element_size, const void *pad_value, const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t row = input_dims->c * element_size;
    const int32_t out_row = output_dims->c * element_size;
    const int32_t left = before->c * element_size;
    int32_t pending = 0; /* bytes of padding due at out */
    int32_t n, h, w;
    for (n = -before->n; n < output_dims->n - before->n; n++) {
        for (h = -before->h; h < output_dims->h - before->h; h++) {
            if (n < 0 || n >= input_dims->n || h < 0 || h >= input_dims->h) {
                pending += output_dims->w * out_row;
                continue;
            }
            for (w = -before->w; w < output_dims->w - before->w; w++) {
                if (w < 0 || w >= input_dims->w) {
                    pending += out_row;
                    continue;
                }
                aiotc_bytes_fill(out, pad_value, element_size, pending + left);
                out += pending + left;
                aiotc_bytes_copy_down(out, in, row);
                out += row;
                in += row;
                pending = out_row - left - row;
            }
        }
    }
    aiotc_bytes_fill(out, pad_value, element_size, pending);
    return AIOTC_OK;
}
