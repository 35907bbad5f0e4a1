/*
 * Live code for the poke_* experiments: the sites the engine rewrites, the page of target
 * stubs, and the executor that calls through a site with a canary on the stack and can be
 * resumed by a fault handler. Sites are 5-byte NOPL at assembly time (experiments set them);
 * everything around them is int3, so a mis-decoded site traps instead of running on.
 */
#include "arch/x86/callee_saved.h"
#include "tests/poke/poke.h"

#define NOP5 .byte 0x0f, 0x1f, 0x44, 0x00, 0x00

	.text
/*
 * u64 poke_exec_asm(struct poke_exec *e, u64 site): 0 when the site returned, 1 when a fault
 * handler resumed at poke_exec_recover with RSP = e->saved_rsp. RBX holds e throughout (the
 * sites and the target stub record into it).
 */
	.globl poke_exec_asm, poke_exec_ret, poke_exec_recover, poke_target_common
poke_exec_asm:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rdi, %rbx
	movq %rsp, PX_SAVED_RSP(%rbx)
	pushq PX_CANARY(%rbx)
	call *%rsi
poke_exec_ret:
	popq %rax
	movq %rax, PX_AFTER_CANARY(%rbx)
	movq %rsp, PX_AFTER_RSP(%rbx)
	xorl %eax, %eax
	jmp 1f
poke_exec_recover:
	movl $1, %eax
1:
	POP_CALLEE_SAVED
	ret

/* Reached from the stub: RAX = address the stub ran at. Records the stack it was given. */
poke_target_common:
	movq %rax, PX_LANDED(%rbx)
	movq %rsp, PX_TGT_RSP(%rbx)
	movq (%rsp), %rax
	movq %rax, PX_W0(%rbx)
	movq 8(%rsp), %rax
	movq %rax, PX_W1(%rbx)
	movq 16(%rsp), %rax
	movq %rax, PX_W2(%rbx)
	incq PX_HITS(%rbx)
	ret

/* One page, mapped at POKE_TGT_A and POKE_TGT_B: int3 everywhere but the stub. */
	.section .text.poke_stub, "ax"
	.balign 4096
	.globl poke_stub_page
poke_stub_page:
	.org POKE_STUB_OFF, 0xcc
poke_stub_entry:
	leaq poke_stub_entry(%rip), %rax
	jmp *poke_stub_slot(%rip)
	.balign 8, 0xcc
poke_stub_slot:
	.quad poke_target_common
	.org 4096, 0xcc

/*
 * The sites, on pages of their own. Call sites sit at offset 3 of a 64-byte line, so bytes
 * 1..4 (rel32) are 4-byte aligned within one line (ATOMIC mode's requirement).
 */
	.section .text.poke_sites, "ax"
	.balign 4096
	.irp k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	.org 64 * \k + 3, 0xcc
poke_call_site_\k:
	NOP5
	ret
	.endr

/* NOP <-> jmp site: the NOP falls through to a counter (RBX = struct poke_exec) */
	.org 0x403, 0xcc
	.globl poke_jsite
poke_jsite:
	NOP5
	incq PX_NOPS(%rbx)
	ret

/* call site whose rel32 crosses a cache line (line offsets 62, 63 | 0, 1) */
	.org 0x440 + 61, 0xcc
	.globl poke_xline_site
poke_xline_site:
	NOP5
	ret

/* call site crossing a page: opcode on the last byte of the page, rel32 on the next */
	.org 0xfff, 0xcc
	.globl poke_xpage_site
poke_xpage_site:
	NOP5
	ret

/* the SDM recipe's code: movl $imm32, %eax; ret (imm32 4-byte aligned), a page of its own */
	.org 0x2003, 0xcc
	.globl poke_sdm_code
poke_sdm_code:
	.byte 0xb8
	.long 0
	ret
	/* room for a mis-decoded jmp rel32 with a NOP tail (0x441f) to land on int3 */
	.org 0x5000, 0xcc

/*
 * poke_batch's sites: POKE_NBATCH_SITES call sites POKE_BATCH_SITE_STRIDE bytes apart on pages
 * of their own, each at offset 3 of its slot (rel32 4-byte aligned), int3 between them.
 */
	.section .text.poke_bsites, "ax"
	.balign 4096
	.globl poke_batch_sites_start
poke_batch_sites_start:
	.rept POKE_NBATCH_SITES
	.byte 0xcc, 0xcc, 0xcc
	NOP5
	ret
	.fill POKE_BATCH_SITE_STRIDE - 9, 1, 0xcc
	.endr
	.balign 4096, 0xcc

	.section .rodata
	.balign 8
	.globl poke_call_sites
poke_call_sites:
	.irp k, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	.quad poke_call_site_\k
	.endr
