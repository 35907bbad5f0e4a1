/*
 * The manuals' own words behind the verdicts (kernel/arch_rules.h): each macro is a section
 * token and a quote of at most 25 words, verbatim from the Intel SDM or the AMD APM, for the
 * ARCH_RULES tables (ON_INTEL(NEVER, SDM_STI_INHIBIT), ...). Where a quote leaves words out it
 * says "...". docs/arch-rules.md lists every rule with its quote; the editions the section
 * numbers follow are named there. Host unit test: every claim has one (test_classify.c).
 *
 * Section tokens are the current edition's numbers (a 2024+ SDM: interrupt and exception
 * handling is chapter 7 of volume 3A, debug chapter 20 of 3B, the VMX guest state and VM entry
 * chapters 27 and 29 of 3C) where two sources agree on them; a token ending in (YEAR) gives the
 * number in that year's edition, the current one not verified. The comment on each quote says
 * which edition its words were checked against.
 */
#ifndef RACEBED_ARCH_QUOTES_H
#define RACEBED_ARCH_QUOTES_H

/* clang-format off: section token and words, laid out by hand */

/* ---- Intel SDM ---- */

/* STI page, volume 2B (the May 2018 edition's words; the same in later ones) */
#define SDM_STI_INHIBIT "SDM-2B-STI", \
	"If IF = 0, maskable hardware interrupts remain inhibited on the instruction boundary " \
	"following an execution of STI."
#define SDM_STI_ENDS "SDM-2B-STI", \
	"The inhibition ends after delivery of another event (e.g., exception) or the execution " \
	"of the next instruction."
#define SDM_STI_NO_EXCEPTIONS "SDM-2B-STI", \
	"The IF flag and the STI and CLI instructions do not prohibit the generation of " \
	"exceptions and nonmaskable interrupts (NMIs)."
#define SDM_STI_NMI "SDM-2B-STI", \
	"However, NMIs (and system-management interrupts) may be inhibited on the instruction " \
	"boundary following an execution of STI that begins with IF = 0."
/* the STI page's footnote in the 2016 edition (p. 4-645; later editions dropped it) */
#define SDM_STI_STI "SDM-2B-STI(2016)", \
	"In the following instruction sequence, interrupts may be recognized before RET " \
	"executes: STI STI RET"

/* MOV page, volume 2B (a 2024+ edition: it cites 3A 7.8.3) */
#define SDM_MOVSS_IRQ "SDM-2B-MOV", \
	"Loading the SS register with a MOV instruction suppresses or inhibits some debug " \
	"exceptions and inhibits interrupts on the following instruction boundary."
/* POP page, volume 2B, in the 2001 edition (243191): the later pages no longer name NMIs */
#define SDM_POP_SS_NMI "SDM-2B-POP(2001)", \
	"A POP SS instruction inhibits all interrupts, including the NMI interrupt, until after " \
	"execution of the next instruction."

/* 7.8.3 Masking Exceptions and Interrupts When Switching Stacks (the post-2018 wording; the
 * single-step sentence as Linux's objtool quotes it too) */
#define SDM_MOVSS_DATA_BP "SDM-3A-7.8.3", \
	"Any data breakpoint on the MOV to SS instruction or POP to SS instruction is inhibited " \
	"until the instruction boundary following the next instruction."
#define SDM_MOVSS_STEP "SDM-3A-7.8.3", \
	"Any single-step trap that would be delivered following the MOV to SS instruction or POP " \
	"to SS instruction (because EFLAGS.TF is 1) is suppressed."
#define SDM_SHADOW_SEQUENCE "SDM-3A-7.8.3", \
	"If a sequence of consecutive instructions each loads the SS register (using MOV or " \
	"POP), only the first is guaranteed"

/* 29.7.3 Delivery of Pending Debug Exceptions after VM Entry (26.6.3 in the 2016 edition,
 * whose words these are): an injected fault or privileged software exception (ICEBP) leaves
 * no pending debug exception */
#define SDM_DB_DROPPED "SDM-3C-29.7.3", \
	"There are no pending debug exceptions after VM entry if ... vectoring with ... hardware " \
	"exception, or privileged software exception."
#define SDM_DB_LOST "SDM-3C-29.7.3", \
	"the pending debug exceptions are held pending or lost as would normally be the case."

/* 20.2.3 Debug Status Register (DR6) and 20.3.1.2 Data Memory and I/O Breakpoint Exception
 * Conditions (17.2.3 and 17.3.1.2 in the 2016 edition, whose words these are) */
#define SDM_DR6_STICKY "SDM-3B-20.2.3", \
	"Certain debug exceptions may clear bits 0-3. The remaining contents of the DR6 register " \
	"are never cleared by the processor."
#define SDM_DB_DATA_TRAP "SDM-3B-20.3.1.2", \
	"The processor generates the exception after it executes the instruction that made the " \
	"access, so these breakpoint condition causes a trap-class exception to be generated."

/* SWAPGS page, volume 2B */
#define SDM_SYSCALL_GS "SDM-2B-SWAPGS", \
	"When using SYSCALL to implement system calls, there is no kernel stack at the OS entry " \
	"point."

/* The 2016 edition's numbers below (their current numbers are not verified): */
/* 6.6 Program or Task Restart (words checked in the 2009 edition, 253668-032) */
#define SDM_IRQ_BOUNDARY "SDM-3A-6.6(2016)", \
	"Interrupts are taken at instruction boundaries located during the retirement phase of " \
	"instruction execution"
/* 6.7.1 Handling Multiple NMIs (the third sentence's words checked in the 2009 edition) */
#define SDM_NMI_BLOCKED "SDM-3A-6.7.1(2016)", \
	"While an NMI interrupt handler is executing, the processor blocks delivery of " \
	"subsequent NMIs until the next execution of the IRET instruction."
#define SDM_NMI_IRET_FAULT "SDM-3A-6.7.1(2016)", \
	"An execution of the IRET instruction unblocks NMIs even if the instruction causes a fault."
#define SDM_NMI_NOT_IRQ "SDM-3A-6.7.1(2016)", \
	"It is recommended that the NMI interrupt handler be accessed through an interrupt gate " \
	"to disable maskable hardware interrupts"
/* 6.14.5 Interrupt Stack Table */
#define SDM_IST_REENTRY "SDM-3A-6.14.5(2016)", \
	"This mechanism unconditionally switches stacks when it is enabled."
/* 8.1.3 Handling Self- and Cross-Modifying Code */
#define SDM_XMC "SDM-3A-8.1.3(2016)", \
	"WHILE (Memory_Flag \u2260 1) Wait for code to update; ELIHW; Execute serializing " \
	"instruction; (* For example, CPUID instruction *) Begin executing modified code;"
#define SDM_XMC_UNSYNCED "SDM-3A-8.1.3(2016)", \
	"IA-32 processors exhibit model-specific behavior when executing cross-modifying code"
/* 11.6 Self-Modifying Code: the prefetch check goes by linear address, so a store through
 * another mapping must be followed by a serializing operation */
#define SDM_SMC_LINEAR "SDM-3A-11.6(2016)", \
	"...modify an instruction using a different linear address than that used to fetch the " \
	"instruction, will execute a serializing operation, such as a CPUID instruction..."

/* INT n/INTO/INT3/INT1 page, volume 2A (a 2019+ edition's words, checked against a
 * transcription) */
#define SDM_INT1_DB "SDM-2A-INTn", \
	"The INT1 instruction also uses a one-byte opcode (F1) and generates a debug exception " \
	"(#DB) without setting any bits in DR6."
/* single-step exception condition, volume 3B (17.3.1.4 in the 2016 edition) */
#define SDM_STEP_AFTER_TF_SET "SDM-3B-17.3.1.4(2016)", \
	"The processor will not generate this exception after the instruction that sets the TF " \
	"flag."
/* IA32_MCG_STATUS, volume 3B (15.3.1.2 in the 2016 edition) */
#define SDM_MCIP "SDM-3B-15.3.1.2(2016)", \
	"MCIP (machine check in progress) flag, bit 2 — Indicates (when set) that a machine-check " \
	"exception was generated."

/* STI and CLI pages, volume 2B/2A (checked against transcriptions of the instruction pages) */
#define SDM_STI_SETS_IF "SDM-2B-STI", \
	"In most cases, STI sets the interrupt flag (IF) in the EFLAGS register."
#define SDM_CLI_CLEARS_IF "SDM-2A-CLI", \
	"In most cases, CLI clears the IF flag in the EFLAGS register and no other flags are " \
	"affected."
/* local APIC ID, volume 3A (10.4.6 in the 2016 edition) */
#define SDM_APIC_ID_MODEL "SDM-3A-10.4.6(2016)", \
	"However, the ability of software to modify the APIC ID is processor model specific."

/* ---- AMD APM ---- */

/* STI, volume 3 (24594 rev. 3.10, 2005). The NMI sentence says STI does not mask NMIs; it
 * says nothing about NMIs inside the shadow. No other APM text was found for these rules: there
 * the AMD claim cites the SDM. */
#define APM_STI_SHADOW "APM-3-STI", \
	"If STI sets the IF flag and IF was initially clear, then interrupts are not enabled " \
	"until after the instruction following STI."
#define APM_STI_NMI "APM-3-STI", \
	"Interrupts received on the non-maskable interrupt (NMI) input are not affected by this " \
	"instruction."

/* clang-format on */

#endif
