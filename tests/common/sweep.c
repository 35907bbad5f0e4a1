/* Event sweeps over victim loops on every AP (see sweep.h). */
#include "tests/common/sweep.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/time.h"
#include "arch/x86/smp.h"
#include "arch/x86/trap.h"
#include "kernel/experiment.h"

#define SWEEP_REKICK_US 200

u64 sweep_aps(const struct sweep *s)
{
	struct cpumask victims;
	cpumask_online(&victims);
	cpumask_unset(&victims, 0);
	*s->stop = SWEEP_RUN;
	smp_call(&victims, s->victim, NULL, false);
	u64 rng = s->seed, sent = 0, end = rdtsc() + s->budget_tsc;
	for (u64 n = 0; n < s->rounds && tsc_before(end); n++) {
		for_each_cpu_in(c, &victims, ncpus_possible) {
			delay_cycles(rng_next(&rng) % s->max_delay_tsc);
			ipi_send_cpu(c, s->icr);
			sent++;
		}
	}
	*s->stop = SWEEP_STOP;
	/*
	 * A victim may be halted. A loop whose HLT lies outside an STI shadow (sti; nop; hlt, or
	 * sti; hlt with IF already 1) can take the wake-up before its HLT and then sleep for good:
	 * the lost wakeup such loops exist to show. So the wake-up is sent again until every
	 * victim has returned.
	 */
	for (bool all = false; !all; udelay(SWEEP_REKICK_US)) {
		all = true;
		for_each_cpu_in(c, &victims, ncpus_possible)
			if (!smp_call_finished(c)) {
				all = false;
				ipi_send_cpu(c, ICR_FIXED | VEC_CALL);
			}
	}
	*s->stop = SWEEP_DRAIN;
	udelay(SWEEP_DRAIN_US);
	return sent;
}
