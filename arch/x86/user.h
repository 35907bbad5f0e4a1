/*
 * Ring 3: one 2 MiB user region (U pages) holding copies of user-mode code blobs, per-CPU user
 * data and stacks; SYSCALL/SYSRET MSRs; and user_run(), which enters ring 3 by IRETQ and comes
 * back when the user code executes `int $VEC_USER_EXIT` or SYSCALL (unless a handler says
 * otherwise).
 */
#ifndef RACEBED_USER_H
#define RACEBED_USER_H

#include "arch/x86/trap.h"

#define VEC_USER_INT 0xe8  /* DPL 3 software interrupt for experiments */
#define VEC_USER_EXIT 0xe9 /* DPL 3: back to the kernel caller of user_run */
#define USER_DATA_SIZE 64  /* per-CPU user-writable bytes */
#define USER_STACK_SIZE 1024

/* BSP, once, after paging_init: allocates and maps the region, opens the DPL 3 gates. */
bool user_init(void);
/* Every CPU: EFER.SCE, STAR, LSTAR, FMASK. */
void user_init_cpu(void);
/* Copies [start, end) into the region once (idempotent per start); returns its user address. */
u64 user_blob(const void *start, const void *end);
/* Translates an address inside a blob to its address in the user region copy. */
u64 user_addr(const void *blob_start, const void *p);
u64 user_stack_top(void);        /* this CPU's user stack */
void *user_data(void);           /* this CPU's USER_DATA_SIZE bytes, user-accessible */
bool user_available(void);
/*
 * Runs ring-3 code at rip with this CPU's user stack, the given RFLAGS and rdi = arg. Returns
 * the user's RAX at `int $VEC_USER_EXIT` / SYSCALL. Interrupts are off on return.
 */
u64 user_run(u64 rip, u64 rflags, u64 arg);
/* The same with rsi = arg1. */
u64 user_run2(u64 rip, u64 rflags, u64 arg0, u64 arg1);
/*
 * How user_run enters ring 3: plain IRETQ (interrupts as in rflags), or the kernel exit paths
 * that rely on the STI shadow: `sti; sysretq` and `sti; iretq` (labels user_sti_sysretq and
 * user_sti_iretq name the SYSRETQ / IRETQ instruction).
 */
enum user_entry_mode { USER_ENTER_IRETQ, USER_ENTER_STI_SYSRETQ, USER_ENTER_STI_IRETQ };
u64 user_run_mode(enum user_entry_mode mode, u64 rip, u64 rflags, u64 arg0, u64 arg1);
extern const char user_sti_sysretq[], user_sti_iretq[];
/* In a handler for an event from ring 3: resume in user_run's caller instead of ring 3. */
void user_return_to_kernel(struct trap_frame *f);

#endif
