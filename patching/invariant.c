/*
 * hpa's three invariants of the sync cpumask (seed 004), checked at run time:
 *   1. the patcher sets each bit after each event that needs synchronisation: every write
 *      step is followed by a sync; the mask is empty when a sync starts (no bit left from the
 *      last one) and the patcher's own bit is never set;
 *   2. a bit is cleared only on its own CPU, only where an IRET follows before that CPU can
 *      reach the poked instruction: a clear from thread context breaks it at once; a clear in
 *      a handler leaves the CPU "owing an IRET" until the handler's exit, and reaching a
 *      poked site meanwhile (a #BP at a site, or poke_inv_reach() before a call) breaks it;
 *   3. the IPI and #BP handlers clear it: at the end of each sync every bit it set must have
 *      been cleared, by one of those two.
 * Clearing only the own bit is structural (poke_sync_ack computes the bit from this CPU).
 * A violation is counted with the CPU and the protocol phase of the first one.
 */
#include "patching/internal.h"
#include "arch/x86/percpu.h"

static struct {
	volatile u8 owed;       /* cleared its bit in a handler that has not returned yet */
	volatile u8 armed;      /* its bit was set by the current sync */
	volatile u8 cleared_by; /* enum poke_ack_ctx + 1, 0 = not cleared */
	u8 pad[61];
} inv_cpu[MAX_CPUS];

static volatile u64 checks, violations[INV_N], first_taken;
static u32 first_cpu, first_phase;
static enum poke_inv first_kind;

static void violate(enum poke_inv k, u32 cpu)
{
	__atomic_add_fetch(&violations[k], 1, __ATOMIC_RELAXED);
	if (__atomic_exchange_n(&first_taken, 1, __ATOMIC_ACQ_REL))
		return;
	first_cpu = cpu;
	first_phase = poke_eng.phase;
	first_kind = k;
}

void inv_reset(void)
{
	for (u32 i = 0; i < MAX_CPUS; i++)
		inv_cpu[i].owed = inv_cpu[i].armed = inv_cpu[i].cleared_by = 0;
	checks = first_taken = 0;
	for (u32 k = 0; k < INV_N; k++)
		violations[k] = 0;
}

void inv_check_set(const struct cpumask *m, u32 me)
{
	checks++;
	if (cpumask_weight(m) != 0)
		violate(INV_SET_EACH_EVENT, me);
	for_each_online_cpu(i) {
		inv_cpu[i].cleared_by = 0;
		inv_cpu[i].armed = i != me;
	}
}

void inv_sync_skipped(void) { violate(INV_SET_EACH_EVENT, poke_eng.patcher); }

void inv_cleared(enum poke_ack_ctx ctx)
{
	u32 me = this_cpu_index();
	inv_cpu[me].cleared_by = (u8)(ctx + 1);
	if (me == poke_eng.patcher)
		violate(INV_SET_EACH_EVENT, me); /* its own bit was set */
	if (ctx == ACK_THREAD)
		violate(INV_CLEAR_BEFORE_IRET, me); /* no IRET follows a thread-context clear */
	else
		inv_cpu[me].owed = 1;
}

void inv_iret_next(void) { inv_cpu[this_cpu_index()].owed = 0; }

void poke_inv_reach(void)
{
	u32 me = this_cpu_index();
	if (inv_cpu[me].owed)
		violate(INV_CLEAR_BEFORE_IRET, me);
}

void inv_check_done(const struct cpumask *m)
{
	for_each_online_cpu(i) {
		if (!inv_cpu[i].armed)
			continue;
		u8 by = inv_cpu[i].cleared_by;
		if (cpumask_test(m, i) || (by != ACK_IPI + 1 && by != ACK_BP + 1))
			violate(INV_CLEARED_BY_HANDLER, i);
		inv_cpu[i].armed = 0;
	}
}

void inv_read(struct poke_stats *out)
{
	out->inv_checks = checks;
	for (u32 k = 0; k < INV_N; k++)
		out->inv_violations[k] = violations[k];
	out->inv_first_cpu = first_cpu;
	out->inv_first_phase = first_phase;
	out->inv_first = first_kind;
}
