/*
 * ROLLBACK (hpa's roll-forward / roll-back, seed 004): the patching CPU's own #BP at a site of
 * the batch, i.e. an NMI, IRQ or #MC handler on the patcher that reached the site while the
 * int3 was live. Decided by the progress word (internal.h, enum poke_prog):
 *   DEPLOY (the first sync has not completed and been claimed): every site still holding the
 *     int3 gets its old first byte back; the tail is still the old one (poke_batch writes it
 *     only after claiming the first sync), so each site is the old instruction again, and
 *     poke_batch, failing to claim, starts over from the int3;
 *   COMMITTED (after it): every tail is written, then every first byte, with no sync in
 *     between (the "second sync is not necessary" claim; poke_strategy_no_sync2 looks for
 *     damage), which removes the int3s; poke_batch's own later writes store the same bytes.
 * Either way the interrupted code resumes AT the site and runs the instruction that is now in
 * memory; the IRET out of this handler is the serializing instruction that makes this CPU see
 * its own writes through the alias. Nested events (an NMI inside an IRQ handler that is inside
 * this one) find the bytes in a state the same rules cover: every write is idempotent.
 * Other CPUs keep emulating from the published descriptors meanwhile.
 */
#include "patching/internal.h"

static bool int3_at(u64 addr) { return *(const volatile u8 *)addr == POKE_OP_INT3; }

static void roll_back(void)
{
	for (u32 i = 0; i < table_count(); i++) {
		const struct poke_desc *d = table_at(i);
		if (int3_at(d->addr))
			poke_write_first_byte(d, d->old[0]);
	}
	__atomic_store_n(&poke_eng.prog, PROG_ROLLED_BACK, __ATOMIC_SEQ_CST);
}

static void roll_forward(void)
{
	for (u32 i = 0; i < table_count(); i++)
		poke_write_tail(table_at(i));
	for (u32 i = 0; i < table_count(); i++) {
		const struct poke_desc *d = table_at(i);
		poke_write_first_byte(d, d->insn[0]);
	}
	__atomic_store_n(&poke_eng.prog, PROG_FORWARDED, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&poke_eng.forward_no_sync2, 1, __ATOMIC_RELAXED);
}

bool poke_rollback_bp(struct trap_frame *f, u64 site)
{
	u32 prog = __atomic_load_n(&poke_eng.prog, __ATOMIC_SEQ_CST);
	enum poke_action a;
	if (!int3_at(site))
		a = PA_REEXECUTED; /* already gone (this CPU ran a stale int3): just run it again */
	else if (prog == PROG_DEPLOY || prog == PROG_ROLLED_BACK)
		a = PA_ROLLED_BACK;
	else
		a = PA_ROLLED_FORWARD;
	poke_note_patcher(a); /* counted in the window found, before changing it */
	if (a == PA_ROLLED_BACK)
		roll_back();
	else if (a == PA_ROLLED_FORWARD)
		roll_forward();
	f->rip = site;
	return true;
}
