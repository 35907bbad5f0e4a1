/*
 * user_run_asm(rip, rsp, rflags, arg, u64 *saved_rsp, u64 *rsp0): saves the callee-saved
 * registers, points RSP0 (TSS) and the SYSCALL stack just below them, so that entries from
 * ring 3 never overwrite this frame, then IRETQs to ring 3 with the user GS base. A handler
 * ends the visit by resuming at user_run_landing on the saved stack.
 */
#include "boot/segments.h"

	.text
	.globl user_run_asm, user_run_landing
user_run_asm:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%r8)
	movq %rsp, %rax
	subq $64, %rax
	andq $-16, %rax
	movq %rax, (%r9)		/* TSS RSP0 */
	movq %rax, %gs:16		/* struct cpu: syscall_kernel_rsp */
	pushq $(SEG_UDATA | 3)
	pushq %rsi
	pushq %rdx
	pushq $(SEG_UCODE | 3)
	pushq %rdi
	movq %rcx, %rdi
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ebp, %ebp
	swapgs
	iretq
user_run_landing:
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
