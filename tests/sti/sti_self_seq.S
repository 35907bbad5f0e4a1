/*
 * The self-aimed loops of sti_self_aim.c: a CPU sends an NMI to itself, runs a lead, then
 * `sti; nop; cli`. An NMI taken at the NOP landed in the STI shadow. The lead is the aim: the
 * time from the ICR write to the NMI's delivery is the platform's (TCG delivers it at the next
 * translation-block boundary, a real local APIC some hundred cycles later), and the loop
 * keeps the lead with the most NMIs in the shadow per second.
 *
 * Each shape is called with rdi = the xAPIC ICR's address (x2APIC: unused), esi = the ICR's
 * low word, edx = the destination (x2APIC ID; xAPIC: ICR2 was written before), ecx = the
 * number of iterations, r8 = four counters it adds to (NMIs, at STI, at the NOP, at the CLI
 * after it), r9 = the spin lead's turns (at least 1); entered and left with IF=0. Labels: NAME,
 * NAME_at_sti, NAME_at_nop.
 *
 * The loop bodies sit together between seq_self_bodies and seq_self_bodies_end (subsection 1)
 * and keep their counts in registers: r10 NMIs, rbx at STI, r11 at the NOP, r12 at the CLI,
 * r8 the NOP's address. seq_self_nmi, the NMI entry the looping CPU installs for the loop,
 * counts an NMI that interrupted a body there and returns at once; any other NMI goes on to
 * the kernel's entry (the testbed's own NMI path stays out of the measured loop).
 */
#define SEQ_LABEL(name) .globl name; name:

#define SEND_XAPIC movl %esi, (%rdi)
/* x2APIC: WRMSR to the ICR (0x830), edx:eax = destination:low word; the write is the last
 * instruction before the lead, as in xAPIC mode */
#define SEND_X2APIC movl $0x830, %ecx; movl %esi, %eax; wrmsr

#define LEAD_NONE
/* r14d turns of a one-cycle loop (a real APIC takes some hundred cycles to deliver) */
#define LEAD_SPIN movl %r14d, %eax; 1: decl %eax; jnz 1b
/* a jump between the write and STI: TCG ends the block there and takes the NMI at STI */
#define LEAD_SPLIT jmp 1f; 1:

#define SELF_SHAPE(name, send, lead)                                                      \
	.balign 16;                                                                       \
SEQ_LABEL(name)                                                                          \
	pushq %rbx;                                                                       \
	pushq %r12;                                                                       \
	pushq %r13;                                                                       \
	pushq %r14;                                                                       \
	movq %r8, %r13;                                                                   \
	movl %r9d, %r14d;                                                                 \
	movl %ecx, %r9d;                                                                  \
	xorl %r10d, %r10d;                                                                \
	xorl %r11d, %r11d;                                                                \
	xorl %ebx, %ebx;                                                                  \
	xorl %r12d, %r12d;                                                                \
	leaq name##_at_nop(%rip), %r8;                                                    \
	jmp 3f;                                                                           \
	.subsection 1;                                                                    \
	.balign 16;                                                                       \
3:	send;                                                                             \
	lead;                                                                             \
SEQ_LABEL(name##_at_sti)                                                                 \
	sti;                                                                              \
SEQ_LABEL(name##_at_nop)                                                                 \
	nop;                                                                              \
	cli;                                                                              \
	decl %r9d;                                                                        \
	jnz 3b;                                                                           \
	jmp 4f;                                                                           \
	.subsection 0;                                                                    \
4:	addq %r10, 0(%r13);                                                               \
	addq %rbx, 8(%r13);                                                               \
	addq %r11, 16(%r13);                                                              \
	addq %r12, 24(%r13);                                                              \
	popq %r14;                                                                        \
	popq %r13;                                                                        \
	popq %r12;                                                                        \
	popq %rbx;                                                                        \
	ret

	.text
	.subsection 1
SEQ_LABEL(seq_self_bodies)
	.subsection 0
SELF_SHAPE(seq_self_x_lead0, SEND_XAPIC, LEAD_NONE)
SELF_SHAPE(seq_self_x_spin, SEND_XAPIC, LEAD_SPIN)
SELF_SHAPE(seq_self_x_split, SEND_XAPIC, LEAD_SPLIT)
SELF_SHAPE(seq_self_x2_lead0, SEND_X2APIC, LEAD_NONE)
SELF_SHAPE(seq_self_x2_spin, SEND_X2APIC, LEAD_SPIN)
SELF_SHAPE(seq_self_x2_split, SEND_X2APIC, LEAD_SPLIT)
	.subsection 1
SEQ_LABEL(seq_self_bodies_end)
	.subsection 0

/* The NMI entry of the looping CPU (its own IDT, for the loop only): see above. */
	.balign 16
SEQ_LABEL(seq_self_nmi)
	pushq %rax
	leaq seq_self_bodies(%rip), %rax
	cmpq %rax, 8(%rsp)
	jb 9f
	leaq seq_self_bodies_end(%rip), %rax
	cmpq %rax, 8(%rsp)
	jae 9f
	incq %r10
	movq 8(%rsp), %rax
	cmpq %r8, %rax
	je 5f
	decq %rax
	cmpq %r8, %rax
	je 6f
	addq $2, %rax
	cmpq %r8, %rax
	jne 8f
	incq %rbx /* at STI: the NOP's address less one */
	jmp 8f
5:	incq %r11 /* at the NOP: in the shadow */
	jmp 8f
6:	incq %r12 /* at the CLI after the NOP */
8:	popq %rax
	iretq
9:	popq %rax
	jmp *sti_self_kernel_nmi(%rip)
