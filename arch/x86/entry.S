/*
 * The 256 interrupt entry stubs, the SYSCALL entry and the common path: push a dummy error
 * code where the CPU pushes none, push the vector, save every general register, decide from
 * the GS base MSR (never from CS alone: a #DB or NMI can hit the first instruction of the
 * SYSCALL entry with the user GS still loaded) whether SWAPGS is needed, call
 * trap_dispatch(frame), and undo the SWAPGS on the way out if the frame still asks for it.
 */
#include "boot/segments.h"
#include "arch/x86/percpu_offsets.h"

#define MSR_GS_BASE 0xc0000101
#define VEC_SYSCALL 256

	.text

.macro PUSH_REGS
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
.endm

/* Vectors for which the CPU pushes an error code. */
.macro STUB vec
	.balign 16
	.if (\vec == 8) || (\vec == 10) || (\vec == 11) || (\vec == 12) || (\vec == 13) || (\vec == 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
.endm

	.balign 16
	.globl trap_stubs
trap_stubs:
	.altmacro
	.set vec, 0
	.rept 256
	STUB %vec
	.set vec, vec + 1
	.endr
	.noaltmacro

/*
 * SYSCALL from ring 3: RCX = user RIP, R11 = user RFLAGS, RSP still the user's. Builds the
 * same frame an interrupt from ring 3 would, so the return goes through IRETQ.
 */
	.balign 16
	.globl syscall_entry
syscall_entry:
	swapgs
	movq %rsp, %gs:CPU_SYSCALL_USER_RSP
	movq %gs:CPU_SYSCALL_KERNEL_RSP, %rsp
	pushq $(SEG_UDATA | 3)
	pushq %gs:CPU_SYSCALL_USER_RSP
	pushq %r11
	pushq $(SEG_UCODE | 3)
	pushq %rcx
	pushq $0
	pushq $VEC_SYSCALL
	PUSH_REGS
	pushq $1			/* gs_swapped: the SWAPGS above is undone on return */
	jmp dispatch

trap_common:
	PUSH_REGS
	/* kernel GS base <=> it points into cpus[] */
	movl $MSR_GS_BASE, %ecx
	rdmsr
	shlq $32, %rdx
	orq %rax, %rdx
	xorl %eax, %eax
	leaq cpus(%rip), %rcx
	cmpq %rcx, %rdx
	jb 1f
	cmpq cpus_limit(%rip), %rdx
	jb 2f
1:	swapgs
	movl $1, %eax
2:	pushq %rax			/* gs_swapped */
dispatch:
	pushq $0			/* keeps the frame 16-byte aligned */
	movq %rsp, %rdi
	cld
	/* a fake frame so backtraces walk from the handler into the interrupted code */
	pushq 19*8(%rsp)		/* interrupted RIP */
	pushq 10*8+8(%rsp)		/* interrupted RBP */
	movq %rsp, %rbp
	call trap_dispatch
	addq $16, %rsp
	.globl trap_return
trap_return:
	addq $8, %rsp			/* pad */
	popq %rax			/* gs_swapped (the handler may have cleared it) */
	testq %rax, %rax
	jz 3f
	swapgs
3:	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq
