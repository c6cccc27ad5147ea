/* aiotc runtime: byte runs copied and filled.
 *
 * Short runs (an im2col's kernel rows, int8 or int16; a concat's pixel rows):
 * aiotc_copy_run and aiotc_fill_run, inline with no call, word by word (MVE: vector by
 * vector). Long runs (the data-movement kernels): aiotc_bytes_*, memcpy and memset
 * (newlib's are word-wide and unrolled), on MVE low-overhead loops of vector loads and
 * stores, 16 bytes each. */
#ifndef AIOTC_NN_BYTES_H
#define AIOTC_NN_BYTES_H

#include <stdint.h>
#include <string.h>

#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
#endif

/* n bytes, word by word (MVE: whole vectors, the last predicated): kernel rows are short
 * (9 bytes in a 3x3 first layer), where a call to memcpy costs more than the copy. */
static inline void aiotc_copy_run(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t i = 0;
#if defined(__ARM_FEATURE_MVE)
    for (; i + 16 < n; i += 16) {
        vstrbq_s8(dst + i, vldrbq_s8(src + i));
    }
    {
        const mve_pred16_t p = vctp8q((uint32_t)(n - i)); /* the last 1-16 bytes, or none */
        vstrbq_p_s8(dst + i, vldrbq_z_s8(src + i, p), p);
    }
    return;
#endif
    for (; i + 4 <= n; i += 4) {
        int32_t v;
        memcpy(&v, src + i, sizeof v);
        memcpy(dst + i, &v, sizeof v);
    }
    if (i < n) { /* the last 1-3 bytes: a halfword, then a byte */
        if (i + 2 <= n) {
            int16_t h;
            memcpy(&h, src + i, sizeof h);
            memcpy(dst + i, &h, sizeof h);
            i += 2;
        }
        if (i < n) {
            dst[i] = src[i];
        }
    }
}

/* n bytes of value v, for the same short runs, as aiotc_copy_run: word by word (MVE:
 * whole vectors, the last predicated), no call to memset. */
static inline void aiotc_fill_run(int8_t *dst, int8_t v, int32_t n)
{
#if defined(__ARM_FEATURE_MVE)
    const int8x16_t x = vdupq_n_s8(v);
    int32_t i;
    for (i = 0; i + 16 < n; i += 16) {
        vstrbq_s8(dst + i, x);
    }
    vstrbq_p_s8(dst + i, x, vctp8q((uint32_t)(n - i)));
#else
    const uint32_t word = (uint8_t)v * 0x01010101u;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4) {
        memcpy(dst + i, &word, sizeof word);
    }
    for (; i < n; i++) {
        dst[i] = v;
    }
#endif
}

#if !defined(__ARM_FEATURE_MVE)
/* A short run (at most 64 bytes, both ends word aligned: a concat's pixel rows) by
 * aiotc_copy_run, front to back, which is right where dst lies below src too; 0 where the
 * run is not one (then memcpy or memmove, whose call costs more than such a copy). */
static inline int aiotc_bytes_copy_short(void *dst, const void *src, int32_t n)
{
    if (n > 64 || (((uintptr_t)dst | (uintptr_t)src) & 3u) != 0) {
        return 0;
    }
    aiotc_copy_run((int8_t *)dst, (const int8_t *)src, n);
    return 1;
}
#endif

/* n bytes from src to dst (not overlapping). MVE: 64 bytes per pass of a low-overhead
 * loop (four loads, four stores), then the last 0-63 bytes tail-predicated. */
static inline void aiotc_bytes_copy(void *dst, const void *src, int32_t n)
{
#if defined(__ARM_FEATURE_MVE)
    __asm__ volatile("wls lr, %[blocks], 1f\n"
                     "2:\n\t"
                     "vldrb.8 q0, [%[src]], #16\n\t"
                     "vldrb.8 q1, [%[src]], #16\n\t"
                     "vldrb.8 q2, [%[src]], #16\n\t"
                     "vldrb.8 q3, [%[src]], #16\n\t"
                     "vstrb.8 q0, [%[dst]], #16\n\t"
                     "vstrb.8 q1, [%[dst]], #16\n\t"
                     "vstrb.8 q2, [%[dst]], #16\n\t"
                     "vstrb.8 q3, [%[dst]], #16\n\t"
                     "le lr, 2b\n"
                     "1:\n\t"
                     "wlstp.8 lr, %[rest], 3f\n"
                     "4:\n\t"
                     "vldrb.8 q0, [%[src]], #16\n\t"
                     "vstrb.8 q0, [%[dst]], #16\n\t"
                     "letp lr, 4b\n"
                     "3:"
                     : [src] "+r"(src), [dst] "+r"(dst)
                     : [blocks] "r"(n >> 6), [rest] "r"(n & 63)
                     : "q0", "q1", "q2", "q3", "lr", "memory");
#else
    if (!aiotc_bytes_copy_short(dst, src, n)) {
        memcpy(dst, src, (size_t)n);
    }
#endif
}

/* n bytes (whole words, both ends word aligned) front to back, each block loaded before it
 * is stored: right where dst lies below src. DSP: 16 bytes per LDM/STM pair, then 8, then 4
 * (bits 3 and 2 of what is left, tested as newlib's memcpy does); else word by word. */
static inline void aiotc_copy_words(void *dst, const void *src, int32_t n)
{
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
#if defined(__ARM_FEATURE_DSP)
    __asm__ volatile("subs %[n], %[n], #16\n\t"
                     "blt 2f\n"
                     "1:\n\t"
                     "ldmia %[src]!, {r3, r4, r5, r6}\n\t"
                     "stmia %[dst]!, {r3, r4, r5, r6}\n\t"
                     "subs %[n], %[n], #16\n\t"
                     "bge 1b\n"
                     "2:\n\t"
                     "lsls %[n], %[n], #29\n\t"
                     "itt cs\n\t"
                     "ldmcs %[src]!, {r3, r4}\n\t"
                     "stmcs %[dst]!, {r3, r4}\n\t"
                     "itt mi\n\t"
                     "ldrmi r3, [%[src]], #4\n\t"
                     "strmi r3, [%[dst]], #4"
                     : [src] "+r"(s), [dst] "+r"(d), [n] "+r"(n)
                     :
                     : "r3", "r4", "r5", "r6", "cc", "memory");
#else
    for (; n > 0; n -= 4, s += 4, d += 4) {
        uint32_t w;
        memcpy(&w, s, sizeof w);
        memcpy(d, &w, sizeof w);
    }
#endif
}

/* n bytes from src to dst where dst may lie below src, the runs overlapping (the in-place
 * concat, pad and slice, a streamed band's halo rows moved down). Runs that do not overlap:
 * aiotc_bytes_copy. MVE: aiotc_bytes_copy goes front to back and loads each pass before
 * storing it, which that overlap allows. DSP (Cortex-M4/M7), both ends word aligned: the
 * same by aiotc_copy_words, then the last 0-3 bytes (newlib's memmove is C, a word at a
 * time). Elsewhere memmove. */
static inline void aiotc_bytes_copy_down(void *dst, const void *src, int32_t n)
{
#if defined(__ARM_FEATURE_MVE)
    aiotc_bytes_copy(dst, src, n);
#else
    if ((const uint8_t *)dst + n <= (const uint8_t *)src || (const uint8_t *)src + n <= (const uint8_t *)dst) {
        aiotc_bytes_copy(dst, src, n);
        return;
    }
    if (aiotc_bytes_copy_short(dst, src, n)) {
        return;
    }
#if defined(__ARM_FEATURE_DSP)
    if ((((uintptr_t)dst | (uintptr_t)src) & 3u) == 0) {
        aiotc_copy_words(dst, src, n & ~3);
        aiotc_copy_run((int8_t *)dst + (n & ~3), (const int8_t *)src + (n & ~3), n & 3);
        return;
    }
#endif
    memmove(dst, src, (size_t)n);
#endif
}

/* n bytes of value v at dst. */
static inline void aiotc_bytes_set(void *dst, uint8_t v, int32_t n)
{
#if defined(__ARM_FEATURE_MVE)
    const uint8x16_t x = vdupq_n_u8(v);
    register int32_t count __asm__("lr") = n;
    __asm__ volatile("wlstp.8 lr, lr, 1f\n"
                     "2:\n\t"
                     "vstrb.8 %q[x], [%[dst]], #16\n\t"
                     "letp lr, 2b\n"
                     "1:"
                     : [dst] "+r"(dst), [n] "+r"(count)
                     : [x] "w"(x)
                     : "memory");
#else
    memset(dst, v, (size_t)n);
#endif
}

/* n bytes (a whole number of elements) of the element_size-byte value at dst: one byte
 * set when the value's bytes are equal (any int8 value, a zero), else element by element
 * (an int16 zero point other than 0, which only an ONNX model has). */
static inline void aiotc_bytes_fill(void *dst, const void *value, int32_t element_size, int32_t n)
{
    const uint8_t *v = (const uint8_t *)value;
    uint8_t *out = (uint8_t *)dst;
    int32_t i;
    for (i = 1; i < element_size && v[i] == v[0]; i++) {
    }
    if (i == element_size) {
        aiotc_bytes_set(out, v[0], n);
        return;
    }
    for (i = 0; i < n; i += element_size) {
        memcpy(out + i, v, (size_t)element_size);
    }
}

#endif /* AIOTC_NN_BYTES_H */
