/*
 * SPIN, the naive answer (a negative control): a #BP at a site being patched waits, on any
 * CPU, until the int3 is gone from memory, then leaves as if the CPU had run the new
 * instruction (emulated from the descriptor it holds a reference on: resuming at the site
 * could meet a stale int3 again under TCG, see strategy_rollback.c). While it waits it keeps
 * clearing its sync bit (hpa's invariant 2 holds: the IRET out of here comes before the site
 * runs again), otherwise the patcher's next sync would wait for a CPU that waits for the
 * patcher. With #BPs only on other CPUs this completes; on the patching CPU nobody is left to
 * remove the int3: a deadlock, which the poke_strategy_* experiments expect the watchdog to
 * find (poke_spin_state) and end by completing the patch from another CPU
 * (poke_spin_rescue), the testbed's recovery rather than part of the protocol.
 */
#include "patching/internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"

static struct {
	volatile u64 active, since, site;
	u8 pad[40];
} spin[MAX_CPUS];

bool poke_spin_bp(struct trap_frame *f, u64 site)
{
	u32 me = this_cpu_index();
	if (me == poke_eng.patcher)
		poke_note_patcher(PA_SPUN);
	__atomic_add_fetch(&poke_eng.spins, 1, __ATOMIC_RELAXED);
	bool counted = !(poke_eng.cfg.flags & POKE_NO_REFCOUNT);
	if (!table_get(counted)) { /* retired since: the int3 is gone */
		f->rip = site;
		return true;
	}
	spin[me].site = site;
	spin[me].since = rdtsc();
	__atomic_store_n(&spin[me].active, 1, __ATOMIC_RELEASE);
	while (*(const volatile u8 *)site == POKE_OP_INT3) {
		poke_sync_ack();
		cpu_relax();
	}
	__atomic_store_n(&spin[me].active, 0, __ATOMIC_RELEASE);
	const struct poke_desc *d = table_find(site);
	u64 target = d ? d->target : 0;
	u8 kind = d ? d->kind : POKE_OTHER;
	table_put(counted);
	if (kind == POKE_OTHER) {
		f->rip = site;
		return true;
	}
	return poke_emulate_insn(f, site, kind, target);
}

/* Functions stay in source order (-fno-toplevel-reorder): the loop lies between the two. */
bool poke_spin_rip(u64 rip) { return rip >= (u64)poke_spin_bp && rip < (u64)poke_spin_state; }

bool poke_spin_state(u32 cpu, u64 *since, u64 *site)
{
	if (!__atomic_load_n(&spin[cpu].active, __ATOMIC_ACQUIRE))
		return false;
	*since = spin[cpu].since;
	*site = spin[cpu].site;
	return true;
}

void poke_spin_rescue(void)
{
	for (u32 i = 0; i < table_count(); i++)
		poke_write_tail(table_at(i));
	for (u32 i = 0; i < table_count(); i++) {
		const struct poke_desc *d = table_at(i);
		poke_write_first_byte(d, d->insn[0]);
	}
	__atomic_add_fetch(&poke_eng.rescues, 1, __ATOMIC_RELAXED);
}
