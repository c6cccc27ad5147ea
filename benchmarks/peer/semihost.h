/* semihost.h: what the TFLM peer image needs from the bare machine: ARM semihosting
 * (console, exit status) and a 64-bit SysTick time stamp. */
#ifndef PEER_SEMIHOST_H
#define PEER_SEMIHOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SH_SYS_WRITE0 0x04
#define SH_SYS_EXIT_EXTENDED 0x20

#define PEER_EXIT_OK 0
#define PEER_EXIT_TFLM 2    /* model, AllocateTensors or Invoke failed */
#define PEER_EXIT_ABORT 3   /* abort(): a TFLITE_CHECK failed */
#define PEER_EXIT_FAULT 100 /* plus the exception number */

/* One semihosting call: operation in r0, argument block in r1, result in r0. */
static inline int32_t semihost(int32_t op, const void *arg)
{
    register int32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void peer_exit(int32_t code) __attribute__((noreturn));
void peer_timer_start(void);
uint64_t peer_now(void); /* SysTick ticks (processor clock) since peer_timer_start */

#ifdef __cplusplus
}
#endif

#endif /* PEER_SEMIHOST_H */
