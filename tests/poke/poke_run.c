/*
 * A poke run (struct poke_run, poke.h), the load most poke_* experiments share: the calling
 * CPU patches the sites (flipping each between call A and call B, or NOP and jmp A) as fast
 * as it can until the patch count or the deadline; every other online CPU calls through the
 * sites in a tight loop (in bursts, see rest()) and classifies each call, except one CPU that
 * may be the run's event sender instead (e.g. firing NMIs at the patcher).
 */
#include "tests/poke/poke.h"
#include "kernel/outcome.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/printf.h"
#include "kernel/stats.h"

/* Per executor: calls done, and whether it is inside one now (a line each). */
static struct {
	volatile u64 n, inflight;
	u8 pad[48];
} exec_calls[MAX_CPUS];
static u32 patcher_cpu;

u64 poke_exec_calls(u32 cpu) { return cpu < MAX_CPUS ? exec_calls[cpu].n : 0; }

static bool calls_in_flight(void)
{
	for_each_online_cpu(i)
		if (exec_calls[i].inflight)
			return true;
	return false;
}

static u64 calls_now(void)
{
	u64 n = 0;
	for_each_online_cpu(i)
		n += exec_calls[i].n;
	return n;
}

void poke_run_init(struct poke_run *r, const struct exp_ctx *ctx, u64 budget_share_permille)
{
	*r = (struct poke_run){ .mode = POKE_MODE_DESC,
				.writer = WR_PROTOCOL,
				.nsites = 1,
				.per_batch = 1,
				.patcher_cpu = ~0u,
				.sender_cpu = ~0u,
				.seed = ctx->seed,
				.burst_ns = 20000,
				.rest_ns = 70000 };
	r->sites[0] = poke_call_sites[0];
	r->max_patches = ctx->iterations;
	r->end_tsc = rdtsc() + ctx->budget_tsc * budget_share_permille / 1000;
}

static bool write_unsafe(struct poke_run *r, const struct poke_op *op)
{
	if (r->writer == WR_BYTEWISE)
		return poke_unsafe_bytewise(op->addr, op->insn);
	return poke_unsafe_store_rel32(op->addr, op->insn);
}

/* Flips sites [first, first + k) and writes them with the run's writer. */
static bool write_group(struct poke_run *r, u32 first, u32 k, u8 *state)
{
	static struct poke_op ops[POKE_RUN_MAX_SITES]; /* one patcher at a time */
	bool ok = true;
	for (u32 i = 0; i < k; i++) {
		u32 s = first + i;
		state[s] ^= 1;
		enum poke_kind kind = !r->jmp_nop ? POKE_CALL : state[s] ? POKE_JMP : POKE_NOP;
		u64 target = !r->jmp_nop && state[s] ? POKE_TGT_B : POKE_TGT_A;
		ops[i].addr = r->sites[s];
		ok &= poke_gen(kind, r->sites[s], target, ops[i].insn);
	}
	if (!ok)
		return false;
	if (r->writer == WR_PROTOCOL)
		return poke_batch(ops, k);
	for (u32 i = 0; i < k; i++)
		ok &= write_unsafe(r, &ops[i]);
	return ok;
}

static u64 emulations_now(void)
{
	u64 n = 0;
	for_each_online_cpu(i)
		n += poke_cpu_emulations(i);
	return n;
}

static void pause(struct poke_run *r, u64 *rng)
{
	if (!r->pause_cycles)
		return;
	u64 end = rdtsc() + rng_next(rng) % r->pause_cycles;
	while (tsc_before(end))
		cpu_relax();
}

/* One write group (k sites from first) with its accounting; returns its TSC, round trips out. */
static u64 patch_group(struct poke_run *r, u32 first, u32 k, u8 *state)
{
	u64 t0 = rdtsc(), probes = r->bcast_tsc;
	u64 before = calls_now(), emul = emulations_now();
	bool racing = calls_in_flight();
	r->write_errors += !write_group(r, first, k, state);
	racing |= calls_in_flight() || calls_now() != before;
	r->overlapped += racing;
	r->emulated_writes += emulations_now() != emul;
	r->writes++;
	r->patches += k;
	return rdtsc() - t0 - (r->bcast_tsc - probes);
}

/*
 * singles_per_round: after each whole pass of batches, that many one-site pokes of the next
 * sites in turn; the round's TSC per site patched of each side (round_tsc[0]: the batches,
 * [1]: the single pokes), so both meet the same load.
 */
static void round_singles(struct poke_run *r, u8 *state, u64 pass_tsc)
{
	if (tsc_past(r->end_tsc) || r->nrounds >= r->max_rounds)
		return;
	u32 k = MIN(r->singles_per_round, r->nsites);
	u64 single_tsc = 0;
	for (u32 j = 0; j < k; j++)
		single_tsc += patch_group(r, r->next_single++ % r->nsites, 1, state);
	r->round_tsc[0][r->nrounds] = pass_tsc / r->nsites;
	r->round_tsc[1][r->nrounds] = single_tsc / k;
	r->nrounds++;
}

static void patcher(struct poke_run *r)
{
	u8 state[POKE_RUN_MAX_SITES] = { 0 };
	u64 rng = rng_seed(r->seed, 7), t0 = rdtsc();
	while (r->patches < r->max_patches && tsc_before(r->end_tsc)) {
		u64 pass_tsc = 0;
		u32 i;
		for (i = 0; i < r->nsites; i += r->per_batch) {
			/* one site at a time over many sites: stop mid-pass at the deadline */
			if (i && tsc_past(r->end_tsc))
				break;
			pass_tsc += patch_group(r, i, MIN(r->per_batch, r->nsites - i), state);
		}
		if (r->singles_per_round && i >= r->nsites)
			round_singles(r, state, pass_tsc);
		pause(r, &rng);
	}
	r->patch_tsc = rdtsc() - t0 - r->bcast_tsc;
	__atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
}

/*
 * Under an emulator with fewer host cores than vCPUs, executors that never stop keep the
 * patcher's sync IPIs waiting for host time slices (TCG, 8 vCPUs on 2 cores: 10-70 ms per
 * sync), so each burst of calls is followed by a halt. A sync IPI that wakes a resting
 * executor is acked in its handler and the executor halts again, unless an int3 is live
 * (the deploy and tail steps): then it goes back to calling, to race the int3. An executor
 * that ran a burst after every sync IPI kept a host core from the CPUs still to ack (TCG,
 * smp 8: 210-330 us from the IPI to the last ack, against 35-80 us with the CPUs idle).
 * The rest grows with the number of executors (rest_ns each), so that they leave the host
 * time to the patcher and to the CPUs being synced. Runs with no syncs (rest_ns = 0) never
 * halt.
 */
static bool int3_live(void)
{
	enum poke_phase ph = poke_phase_now();
	return ph == POKE_PH_INT3 || ph == POKE_PH_TAIL;
}

static void rest(u64 ns)
{
	if (!ns || !timeinfo.apic_hz)
		return;
	u64 end = tsc_deadline_ns(ns);
	irq_disable();
	apic_timer_oneshot(VEC_CALL, muldiv64(ns, timeinfo.apic_hz, 1000000000u) + 1);
	do {
		safe_halt();
		irq_disable();
	} while (tsc_before(end) && !int3_live());
	apic_timer_stop();
	irq_enable();
}

/* Keeps the first broken call for the report. */
static void note_bad(struct poke_run *r, const struct poke_exec *e, enum poke_out o, u64 site)
{
	u64 zero = 0;
	if (!__atomic_compare_exchange_n(&r->bad_taken, &zero, 1, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_RELAXED))
		return;
	r->bad = *e;
	r->bad_site = site;
	r->bad_out = o;
}

static void executor(struct poke_run *r)
{
	u32 me = this_cpu_index();
	u64 rng = rng_seed(r->seed, me + 1), cnt[PO_N] = { 0 }, flips = 0, k = me;
	u64 burst = ns_to_tsc(r->burst_ns), burst_end = rdtsc() + burst;
	u8 last[POKE_RUN_MAX_SITES];
	for (u32 i = 0; i < POKE_RUN_MAX_SITES; i++)
		last[i] = PO_N;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (r->rest_ns && tsc_past(burst_end)) {
			rest(r->rest_ns * r->executors);
			burst_end = rdtsc() + burst;
		}
		u32 s = (u32)(k++ % r->nsites);
		struct poke_exec e;
		e.canary = rng_next(&rng);
		exec_calls[me].inflight = 1;
		bool returned = poke_exec_run(&e, r->sites[s]);
		exec_calls[me].inflight = 0;
		enum poke_out o = poke_classify(&e, r->sites[s], returned, r->jmp_nop);
		cnt[o]++;
		if (o >= PO_BAD_FRAME && o != PO_STALE_BP)
			note_bad(r, &e, o, r->sites[s]);
		flips += last[s] != PO_N && last[s] != o;
		last[s] = (u8)o;
		exec_calls[me].n++;
	}
	for (u32 o = 0; o < PO_N; o++)
		__atomic_add_fetch(&r->outcome[o], cnt[o], __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->live_flips, flips, __ATOMIC_RELAXED);
}

static void worker(void *arg)
{
	struct poke_run *r = arg;
	u32 me = this_cpu_index();
	if (me == patcher_cpu)
		patcher(r);
	else if (me == r->sender_cpu)
		r->sender(r);
	else
		executor(r);
}

/*
 * bcast_probe: the run's step hook, then one broadcast round trip just before the first,
 * second or third sync of each poke in turn, so the round trips meet the executors in the
 * states the syncs meet them in. (A diagnostic split by position, TCG smp 8: the round trip
 * and the sync medians within 2% at each of the three; the syncs right after a round trip
 * and the others within 1%.)
 */
static struct poke_run *hooked;
static u32 hook_pokes;

static void probe_hook(enum poke_phase ph)
{
	if (hooked->step_hook)
		hooked->step_hook(ph);
	hook_pokes += ph == POKE_PH_INT3;
	if (ph >= POKE_PH_INT3 && ph <= POKE_PH_FIRST && ph - POKE_PH_INT3 == hook_pokes % 3)
		poke_bcast_probe(hooked);
}

bool poke_run_exec(struct poke_run *r)
{
	if (r->nsites > POKE_RUN_MAX_SITES || !poke_fixture_init() ||
	    !poke_sites_reset(r->sites, r->nsites, r->jmp_nop))
		return false;
	struct poke_cfg cfg = { .mode = r->mode,
				.flags = r->flags,
				.sync_samples = r->samples,
				.ack_samples = r->ack_samples,
				.wake_samples = r->wake_samples,
				.max_samples = POKE_MAX_SAMPLES,
				.step_hook = r->bcast_probe ? probe_hook : r->step_hook };
	hooked = r;
	hook_pokes = 0;
	patcher_cpu = this_cpu_index();
	for_each_online_cpu(i)
		if (i == r->patcher_cpu)
			patcher_cpu = i;
	r->stop = 0;
	r->executors = 0;
	for_each_online_cpu(i)
		r->executors += i != patcher_cpu && i != r->sender_cpu;
	r->bad_taken = 0;
	poke_start(&cfg);
	poke_set_patcher(patcher_cpu);
	poke_traps_install();
	if (r->bcast_probe)
		poke_bcast_install();
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, r, true);
	poke_traps_remove();
	poke_stop();
	poke_stats_read(&r->st);
	r->calls = 0;
	for (u32 o = 0; o < PO_N; o++)
		r->calls += r->outcome[o];
	return true;
}

static const char *const out_names[PO_N] = {
	"target_a",
	"target_b",
	"nop",
	"jmp",
	"bad_frame",
	"bad_target",
	"torn_target",
	"poisoned_descriptor",
	"stale_int3_after_sync",
	"unexpected_bp",
	"ud",
	"gp",
	"pf_other",
};

u64 poke_bad_outcomes(const struct poke_run *r)
{
	u64 n = 0;
	for (u32 o = PO_BAD_FRAME; o < PO_N; o++)
		n += o == PO_STALE_BP ? 0 : r->outcome[o];
	return n;
}

static u64 per_s(u64 n, u64 tsc) { return muldiv64(n, 1000000000u, tsc_to_ns(tsc) + 1); }

u64 poke_store_ns_per_site(const struct poke_stats *st, enum poke_store_step s)
{
	return st->stores[s] ? tsc_to_ns(st->store_cycles[s] / st->stores[s]) : 0;
}

void poke_run_report(const struct exp_ctx *ctx, struct poke_run *r, const char *p)
{
	(void)ctx;
	for (u32 o = 0; o < PO_N; o++) {
		bool shown = r->jmp_nop ? o != PO_A && o != PO_B : o != PO_NOP && o != PO_JMP;
		if (shown)
			diag("outcome %s%s=%lu", p, out_names[o], r->outcome[o]);
	}
	u64 emul = r->st.emul_call + r->st.emul_jmp + r->st.emul_nop;
	u64 per100 = r->patches ? emul * 100 / r->patches : 0;
	diag("%spatches=%lu writes=%lu calls=%lu patch_ms=%lu patches_per_s=%lu calls_per_s=%lu", p,
	     r->patches, r->writes, r->calls, tsc_to_ns(r->patch_tsc) / 1000000u,
	     per_s(r->patches, r->patch_tsc), per_s(r->calls, r->patch_tsc));
	diag("%sbp_emulations=%lu emulations_per_patch=%lu.%02lu emul_cycles_mean=%lu bp_foreign=%lu "
	     "bp_stale_int3_after_sync=%lu bp_emulated_int3_gone=%lu",
	     p, emul, per100 / 100, per100 % 100, emul ? r->st.emul_cycles / emul : 0,
	     r->st.bp_foreign, r->st.bp_stale_int3_after_sync, r->st.bp_emulated_int3_gone);
	diag("%swrites_racing_calls=%lu writes_with_emulation=%lu live_flips_seen=%lu syncs=%lu "
	     "sync_timeouts=%lu write_errors=%lu",
	     p, r->overlapped, r->emulated_writes, r->live_flips, r->st.syncs, r->st.sync_timeouts,
	     r->write_errors);
	if (r->st.stores[PS_INT3]) /* none when the run's writer is not the protocol */
		diag("%sstore_ns_per_site int3=%lu tail=%lu first=%lu", p,
		     poke_store_ns_per_site(&r->st, PS_INT3),
		     poke_store_ns_per_site(&r->st, PS_TAIL),
		     poke_store_ns_per_site(&r->st, PS_FIRST));
	if (r->bad_taken)
		diag("%sfirst_broken=%s site=0x%lx vector=%ld rip=0x%lx cr2=0x%lx landed=0x%lx hits=%lu "
		     "tgt_rsp_off=%ld w0=0x%lx w1=0x%lx",
		     p, out_names[r->bad_out], r->bad_site, (s64)r->bad.fault_vector,
		     r->bad.fault_rip, r->bad.fault_cr2, r->bad.landed, r->bad.hits,
		     (s64)(r->bad.saved_rsp - r->bad.tgt_rsp), r->bad.w0, r->bad.w1);
	if (r->st.nsamples) {
		char name[32];
		ksnprintf(name, sizeof(name), "%ssync", p);
		u64 n = MIN(r->st.nsamples, (u64)POKE_MAX_SAMPLES);
		struct summary sum = summarize(r->samples, n);
		r->sync_median_tsc = sum.median;
		diag_latency(name, sum);
		ksnprintf(name, sizeof(name), "%ssync_last_ack", p);
		diag_latency(name, summarize(r->ack_samples, n));
		ksnprintf(name, sizeof(name), "%ssync_wakeup", p);
		diag_latency(name, summarize(r->wake_samples, n));
	}
}

const char *poke_run_broken(const struct poke_run *r)
{
	static char why[96];
	if (r->write_errors || r->st.sync_timeouts)
		ksnprintf(why, sizeof(why), "%lu writes failed, %lu syncs timed out",
			  r->write_errors, r->st.sync_timeouts);
	else if (poke_bad_outcomes(r))
		ksnprintf(why, sizeof(why), "%lu of %lu calls broken (bad frame/target or a trap)",
			  poke_bad_outcomes(r), r->calls);
	else if (r->st.syncs != 3 * r->st.batches)
		ksnprintf(why, sizeof(why), "%lu syncs for %lu batches", r->st.syncs,
			  r->st.batches);
	else if (!r->patches || (r->executors && !r->calls))
		ksnprintf(why, sizeof(why), "nothing ran: %lu patches, %lu calls", r->patches,
			  r->calls);
	else
		return NULL;
	return why;
}

enum exp_result poke_run_verdict(struct exp_ctx *ctx, const struct poke_run *r, bool need_emul)
{
	u64 emul = r->st.emul_call + r->st.emul_jmp + r->st.emul_nop;
	const char *why = poke_run_broken(r);
	if (why)
		return exp_fail(ctx, "%s", why);
	/* positive controls: writes raced live calls; with the protocol, #BPs were emulated */
	if (r->executors && !control("writes_racing_calls", r->overlapped))
		return exp_fail(ctx, "positive control: no write raced a call in flight");
	if (need_emul && !control("bp_emulations", emul))
		return exp_fail(ctx, "positive control: no #BP was emulated in %lu patches",
				r->patches);
	return EXP_PASS;
}

/*
 * The idle baseline of `# sync_vs_broadcast` (idle_sync_median_ns): pokes of a site nobody executes while every other
 * CPU is idle (halted, waiting for work), so each sync is the all-but-self IPI round trip of
 * ipi_broadcast (one IPI, each CPU's handler counts down, the last one wakes the sender, which
 * spins 50 us and then halts) on the poke's own vector and handler.
 */
#define IDLE_POKES 16
static u64 idle_samples[3 * IDLE_POKES];

u64 poke_idle_sync_median_tsc(void)
{
	u64 site = POKE_BATCH_SITE(POKE_NBATCH_SITES - 1);
	struct poke_cfg cfg = { .mode = POKE_MODE_DESC,
				.sync_samples = idle_samples,
				.max_samples = 3 * IDLE_POKES };
	u8 insn[2][POKE_INSN_LEN];
	if (!poke_fixture_init() || !poke_gen(POKE_CALL, site, POKE_TGT_A, insn[0]) ||
	    !poke_gen(POKE_CALL, site, POKE_TGT_B, insn[1]) || !poke_text_set(site, insn[0]))
		return 0;
	poke_start(&cfg);
	bool ok = true;
	for (u32 i = 0; i < IDLE_POKES; i++)
		ok &= poke_one(site, insn[(i + 1) % 2]);
	poke_stop();
	struct poke_stats st;
	poke_stats_read(&st);
	u64 n = MIN(st.nsamples, (u64)3 * IDLE_POKES);
	return ok && n ? summarize(idle_samples, n).median : 0;
}

void poke_report_sync_vs_broadcast(struct poke_run *r, u64 idle_tsc, const char *p)
{
	u64 sync_ns = tsc_to_ns(r->sync_median_tsc), idle_ns = tsc_to_ns(idle_tsc);
	u64 ratio100 = idle_ns ? sync_ns * 100 / idle_ns : 0;
	u64 n = MIN(r->nbcast, (u64)POKE_MAX_BCAST);
	u64 b = n ? tsc_to_ns(summarize(r->bcast_samples, n).median) : 0;
	u64 b100 = b ? sync_ns * 100 / b : 0;
	u64 ipi = ipi_broadcast_median_ns, ipi100 = ipi ? sync_ns * 100 / ipi : 0;
	diag("%ssync_vs_broadcast sync_median_ns=%lu broadcast_median_ns=%lu "
	     "broadcast_ratio=%lu.%02lu broadcasts=%lu broadcast_timeouts=%lu "
	     "idle_sync_median_ns=%lu ratio=%lu.%02lu ipi_broadcast_median_ns=%lu "
	     "ipi_broadcast_ratio=%lu.%02lu",
	     p, sync_ns, b, b100 / 100, b100 % 100, r->nbcast, r->bcast_timeouts, idle_ns,
	     ratio100 / 100, ratio100 % 100, ipi, ipi100 / 100, ipi100 % 100);
}
