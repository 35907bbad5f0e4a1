/*
 * user_run_asm(struct user_entry *e): saves the callee-saved registers, points RSP0 (TSS) and
 * the SYSCALL stack just below them, so that entries from ring 3 never overwrite this frame,
 * then IRETQs to ring 3 with the user GS base and RDI, RSI from the entry. A handler ends the
 * visit by resuming at user_run_landing on the saved stack (RAX is the result).
 */
#include "arch/x86/callee_saved.h"
#include "boot/segments.h"
#include "arch/x86/percpu_offsets.h"

/* struct user_entry offsets (arch/x86/user.c) */
#define E_RIP 0
#define E_RSP 8
#define E_RFLAGS 16
#define E_RDI 24
#define E_RSI 32
#define E_SAVED_RSP 40
#define E_RSP0 48
#define E_MODE 56

	.text
	.globl user_run_asm, user_run_landing
user_run_asm:
	PUSH_CALLEE_SAVED
	movq E_SAVED_RSP(%rdi), %rax
	movq %rsp, (%rax)
	movq %rsp, %rax
	subq $64, %rax
	andq $-16, %rax
	movq E_RSP0(%rdi), %rcx
	movq %rax, (%rcx)		/* TSS RSP0 */
	movq %rax, %gs:CPU_SYSCALL_KERNEL_RSP
	cmpl $1, E_MODE(%rdi)
	je 1f
	pushq $(SEG_UDATA | 3)
	pushq E_RSP(%rdi)
	pushq E_RFLAGS(%rdi)
	pushq $(SEG_UCODE | 3)
	pushq E_RIP(%rdi)
	movl E_MODE(%rdi), %r8d
	movq E_RSI(%rdi), %rsi
	movq E_RDI(%rdi), %rdi
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %ebp, %ebp
	swapgs
	testl %r8d, %r8d
	jz 2f
	sti				/* mode 2: the STI shadow must cover the IRETQ */
	.globl user_sti_iretq
user_sti_iretq:
2:	iretq

	/* mode 1: SYSRETQ with RCX = RIP, R11 = RFLAGS, the user stack already loaded */
1:	movq E_RIP(%rdi), %rcx
	movq E_RFLAGS(%rdi), %r11
	movq E_RSI(%rdi), %rsi
	movq E_RSP(%rdi), %rsp
	movq E_RDI(%rdi), %rdi
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ebp, %ebp
	swapgs
	sti
	.globl user_sti_sysretq
user_sti_sysretq:
	sysretq
user_run_landing:
	POP_CALLEE_SAVED
	ret
