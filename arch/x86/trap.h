/* Interrupt and exception dispatch: register frame, per-vector handlers, fixup table. */
#ifndef RACEBED_TRAP_H
#define RACEBED_TRAP_H

#include "lib/types.h"

/* Layout pushed by arch/x86/entry.S (lowest address first). */
struct trap_frame {
	u64 pad;
	u64 gs_swapped; /* entry did SWAPGS (GS base was not ours); exit undoes it unless cleared */
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector, error;
	u64 rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

enum {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6,
	VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14,
	VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19, VEC_VE = 20, VEC_CP = 21,
};

/* Interrupt vectors owned by the kernel (experiments pick theirs from VEC_EXP_FIRST up). */
#define VEC_EXP_FIRST 0x40
#define VEC_EXP_LAST 0xdf
#define VEC_WATCHDOG 0xe0
#define VEC_TIMER 0xe1
#define VEC_CALL 0xf0   /* wakes a CPU to look at its smp_call mailbox */
#define VEC_STOP 0xf1   /* halts a CPU for good */
#define VEC_SPURIOUS 0xff
#define VEC_SYSCALL 256 /* pseudo vector of the SYSCALL entry */

/* A handler returns true when it dealt with the event; false passes it on to the defaults. */
typedef bool (*trap_handler_t)(struct trap_frame *f);

void idt_init(void);            /* builds the shared gate template (BSP, once) */
void idt_load_percpu(void);     /* copies the template into this CPU's IDT and loads it */
void trap_set_handler(u32 vector, trap_handler_t h);
trap_handler_t trap_get_handler(u32 vector);
/* Sets a gate's DPL in the template and this CPU's IDT (before the APs copy it). */
void idt_set_dpl(u32 vector, u32 dpl);
/* Points a gate of this CPU's IDT at another entry (IST and type unchanged); and the default. */
void idt_set_entry(u32 vector, u64 addr);
u64 idt_default_entry(u32 vector);
/* Changes the IST index of a vector's gate on this CPU only (0 = no IST). */
void idt_set_ist(u32 vector, u32 ist);

/*
 * Fixup table: an exception whose reported RIP equals `rip` resumes at `fixup`, with the
 * event stored in this_cpu()->last_trap. Flags: clear TF in the resumed RFLAGS.
 */
#define EXT_CLEAR_TF 1
struct extable_entry { u64 rip, fixup, flags; };

/* Emits a fixup entry from inline asm: resume at label `to` when the event reports `at`. */
#define EXTABLE_STR_(x) #x
#define EXTABLE_STR(x) EXTABLE_STR_(x)
#define EXTABLE_ASM(at, to, flags)                                                           \
	".pushsection .ex_table, \"a\"\n.balign 8\n.quad " at ", " to ", " EXTABLE_STR(flags) \
	"\n.popsection\n"

/* RDMSR that survives the #GP of an MSR the CPU does not have (through the fixup table):
 * false then, and *val is 0. */
static inline bool rdmsr_safe(u32 msr, u64 *val)
{
	u32 lo = 0, hi = 0, ok;
	__asm__ volatile("1: rdmsr\n"
			 "movl $1, %2\n"
			 "jmp 3f\n"
			 "2: xorl %2, %2\n"
			 "3:\n" EXTABLE_ASM("1b", "2b", 0)
			 : "+a"(lo), "+d"(hi), "=r"(ok)
			 : "c"(msr)
			 : "memory");
	*val = ((u64)hi << 32) | lo;
	return ok;
}

/* Prints everything about an unexpected event and ends the run as a crash. */
NORETURN void trap_crash(struct trap_frame *f, const char *why);
/* Frame-pointer backtrace starting at the given frame. */
void print_backtrace(u64 rip, u64 rbp);

#endif
