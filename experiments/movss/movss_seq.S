/*
 * MOV SS / POP SS sequences. Every case is `mov ss, [rdi]` (rdi = the watched variable, which
 * holds the current SS selector) followed by one instruction; labels name the MOV SS, the next
 * instruction and the boundary after it. Kernel cases return with RET, ring-3 cases (a blob
 * copied into the user region, so RIP-relative only) with `int $VEC_USER_EXIT`. A faulting
 * next instruction resumes at the case's `after` label (the handler moves RIP there).
 * rsi = an address that faults for the #PF cases.
 */
#include "boot/segments.h"
.equ VEC_USER_INT, 0xe8
.equ VEC_USER_EXIT, 0xe9
#define G(x) .globl x; x:

/* CASE name, next-instruction..., end: emits name, name_movss, name_next, name_after */
.macro CASE name, end
	.balign 16
G(\name)
G(\name\()_movss)
	movw (%rdi), %ss
G(\name\()_next)
.endm
.macro ENDCASE name, end
G(\name\()_after)
	\end
.endm

	.text
/* ---- CPL 0 ---- */
	CASE mk_nop
	nop
	ENDCASE mk_nop, ret
	CASE mk_int3
	int3
	ENDCASE mk_int3, ret
	CASE mk_intn
	int $VEC_USER_INT
	ENDCASE mk_intn, ret
	CASE mk_icebp
	.byte 0xf1
	ENDCASE mk_icebp, ret
	CASE mk_ud
	ud2
	ENDCASE mk_ud, ret
	CASE mk_pf
	movq (%rsi), %rax
	ENDCASE mk_pf, ret
	CASE mk_cli
	cli
	ENDCASE mk_cli, ret
/* control: an ordinary load of the variable; its #DB is not held */
	.balign 16
G(mk_load)
G(mk_load_movss)
	movw (%rdi), %ax
G(mk_load_next)
	int3
G(mk_load_after)
	ret
/* back-to-back: mov ss; mov ss; nop */
	.balign 16
G(mk_twice)
G(mk_twice_movss)
	movw (%rdi), %ss
G(mk_twice_next)
	movw (%rdi), %ss
G(mk_twice_after)
	nop
G(mk_twice_after2)
	ret
/* TF single step over mov ss from a register */
	.balign 16
G(mk_tf)
	movw %ss, %ax
	pushfq
	orq $0x100, (%rsp)
	popfq
G(mk_tf_movss)
	movw %ax, %ss
G(mk_tf_next)
	nop
G(mk_tf_after)
	nop
G(mk_tf_after2)
	ret

/* ---- CPL 3 blob ---- */
	.section .rodata.user, "a"
G(movss_ublob_start)
	CASE mu_nop
	nop
	ENDCASE mu_nop, "int $VEC_USER_EXIT"
	CASE mu_int3
	int3
	ENDCASE mu_int3, "int $VEC_USER_EXIT"
	CASE mu_intn
	int $VEC_USER_INT
	ENDCASE mu_intn, "int $VEC_USER_EXIT"
	CASE mu_icebp
	.byte 0xf1
	ENDCASE mu_icebp, "int $VEC_USER_EXIT"
	CASE mu_ud
	ud2
	ENDCASE mu_ud, "int $VEC_USER_EXIT"
	CASE mu_pf
	movq (%rsi), %rax
	ENDCASE mu_pf, "int $VEC_USER_EXIT"
	CASE mu_cli
	cli
	ENDCASE mu_cli, "int $VEC_USER_EXIT"
	CASE mu_syscall
	syscall
	ENDCASE mu_syscall, "int $VEC_USER_EXIT"

/* TF single step over mov ss at CPL 3 */
	.balign 16
G(mu_tf)
	movw %ss, %ax
	pushfq
	orq $0x100, (%rsp)
	popfq
G(mu_tf_movss)
	movw %ax, %ss
G(mu_tf_next)
	nop
G(mu_tf_after)
	nop
G(mu_tf_after2)
	int $VEC_USER_EXIT

/*
 * POP SS needs compatibility mode: far return into the 32-bit user code segment, point ESP at
 * the watched variable so POP SS reads it, run the next instruction (nop, or int3 when rsi=1),
 * restore ESP and far return to 64-bit mode.
 */
.macro POPSS_CASE name, insn
	.balign 16
G(\name)
	movq %rsp, %rbx
	leaq 1f(%rip), %rax
	pushq $(SEG_UCODE32 | 3)
	pushq %rax
	lretq
	.code32
1:	movl %edi, %esp
G(\name\()_movss)
	popl %ss
G(\name\()_next)
	\insn
G(\name\()_after)
	movl %ebx, %esp
	call 2f
2:	popl %eax
	addl $(3f - 2b), %eax
	pushl $(SEG_UCODE | 3)
	pushl %eax
	lretl
	.code64
3:	int $VEC_USER_EXIT
.endm
	POPSS_CASE mu_popss_nop, nop
	POPSS_CASE mu_popss_int3, int3
G(movss_ublob_end)

	.text
/* Loops for the shadow experiments: rdi = &stop. Events are placed by interrupted RIP. */
	.balign 16
G(mss_loop1)
1:	cmpl $0, (%rdi)
	jne 2f
	movw %ss, %ax
G(mss_loop1_movss)
	movw %ax, %ss
G(mss_loop1_next)
	nop
G(mss_loop1_after)
	jmp 1b
2:	ret

	.balign 16
G(mss_loop2)
1:	cmpl $0, (%rdi)
	jne 2f
	movw %ss, %ax
G(mss_loop2_movss)
	movw %ax, %ss
G(mss_loop2_between)
	movw %ax, %ss
G(mss_loop2_next)
	nop
G(mss_loop2_after)
	jmp 1b
2:	ret

/* control for the shadow loops: the same shape with popfq, which has no shadow, in the
 * window; events right after it show the sweep and the classifier can see that boundary */
	.balign 16
G(mss_loopc)
1:	cmpl $0, (%rdi)
	jne 2f
	pushfq
G(mss_loopc_insn)
	popfq
G(mss_loopc_next)
	nop
G(mss_loopc_after)
	jmp 1b
2:	ret
