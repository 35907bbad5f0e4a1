/*
 * The 256 interrupt entry stubs and the common path: push a dummy error code where the CPU
 * pushes none, push the vector, save every general register, call trap_dispatch(frame).
 */
	.text

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

trap_common:
	cld
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
	movq %rsp, %rdi
	/* a fake frame so backtraces walk from the handler into the interrupted code */
	pushq 17*8(%rsp)		/* interrupted RIP */
	pushq 8*8+8(%rsp)		/* interrupted RBP */
	movq %rsp, %rbp
	call trap_dispatch
	addq $16, %rsp
	.globl trap_return
trap_return:
	popq %r15
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
