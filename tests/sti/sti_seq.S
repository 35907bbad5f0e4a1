/*
 * Instruction sequences for the STI-shadow experiments. Each is entered with IF=0 (unless its
 * name says if1) and returns with IF=0. The labels name every instruction boundary so a
 * handler can say exactly where an interrupt, NMI or #DB landed by the interrupted RIP.
 */
#define SEQ_LABEL(name) .globl name; name:

	.text
/* sti; hlt: the idle-loop pattern that relies on the shadow covering HLT */
SEQ_LABEL(seq_sti_hlt)
SEQ_LABEL(seq_sti_hlt_at_sti)
	sti
SEQ_LABEL(seq_sti_hlt_at_hlt)
	hlt
SEQ_LABEL(seq_sti_hlt_after)
	cli
	ret

/* sti; nop: the shadow covers the NOP */
SEQ_LABEL(seq_sti_nop)
	sti
SEQ_LABEL(seq_sti_nop_at_nop)
	nop
SEQ_LABEL(seq_sti_nop_after)
	cli
	ret

/* sti; mwait (the caller armed MONITOR): EAX=0 hint, ECX=0 */
SEQ_LABEL(seq_sti_mwait)
	xorl %eax, %eax
	xorl %ecx, %ecx
	sti
SEQ_LABEL(seq_sti_mwait_at_mwait)
	mwait
SEQ_LABEL(seq_sti_mwait_after)
	cli
	ret

/* negative control: a NOP between STI and HLT leaves HLT outside the shadow */
SEQ_LABEL(seq_sti_nop_hlt)
	sti
	nop
SEQ_LABEL(seq_sti_nop_hlt_at_hlt)
	hlt
SEQ_LABEL(seq_sti_nop_hlt_after)
	cli
	ret

/* sti; sti; hlt: only the first of consecutive STIs is guaranteed to open a shadow */
SEQ_LABEL(seq_sti_sti_hlt)
	sti
SEQ_LABEL(seq_sti_sti_hlt_at_sti2)
	sti
SEQ_LABEL(seq_sti_sti_hlt_at_hlt)
	hlt
SEQ_LABEL(seq_sti_sti_hlt_after)
	cli
	ret

/* IF=1 loop: sti; hlt repeated while IRQs arrive from another CPU; rdi = &stop flag */
SEQ_LABEL(seq_if1_loop)
1:	cmpl $0, (%rdi)
	jne 2f
SEQ_LABEL(seq_if1_loop_at_sti)
	sti
SEQ_LABEL(seq_if1_loop_at_hlt)
	hlt
SEQ_LABEL(seq_if1_loop_after)
	jmp 1b
2:	cli
	ret

/* pending interrupts left over from a trial are taken here, and ignored by the handlers */
SEQ_LABEL(seq_drain)
	sti
	nop
	nop
SEQ_LABEL(seq_drain_end)
	cli
	ret

/* TF single step over STI: first #DB after STI (shadow ignored) or after the NOP */
SEQ_LABEL(seq_step_sti)
	pushfq
	orq $0x100, (%rsp)
	popfq
SEQ_LABEL(seq_step_sti_at_sti)
	sti
SEQ_LABEL(seq_step_sti_at_nop)
	nop
SEQ_LABEL(seq_step_sti_after)
	nop
SEQ_LABEL(seq_step_sti_after2)
	cli
	ret

/* control for the single-step experiment: MOV SS holds #DB for one instruction */
SEQ_LABEL(seq_step_movss)
	movw %ss, %ax
	pushfq
	orq $0x100, (%rsp)
	popfq
SEQ_LABEL(seq_step_movss_at_movss)
	movw %ax, %ss
SEQ_LABEL(seq_step_movss_at_nop)
	nop
SEQ_LABEL(seq_step_movss_after)
	nop
SEQ_LABEL(seq_step_movss_after2)
	cli
	ret

/*
 * reference for the single-step experiment: POPF sets TF, so the first instruction after it
 * is the first one that runs with TF=1 and its trap comes right after it (no shadow anywhere)
 */
SEQ_LABEL(seq_step_popf)
	pushfq
	orq $0x100, (%rsp)
	popfq
SEQ_LABEL(seq_step_popf_at_nop)
	nop
SEQ_LABEL(seq_step_popf_after)
	nop
SEQ_LABEL(seq_step_popf_after2)
	cli
	ret

/*
 * The race engine's victim window (sti_shadow_nmi): entered with IF=0 and the test IRQ
 * pending. Each shape is an entry that jumps into the padding before `sti; hlt` (CPUID, so the
 * padding takes time without leaving the translation block under TCG, which notices events
 * only at block boundaries: an event arriving during the padding is taken at the HLT, inside
 * the shadow). Shape 0 has no padding: the plain `sti; hlt`. rbx is saved for CPUID.
 */
	.balign 4096
SEQ_LABEL(seq_race_pad)
	.rept 256
	cpuid
	.endr
SEQ_LABEL(seq_race_at_sti)
	sti
SEQ_LABEL(seq_race_at_hlt)
	hlt
SEQ_LABEL(seq_race_after)
	cli
	popq %rbx
	ret
SEQ_LABEL(seq_race_end)

/* An entry that runs ncpuid CPUIDs (2 bytes each) of a window's padding before its STI */
#define PADDED_ENTRY(name, at_sti, ncpuid)                                                \
SEQ_LABEL(name)                                                                          \
	pushq %rbx;                                                                      \
	xorl %eax, %eax;                                                                 \
	xorl %ecx, %ecx;                                                                 \
	jmp at_sti - 2 * (ncpuid)
#define RACE_SHAPE(name, ncpuid) PADDED_ENTRY(name, seq_race_at_sti, ncpuid)

RACE_SHAPE(seq_race_plain, 0)
RACE_SHAPE(seq_race_cpuid4, 4)
RACE_SHAPE(seq_race_cpuid16, 16)
RACE_SHAPE(seq_race_cpuid64, 64)
RACE_SHAPE(seq_race_cpuid256, 256)
SEQ_LABEL(seq_race_shapes_end)

/*
 * sti_shadow_nmi's detection window: the race window above without the pending IRQ and with
 * NOP as the shadowed instruction (no HLT, so nothing sleeps): an NMI taken at the NOP landed
 * in the shadow. Same shapes: CPUID padding before `sti; nop` (rbx saved for CPUID).
 */
	.balign 4096
SEQ_LABEL(seq_det_pad)
	.rept 256
	cpuid
	.endr
SEQ_LABEL(seq_det_at_sti)
	sti
SEQ_LABEL(seq_det_at_nop)
	nop
SEQ_LABEL(seq_det_after)
	cli
	popq %rbx
	ret
SEQ_LABEL(seq_det_end)

#define DET_SHAPE(name, ncpuid) PADDED_ENTRY(name, seq_det_at_sti, ncpuid)

DET_SHAPE(seq_det_plain, 0)
DET_SHAPE(seq_det_cpuid4, 4)
DET_SHAPE(seq_det_cpuid16, 16)
DET_SHAPE(seq_det_cpuid64, 64)
DET_SHAPE(seq_det_cpuid256, 256)
SEQ_LABEL(seq_det_shapes_end)

/*
 * The peer design's loop (kvm-unit-tests' test_sti_nmi without its page touch), entered with
 * IF=0 and rdi pointing at a stop flag: `sti; nop; cli` until the flag is set. An NMI taken at
 * the NOP landed in the shadow.
 */
	.balign 64
SEQ_LABEL(seq_peer_loop)
SEQ_LABEL(seq_peer_at_sti)
	sti
SEQ_LABEL(seq_peer_at_nop)
	nop
SEQ_LABEL(seq_peer_after)
	cli
	cmpl $0, (%rdi)
	je seq_peer_at_sti
	ret

/*
 * The same loop with the race shapes' trick: 32 CPUIDs before `sti; nop` (one translation
 * block under TCG, so an NMI arriving during them is taken at the NOP). rdi: the stop flag.
 */
	.balign 64
SEQ_LABEL(seq_padded_loop)
	pushq %rbx
SEQ_LABEL(seq_padded_top)
	xorl %eax, %eax
	xorl %ecx, %ecx
	.rept 32
	cpuid
	.endr
SEQ_LABEL(seq_padded_at_sti)
	sti
SEQ_LABEL(seq_padded_at_nop)
	nop
	cli
	cmpl $0, (%rdi)
	je seq_padded_top
	popq %rbx
	ret
