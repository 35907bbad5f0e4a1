/*
 * The sync step of the int3 protocol: every other online CPU must execute a serializing
 * instruction after the patcher's last write. The patcher sets each such CPU's bit and sends
 * it VEC_POKE_SYNC; only the CPU itself clears its bit (here, from the IPI handler, which
 * returns with IRET, or from the #BP handler, which also leaves with IRET before the poked
 * instruction can run again). The last CPU to clear wakes the patcher, which spins briefly and
 * then waits halted. When the CPUs to sync are all the others, one all-but-self IPI does it.
 */
#include "patching/internal.h"
#include "arch/x86/apic.h"
#include "arch/x86/smp.h"
#include "kernel/wait.h"

#define SYNC_TIMEOUT_NS 2000000000ull
#define SYNC_SPIN_NS 50000ull /* the patcher spins this long before it waits halted */

static struct cpumask sync_mask;
static volatile u64 sync_pending;
static volatile u64 last_ack_tsc; /* when the last CPU of the current sync cleared its bit */

static void sync_ack(enum poke_ack_ctx ctx)
{
	u32 me = this_cpu_index();
	u64 bit = 1ull << (me % 64);
	u64 old = __atomic_fetch_and(&sync_mask.bits[me / 64], ~bit, __ATOMIC_SEQ_CST);
	if (old & bit)
		inv_cleared(ctx);
	if ((old & bit) && __atomic_sub_fetch(&sync_pending, 1, __ATOMIC_SEQ_CST) == 0) {
		last_ack_tsc = rdtsc_ordered();
		wake_cpu(poke_eng.patcher);
	}
}

void poke_sync_ack(void) { sync_ack(ACK_BP); }
void poke_sync_ack_thread(void) { sync_ack(ACK_THREAD); }

static bool on_sync_ipi(struct trap_frame *f)
{
	(void)f;
	if (!(poke_eng.cfg.flags & POKE_IPI_NO_ACK))
		sync_ack(ACK_IPI);
	apic_eoi();
	inv_iret_next();
	return true; /* the IRET out of here is the serializing instruction */
}

/*
 * Installed once and left installed: a CPU whose bit its #BP handler already cleared may take
 * the IPI after the patcher has finished, and that must not be an unexpected interrupt.
 */
void poke_sync_install(void)
{
	trap_set_handler(VEC_POKE_SYNC, on_sync_ipi);
}

/* The sync's latency, and its two parts: send to the last ack, last ack to the patcher. */
static void record(u64 t0, u64 t1)
{
	u64 i = poke_eng.nsamples++, ack = last_ack_tsc;
	bool known = ack > t0 && ack <= t1;
	if (i >= poke_eng.cfg.max_samples)
		return;
	if (poke_eng.cfg.sync_samples)
		poke_eng.cfg.sync_samples[i] = t1 - t0;
	if (poke_eng.cfg.ack_samples)
		poke_eng.cfg.ack_samples[i] = known ? ack - t0 : t1 - t0;
	if (poke_eng.cfg.wake_samples)
		poke_eng.cfg.wake_samples[i] = known ? t1 - ack : 0;
}

bool poke_sync(void)
{
	u32 me = this_cpu_index(), n = cpus_online() - 1; /* the patcher is online */
	u64 t0 = rdtsc_ordered();
	poke_eng.syncs++;
	if (!n)
		return true;
	inv_check_set(&sync_mask, me);
	last_ack_tsc = 0;
	__atomic_store_n(&sync_pending, n, __ATOMIC_SEQ_CST);
	for_each_online_cpu(i)
		if (i != me)
			cpumask_set(&sync_mask, i);
	ipi_send_others(ICR_FIXED | VEC_POKE_SYNC);
	bool ok = wait_eq_spin_halt(&sync_pending, 0, SYNC_SPIN_NS, SYNC_TIMEOUT_NS);
	record(t0, rdtsc_ordered());
	inv_check_done(&sync_mask);
	if (!ok) {
		poke_eng.sync_timeouts++;
		cpumask_clear(&sync_mask);
		__atomic_store_n(&sync_pending, 0, __ATOMIC_SEQ_CST);
	}
	return ok;
}
