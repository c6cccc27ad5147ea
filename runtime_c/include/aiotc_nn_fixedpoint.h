/* aiotc runtime: gemmlowp-style fixed-point functions for softmax and log softmax (int8
 * logistic and tanh are tables the lowering makes: aiotc/fixedpoint.py's sigmoid_table).
 *
 * A value in "Qk" has k integer bits: raw / 2^(31 - k). These are the exact integer
 * algorithms TFLite Micro's reference kernels run (gemmlowp's exp_on_negative_values,
 * one_over_one_plus_x_for_x_in_0_1, ...), so results match it bit for bit. */
#ifndef AIOTC_NN_FIXEDPOINT_H
#define AIOTC_NN_FIXEDPOINT_H

#include <stdint.h>

#include "aiotc_nn_support.h"

#define aiotc_fp_mul aiotc_sat_rounding_doubling_high_mul

/* x * 2^exponent with rounding (exponent < 0) or saturation (exponent > 0). */
static inline int32_t aiotc_fp_mul_by_pot(int32_t x, int32_t exponent)
{
    if (exponent <= 0) {
        return aiotc_rounding_divide_by_pot(x, -exponent);
    }
    {
        const int32_t threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
        if (x > threshold) {
            return INT32_MAX;
        }
        if (x < -threshold) {
            return INT32_MIN;
        }
        return (int32_t)((uint32_t)x << exponent);
    }
}

/* exp(a) for a in [-1/4, 0), Q0 in and out: Taylor series around -1/8. */
static inline int32_t aiotc_fp_exp_on_interval(int32_t a)
{
    const int32_t constant_term = 1895147668;     /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = a + (1 << 28);               /* a + 1/8 */
    const int32_t x2 = aiotc_fp_mul(x, x);
    const int32_t x3 = aiotc_fp_mul(x2, x);
    const int32_t x4 = aiotc_fp_mul(x2, x2);
    const int32_t x4_over_4 = aiotc_fp_mul_by_pot(x4, -2);
    const int32_t poly = aiotc_fp_mul_by_pot(aiotc_fp_mul(x4_over_4 + x3, constant_1_over_3) + x2, -1);
    return constant_term + aiotc_fp_mul(constant_term, x + poly);
}

/* exp(a) for a <= 0 given in Q(integer_bits); result in Q0. */
static inline int32_t aiotc_fp_exp_on_negative_values(int32_t a, int32_t integer_bits)
{
    static const int32_t multipliers[7] = {1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242};
    const int32_t fractional_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (fractional_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter = (a & (one_quarter - 1)) - one_quarter;
    const int32_t remainder = a_mod_quarter_minus_one_quarter - a;
    int32_t result = aiotc_fp_exp_on_interval(aiotc_fp_mul_by_pot(a_mod_quarter_minus_one_quarter, integer_bits));
    int32_t exponent;
    /* exp(-2^e) for e = -2..4, applied for each bit of the remainder (a barrel shifter). */
    for (exponent = -2; exponent <= 4; exponent++) {
        if (integer_bits > exponent && (remainder & ((int32_t)1 << (fractional_bits + exponent))) != 0) {
            result = aiotc_fp_mul(result, multipliers[exponent + 2]);
        }
    }
    if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) {
        result = 0;
    }
    return a == 0 ? INT32_MAX : result;
}

/* 1 / (1 + x) for x in [0, 1), Q0 in and out. */
static inline int32_t aiotc_fp_reciprocal_one_plus_q2(int32_t a);

static inline int32_t aiotc_fp_one_over_one_plus_x(int32_t a)
{
    return aiotc_fp_mul_by_pot(aiotc_fp_reciprocal_one_plus_q2(a), 1);
}

static inline int32_t aiotc_count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    while ((x & 0x80000000u) == 0) {
        x <<= 1;
        n++;
    }
    return n;
}

/* TFLite's GetReciprocal: 1/x for x in Q(integer_bits), as a Q0 scale and a bit count. */
static inline int32_t aiotc_fp_reciprocal(int32_t x, int32_t integer_bits, int32_t *num_bits_over_unit)
{
    const int32_t headroom_plus_one = aiotc_count_leading_zeros((uint32_t)x);
    const int32_t shifted_minus_one = (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    *num_bits_over_unit = integer_bits - headroom_plus_one;
    return aiotc_fp_one_over_one_plus_x(shifted_minus_one);
}

/* The shared Newton-Raphson step of gemmlowp: 1/(1 + a) for a in [0, 1), in Q2. */
static inline int32_t aiotc_fp_reciprocal_one_plus_q2(int32_t a)
{
    const int64_t sum = (int64_t)a + INT32_MAX;
    const int32_t half_denominator = (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
    int32_t x = 1515870810 + aiotc_fp_mul(half_denominator, -1010580540); /* 48/17 - 32/17 d */
    int32_t i;
    for (i = 0; i < 3; i++) {
        const int32_t one_minus_dx = ((int32_t)1 << 29) - aiotc_fp_mul(half_denominator, x);
        x = x + aiotc_fp_mul_by_pot(aiotc_fp_mul(x, one_minus_dx), 2);
    }
    return x;
}

#endif /* AIOTC_NN_FIXEDPOINT_H */
