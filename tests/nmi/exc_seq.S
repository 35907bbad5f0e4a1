/*
 * Helpers for the exception experiments.
 * run_on_stack(fn, arg, stack_top, u64 *saved_rsp): calls fn(arg) on another stack; a handler
 * that gives up on fn resumes at run_on_stack_resume with RSP = *saved_rsp.
 * faulting_iretq(): executes an IRETQ whose CS selector is past the GDT limit (#GP on the
 * IRET itself), resumed through the fixup table at faulting_iretq_resume.
 */
#include "arch/x86/callee_saved.h"
	.text
	.globl run_on_stack, run_on_stack_resume
run_on_stack:
	PUSH_CALLEE_SAVED
	movq %rcx, %r12			/* callee-saved: survives fn */
	movq %rsp, (%r12)
	movq %rdx, %rsp
	movq %rdi, %rax
	movq %rsi, %rdi
	callq *%rax
	movq (%r12), %rsp
run_on_stack_resume:			/* a handler resumes here with RSP = *saved_rsp */
	POP_CALLEE_SAVED
	ret

	.globl faulting_iretq, faulting_iretq_at, faulting_iretq_resume
faulting_iretq:
	movq %rsp, %rax
	pushq $0x10			/* SS */
	pushq %rax			/* RSP */
	pushfq
	pushq $0xfff8			/* CS: far past the GDT limit */
	leaq faulting_iretq_resume(%rip), %rcx
	pushq %rcx
faulting_iretq_at:
	iretq
faulting_iretq_resume:
	movq %rax, %rsp
	ret
	.pushsection .ex_table, "a"
	.balign 8
	.quad faulting_iretq_at, faulting_iretq_resume, 0
	.popsection
