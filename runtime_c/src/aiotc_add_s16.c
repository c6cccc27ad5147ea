/* int16 addition and subtraction: TFLite Micro's int16 ADD and SUB (general scales, not
 * the power-of-two path). An int16 input has too many values for the int8 kernel's
 * tables, so each element is rescaled as it is read. A subtraction negates input 2 after
 * its rescaling, as TFLite subtracts the rescaled values (negating the multiplier would
 * round exact halves the other way). */
#include "aiotc_nn_elementwise.h"
#include "aiotc_nn_support.h"

/* (x + offset) << left_shift, rescaled: MultiplyByQuantizedMultiplierSmallerThanOneExp
 * (shift <= 0, so aiotc_requantize's left shift is 0). The shift wraps as TFLite's
 * int32 product does. */
static inline int32_t rescale(int32_t x, int32_t offset, int32_t left_shift, aiotc_per_tensor_quant_params q)
{
    return aiotc_requantize((int32_t)((uint32_t)(x + offset) << left_shift), q.multiplier, q.shift);
}

int32_t aiotc_add_s16(const aiotc_arith_params *params, const aiotc_broadcast_shape *shape, int32_t subtract,
                      const int16_t *input1, const int16_t *input2, int16_t *output)
{
    const aiotc_dims *const o = &shape->output, *const s1 = &shape->stride1, *const s2 = &shape->stride2;
    const int32_t shift = params->left_shift;
    int32_t n, h, w, c;
    for (n = 0; n < o->n; n++) {
        for (h = 0; h < o->h; h++) {
            for (w = 0; w < o->w; w++) {
                const int16_t *in1 = input1 + n * s1->n + h * s1->h + w * s1->w;
                const int16_t *in2 = input2 + n * s2->n + h * s2->h + w * s2->w;
                for (c = 0; c < o->c; c++) {
                    const int32_t a = rescale(in1[c * s1->c], params->input1_offset, shift, params->input1);
                    const int32_t b = rescale(in2[c * s2->c], params->input2_offset, shift, params->input2);
                    const int32_t sum = subtract ? a - b : a + b;
                    const int32_t y =
                        aiotc_requantize(sum, params->output.multiplier, params->output.shift) + params->output_offset;
                    *output++ = (int16_t)AIOTC_CLAMP(y, params->activation.min, params->activation.max);
                }
            }
        }
    }
    return AIOTC_OK;
}
