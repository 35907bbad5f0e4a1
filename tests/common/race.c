/*
 * The race engine's entry points (see race.h; its parts are listed in race_internal.h): the
 * victim's publications and event acknowledgements, the budget for every pair, and race_run,
 * which numbers the CPUs, builds the schedule, runs its rounds and reports.
 */
#include "tests/common/race_internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "lib/printf.h"

/* The one race running (race_run is not reentrant: experiments run one at a time). */
static struct race_engine engine;

static struct race_mailbox *my_mailbox(void)
{
	u32 pos = engine.cpus.position[this_cpu_index()];
	return pos < engine.cpus.count ? &engine.mailbox[pos] : NULL;
}

void race_publish(void)
{
	struct race_mailbox *mb = my_mailbox();
	if (!mb)
		return;
	mb->pub_tsc = rdtsc();
	__atomic_store_n(&mb->seq, mb->seq + 1, __ATOMIC_RELEASE);
}

void race_event_seen(void)
{
	struct race_mailbox *mb = my_mailbox();
	if (mb)
		__atomic_store_n(&mb->events, mb->events + 1, __ATOMIC_RELEASE);
}

void race_budget_for_pairs(struct exp_ctx *ctx, u32 per_pair_ms)
{
	u64 ncpus = MIN(ctx->ncpus, (u32)RACE_MAX_CPUS), pairs = ncpus * (ncpus - 1);
	u64 need = ns_to_tsc(pairs * per_pair_ms * 1000000ull);
	if (need <= ctx->budget_tsc)
		return;
	ctx->budget_tsc = need;
	diag("budget_raised_ms=%lu pairs=%lu per_pair_ms=%u", pairs * per_pair_ms, pairs,
	     per_pair_ms);
}

/* Positions for the first RACE_MAX_CPUS online CPUs. */
static void number_cpus(struct race_cpus *racing)
{
	racing->count = 0;
	for (u32 i = 0; i < MAX_CPUS; i++)
		racing->position[i] = RACE_NO_POSITION;
	for_each_online_cpu(i) {
		if (racing->count < RACE_MAX_CPUS) {
			racing->position[i] = (u8)racing->count;
			racing->cpu[racing->count++] = i;
		}
	}
}

/* Zeroes the race's results and everything the engine measured. */
static void reset_results(struct race_engine *e, struct race *r)
{
	u32 ncpus = e->cpus.count;
	for (u32 m = 0; m < RACE_MODES; m++) {
		r->trials[m] = r->hits[m] = r->tsc[m] = 0;
		hist_reset(&e->ack_hist[m]);
	}
	r->unacked = 0;
	r->npairs = ncpus * (ncpus - 1);
	for (u32 s = 0; s < ncpus; s++)
		for (u32 v = 0; v < ncpus; v++)
			e->pair[s][v] = (struct race_pair_stat){ 0 };
	race_shapes_reset(&e->shapes);
	if (r->nshapes == 0)
		r->nshapes = 1;
	r->best_shape = 0;
}

bool race_run(struct race *r, const struct exp_ctx *ctx)
{
	struct race_engine *e = &engine;
	number_cpus(&e->cpus);
	u32 ncpus = e->cpus.count;
	if (ncpus < 2)
		return false;
	if (ncpus < cpus_online())
		diag("race_cpus=%u of %u online (the first %u)", ncpus, cpus_online(), ncpus);
	e->race = r;
	e->ctx = ctx;
	reset_results(e, r);
	e->plan = (struct race_round_plan){ .done = false, .round = 0 };
	u32 parallel = race_parallel_pairs(r);
	race_schedule_build(e, parallel);
	diag("race_schedule rounds=%u parallel_pairs=%u", e->sched.nrounds,
	     MIN(parallel, ncpus / 2));
	race_run_rounds(e);
	race_report(e);
	return true;
}
