/*
 * Debug registers (Intel SDM vol. 3B ch. 18 "Debug, Branch Profile, TSC, and Intel RDT
 * Features"; AMD APM vol. 2 ch. 13 "Software Debug and Performance Resources").
 */
#ifndef RACEBED_DEBUGREG_H
#define RACEBED_DEBUGREG_H

#include "lib/types.h"

/* DR6: B0-B3 say which breakpoint matched; BD, BS, BT the other #DB causes. */
#define DR6_B0 ((u64)1 << 0)
#define DR6_BMASK ((u64)0xf)          /* B0-B3 */
#define DR6_BD ((u64)1 << 13)       /* debug-register access detected */
#define DR6_BS ((u64)1 << 14)       /* single step (TF) */
#define DR6_BT ((u64)1 << 15)       /* task switch */
#define DR6_RESET ((u64)0xffff0ff0) /* DR6 after reset: every reserved bit set, no cause */

/* DR7: enables and the per-breakpoint condition (R/W) and length (LEN) fields. */
#define DR7_FIXED ((u64)1 << 10)    /* reserved, reads as 1 */
#define DR7_L(n) ((u64)1 << (2 * (n)))
#define DR7_RW_EXEC ((u64)0)
#define DR7_RW_WRITE ((u64)1)
#define DR7_RW_RW ((u64)3)          /* reads and writes */
#define DR7_RW(n, rw) ((u64)(rw) << (16 + 4 * (n)))
#define DR7_LEN(n, bytes) ((u64)((bytes) == 8 ? 2 : (bytes) - 1) << (18 + 4 * (n)))

static inline u64 read_dr6(void) { u64 v; __asm__ volatile("mov %%dr6, %0" : "=r"(v)); return v; }
static inline void write_dr6(u64 v) { __asm__ volatile("mov %0, %%dr6" ::"r"(v)); }
static inline void write_dr0(u64 v) { __asm__ volatile("mov %0, %%dr0" ::"r"(v)); }
static inline void write_dr7(u64 v) { __asm__ volatile("mov %0, %%dr7" ::"r"(v)); }

#endif
