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
/*
 * The race engine's victim windows (movss_shadow_*): one per loop kind, `mov ss; nop` (single),
 * `mov ss; mov ss; nop` (double) and `popfq; nop` (control: no shadow), each behind 256 CPUID
 * of padding that the loop shapes jump into, as sti_seq.S's race window does (the padding takes
 * time inside one translation block under TCG, which notices events at block boundaries only).
 * Each window sits in a 1 KiB block of its own, so the padding never crosses a page. rbx is
 * saved for CPUID; events are placed by their interrupted RIP.
 */
.macro MSS_PAD name
	.balign 1024
G(\name\()_pad)
	.rept 256
	cpuid
	.endr
G(\name\()_pre)
.endm
	MSS_PAD mss_w1
	movw %ss, %ax
G(mss_w1_movss)
	movw %ax, %ss
G(mss_w1_next)
	nop
G(mss_w1_after)
	popq %rbx
	ret

	MSS_PAD mss_w2
	movw %ss, %ax
G(mss_w2_movss)
	movw %ax, %ss
G(mss_w2_between)
	movw %ax, %ss
G(mss_w2_next)
	nop
G(mss_w2_after)
	popq %rbx
	ret

	MSS_PAD mss_wc
	pushfq
G(mss_wc_insn)
	popfq
G(mss_wc_next)
	nop
G(mss_wc_after)
	popq %rbx
	ret

/* SHAPE name, window, ncpuid: an entry running the last ncpuid CPUIDs of the window's padding */
.macro MSS_SHAPE name, win, ncpuid
G(\name)
	pushq %rbx
	xorl %eax, %eax
	xorl %ecx, %ecx
	jmp \win\()_pre - 2 * \ncpuid
.endm
	.balign 16
	MSS_SHAPE mss_w1_plain, mss_w1, 0
	MSS_SHAPE mss_w1_cpuid4, mss_w1, 4
	MSS_SHAPE mss_w1_cpuid16, mss_w1, 16
	MSS_SHAPE mss_w1_cpuid64, mss_w1, 64
	MSS_SHAPE mss_w1_cpuid256, mss_w1, 256
	MSS_SHAPE mss_w2_plain, mss_w2, 0
	MSS_SHAPE mss_w2_cpuid4, mss_w2, 4
	MSS_SHAPE mss_w2_cpuid16, mss_w2, 16
	MSS_SHAPE mss_w2_cpuid64, mss_w2, 64
	MSS_SHAPE mss_w2_cpuid256, mss_w2, 256
	MSS_SHAPE mss_wc_plain, mss_wc, 0
	MSS_SHAPE mss_wc_cpuid4, mss_wc, 4
	MSS_SHAPE mss_wc_cpuid16, mss_wc, 16
	MSS_SHAPE mss_wc_cpuid64, mss_wc, 64
	MSS_SHAPE mss_wc_cpuid256, mss_wc, 256
