/*
 * The self-aimed loops of sti_self_aim.c: a CPU sends an NMI to itself, runs a lead, then
 * `sti; nop; cli`. An NMI taken at the NOP landed in the STI shadow. The lead is the aim: the
 * time from the ICR write to the NMI's delivery is the platform's (TCG delivers it at the next
 * translation-block boundary, a real local APIC some hundred cycles later), and the engine
 * keeps the lead with the most NMIs in the shadow per second.
 *
 * Each shape is called with rdi = the xAPIC ICR's address (x2APIC: unused), esi = the ICR's
 * low word, edx = the destination (x2APIC ID; xAPIC: ICR2 was written before), ecx = the
 * number of iterations (counted in r9d); entered and left with IF=0. Labels: NAME (the ICR write), NAME_at_sti,
 * NAME_at_nop, NAME_end.
 */
#define SEQ_LABEL(name) .globl name; name:

#define SEND_XAPIC movl %esi, (%rdi)
/* x2APIC: WRMSR to the ICR (0x830), edx:eax = destination:low word; the write is the last
 * instruction before the lead, as in xAPIC mode */
#define SEND_X2APIC movl $0x830, %ecx; movl %esi, %eax; wrmsr

#define LEAD_NONE
#define LEAD_PAUSE(n) .rept n; pause; .endr
/* a jump between the write and STI: TCG ends the block there and takes the NMI at STI */
#define LEAD_SPLIT jmp 1f; 1:

#define SELF_SHAPE(name, send, lead)                                                      \
	.balign 64;                                                                       \
SEQ_LABEL(name)                                                                           \
	movl %ecx, %r9d;                                                                  \
2:	send;                                                                             \
	lead;                                                                             \
SEQ_LABEL(name##_at_sti)                                                                 \
	sti;                                                                              \
SEQ_LABEL(name##_at_nop)                                                                 \
	nop;                                                                              \
	cli;                                                                              \
	decl %r9d;                                                                        \
	jnz 2b;                                                                           \
	ret;                                                                              \
SEQ_LABEL(name##_end)

	.text
SELF_SHAPE(seq_self_x_lead0, SEND_XAPIC, LEAD_NONE)
SELF_SHAPE(seq_self_x_pause4, SEND_XAPIC, LEAD_PAUSE(4))
SELF_SHAPE(seq_self_x_pause32, SEND_XAPIC, LEAD_PAUSE(32))
SELF_SHAPE(seq_self_x_pause256, SEND_XAPIC, LEAD_PAUSE(256))
SELF_SHAPE(seq_self_x_split, SEND_XAPIC, LEAD_SPLIT)
SELF_SHAPE(seq_self_x2_lead0, SEND_X2APIC, LEAD_NONE)
SELF_SHAPE(seq_self_x2_pause4, SEND_X2APIC, LEAD_PAUSE(4))
SELF_SHAPE(seq_self_x2_pause32, SEND_X2APIC, LEAD_PAUSE(32))
SELF_SHAPE(seq_self_x2_pause256, SEND_X2APIC, LEAD_PAUSE(256))
SELF_SHAPE(seq_self_x2_split, SEND_X2APIC, LEAD_SPLIT)
