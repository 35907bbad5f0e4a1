/*
 * The race engine's schedule: which ordered pairs run in which round, the retries appended
 * after it for the pairs left without a hit, each round's length out of what is left of the
 * budget, and the rounds run from the boot CPU, each pair's results booked after its round.
 */
#include "tests/common/race_internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"

#define RETRY_SHARE 4  /* the retries may run for a quarter of the budget */
#define RETRY_PASSES 2 /* turns a pair without a hit may retry */
#define STARVED_PASSES 4 /* turns more for a pair that never fired, within a budget more */

/* Adds a round to the schedule and returns it (empty). */
static struct race_round *new_round(struct race_schedule *sched)
{
	struct race_round *round = &sched->rounds[sched->nrounds++];
	round->npairs = 0;
	return round;
}

/*
 * Ordered pairs in rounds: a round-robin tournament (circle method) gives ncpus-1 matchings of
 * unordered pairs (ncpus even; one idle CPU per matching when it is odd); each matching runs
 * once per direction, in rounds of at most `parallel` pairs at a time.
 */
void race_schedule_build(struct race_engine *e, u32 parallel)
{
	struct race_schedule *sched = &e->sched;
	u32 ncpus = e->cpus.count, seats = ncpus + (ncpus & 1);
	sched->nrounds = 0;
	for (u32 matching = 0; matching + 1 < seats; matching++) {
		u32 seat[RACE_MAX_CPUS + 1];
		seat[0] = seats - 1;
		for (u32 i = 1; i < seats; i++)
			seat[i] = (i - 1 + matching) % (seats - 1);
		for (u32 dir = 0; dir < 2; dir++) {
			struct race_round *round = NULL;
			for (u32 i = 0; i < seats / 2; i++) {
				u32 a = seat[i], b = seat[seats - 1 - i];
				if (a >= ncpus || b >= ncpus)
					continue;
				if (!round || round->npairs == parallel)
					round = new_round(sched);
				round->sender[round->npairs] = (u8)(dir ? b : a);
				round->victim[round->npairs] = (u8)(dir ? a : b);
				round->npairs++;
			}
		}
	}
	sched->scheduled = sched->nrounds;
	sched->pairs_retried = sched->retry_passes = 0;
	sched->starved_passes = sched->pairs_starved = 0;
	sched->pass_end = sched->scheduled;
}

/*
 * Pairs run at once: all of them on bare metal; one under a hypervisor, whose vCPUs may share
 * host cores (a pair whose sender or victim is descheduled races nothing).
 */
u32 race_parallel_pairs(const struct race *r)
{
	if (r->max_parallel)
		return r->max_parallel;
	return cpu_under_hypervisor() ? 1 : RACE_MAX_CPUS / 2;
}

static bool is_retry(const struct race_engine *e, u32 round) { return round >= e->sched.scheduled; }

/*
 * Where the budget ends for a round; for the retries, a quarter of the budget after they began
 * (the schedule may have overrun the budget: every pair gets RACE_MIN_PAIR_NS and its start).
 */
u64 race_budget_end(const struct race_engine *e, u32 round)
{
	return is_retry(e, round) ? e->sched.retry_end_tsc : e->ctx->start_tsc + e->ctx->budget_tsc;
}

/*
 * After the schedule, every pair that saw no hit (its vCPUs descheduled through its turn, or
 * the budget spent by the pairs before it) takes one more turn, alone in its round; those
 * still without one after that turn, another (RETRY_PASSES in all).
 */
static void add_retries(struct race_engine *e)
{
	struct race_schedule *sched = &e->sched;
	for (u32 s = 0; s < e->cpus.count; s++)
		for (u32 v = 0; v < e->cpus.count; v++) {
			const struct race_pair_stat *p = &e->pair[s][v];
			if (s == v || race_all_modes(p->hits) || sched->nrounds == RACE_MAX_ROUNDS)
				continue;
			sched->rounds[sched->nrounds++] = (struct race_round){
				.npairs = 1, .sender = { (u8)s }, .victim = { (u8)v }
			};
		}
}

/*
 * After the retries, a pair that has not fired a single event in all its turns was starved
 * by the host, not unlucky: its sender and victim never ran at once (uefi-q35-smp8 beside a
 * host busy loop: 50 of 56 pairs of movss_shadow_irq, which then failed its positive control
 * with its window unreached). Such pairs take up to STARVED_PASSES more turns, within one
 * more budget. A pair that fired, hit or not, never does, so this costs nothing unless the
 * host starves the run. Returns the rounds added.
 */
static u32 add_starved(struct race_engine *e)
{
	struct race_schedule *sched = &e->sched;
	u32 added = 0;
	for (u32 s = 0; s < e->cpus.count; s++)
		for (u32 v = 0; v < e->cpus.count; v++) {
			struct race_pair_stat *p = &e->pair[s][v];
			if (s == v || race_all_modes(p->trials) ||
			    sched->nrounds == RACE_MAX_ROUNDS)
				continue;
			sched->pairs_starved += !p->starved;
			p->starved = true;
			sched->rounds[sched->nrounds++] = (struct race_round){
				.npairs = 1, .sender = { (u8)s }, .victim = { (u8)v }
			};
			added++;
		}
	return added;
}

/* Begins the next pass when the current one has ended: the retries, then the starved. */
static void next_pass(struct race_engine *e)
{
	struct race_schedule *sched = &e->sched;
	if (sched->retry_passes < RETRY_PASSES) {
		if (!sched->retry_passes)
			sched->retry_end_tsc = rdtsc() + e->ctx->budget_tsc / RETRY_SHARE;
		sched->retry_passes++;
		add_retries(e);
	} else if (sched->starved_passes < STARVED_PASSES && add_starved(e)) {
		if (!sched->starved_passes)
			sched->retry_end_tsc = rdtsc() + e->ctx->budget_tsc;
		sched->starved_passes++;
	}
	sched->pass_end = sched->nrounds;
}

/* The boot CPU plans the next round: what is left of the budget, shared by the rounds left. */
static void plan_next(struct race_engine *e)
{
	struct race_schedule *sched = &e->sched;
	struct race_round_plan *plan = &e->plan;
	bool retry;
	u64 left;
	for (;;) {
		if (plan->round == sched->pass_end)
			next_pass(e);
		if (plan->round >= sched->nrounds) {
			plan->done = true;
			return;
		}
		retry = is_retry(e, plan->round);
		u64 now = rdtsc(), end = race_budget_end(e, plan->round);
		left = (s64)(end - now) > 0 ? end - now : 0;
		if (!retry || left)
			break;
		plan->round =
			sched->nrounds; /* this pass's time is spent: its rounds left stay unrun */
	}
	plan->pair_tsc = MAX(left / (sched->nrounds - plan->round), ns_to_tsc(RACE_MIN_PAIR_NS));
	if (retry) /* a retry needs a turn, not the rest of the budget */
		plan->pair_tsc = MIN(plan->pair_tsc, ns_to_tsc(3 * RACE_MIN_PAIR_NS));
	plan->trial_cap = MAX(e->ctx->iterations / (2 * (u64)e->race->npairs), 1ull);
	for (u32 i = 0; i < e->cpus.count; i++) {
		struct race_mailbox *mb = &e->mailbox[i];
		mb->seq = mb->done_seq = mb->hits = 0;
		mb->stop = mb->shape = 0;
		mb->first_hit_tsc = 0;
	}
}

/* Books what each sender of the round measured to its pair and to the race's totals. */
static void account(struct race_engine *e)
{
	const struct race_round *round = &e->sched.rounds[e->plan.round];
	struct race *r = e->race;
	u64 mode_tsc[RACE_MODES] = { 0 };
	for (u32 i = 0; i < round->npairs; i++) {
		u32 s = round->sender[i], v = round->victim[i];
		const struct race_sender_result *res = &e->result[s];
		struct race_pair_stat *p = &e->pair[s][v];
		for (u32 m = 0; m < RACE_MODES; m++) {
			p->trials[m] += res->sent[m];
			p->hits[m] += res->hits[m];
			r->trials[m] += res->sent[m];
			r->hits[m] += res->hits[m];
			mode_tsc[m] = MAX(mode_tsc[m], res->tsc[m]);
		}
		r->unacked += res->unacked;
		if (is_retry(e, e->plan.round)) {
			e->sched.pairs_retried += !p->retried;
			p->retried++;
		}
		/* time to the first hit: the pair's earlier turns without one, then this one's */
		if (!p->first_hit_tsc && res->first_hit_tsc)
			p->first_hit_tsc = p->turns_tsc + res->first_hit_tsc;
		else if (!p->first_hit_tsc)
			p->turns_tsc += res->turn_tsc;
		p->period_tsc = res->period_tsc;
		p->delay_tsc = res->delay_tsc;
		p->shape = res->shape;
	}
	for (u32 m = 0; m < RACE_MODES; m++)
		r->tsc[m] += mode_tsc[m];
}

/*
 * The rounds, run from the boot CPU: each is an smp_call to the round's CPUs only (the others
 * stay halted in their idle loop: a barrier waking every CPU each round put 6 idle vCPUs of 8
 * in the host's run queue beside the pair), and the boot CPU waits halted unless it plays.
 */
void race_run_rounds(struct race_engine *e)
{
	for (;;) {
		plan_next(e);
		if (e->plan.done)
			return;
		const struct race_round *round = &e->sched.rounds[e->plan.round];
		struct cpumask players;
		cpumask_clear(&players);
		for (u32 i = 0; i < round->npairs; i++) {
			cpumask_set(&players, e->cpus.cpu[round->sender[i]]);
			cpumask_set(&players, e->cpus.cpu[round->victim[i]]);
		}
		smp_call(&players, race_play_round, e, false);
		smp_wait_halt(&players);
		account(e);
		e->plan.round++;
	}
}
