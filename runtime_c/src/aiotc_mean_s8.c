/* int8 mean: the integer sum over the reduced dimensions, minus count x zero point,
 * requantized by a multiplier with 1/count folded in at compile time (TFLite Micro's
 * QuantizedMeanOrSum). */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

/* The requantized mean of a sum `acc` of `count` values. */
static inline int8_t aiotc_mean_out(const aiotc_mean_params *params, int32_t acc, int32_t count)
{
    acc = aiotc_requantize(acc + params->input_offset * count, params->quant.multiplier, params->quant.shift);
    acc += params->output_offset;
    return (int8_t)AIOTC_CLAMP(acc, -128, 127);
}

/* The usual mean, over each image's pixels per channel (global average pooling): one
 * pointer step a value, not the general loops' index products. */
static void aiotc_mean_pixels(const aiotc_mean_params *params, const aiotc_dims *input_dims, const int8_t *input,
                              int8_t *output)
{
    const int32_t ch = input_dims->c, pixels = input_dims->h * input_dims->w;
    int32_t n, c, i;
    for (n = 0; n < input_dims->n; n++, input += pixels * ch) {
        for (c = 0; c < ch; c++) {
            const int8_t *p = input + c;
            int32_t acc = 0;
            for (i = 0; i < pixels; i++, p += ch) {
                acc += *p;
            }
            *output++ = aiotc_mean_out(params, acc, pixels);
        }
    }
}

int32_t aiotc_mean_s8(const aiotc_mean_params *params, const aiotc_dims *input_dims, const aiotc_dims *reduce_dims,
                      const int8_t *input, int8_t *output)
{
    /* Output positions walk the kept dimensions (o*); the inner loops the reduced ones (r*). */
    const int32_t on = reduce_dims->n ? 1 : input_dims->n, oh = reduce_dims->h ? 1 : input_dims->h;
    const int32_t ow = reduce_dims->w ? 1 : input_dims->w, oc = reduce_dims->c ? 1 : input_dims->c;
    const int32_t rn = input_dims->n / on, rh = input_dims->h / oh, rw = input_dims->w / ow, rc = input_dims->c / oc;
    const int32_t count = rn * rh * rw * rc;
    int32_t n, h, w, c, i, j, k, l;
    if (!reduce_dims->n && reduce_dims->h && reduce_dims->w && !reduce_dims->c) {
        aiotc_mean_pixels(params, input_dims, input, output);
        return AIOTC_OK;
    }
    for (n = 0; n < on; n++) {
        for (h = 0; h < oh; h++) {
            for (w = 0; w < ow; w++) {
                for (c = 0; c < oc; c++) {
                    int32_t acc = 0;
                    for (i = 0; i < rn; i++) {
                        for (j = 0; j < rh; j++) {
                            for (k = 0; k < rw; k++) {
                                for (l = 0; l < rc; l++) {
                                    acc += input[(((n + i) * input_dims->h + h + j) * input_dims->w + w + k) *
                                                     input_dims->c + c + l];
                                }
                            }
                        }
                    }
                    *output++ = aiotc_mean_out(params, acc, count);
                }
            }
        }
    }
    return AIOTC_OK;
}
