/*
 * NMI entries for the nesting experiments, installed in the victim CPU's IDT (vector 2, IST 1)
 * while they run, and the body both designs execute: take one inner event (int3, a #DB from a
 * data breakpoint, or a #PF, each resumed through the fixup table, so each returns with IRET
 * and so unblocks NMIs), then spin for a window in which the next NMI can nest. The body uses
 * only RAX, RCX and RDX and no stack of its own beyond its return address.
 */
#include "boot/segments.h"
#define UNMAPPED 0x0000100000000000

	.data
	.balign 8
	.globl nmi_started, nmi_nested, nmi_naive_stats, nmi_exit_window_nests, nmi_pending, nmi_latched_runs
	.globl nmi_inner, nmi_window, nmi_dbvar, nmi_depth, nmi_completed
nmi_started:	.quad 0		/* bodies begun */
nmi_nested:	.quad 0		/* NMIs that arrived while another was in progress */
nmi_naive_stats: .quad 0	/* naive: [63:32] outer frames found overwritten (repaired), [31:0] outermost NMIs with a nest */
nmi_exit_window_nests: .quad 0	/* naive: NMIs that hit the exit window after the last check */
outer_nested0:	.quad 0		/* naive: nmi_nested when the outermost one began */
nmi_pending:	.quad 0		/* safe: latched NMIs still to run */
nmi_latched_runs: .quad 0	/* safe: bodies run for latched NMIs */
nmi_inner:	.quad 0		/* 0 int3, 1 #DB (data breakpoint), 2 #PF */
nmi_window:	.quad 0		/* TSC cycles to spin in the body */
nmi_dbvar:	.quad 0		/* DR0 watches writes here */
nmi_depth:	.quad 0
nmi_completed:	.quad 0		/* outermost NMIs that returned to the interrupted context */
outer_copy:	.skip 8 * 8	/* rdx rcx rax | rip cs rflags rsp ss of the outermost NMI */
naive_dirty:	.byte 0
nmi_executing:	.byte 0		/* safe: an outermost NMI (or its repeat) is in progress */

	.bss
	.balign 16
	.globl nmi_work_lo, nmi_work_hi
nmi_work_lo:
iret_area:	.skip 5 * 8	/* safe design: the final IRETQ frame, at the bottom of the work stack */
	.skip 8192 - 5 * 8
nmi_work_hi:

	.text
	.globl nmi_body
nmi_body:
	lock incq nmi_started(%rip)
	movq nmi_inner(%rip), %rax
	cmpq $1, %rax
	je 2f
	cmpq $2, %rax
	je 3f
	int3
1:
	.pushsection .ex_table, "a"
	.balign 8
	.quad 1b, 1b, 0
	.popsection
	jmp 5f
2:	movq %rax, nmi_dbvar(%rip)
4:
	.pushsection .ex_table, "a"
	.balign 8
	.quad 4b, 4b, 0
	.popsection
	jmp 5f
3:	movabsq $UNMAPPED, %rax
6:	movq (%rax), %rax
7:
	.pushsection .ex_table, "a"
	.balign 8
	.quad 6b, 7b, 0
	.popsection
5:	rdtsc				/* the window: NMIs are unblocked since the inner IRET */
	shlq $32, %rdx
	orq %rdx, %rax
	movq %rax, %rcx
	addq nmi_window(%rip), %rcx
8:	pause
	rdtsc
	shlq $32, %rdx
	orq %rdx, %rax
	cmpq %rcx, %rax
	jb 8b
	ret

/* Copies the 8 qwords at (%rsp) to outer_copy: the saved RDX, RCX, RAX and the IRET frame. */
.macro COPY_OUT
	.irp i, 0, 1, 2, 3, 4, 5, 6, 7
	movq \i*8(%rsp), %rax
	movq %rax, outer_copy + \i*8(%rip)
	.endr
.endm

/*
 * Naive: everything on the IST stack. A nested NMI lands on the same stack top and overwrites
 * the outer NMI's saved registers and IRET frame. At the outermost exit the frame is compared
 * with the copy taken at entry: a difference is counted (the damage) and repaired from the
 * copy, so the run can go on. What the repair cannot cover is the naive design's own last
 * window (an NMI between the depth decrement and IRETQ); it is four instructions long.
 */
	.globl nmi_naive_entry
nmi_naive_entry:
	pushq %rax
	pushq %rcx
	pushq %rdx
	/*
	 * The naive design's own last window: an NMI that arrives after the outermost one's final
	 * frame check (naive_exit_lo..naive_exit_hi) overwrites a frame nobody checks again, and
	 * the outer IRETQ would return into its own exit sequence for ever. Such an NMI takes the
	 * outer one's place: it puts the victim's frame back from the copy, counts the damage and
	 * runs as the outermost (the outer one is abandoned, its accounting taken over).
	 */
	movq 3*8(%rsp), %rax		/* interrupted RIP */
	leaq naive_exit_lo(%rip), %rcx
	cmpq %rcx, %rax
	jb 8f
	leaq naive_exit_hi(%rip), %rcx
	cmpq %rcx, %rax
	jae 8f
	lock incq nmi_exit_window_nests(%rip)
	lock incq nmi_nested(%rip)
	leaq naive_exit_counted(%rip), %rcx
	cmpq %rcx, %rax
	jb 9f
	movq nmi_nested(%rip), %rcx	/* the outer one counted itself: this nest is a new one */
	decq %rcx
	movq %rcx, outer_nested0(%rip)
	leaq naive_exit_completed(%rip), %rcx
	cmpq %rcx, %rax
	jb 9f
	lock decq nmi_completed(%rip)	/* ... and completed: this instance completes it again */
9:	.irp i, 0, 1, 2, 3, 4, 5, 6, 7
	movq outer_copy + \i*8(%rip), %rax
	movq %rax, \i*8(%rsp)
	.endr
	movb $1, naive_dirty(%rip)	/* the frame was overwritten (and is repaired) */
	movq $1, nmi_depth(%rip)
	jmp 2f
8:	incq nmi_depth(%rip)
	cmpq $1, nmi_depth(%rip)
	jne 1f
	movb $0, naive_dirty(%rip)
	COPY_OUT
	movq nmi_nested(%rip), %rax
	movq %rax, outer_nested0(%rip)
	jmp 2f
1:	lock incq nmi_nested(%rip)
2:	call nmi_body
	cmpq $1, nmi_depth(%rip)
	jne 6f				/* a nested instance just returns */
	/*
	 * Outermost, still at depth 1 so that an NMI arriving now counts as nested: is the frame
	 * still ours? Repair from the copy; if another NMI nested meanwhile, check again.
	 */
7:	movq nmi_nested(%rip), %rdx
	.irp i, 0, 1, 2, 3, 4, 5, 6, 7
	movq \i*8(%rsp), %rax
	cmpq outer_copy + \i*8(%rip), %rax
	je 3f
	movb $1, naive_dirty(%rip)
	movq outer_copy + \i*8(%rip), %rax
	movq %rax, \i*8(%rsp)
3:
	.endr
	cmpq nmi_nested(%rip), %rdx
	jne 7b
naive_exit_lo:
	/* one locked add counts both: [63:32] frames overwritten, [31:0] outermost NMIs with a nest */
	xorl %eax, %eax
	cmpq outer_nested0(%rip), %rdx
	setne %al
	movzbl naive_dirty(%rip), %ecx
	shlq $32, %rcx
	orq %rcx, %rax
	lock addq %rax, nmi_naive_stats(%rip)
naive_exit_counted:
	lock incq nmi_completed(%rip)
naive_exit_completed:
	decq nmi_depth(%rip)
	popq %rdx
	popq %rcx
	popq %rax
	iretq
naive_exit_hi:
6:	decq nmi_depth(%rip)		/* a nested instance (a third NMI would need to hit here) */
	popq %rdx
	popq %rcx
	popq %rax
	iretq

/*
 * Nested-safe: the outermost NMI copies its registers and frame away and moves to a work
 * stack, so the IST stack top is free for a nested NMI. A nested NMI only latches: pending++,
 * and it rewrites the final IRETQ frame so that an outer NMI already past its last check
 * "returns" to nmi_repeat and runs the body again. Nested means: nmi_executing is set, or the
 * interrupted RSP is on the work stack. The flag alone cannot cover the instructions around
 * the final IRETQ, and the RSP alone cannot cover an NMI that interrupts an IST exception
 * (#DB) taken by a repeated body, which runs with NMIs unblocked: both are needed.
 */
	.globl nmi_safe_entry
nmi_safe_entry:
	pushq %rax
	pushq %rcx
	pushq %rdx
	cmpb $0, nmi_executing(%rip)
	jne 9f
	movq 6*8(%rsp), %rax		/* interrupted RSP */
	leaq nmi_work_lo(%rip), %rcx
	cmpq %rcx, %rax
	jb 1f
	leaq nmi_work_hi(%rip), %rcx
	cmpq %rcx, %rax
	jae 1f
9:	lock incq nmi_nested(%rip)
	incq nmi_pending(%rip)
	leaq nmi_repeat(%rip), %rax
	movq %rax, iret_area(%rip)
	movq $SEG_KCODE, iret_area + 8(%rip)
	movq $2, iret_area + 16(%rip)
	leaq nmi_work_hi - 16(%rip), %rax /* inside the work stack, so the RSP check holds */
	movq %rax, iret_area + 24(%rip)
	movq $SEG_KDATA, iret_area + 32(%rip)
	popq %rdx
	popq %rcx
	popq %rax
	iretq
1:	movb $1, nmi_executing(%rip)
	COPY_OUT
	leaq nmi_work_hi(%rip), %rsp
nmi_run:
	.irp i, 0, 1, 2, 3, 4		/* the frame to return with, rewritten by a nested NMI */
	movq outer_copy + (3 + \i)*8(%rip), %rax
	movq %rax, iret_area + \i*8(%rip)
	.endr
	call nmi_body
2:	cmpq $0, nmi_pending(%rip)	/* run latched NMIs */
	je 3f
	decq nmi_pending(%rip)
	lock incq nmi_latched_runs(%rip)
	call nmi_body
	jmp 2b
3:	lock incq nmi_completed(%rip)
	leaq iret_area(%rip), %rsp
	movq outer_copy(%rip), %rdx
	movq outer_copy + 8(%rip), %rcx
	movq outer_copy + 16(%rip), %rax
	movb $0, nmi_executing(%rip)	/* from here on RSP is on the work stack: still nested */
	iretq
nmi_repeat:				/* NMIs are unblocked here: a nested NMI latches again */
	movb $1, nmi_executing(%rip)
	leaq nmi_work_hi(%rip), %rsp
	jmp nmi_run

/*
 * The victim: with interrupts off, keep RAX, RCX, RDX, R12 at known values and check them
 * (the interrupted context's checksum) until *rdi becomes non-zero; returns the number of
 * mismatches seen.
 */
	.globl nmi_victim_loop
nmi_victim_loop:
	pushq %r12
	pushq %rbx
	xorl %ebx, %ebx
1:	movabsq $0x1111222233334444, %rax
	movabsq $0x5555666677778888, %rcx
	movabsq $0x9999aaaabbbbcccc, %rdx
	movabsq $0xddddeeeeffff0000, %r12
2:	cmpl $0, (%rdi)
	jne 4f
	pause
	movabsq $0x1111222233334444, %r8
	cmpq %r8, %rax
	jne 3f
	movabsq $0x5555666677778888, %r8
	cmpq %r8, %rcx
	jne 3f
	movabsq $0x9999aaaabbbbcccc, %r8
	cmpq %r8, %rdx
	jne 3f
	movabsq $0xddddeeeeffff0000, %r8
	cmpq %r8, %r12
	je 2b
3:	incq %rbx
	jmp 1b
4:	movq %rbx, %rax
	popq %rbx
	popq %r12
	ret
