/*
 * The self-aimed loop of sti_shadow_nmi: every online CPU at once sends an NMI to itself
 * through its own local APIC, runs a lead, then `sti; nop; cli` (sti_self_seq.S), and counts
 * where its NMIs land. No other CPU takes part, so there is no handshake and no race between
 * CPUs: the aim is the lead, the time the CPU's own APIC takes to deliver the NMI. Linux meets
 * the same case with perf's NMI, which a CPU's own local APIC raises.
 *
 * The loop tries each lead for a short time on all CPUs and keeps the one with the most NMIs
 * in the shadow per second (TCG takes the NMI at the next translation-block boundary, which
 * STI ends: no lead; a real APIC needs some hundred cycles), then the number of CPUs (1, 2,
 * 4...: QEMU takes its global lock for each APIC MMIO access, io_writex() in
 * accel/tcg/cputlb.c, and each interrupt it delivers, cpu_handle_interrupt() in
 * accel/tcg/cpu-exec.c, so under TCG one CPU alone gives the most). The split lead, a jump
 * between the ICR write and STI, is a control: under TCG it ends the block before STI, so the
 * NMIs land at STI, outside the shadow, which shows the classifier sees the difference.
 *
 * While it loops, a CPU's NMI entry is sti_self_seq.S's seq_self_nmi, which counts the loop's
 * NMIs in registers and returns: the kernel's NMI path (all registers saved, the handler
 * chain) cost 40% of each iteration under TCG (2.0M NMIs in the shadow per second through
 * it, 3.0-3.5M without). The watchdog's sampling NMI is counted, not answered, in a loop body.
 */
#include "tests/sti/sti.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/experiment.h"
#include "kernel/wait.h"
#include "lib/lib.h"

/* The four counters a loop adds to (sti_self_seq.S): NMIs, at STI, at the NOP, at the CLI. */
struct self_counts {
	u64 nmis, at_sti, in_shadow, after;
};
typedef void (*self_fn)(volatile u32 *icr, u32 low, u32 dest, u32 iterations, struct self_counts *c,
			u32 spin);

#define SHAPE(name)                                                                 \
	extern void name(volatile u32 *, u32, u32, u32, struct self_counts *, u32); \
	extern const char name##_at_sti[], name##_at_nop[]
SHAPE(seq_self_x_lead0);
SHAPE(seq_self_x_spin);
SHAPE(seq_self_x_split);
SHAPE(seq_self_x2_lead0);
SHAPE(seq_self_x2_spin);
SHAPE(seq_self_x2_split);
#undef SHAPE
extern const char seq_self_nmi[];
u64 sti_self_kernel_nmi; /* where seq_self_nmi sends the NMIs that are not the loop's */

/* The leads tried: none, a spin of 1..1024 turns, and last the split control. */
enum lead_kind { LEAD_NONE, LEAD_SPIN, LEAD_SPLIT };
static const struct lead {
	const char *name;
	enum lead_kind kind;
	u32 spin;
} leads[] = {
	{ "lead0", LEAD_NONE, 1 },       { "spin1", LEAD_SPIN, 1 },   { "spin4", LEAD_SPIN, 4 },
	{ "spin16", LEAD_SPIN, 16 },     { "spin64", LEAD_SPIN, 64 }, { "spin256", LEAD_SPIN, 256 },
	{ "spin1024", LEAD_SPIN, 1024 }, { "split", LEAD_SPLIT, 1 },
};
#define NLEADS ARRAY_SIZE(leads)
#define CONTROL_LEAD (NLEADS - 1)
static const self_fn xapic_fn[] = { seq_self_x_lead0, seq_self_x_spin, seq_self_x_split };
static const self_fn x2apic_fn[] = { seq_self_x2_lead0, seq_self_x2_spin, seq_self_x2_split };
const char *sti_self_lead_name(u32 shape) { return shape < NLEADS ? leads[shape].name : "?"; }

#define BATCH 64 /* iterations between two looks at the clock */
/* A CPU that has not met the others by then starts its window alone (it still counts). */
#define START_TIMEOUT_NS 100000000ull

/*
 * Each CPU's window starts when every CPU of the run has met at the start barrier and lasts
 * ns by its own clock. A window timed from the call instead was spent, at smp 8 on 2 host
 * cores, before the halted vCPUs had been woken: a 4 ms learning run found no NMI at all and
 * the loop was kept on all 8 CPUs at 40% of one CPU's rate.
 */
static struct {
	volatile u32 active;
	self_fn shape;
	u32 spin;
	u64 ns;
	struct cpu_barrier start;
} self;
/* per CPU: the loop's counts, its iterations, NMIs the kernel's entry took meanwhile, and
 * when its window began */
static struct self_cpu {
	struct self_counts c;
	u64 iters, elsewhere, start_tsc;
} __attribute__((aligned(64))) per_cpu[MAX_CPUS];

bool sti_self_nmi(u64 rip)
{
	(void)rip; /* not in a loop body (seq_self_nmi counted those) */
	if (!__atomic_load_n(&self.active, __ATOMIC_ACQUIRE))
		return false;
	per_cpu[this_cpu_index()].elsewhere++;
	return true;
}

static void self_loop(void *arg)
{
	(void)arg;
	struct self_cpu *c = &per_cpu[this_cpu_index()];
	u32 dest = this_cpu()->apic_id;
	volatile u32 *icr = (volatile u32 *)(apic.mmio_base + APIC_ICR);
	u64 flags = irq_save();
	if (apic.mode != APIC_MODE_X2APIC)
		apic_write(APIC_ICR2, dest << 24); /* the loop writes only the low word */
	idt_set_entry(VEC_NMI, (u64)seq_self_nmi);
	cpu_barrier_wait_ns(&self.start, START_TIMEOUT_NS);
	c->start_tsc = rdtsc();
	u64 end = c->start_tsc + ns_to_tsc(self.ns);
	while (tsc_before(end)) {
		self.shape(icr, ICR_NMI, dest, BATCH, &c->c, self.spin);
		c->iters += BATCH;
	}
	idt_set_entry(VEC_NMI, sti_self_kernel_nmi);
	irq_restore(flags);
}

/*
 * The first ncpus online CPUs run shape k until ns have passed; *out gets the sums. The boot
 * CPU is always one of them, so no CPU waits on PAUSE while the loop runs: under TCG each
 * PAUSE leaves the translated code (helper_pause() in target/i386/tcg/misc_helper.c) and the
 * vCPU thread takes QEMU's global lock again before it goes on (mttcg_cpu_thread_fn()), the
 * lock the looping CPU needs for each APIC access. A boot CPU waiting on PAUSE while one AP
 * looped cut that AP to 0.33-1.27M NMIs in the shadow per second; waiting without PAUSE,
 * 1.5-3.5M.
 */
static void run_shape(u32 k, u32 ncpus, u64 ns, struct sti_self_result *out)
{
	memset(per_cpu, 0, sizeof(per_cpu));
	self.shape = (apic.mode == APIC_MODE_X2APIC ? x2apic_fn : xapic_fn)[leads[k].kind];
	self.spin = leads[k].spin;
	sti_self_kernel_nmi = idt_default_entry(VEC_NMI);
	self.ns = ns;
	struct cpumask all;
	cpumask_clear(&all);
	u32 n = 0;
	for_each_online_cpu(i)
		if (n++ < ncpus)
			cpumask_set(&all, i);
	cpu_barrier_init(&self.start, MIN(n, ncpus));
	__atomic_store_n(&self.active, 1, __ATOMIC_RELEASE);
	smp_call(&all, self_loop, NULL, true); /* this CPU's own turn, when it is in the mask */
	u64 now = rdtsc(), first = now;
	for_each_cpu_in(i, &all, MAX_CPUS)
		if (per_cpu[i].start_tsc) /* 0: its loop never started */
			first = MIN(first, per_cpu[i].start_tsc);
	__atomic_store_n(&self.active, 0, __ATOMIC_RELEASE);
	*out = (struct sti_self_result){ .shape = k, .tsc = now - first };
	for_each_cpu_in(i, &all, MAX_CPUS) {
		const struct self_cpu *c = &per_cpu[i];
		out->cpus++;
		out->iters += c->iters;
		out->nmis += c->c.nmis + c->elsewhere;
		out->at_sti += c->c.at_sti;
		out->in_shadow += c->c.in_shadow;
		out->after += c->c.after;
		out->elsewhere +=
			c->c.nmis - c->c.at_sti - c->c.in_shadow - c->c.after + c->elsewhere;
	}
}

static void print_shape(const char *what, const struct sti_self_result *r)
{
	diag("%s shape=%s cpus=%u nmis_sent=%lu nmis=%lu nmis_at_sti=%lu nmis_in_shadow=%lu "
	     "nmis_after_shadow=%lu nmis_elsewhere=%lu in_shadow_per_s=%lu ms=%lu",
	     what, sti_self_lead_name(r->shape), r->cpus, r->iters, r->nmis, r->at_sti,
	     r->in_shadow, r->after, r->elsewhere, tsc_rate(r->in_shadow, r->tsc),
	     tsc_to_ns(r->tsc) / 1000000);
}

/*
 * The leads on every CPU, then the best lead on 1, 2, 4... CPUs: a platform that serializes
 * the local APICs (QEMU takes one lock for every APIC access under TCG) gives fewer NMIs per
 * second to more CPUs, a real machine more. With no lead landing in the shadow on any count,
 * the plan stays all CPUs.
 */
struct sti_self_plan sti_self_aim_learn(u64 learn_ns, struct sti_self_result *control)
{
	u32 all = cpus_online();
	struct sti_self_plan plan = { 0, all };
	u64 best_rate = 0;
	for (u32 k = 0; k < NLEADS; k++) {
		struct sti_self_result r;
		run_shape(k, all, learn_ns, &r);
		print_shape("self_aim_shape", &r);
		if (k == CONTROL_LEAD) {
			*control = r;
			continue;
		}
		u64 rate = tsc_rate(r.in_shadow, r.tsc);
		if (rate > best_rate) {
			best_rate = rate;
			plan.shape = k;
		}
	}
	/* then 1, 2, 4... CPUs, and all of them as measured above: more CPUs are kept only when
	 * they give a quarter more (bench, smp 8: 2 CPUs given one lucky 4 ms window, 3.75M
	 * against 3.72M for one, then ran at 0.66M) */
	u64 all_rate = best_rate;
	best_rate = 0;
	for (u32 n = 1; n < all; n *= 2) {
		struct sti_self_result r;
		run_shape(plan.shape, n, learn_ns, &r);
		print_shape("self_aim_cpus", &r);
		u64 rate = tsc_rate(r.in_shadow, r.tsc);
		if (rate > best_rate + best_rate / 4) {
			best_rate = rate;
			plan.ncpus = n;
		}
	}
	if (all_rate > best_rate + best_rate / 4)
		plan.ncpus = all;
	return plan;
}

void sti_self_aim_measure(struct sti_self_plan plan, u64 ns, struct sti_self_result *acc)
{
	struct sti_self_result r;
	run_shape(plan.shape, plan.ncpus, ns, &r);
	acc->shape = r.shape;
	acc->cpus = r.cpus;
	acc->iters += r.iters;
	acc->nmis += r.nmis;
	acc->at_sti += r.at_sti;
	acc->in_shadow += r.in_shadow;
	acc->after += r.after;
	acc->elsewhere += r.elsewhere;
	acc->tsc += r.tsc;
}
