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
 * Either way the handler then leaves as if the CPU had run the instruction now in memory (the
 * old one after a roll-back, the new one after a roll-forward), emulated like any #BP, rather
 * than resuming at the site: under QEMU TCG the patching CPU can execute its own stale int3
 * again after writing through the alias and an IRET, and a resume-and-retry loop there with
 * NMIs unblocked (the IRET) lets the next NMIs nest until the stack overflows. A #BP whose
 * int3 memory no longer holds (such a stale one) is emulated the same way. Nested events (an
 * NMI inside an IRQ handler that is inside this one) find the bytes in a state the same rules
 * cover: every write is idempotent. Other CPUs keep emulating from the published descriptors.
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
	const struct poke_desc *d = table_find(site);
	u32 prog = __atomic_load_n(&poke_eng.prog, __ATOMIC_SEQ_CST);
	bool old = prog == PROG_DEPLOY || prog == PROG_ROLLED_BACK;
	enum poke_action a = !int3_at(site) ? PA_REEXECUTED : old ? PA_ROLLED_BACK : PA_ROLLED_FORWARD;
	if (!d)
		return false;
	poke_note_patcher(a); /* counted in the window found, before changing it */
	if (a == PA_ROLLED_BACK)
		roll_back();
	else if (a == PA_ROLLED_FORWARD)
		roll_forward();
	u64 target = d->target;
	u8 kind = d->kind;
	if (old)
		kind = (u8)poke_decode(site, d->old, &target);
	if (kind == POKE_OTHER)
		return false;
	return poke_emulate_insn(f, site, kind, target);
}
