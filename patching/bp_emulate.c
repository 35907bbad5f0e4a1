/*
 * The #BP side of the int3 protocol. A CPU that meets an int3 at a site being patched has
 * the site's new instruction emulated: a NOP is skipped, a jmp goes to its target, a call
 * pushes the return address on the interrupted stack and goes to its target. Any other int3
 * is not ours: the handler returns false and the default handling (fixups, crash) applies.
 *
 * Order in the handler: take a reference on the published batch, then clear this CPU's sync
 * bit (the IRET that ends every path here is the serializing instruction), then read the
 * descriptor (or, in ATOMIC mode, the rel32 with one aligned 4-byte load), then drop the
 * reference. Taking the reference first is what lets the bit be cleared early: the patcher
 * cannot get past its last sync and retire the batch while this handler still needs it.
 *
 * Then the strategy (poke.h): SPIN waits on every CPU (strategy_spin.c); ROLLBACK hands the
 * patching CPU's own #BP to strategy_rollback.c: an entry hook here, not an IDT of its own
 * for the patching CPU, because every vector already funnels into one dispatcher and this
 * handler; the hook costs one compare on other CPUs, an IDT switch two serializing LIDTs
 * per poke (poke_alias_cost measures them) and a second set of entry stubs, and both see
 * exactly the same events: the ones whose handler reaches the site while the int3 is live.
 * (hpa's IDT switch would also catch events that never touch the site; rolling back on those
 * would only add restarts.) Every exit of this handler is an IRET: inv_iret_next().
 */
#include "patching/internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"

struct emul {
	u8 kind;
	u64 target;
};

static bool decide(u64 site, struct emul *em)
{
	const struct poke_desc *d = table_find(site);
	if (!d)
		return false;
	em->kind = d->kind;
	if (poke_eng.cfg.mode == POKE_MODE_ATOMIC && d->kind != POKE_NOP) {
		/* one aligned (hence atomic) 4-byte load: the old or the new rel32, never a mix */
		u32 rel = __atomic_load_n((const volatile u32 *)(site + 1), __ATOMIC_SEQ_CST);
		em->target = poke_rel_target(site, (s32)rel);
	} else {
		em->target = d->target;
	}
	return true;
}

/* Takes a reference, clears this CPU's sync bit, decides, drops the reference. */
static bool lookup(u64 site, struct emul *em, bool counted)
{
	bool got = table_get(counted);
	poke_sync_ack();
	bool ours = got && decide(site, em);
	if (got)
		table_put(counted);
	return ours;
}

/*
 * Not ours: either a foreign int3 (still in memory), or a STALE one: this CPU executed an
 * int3 that memory no longer holds although no batch covers the site, i.e. after the last
 * sync of the batch that wrote it, which this CPU acked (serialized) before running the int3.
 * Conforming CPUs cannot do that; an emulator with stale translations, or a protocol missing
 * a sync, can. Both are left to the default handling; the verdict is kept for the caller.
 */
static bool not_ours(struct poke_cpu_stats *st, bool stale)
{
	st->last_stale_int3 = stale;
	__atomic_add_fetch(stale ? &st->stale_int3 : &st->foreign, 1, __ATOMIC_RELAXED);
	return false;
}

static bool handle(struct trap_frame *f)
{
	u64 t0 = rdtsc(), site = f->rip - 1;
	struct poke_cpu_stats *st = &poke_cpu_stats[this_cpu_index()];
	bool counted = !(poke_eng.cfg.flags & POKE_NO_REFCOUNT);
	struct emul em = { 0, 0 };
	bool ours = lookup(site, &em, counted), in_memory = true;
	if (!ours) {
		/* read once: an int3 there now may be a batch published since: look again */
		in_memory = *(const volatile u8 *)site == POKE_OP_INT3;
		if (in_memory)
			ours = lookup(site, &em, counted);
	}
	if (!ours)
		return not_ours(st, !in_memory);
	st->last_stale_int3 = false;
	/* the legal race: the #BP was taken just before the patcher put the first byte back */
	if (in_memory && *(const volatile u8 *)site != POKE_OP_INT3)
		__atomic_add_fetch(&st->int3_gone, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&poke_eng.bp_window[poke_window_now()], 1, __ATOMIC_RELAXED);
	if (poke_eng.cfg.strategy == POKE_SPIN)
		return poke_spin_bp(f, site);
	if (this_cpu_index() == poke_eng.patcher) {
		if (poke_eng.cfg.strategy == POKE_ROLLBACK)
			return poke_rollback_bp(f, site);
		poke_note_patcher(PA_EMULATED);
	}
	__atomic_add_fetch(&st->emul[em.kind], 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&st->cycles, rdtsc() - t0, __ATOMIC_RELAXED);
	return poke_emulate_insn(f, site, em.kind, em.target);
}

bool poke_emulate_insn(struct trap_frame *f, u64 site, u8 kind, u64 target)
{
	if (kind == POKE_NOP)
		f->rip = site + POKE_INSN_LEN;
	else if (kind == POKE_JMP)
		f->rip = target;
	else {
		inv_iret_next();
		poke_resume_call(f, target, site + POKE_INSN_LEN);
	}
	return true;
}

bool poke_bp_handle(struct trap_frame *f)
{
	if (f->cs & 3)
		return false;
	poke_inv_reach(); /* invariant 2: reaching a site between a clear and its IRET */
	bool r = handle(f);
	inv_iret_next();
	return r;
}

bool poke_bp_last_stale_int3(void) { return poke_cpu_stats[this_cpu_index()].last_stale_int3; }

/*
 * Leaving a #BP as if the interrupted code had executed `call target`. The CPU put the trap
 * frame on the interrupted stack itself (no IST for #BP), just below the interrupted RSP, so
 * the slot the call must push into (RSP - 8) can be the frame's own SS slot: writing it and
 * then returning through the frame would break the IRET. Instead every register and an IRET
 * frame for (target, RSP - 8) are copied further down this stack first, then the return
 * address is stored at RSP - 8, the registers are popped and IRETQ resumes at the target.
 * IRETQ restores RFLAGS (IF included) in the same instruction as the jump, so code that ran
 * with interrupts enabled sees exactly the stack a real call leaves, with no window where an
 * interrupt could land between the push and the jump; and IRETQ serializes.
 */
#define TF_GS_SWAPPED 8
#define TF_RAX 128
#define TF_RIP 152
#define TF_CS 160
#define TF_RFLAGS 168
#define TF_RSP 176
#define TF_SS 184
_Static_assert(offsetof(struct trap_frame, gs_swapped) == TF_GS_SWAPPED, "frame layout");
_Static_assert(offsetof(struct trap_frame, r15) == TF_GS_SWAPPED + 8, "frame layout");
_Static_assert(offsetof(struct trap_frame, rax) == TF_RAX, "frame layout");
_Static_assert(offsetof(struct trap_frame, rip) == TF_RIP, "frame layout");
_Static_assert(offsetof(struct trap_frame, cs) == TF_CS, "frame layout");
_Static_assert(offsetof(struct trap_frame, rflags) == TF_RFLAGS, "frame layout");
_Static_assert(offsetof(struct trap_frame, rsp) == TF_RSP, "frame layout");
_Static_assert(offsetof(struct trap_frame, ss) == TF_SS, "frame layout");

#define S(x) EXTABLE_STR(x)
/* rdi = frame, rsi = target, rdx = return address */
__asm__(".text\n"
	".globl poke_resume_call\n"
	"poke_resume_call:\n"
	"	movq " S(TF_RSP) "(%rdi), %rax\n"
	"	subq $8, %rax\n"
	"	pushq " S(TF_SS) "(%rdi)\n"
	"	pushq %rax\n"
	"	pushq " S(TF_RFLAGS) "(%rdi)\n"
	"	pushq " S(TF_CS) "(%rdi)\n"
	"	pushq %rsi\n"
	/* rax, rbx, ... r15 sit from TF_RAX down to TF_GS_SWAPPED + 8; gs_swapped last */
	"	.irp off, 128, 120, 112, 104, 96, 88, 80, 72, 64, 56, 48, 40, 32, 24, 16, 8\n"
	"	pushq \\off(%rdi)\n"
	"	.endr\n"
	"	movq %rdx, (%rax)\n"
	"	popq %rax\n"
	"	testq %rax, %rax\n"
	"	jz 1f\n"
	"	swapgs\n"
	"1:	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %r11\n"
	"	popq %r10\n"
	"	popq %r9\n"
	"	popq %r8\n"
	"	popq %rbp\n"
	"	popq %rdi\n"
	"	popq %rsi\n"
	"	popq %rdx\n"
	"	popq %rcx\n"
	"	popq %rbx\n"
	"	popq %rax\n"
	"	iretq\n");
