/*
 * Offsets into struct cpu (arch/x86/percpu.h) that assembly reaches through the GS base, as
 * `%gs:CPU_...`. Plain numbers for the assembler; percpu.h checks each with a _Static_assert.
 */
#ifndef RACEBED_PERCPU_OFFSETS_H
#define RACEBED_PERCPU_OFFSETS_H

#define CPU_SELF 0                /* struct cpu *self */
#define CPU_SYSCALL_USER_RSP 8    /* the SYSCALL entry's scratch: the user RSP */
#define CPU_SYSCALL_KERNEL_RSP 16 /* the stack the SYSCALL entry switches to */

#endif
