/*
 * The manuals' own words behind the verdicts (kernel/arch_rules.h): each macro is a section
 * token and a quote of at most 25 words, verbatim from the Intel SDM or the AMD APM, for the
 * ARCH_RULES tables (ON_INTEL(NEVER, SDM_STI_INHIBIT), ...). Where a quote leaves words out it
 * says "...". docs/arch-rules.md lists every rule with its quote; the editions the section
 * numbers follow are named there. Host unit test: every claim has one (test_classify.c).
 *
 * Section tokens follow the SDM editions the project has cited since its start (interrupt and
 * exception handling is chapter 6 of volume 3A, multiple-processor management 8, memory cache
 * control 11, debug 17 of 3B); the comment on each quote names where its words were checked.
 */
#ifndef RACEBED_ARCH_QUOTES_H
#define RACEBED_ARCH_QUOTES_H

/* ---- Intel SDM ---- */

/* STI page, volume 2B (current wording, e.g. the 2016+ editions) */
#define SDM_STI_INHIBIT "SDM-2B-STI", \
	"If IF = 0, maskable hardware interrupts remain inhibited on the instruction boundary " \
	"following an execution of STI."
#define SDM_STI_NO_EXCEPTIONS "SDM-2B-STI", \
	"The IF flag and the STI and CLI instructions do not prohibit the generation of " \
	"exceptions and nonmaskable interrupts (NMIs)."
#define SDM_STI_NMI "SDM-2B-STI", \
	"However, NMIs (and system-management interrupts) may be inhibited on the instruction " \
	"boundary following an execution of STI that begins with IF = 0."
/* the STI page's footnote (checked in the 2009 edition's page, 253667) */
#define SDM_STI_SEQUENCE "SDM-2B-STI", \
	"In a sequence of STI instructions, only the first instruction in the sequence is " \
	"guaranteed to delay interrupts."

/* POP page, volume 2B, and its footnote (checked in the 2001 edition, 243191) */
#define SDM_POP_SS_NMI "SDM-2B-POP", \
	"A POP SS instruction inhibits all interrupts, including the NMI interrupt, until after " \
	"execution of the next instruction."
#define SDM_SHADOW_SEQUENCE "SDM-2B-POP", \
	"...only the first instruction in the sequence is guaranteed to delay the interrupt, but " \
	"subsequent interrupt-delaying instructions may not delay the interrupt."

/* 6.8.3 Masking Exceptions and Interrupts When Switching Stacks (checked: 2009, 253668-032) */
#define SDM_MOVSS_INHIBIT "SDM-3A-6.8.3", \
	"the processor inhibits interrupts, debug exceptions, and single-step trap exceptions " \
	"after either a MOV to SS instruction or a POP to SS instruction"

/* 6.6 Program or Task Restart (checked: 2009, 253668-032) */
#define SDM_IRQ_BOUNDARY "SDM-3A-6.6", \
	"Interrupts are taken at instruction boundaries located during the retirement phase of " \
	"instruction execution"

/* 6.7.1 Handling Multiple NMIs (first: 2009, 253668-032; second: the 2013+ wording) */
#define SDM_NMI_BLOCKED "SDM-3A-6.7.1", \
	"While an NMI interrupt handler is executing, the processor disables additional calls to " \
	"the NMI handler until the next IRET instruction is executed."
#define SDM_NMI_NOT_IRQ "SDM-3A-6.7.1", \
	"It is recommended that the NMI interrupt handler be accessed through an interrupt gate " \
	"to disable maskable hardware interrupts"
#define SDM_NMI_IRET_FAULT "SDM-3A-6.7.1", \
	"Execution of the IRET instruction unblocks NMIs even if the instruction causes a fault."

/* 6.14.5 Interrupt Stack Table (checked: 2009, 253668-032, and 2016) */
#define SDM_IST_REENTRY "SDM-3A-6.14.5", \
	"This mechanism unconditionally switches stacks when it is enabled."

/* SWAPGS page, volume 2B (current wording) */
#define SDM_SYSCALL_GS "SDM-2B-SWAPGS", \
	"...there is no kernel stack at the OS entry point. Neither is there a straightforward " \
	"method to obtain a pointer to kernel structures"

/* 8.1.3 Handling Self- and Cross-Modifying Code (checked: 2009, 253668-032, and 2016) */
#define SDM_XMC "SDM-3A-8.1.3", \
	"the following processor synchronization algorithm must be implemented: ... Execute " \
	"serializing instruction; (* For example, CPUID instruction *) Begin executing modified code;"
#define SDM_XMC_UNSYNCED "SDM-3A-8.1.3", \
	"As with self-modifying code, IA-32 processors exhibit model-specific behavior when " \
	"executing cross-modifying code"
/* 11.6 Self-Modifying Code (checked: 2009, 253668-032) */
#define SDM_SMC_LINEAR "SDM-3A-11.6", \
	"If the write affects a prefetched instruction, the prefetch queue is invalidated. This " \
	"latter check is based on the linear address of the instruction."

/* 17.2.3 Debug Status Register (DR6) (wording as the SDM has it, e.g. 2016+ editions) */
#define SDM_DR6_STICKY "SDM-3B-17.2.3", \
	"Certain debug exceptions may clear bits 0-3. The remaining contents of the DR6 register " \
	"are never cleared by the processor."
/* 17.3.1.2 Data Memory and I/O Breakpoint Exception Conditions (checked: 2009, there 16.3.1.2) */
#define SDM_DB_DATA_TRAP "SDM-3B-17.3.1.2", \
	"The processor generates the exception after it executes the instruction that made the " \
	"access, so these breakpoint condition causes a trap-class exception to be generated."

/* ---- AMD APM ---- */

/* STI, volume 3 (checked: 24594 rev. 3.10) */
#define APM_STI_SHADOW "APM-3-STI", \
	"If STI sets the IF flag and IF was initially clear, then interrupts are not enabled until " \
	"after the instruction following STI."
#define APM_STI_NMI "APM-3-STI", \
	"Interrupts received on the non-maskable interrupt (NMI) input are not affected by this " \
	"instruction."

#endif
