/*
 * The baseline of `# sync_vs_broadcast`, measured inside the poke run it is compared with: the
 * patcher sends one all-but-self IPI on its own vector, every other CPU's handler counts down
 * (EOI, then an atomic decrement; the last one wakes the patcher), and the patcher waits the
 * way a sync does (spins 50 us, then halts). One such round trip per poke, from the run's step
 * hook just before one of the poke's three syncs (the first, second and third in turn), so the
 * executors are in the same state (calling while an int3 is live, resting otherwise) and the
 * host load the same for both. The sync differs only in what it adds: the cpumask bits, the
 * per-CPU clear in the handler and the invariant checks.
 */
#include "tests/poke/poke.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "kernel/wait.h"

#define VEC_POKE_BCAST (VEC_EXP_FIRST + 0x39) /* the priority class of VEC_POKE_SYNC */
#define BCAST_SPIN_NS 50000ull                /* as the sync's SYNC_SPIN_NS */
#define BCAST_TIMEOUT_NS 2000000000ull

static volatile u64 pending;
static volatile u32 sender;

static bool on_bcast(struct trap_frame *f)
{
	(void)f;
	apic_eoi();
	if (__atomic_sub_fetch(&pending, 1, __ATOMIC_SEQ_CST) == 0)
		wake_cpu(sender);
	return true;
}

/* Left installed, like the sync's: an IPI of a round trip that timed out may come late. */
void poke_bcast_install(void) { trap_set_handler(VEC_POKE_BCAST, on_bcast); }

/* One round trip to every other online CPU. */
void poke_bcast_probe(struct poke_run *r)
{
	u32 me = this_cpu_index(), n = cpus_online() - 1;
	u64 t0 = rdtsc_ordered();
	if (!n)
		return;
	sender = me;
	__atomic_store_n(&pending, n, __ATOMIC_SEQ_CST);
	ipi_send_others(ICR_FIXED | VEC_POKE_BCAST); /* as the sync sends its IPIs */
	bool ok = wait_eq_spin_halt(&pending, 0, BCAST_SPIN_NS, BCAST_TIMEOUT_NS);
	u64 dt = rdtsc_ordered() - t0;
	r->bcast_tsc += dt;
	if (!ok) {
		r->bcast_timeouts++;
		/* a late handler must not wake the patcher in the middle of a sync */
		__atomic_store_n(&pending, ~0ull >> 1, __ATOMIC_SEQ_CST);
		return;
	}
	if (r->nbcast < POKE_MAX_BCAST)
		r->bcast_samples[r->nbcast] = dt;
	r->nbcast++;
}
