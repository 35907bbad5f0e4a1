/*
 * IPI delivery: fixed IPIs between every pair of CPUs (exactly once, round-trip latency), NMI
 * IPIs handled on the NMI IST stack, and the all-but-self shorthand.
 */
#include "arch/x86/apic.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "arch/x86/spinlock.h"
#include "kernel/stats.h"
#include "kernel/wait.h"

#define VEC_PING (VEC_EXP_FIRST + 0)
#define VEC_BCAST (VEC_EXP_FIRST + 1)
#define VEC_PONG (VEC_EXP_FIRST + 3)
#define MAX_SAMPLES 16384
#define ACK_TIMEOUT_NS 2000000000ull /* 2 s (a loaded host deschedules vCPUs): then it is lost */

/* Online CPUs as a dense list, so step s pairs sender k with receiver (k + s) mod n. */
static u32 online[MAX_CPUS], pos_of[MAX_CPUS], n_online;
static struct cpu_barrier bar;
static volatile u32 step;           /* current distance between sender and receiver */
static volatile u64 received[MAX_CPUS];
static volatile u64 acked[MAX_CPUS]; /* written by a receiver for its sender */
static volatile u64 sent_to[MAX_CPUS], lost_by[MAX_CPUS]; /* per receiver / per sender */
static volatile u32 send_errors, lost;
static volatile bool stop;
static u64 samples[MAX_SAMPLES];
static volatile u64 nsamples;
static u32 rounds;
static u64 budget_end;

static void collect_online(void)
{
	n_online = 0;
	for_each_online_cpu(i) {
		pos_of[i] = n_online;
		online[n_online++] = i;
	}
}

/* The receiver counts the ping and answers the sender with a pong IPI. */
static bool on_ping(struct trap_frame *f)
{
	(void)f;
	u32 me = pos_of[this_cpu_index()];
	u32 sender = online[(me + n_online - step) % n_online];
	received[this_cpu_index()]++;
	apic_eoi();
	if (!ipi_send_cpu(sender, ICR_FIXED | VEC_PONG))
		__atomic_add_fetch(&send_errors, 1, __ATOMIC_RELAXED);
	return true;
}

static bool on_pong(struct trap_frame *f)
{
	(void)f;
	acked[this_cpu_index()]++;
	apic_eoi();
	return true;
}

static void fixed_worker(void *arg)
{
	(void)arg;
	u32 me = this_cpu_index(), k = pos_of[me];
	u64 sent = 0;
	for (u32 r = 0; r < rounds; r++) {
		for (u32 s = 1; s < n_online; s++) {
			cpu_barrier_wait_halt(&bar);
			if (me == online[0]) {
				step = s;
				if (tsc_past(budget_end))
					stop = true;
			}
			cpu_barrier_wait_halt(&bar);
			if (stop)
				return;
			u32 to = online[(k + s) % n_online];
			u64 t0 = rdtsc_ordered();
			if (!ipi_send_cpu(to, ICR_FIXED | VEC_PING))
				__atomic_add_fetch(&send_errors, 1, __ATOMIC_RELAXED);
			sent++;
			__atomic_add_fetch(&sent_to[to], 1, __ATOMIC_RELAXED);
			if (!wait_eq_halt(&acked[me], sent, ACK_TIMEOUT_NS)) {
				__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
				lost_by[me]++;
				acked[me] = sent; /* keep counting from here */
				continue;
			}
			u64 dt = rdtsc_ordered() - t0;
			u64 slot = __atomic_fetch_add(&nsamples, 1, __ATOMIC_RELAXED);
			if (slot < MAX_SAMPLES)
				samples[slot] = dt;
		}
	}
}

static void reset_counts(void)
{
	for (u32 i = 0; i < MAX_CPUS; i++)
		received[i] = acked[i] = sent_to[i] = lost_by[i] = 0;
	send_errors = lost = 0;
	nsamples = 0;
	stop = false;
}

static enum exp_result run_fixed(struct exp_ctx *ctx)
{
	collect_online();
	reset_counts();
	rounds = (u32)ctx->iterations;
	budget_end = ctx->start_tsc + ctx->budget_tsc;
	cpu_barrier_init(&bar, n_online);
	trap_set_handler(VEC_PING, on_ping);
	trap_set_handler(VEC_PONG, on_pong);
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, fixed_worker, NULL, true);
	trap_set_handler(VEC_PING, NULL);
	trap_set_handler(VEC_PONG, NULL);

	/* every ping was taken exactly once: receivers saw as many as senders got acks for */
	u64 total = 0, acks = 0, done = nsamples;
	for (u32 k = 0; k < n_online; k++) {
		total += received[online[k]];
		acks += acked[online[k]];
	}
	diag("cpus=%u rounds_requested=%u ipis_sent=%lu ipis_received=%lu lost=%u send_errors=%u",
	     n_online, rounds, acks, total, lost, send_errors);
	report_rate(ctx, done, done);
	diag_latency("roundtrip", summarize(samples, MIN(done, (u64)MAX_SAMPLES)));
	/* one subtest per CPU: it received exactly the pings sent to it, and its own were answered */
	struct ktap_sub sub;
	ktap_sub_begin(&sub, n_online);
	for (u32 k = 0; k < n_online; k++) {
		u32 c = online[k];
		ktap_sub_diag(&sub, "sent_to=%lu received=%lu lost_by_sender=%lu", sent_to[c],
			      received[c], lost_by[c]);
		bool good = sent_to[c] && received[c] == sent_to[c] && !lost_by[c];
		ktap_sub_result(&sub, good ? EXP_PASS : EXP_FAIL,
				!sent_to[c] ? "no IPI was sent to it"
				: received[c] != sent_to[c] ? "received a different number than were sent to it"
							    : "its own IPIs were not all answered",
				"cpu%u", c);
	}
	ktap_sub_end(&sub);
	if (lost || send_errors)
		return exp_fail(ctx, "%u IPIs lost, %u send errors", lost, send_errors);
	if (total != acks)
		return exp_fail(ctx, "%lu IPIs received but %lu acknowledged", total, acks);
	if (done == 0)
		return exp_fail(ctx, "no IPI round trip completed");
	return EXP_PASS;
}

EXPERIMENT(exp_ipi_fixed) = {
	.order = EXP_ORDER(FAMILY_CORE, 20),
	.name = "ipi_fixed",
	.description = "every CPU sends fixed IPIs to every other CPU: delivered exactly once, round-trip latency",
	.min_cpus = 2,
	.default_iterations = 20,
	.budget_ms = 10000,
	.run = run_fixed,
};

/* ---- NMI IPIs ---- */
static volatile u64 nmi_seen[MAX_CPUS], nmi_off_stack[MAX_CPUS], nmi_sent_to[MAX_CPUS];
static volatile u32 nmi_reply_to[MAX_CPUS]; /* who to wake after handling an NMI */

static bool on_nmi(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	if (c->sample_request)
		return false; /* the watchdog's sampling NMI */
	u64 sp = read_rsp();
	u64 top = c->ist_top[IST_NMI];
	if (!(sp < top && sp >= top - IST_STACK_SIZE))
		nmi_off_stack[c->index]++;
	(void)f;
	nmi_seen[c->index]++;
	if (nmi_reply_to[c->index] != c->index)
		wake_cpu(nmi_reply_to[c->index]);
	return true;
}

static void nmi_ring_worker(void *arg)
{
	u32 times = (u32)(u64)arg;
	u32 me = this_cpu_index();
	u32 to = online[(pos_of[me] + 1) % n_online];
	for (u32 i = 0; i < times; i++) {
		cpu_barrier_wait_halt(&bar);
		u64 want = nmi_seen[to] + 1;
		nmi_reply_to[to] = me;
		__atomic_add_fetch(&nmi_sent_to[to], 1, __ATOMIC_RELAXED);
		ipi_send_cpu(to, ICR_NMI);
		if (!wait_eq_halt(&nmi_seen[to], want, ACK_TIMEOUT_NS))
			__atomic_add_fetch(&lost, 1, __ATOMIC_RELAXED);
		cpu_barrier_wait_halt(&bar);
	}
}

static enum exp_result run_nmi(struct exp_ctx *ctx)
{
	collect_online();
	lost = 0;
	for (u32 i = 0; i < MAX_CPUS; i++)
		nmi_seen[i] = nmi_off_stack[i] = nmi_sent_to[i] = 0;
	trap_set_handler(VEC_NMI, on_nmi);
	u64 sent = 0;
	/* the boot CPU sends to every CPU, itself included */
	for (u64 it = 0; it < ctx->iterations && !exp_budget_spent(ctx); it++) {
		for (u32 k = 0; k < n_online; k++) {
			u32 c = online[k];
			u64 want = nmi_seen[c] + 1;
			nmi_reply_to[c] = this_cpu_index();
			nmi_sent_to[c]++;
			ipi_send_cpu(c, ICR_NMI);
			sent++;
			if (!wait_eq_halt(&nmi_seen[c], want, ACK_TIMEOUT_NS))
				lost++;
		}
	}
	/* then every CPU sends to its successor at the same time */
	u64 ring = 0;
	if (n_online > 1) {
		ring = MIN(ctx->iterations, 10u);
		cpu_barrier_init(&bar, n_online);
		struct cpumask all;
		cpumask_online(&all);
		smp_call(&all, nmi_ring_worker, (void *)ring, true);
		sent += ring * n_online;
	}
	trap_set_handler(VEC_NMI, NULL);
	u64 seen = 0, off = 0;
	for (u32 k = 0; k < n_online; k++) {
		seen += nmi_seen[online[k]];
		off += nmi_off_stack[online[k]];
	}
	diag("nmis_sent=%lu nmis_handled=%lu lost=%u off_ist_stack=%lu", sent, seen, lost, off);
	/* one subtest per CPU: it handled exactly the NMIs sent to it, each on its NMI IST stack */
	struct ktap_sub sub;
	ktap_sub_begin(&sub, n_online);
	for (u32 k = 0; k < n_online; k++) {
		u32 c = online[k];
		ktap_sub_diag(&sub, "sent_to=%lu handled=%lu off_ist_stack=%lu", nmi_sent_to[c], nmi_seen[c],
			      nmi_off_stack[c]);
		const char *why = !nmi_sent_to[c]		  ? "no NMI was sent to it"
				  : nmi_seen[c] != nmi_sent_to[c] ? "handled a different number than were sent to it"
				  : nmi_off_stack[c]		  ? "an NMI ran off the NMI IST stack"
								  : NULL;
		ktap_sub_result(&sub, why ? EXP_FAIL : EXP_PASS, why, "cpu%u", c);
	}
	ktap_sub_end(&sub);
	if (off)
		return exp_fail(ctx, "%lu NMIs ran off the NMI IST stack", off);
	if (lost || seen != sent)
		return exp_fail(ctx, "%lu NMIs sent, %lu handled", sent, seen);
	return EXP_PASS;
}

EXPERIMENT(exp_ipi_nmi) = {
	.order = EXP_ORDER(FAMILY_CORE, 30),
	.name = "ipi_nmi",
	.description = "NMI IPIs to each CPU (itself included) are handled on the NMI IST stack",
	.min_cpus = 1,
	.default_iterations = 20,
	.budget_ms = 5000,
	.run = run_nmi,
};

/* ---- all-but-self broadcast ---- */
#define BCAST_SPIN_NS 50000ull /* the sender spins this long before it waits halted */
static volatile u64 bcast_seen[MAX_CPUS];
static u64 bcast_expect[MAX_CPUS]; /* deliveries each CPU should have seen so far */
static volatile u32 bcast_from;
static volatile u64 bcast_pending; /* receivers of the current send yet to take it */
static u64 bcast_samples[MAX_SAMPLES];
static u64 nbcast_samples;
u64 ipi_broadcast_median_ns; /* this boot's round-trip median, for poke's sync_vs_broadcast */

/* Receivers count; the last one of a send wakes the sender (it may be halted). */
static bool on_bcast(struct trap_frame *f)
{
	(void)f;
	bcast_seen[this_cpu_index()]++;
	apic_eoi();
	if (__atomic_sub_fetch(&bcast_pending, 1, __ATOMIC_ACQ_REL) == 0)
		wake_cpu(bcast_from);
	return true;
}

/*
 * Runs on the sender: broadcast, then wait until every other CPU has taken it. The time from
 * the send to the last receiver's handler is the all-CPU round trip.
 */
static void bcast_sender(void *arg)
{
	(void)arg;
	u32 me = this_cpu_index();
	bcast_from = me;
	__atomic_store_n(&bcast_pending, n_online - 1, __ATOMIC_RELEASE);
	u64 t0 = rdtsc_ordered();
	if (!apic_send_ipi(0, ICR_FIXED | ICR_DEST_OTHERS | VEC_BCAST))
		send_errors++;
	bool all = wait_eq_spin_halt(&bcast_pending, 0, BCAST_SPIN_NS, ACK_TIMEOUT_NS);
	u64 dt = rdtsc_ordered() - t0;
	if (all && nbcast_samples < MAX_SAMPLES)
		bcast_samples[nbcast_samples++] = dt;
	for (u32 k = 0; k < n_online; k++) {
		u32 c = online[k];
		if (c != me && !wait_eq_halt(&bcast_seen[c], bcast_expect[c], ACK_TIMEOUT_NS)) {
			lost++;
			bcast_seen[c] = bcast_expect[c];
		}
	}
}

static enum exp_result run_bcast(struct exp_ctx *ctx)
{
	collect_online();
	lost = send_errors = 0;
	nbcast_samples = 0;
	for (u32 i = 0; i < MAX_CPUS; i++)
		bcast_seen[i] = bcast_expect[i] = 0;
	trap_set_handler(VEC_BCAST, on_bcast);
	u64 sends = 0;
	for (u64 it = 0; it < ctx->iterations && !exp_budget_spent(ctx); it++) {
		for (u32 k = 0; k < n_online; k++) {
			u32 sender = online[k];
			for (u32 j = 0; j < n_online; j++)
				if (j != k)
					bcast_expect[online[j]]++;
			smp_call_one(sender, bcast_sender, NULL, true);
			sends++;
		}
	}
	trap_set_handler(VEC_BCAST, NULL);
	u64 total = 0;
	for (u32 k = 0; k < n_online; k++)
		total += bcast_seen[online[k]];
	diag("broadcasts=%lu deliveries=%lu expected=%lu lost=%u send_errors=%u", sends, total,
	     sends * (n_online - 1), lost, send_errors);
	report_rate(ctx, sends, nbcast_samples);
	struct summary rt = summarize(bcast_samples, nbcast_samples);
	ipi_broadcast_median_ns = tsc_to_ns(rt.median);
	diag_latency("broadcast_roundtrip", rt);
	if (lost || send_errors || total != sends * (n_online - 1))
		return exp_fail(ctx, "%lu deliveries, expected %lu", total, sends * (n_online - 1));
	return EXP_PASS;
}

EXPERIMENT(exp_ipi_broadcast) = {
	.order = EXP_ORDER(FAMILY_CORE, 40),
	.name = "ipi_broadcast",
	.description = "the all-but-self shorthand reaches every other CPU once per send",
	.min_cpus = 2,
	.default_iterations = 20,
	.budget_ms = 5000,
	.run = run_bcast,
};
