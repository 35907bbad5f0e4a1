/*
 * One pair's turn in a round of the race engine: the victim loops around its window and
 * publishes each iteration in its mailbox; the sender waits for the victim to loop steadily,
 * lets the shape exploration pick the victim's loop shape, then alternates blind, aimed and
 * stream chunks (so a change of host load affects every mode alike), and a pair that has not hit
 * yet gets more time, aimed.
 */
#include "tests/common/race_internal.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"

/* Waits (bounded) until the victim publishes an iteration after `last`; false: it did not. */
static bool spin_seq_change(struct race_mailbox *mb, u64 last, u64 end)
{
	u32 turn = 0;
	while (READ_ONCE(mb->seq) == last)
		if (!tsc_before_polled(end, &turn))
			return false;
	return true;
}

/* Reads a consistent (seq, pub_tsc) pair. */
static u64 read_pub(struct race_mailbox *mb, u64 *tsc)
{
	for (;;) {
		u64 seq = __atomic_load_n(&mb->seq, __ATOMIC_ACQUIRE);
		*tsc = READ_ONCE(mb->pub_tsc);
		if (__atomic_load_n(&mb->seq, __ATOMIC_ACQUIRE) == seq)
			return seq;
	}
}

/* Sends one event and waits (bounded) until the victim has handled it. */
static bool fire(const struct race_chunk *c, enum race_mode mode)
{
	struct race_mailbox *mb = c->mb;
	u64 events0 = READ_ONCE(mb->events);
	u64 t0 = rdtsc_ordered();
	ipi_send_cpu_fast(c->victim_cpu, c->e->race->icr);
	u64 end = t0 + ns_to_tsc(RACE_ACK_TIMEOUT_NS);
	u32 turn = 0;
	while (__atomic_load_n(&mb->events, __ATOMIC_ACQUIRE) == events0)
		if (!tsc_before_polled(end, &turn))
			return false;
	hist_add(&c->e->ack_hist[mode], tsc_to_ns(rdtsc_ordered() - t0));
	return true;
}

/* Waits (bounded) until the iteration running now has finished: its hit is then counted. */
static void settle(struct race_mailbox *mb)
{
	u64 landed = READ_ONCE(mb->seq), end = tsc_deadline_ns(RACE_ACK_TIMEOUT_NS);
	u32 turn = 0;
	while (READ_ONCE(mb->done_seq) < landed && tsc_before_polled(end, &turn))
		;
}

/* The victim's loop period from 8 of its publications (0 when it stopped publishing). */
static u64 measure_period(struct race_mailbox *mb, u64 end)
{
	u64 first_tsc, last_tsc = 0, seq = read_pub(mb, &first_tsc);
	if (!spin_seq_change(mb, seq, end))
		return 0;
	seq = read_pub(mb, &first_tsc);
	u64 first_seq = seq;
	while (seq < first_seq + 8) {
		if (!spin_seq_change(mb, seq, end))
			return 0;
		seq = read_pub(mb, &last_tsc);
	}
	return (last_tsc - first_tsc) / (seq - first_seq);
}

/* Asks the victim for a shape and waits until an iteration has run with it. */
static bool switch_shape(struct race_mailbox *mb, u32 shape, u64 end)
{
	__atomic_store_n(&mb->shape, shape, __ATOMIC_RELEASE);
	u64 seq = READ_ONCE(mb->seq);
	return spin_seq_change(mb, seq, end) && spin_seq_change(mb, seq + 1, end);
}

bool race_use_shape(const struct race_chunk *c, u32 shape, struct race_tuner *t)
{
	if (!switch_shape(c->mb, shape, c->end_tsc))
		return false;
	if (t->ready)
		return true;
	u64 period = measure_period(c->mb, c->end_tsc);
	if (!period)
		return false;
	race_tuner_start(t, period);
	return true;
}

/* Blind and stream: as fast as possible, one event in flight, no aiming. */
static void fast_chunk(const struct race_chunk *c, enum race_mode mode)
{
	struct race_sender_result *res = c->res;
	while (tsc_before(c->end_tsc) && res->sent[mode] < c->e->plan.trial_cap) {
		res->unacked += !fire(c, mode);
		res->sent[mode]++;
	}
}

/*
 * Aimed: after a publication, wait the tuner's delay, fire, wait for the iteration to finish,
 * feed the tuner; at most max trials. Returns the hits.
 */
u64 race_aim(const struct race_chunk *c, struct race_tuner *t, u64 max)
{
	struct race_mailbox *mb = c->mb;
	struct race_sender_result *res = c->res;
	u64 aimed_last = ~0ull, hits = 0, cap = c->e->plan.trial_cap;
	for (u64 k = 0; k < max && tsc_before(c->end_tsc) && res->sent[RACE_AIMED] < cap; k++) {
		u32 bin = race_tuner_pick(t, c->rng);
		u64 delay = race_tuner_delay(t, bin, c->rng);
		/* aim at the newest publication when it is young enough, else at the next one */
		u64 pub_tsc, seq = read_pub(mb, &pub_tsc);
		if (seq == aimed_last || rdtsc() - pub_tsc > delay) {
			if (!spin_seq_change(mb, seq, c->end_tsc))
				break;
			seq = read_pub(mb, &pub_tsc);
		}
		aimed_last = seq;
		while (tsc_before(pub_tsc + delay))
			;
		u64 hits0 = READ_ONCE(mb->hits);
		bool acked = fire(c, RACE_AIMED);
		res->unacked += !acked;
		res->sent[RACE_AIMED]++;
		if (acked)
			settle(mb);
		bool hit = READ_ONCE(mb->hits) != hits0;
		hits += hit;
		race_tuner_update(t, bin, hit);
	}
	return hits;
}

/* Runs one mode's chunk and books its time, trials and hits. */
static void run_chunk(const struct race_chunk *c, enum race_mode mode, u32 shape,
		      struct race_tuner *t)
{
	u64 t0 = rdtsc();
	bool ok = mode == RACE_AIMED
			  ? race_use_shape(c, shape, t)
			  : switch_shape(c->mb, mode == RACE_BLIND ? 0 : shape, c->end_tsc);
	u64 hits0 = READ_ONCE(c->mb->hits);
	if (ok) {
		if (mode == RACE_AIMED)
			race_aim(c, t, ~0ull);
		else
			fast_chunk(c, mode);
		settle(c->mb);
	}
	c->res->hits[mode] += READ_ONCE(c->mb->hits) - hits0;
	c->res->tsc[mode] += rdtsc() - t0;
}

/*
 * Waits until the victim loops steadily: WARM_ITERS publications in a row, each within
 * WARM_GAP_NS of the last (under a hypervisor the pair's vCPUs may wait for host time).
 * Bounded by WARM_TIMEOUT_NS and half the pair's time, and counted in the pair's time.
 */
#define WARM_ITERS 16
#define WARM_GAP_NS 100000ull
#define WARM_TIMEOUT_NS 20000000ull
static void warm_up(struct race_mailbox *mb, u64 pair_tsc)
{
	u64 end = rdtsc() + MIN(ns_to_tsc(WARM_TIMEOUT_NS), pair_tsc / 2);
	u64 gap = ns_to_tsc(WARM_GAP_NS);
	for (u32 warm = 0; warm < WARM_ITERS;) {
		u64 seq = READ_ONCE(mb->seq), t = rdtsc();
		if (!spin_seq_change(mb, seq, end))
			return;
		warm = rdtsc() - t < gap ? warm + 1 : 0;
	}
}

static void sender(struct race_engine *e, u32 me, u32 victim)
{
	const struct race_round_plan *plan = &e->plan;
	struct race_mailbox *mb = &e->mailbox[victim];
	struct race_sender_result *res = &e->result[me];
	u64 rng = rng_seed(e->ctx->seed, (u64)me * 977 + plan->round * 131 + 1);
	*res = (struct race_sender_result){ 0 };
	/*
	 * The pair's time starts at the victim's first publication (bounded by the start
	 * timeout): a victim vCPU woken for its turn took 11-35 ms to run in ~5% of the turns at
	 * smp 8 under TCG, which spent a whole 10 ms turn; it includes the warm-up.
	 */
	spin_seq_change(mb, 0, tsc_deadline_ns(RACE_START_TIMEOUT_NS));
	u64 start = rdtsc(), end = start + plan->pair_tsc;
	warm_up(mb, plan->pair_tsc);
	u64 chunk_len =
		MAX(plan->pair_tsc / (RACE_MODES * RACE_CHUNKS), ns_to_tsc(RACE_MIN_CHUNK_NS));
	struct race_tuner tuners[RACE_MAX_SHAPES] = { 0 };
	struct race_chunk c = { e, mb, e->cpus.cpu[victim], res, end, &rng };
	/* exploring the shapes is aimed-mode time */
	u64 t0 = rdtsc(), hits0 = READ_ONCE(mb->hits);
	u32 shape = race_choose_shape(&c, tuners);
	settle(mb);
	res->hits[RACE_AIMED] += READ_ONCE(mb->hits) - hits0;
	res->tsc[RACE_AIMED] += rdtsc() - t0;
	res->shape = shape;
	static const enum race_mode order[RACE_MODES] = { RACE_BLIND, RACE_AIMED, RACE_STREAM };
	for (u32 k = 0; k < RACE_MODES * RACE_CHUNKS && tsc_before(end); k++) {
		c.end_tsc = MIN(rdtsc() + chunk_len, end);
		run_chunk(&c, order[k % RACE_MODES], shape, &tuners[shape]);
	}
	/*
	 * A pair that has not hit yet gets up to three more lengths, aimed, within the budget
	 * (unbounded, pairs stuck on a loaded host took 3-4x a 1.4 s budget at smp 8).
	 */
	if (!race_all_modes(res->hits)) {
		c.end_tsc = MIN(rdtsc() + 3 * plan->pair_tsc, race_budget_end(e, plan->round));
		if (tsc_before(c.end_tsc))
			run_chunk(&c, RACE_AIMED, shape, &tuners[shape]);
	}
	res->period_tsc = tuners[shape].period_tsc;
	res->delay_tsc = race_tuner_best_delay(&tuners[shape]);
	__atomic_store_n(&mb->stop, 1, __ATOMIC_RELEASE);
	res->turn_tsc = rdtsc() - start;
	u64 first = READ_ONCE(mb->first_hit_tsc);
	res->first_hit_tsc = first ? MAX(first, start + 1) - start : 0;
}

static void victim(struct race_engine *e, u32 me)
{
	const struct race *r = e->race;
	struct race_mailbox *mb = &e->mailbox[me];
	u64 end = rdtsc() + 5 * e->plan.pair_tsc + ns_to_tsc(RACE_START_TIMEOUT_NS);
	u64 flags = irq_save();
	if (r->victim_begin)
		r->victim_begin();
	while (!__atomic_load_n(&mb->stop, __ATOMIC_ACQUIRE) && tsc_before(end)) {
		u32 shape = __atomic_load_n(&mb->shape, __ATOMIC_ACQUIRE);
		if (r->victim_iter(shape)) {
			if (!mb->hits)
				mb->first_hit_tsc = rdtsc();
			mb->hits++;
		}
		__atomic_store_n(&mb->done_seq, mb->seq, __ATOMIC_RELEASE);
	}
	if (r->victim_end)
		r->victim_end();
	irq_restore(flags);
}

void race_play_round(void *engine)
{
	struct race_engine *e = engine;
	u32 me = e->cpus.position[this_cpu_index()];
	const struct race_round *round = &e->sched.rounds[e->plan.round];
	for (u32 i = 0; i < round->npairs; i++) {
		if (round->sender[i] == me)
			sender(e, me, round->victim[i]);
		else if (round->victim[i] == me)
			victim(e, me);
	}
}
