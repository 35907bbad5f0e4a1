/*
 * The race engine (see race.h): pair schedule, victim loop, sender alternating blind and aimed
 * chunks (so a change of host load affects both modes alike), delay and shape tuning, report.
 */
#include "tests/common/race.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/spinlock.h"
#include "arch/x86/time.h"
#include "kernel/hist.h"
#include "lib/printf.h"

#define NB 16                  /* delay bins of the aimed sender's tuner */
#define MAX_ROUND_PAIRS (RACE_MAX_CPUS / 2)
#define MAX_ROUNDS (RACE_MAX_CPUS * RACE_MAX_CPUS)
#define ACK_TIMEOUT_NS 2000000ull   /* an event not handled by then is counted as unacked */
#define START_TIMEOUT_NS 200000000ull
#define CHUNKS 4               /* blind/aimed alternations per pair */
#define EXPLORE_TRIALS 192     /* aimed trials per shape while a pair explores the shapes */
#define EXPLORING_PAIRS 2      /* pairs that explore; later ones take the best shape found */
#define MAX_EXPLORING_PAIRS 6  /* ... or top up the shapes short of EXPLORE_TRIALS */
#define MIN_PAIR_NS 10000000ull /* every pair gets at least this long */
#define MIN_CHUNK_NS 3000000ull /* a chunk shorter than a host time slice measures the host */
#define RETRY_SHARE 4          /* the retries may run for a quarter of the budget */
#define RETRY_PASSES 2         /* turns a pair without a hit may retry */

/* Per victim: what it publishes for its sender (one cache line each). */
struct slot {
	volatile u64 seq;     /* iterations published (race_publish) */
	volatile u64 pub_tsc; /* TSC at the last publication */
	volatile u64 events;  /* events handled (race_event_seen) */
	volatile u64 res_seq; /* seq of the last iteration finished */
	volatile u64 hits;    /* iterations that returned a hit, this segment */
	volatile u32 stop;    /* the sender is done with this segment */
	volatile u32 shape;   /* the loop shape the sender asks for */
} __attribute__((aligned(64)));

/* Per sender: what it measured with its victim in a round. */
struct sender_out {
	u64 sent[RACE_MODES], hits[RACE_MODES], tsc[RACE_MODES];
	u64 unacked, period, delay;
	u32 shape;
} __attribute__((aligned(64)));

struct round { u32 npairs; u8 s[MAX_ROUND_PAIRS], v[MAX_ROUND_PAIRS]; };

struct pair_stat { u64 trials[RACE_MODES], hits[RACE_MODES], period, delay; u32 shape, retried; };

static struct slot slots[RACE_MAX_CPUS];
static struct sender_out outs[RACE_MAX_CPUS];
static u8 pos_of[MAX_CPUS];
static u32 cpu_of[RACE_MAX_CPUS], n;
static struct round rounds[MAX_ROUNDS];
static u32 nrounds, nsched, nretries; /* rounds in all, of the schedule, retries appended */
static u32 retry_passes, pass_end;    /* retry passes begun; the round the current one ends at */
static struct pair_stat pairs[RACE_MAX_CPUS][RACE_MAX_CPUS];
static struct hist ack_hist[RACE_MODES];
static u64 shape_trials[RACE_MAX_SHAPES], shape_hits[RACE_MAX_SHAPES], shape_tsc[RACE_MAX_SHAPES];
static u32 shape_chosen[RACE_MAX_SHAPES];

/* The round the CPUs run next, set by the boot CPU before it calls them (run_rounds). */
static struct {
	bool done;
	u32 round;
	u64 len, cap;
} seg;
static struct race *cur;
static const struct exp_ctx *cur_ctx;

static struct slot *my_slot(void)
{
	u32 p = pos_of[this_cpu_index()];
	return p < n ? &slots[p] : NULL;
}

void race_publish(void)
{
	struct slot *sl = my_slot();
	if (!sl)
		return;
	sl->pub_tsc = rdtsc();
	__atomic_store_n(&sl->seq, sl->seq + 1, __ATOMIC_RELEASE);
}

void race_event_seen(void)
{
	struct slot *sl = my_slot();
	if (sl)
		__atomic_store_n(&sl->events, sl->events + 1, __ATOMIC_RELEASE);
}

/*
 * Ordered pairs in rounds: a round-robin tournament (circle method) gives n-1 matchings of
 * unordered pairs (n even; one idle CPU per matching when n is odd); each matching runs once
 * per direction, in rounds of at most `par` pairs at a time.
 */
static void build_schedule(u32 par)
{
	u32 m = n + (n & 1);
	nrounds = 0;
	for (u32 r = 0; r + 1 < m; r++) {
		u32 arr[RACE_MAX_CPUS + 1];
		arr[0] = m - 1;
		for (u32 i = 1; i < m; i++)
			arr[i] = (i - 1 + r) % (m - 1);
		for (u32 dir = 0; dir < 2; dir++) {
			struct round *rd = NULL;
			for (u32 i = 0; i < m / 2; i++) {
				u32 a = arr[i], b = arr[m - 1 - i];
				if (a >= n || b >= n)
					continue;
				if (!rd || rd->npairs == par) {
					rd = &rounds[nrounds++];
					rd->npairs = 0;
				}
				rd->s[rd->npairs] = (u8)(dir ? b : a);
				rd->v[rd->npairs] = (u8)(dir ? a : b);
				rd->npairs++;
			}
		}
	}
}

/*
 * Pairs run at once: all of them on bare metal; one under a hypervisor, whose vCPUs may share
 * host cores (a pair whose sender or victim is descheduled races nothing).
 */
static u32 parallel_pairs(const struct race *r)
{
	if (r->max_parallel)
		return r->max_parallel;
	return cpu_under_hypervisor() ? 1 : RACE_MAX_CPUS / 2;
}

static bool spin_seq_change(struct slot *sl, u64 last, u64 end)
{
	u32 turn = 0;
	while (READ_ONCE(sl->seq) == last)
		if (!tsc_before_polled(end, &turn))
			return false;
	return true;
}

/* Reads a consistent (seq, pub_tsc) pair. */
static u64 read_pub(struct slot *sl, u64 *tsc)
{
	for (;;) {
		u64 s = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		*tsc = READ_ONCE(sl->pub_tsc);
		if (__atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE) == s)
			return s;
	}
}

/* Sends one event and waits (bounded) until the victim has handled it. */
static bool fire(struct slot *sl, u32 vcpu, enum race_mode mode)
{
	u64 e0 = READ_ONCE(sl->events);
	u64 t0 = rdtsc_ordered();
	ipi_send_cpu(vcpu, cur->icr);
	u64 end = t0 + ns_to_tsc(ACK_TIMEOUT_NS);
	u32 turn = 0;
	while (__atomic_load_n(&sl->events, __ATOMIC_ACQUIRE) == e0)
		if (!tsc_before_polled(end, &turn))
			return false;
	hist_add(&ack_hist[mode], tsc_to_ns(rdtsc_ordered() - t0));
	return true;
}

/* Waits (bounded) until the iteration running now has finished: its hit is then counted. */
static void settle(struct slot *sl)
{
	u64 landed = READ_ONCE(sl->seq), end = tsc_deadline_ns(ACK_TIMEOUT_NS);
	u32 turn = 0;
	while (READ_ONCE(sl->res_seq) < landed && tsc_before_polled(end, &turn))
		;
}

/* The aimed sender's delay tuner: NB bins over [lo, lo + NB*w), zooming in on the best. */
struct tuner { u64 lo, w, period; u32 tr[NB], hit[NB], n, zooms; bool ready; };

static u32 tuner_best(const struct tuner *t)
{
	u32 best = 0;
	u64 best_score = 0;
	for (u32 b = 0; b < NB; b++) {
		u64 score = ((u64)t->hit[b] * 1024 + 512) / (t->tr[b] + 1);
		if (score > best_score) {
			best_score = score;
			best = b;
		}
	}
	return best;
}

static u32 tuner_pick(struct tuner *t, u64 *rng)
{
	if (t->n < 2 * NB)
		return t->n % NB;
	u64 r = rng_next(rng);
	return (r & 7) == 0 ? (u32)((r >> 8) % NB) : tuner_best(t);
}

static void tuner_update(struct tuner *t, u32 b, bool hit)
{
	t->tr[b]++;
	t->hit[b] += hit;
	if (++t->n < 24 * NB || t->zooms >= 6 || t->w < 4)
		return;
	u32 best = tuner_best(t);
	if (t->hit[best] < 4)
		return;
	u64 center = t->lo + best * t->w + t->w / 2, nw = MAX(t->w / 4, 1ull);
	t->lo = center > NB / 2 * nw ? center - NB / 2 * nw : 0;
	t->w = nw;
	for (u32 i = 0; i < NB; i++)
		t->tr[i] = t->hit[i] = 0;
	t->n = 0;
	t->zooms++;
}

/* The victim's loop period from 8 of its publications (0 when it stopped publishing). */
static u64 measure_period(struct slot *sl, u64 end)
{
	u64 ta, tb = 0, s = read_pub(sl, &ta);
	if (!spin_seq_change(sl, s, end))
		return 0;
	s = read_pub(sl, &ta);
	u64 s0 = s;
	while (s < s0 + 8) {
		if (!spin_seq_change(sl, s, end))
			return 0;
		s = read_pub(sl, &tb);
	}
	return (tb - ta) / (s - s0);
}

/* Asks the victim for a shape and waits until an iteration has run with it. */
static bool switch_shape(struct slot *sl, u32 shape, u64 end)
{
	__atomic_store_n(&sl->shape, shape, __ATOMIC_RELEASE);
	u64 s = READ_ONCE(sl->seq);
	return spin_seq_change(sl, s, end) && spin_seq_change(sl, s + 1, end);
}

struct chunk { struct slot *sl; u32 vcpu; struct sender_out *o; u64 end, *rng; };

/* Blind: as fast as possible, one event in flight, no aiming. */
static void blind_chunk(const struct chunk *c)
{
	struct sender_out *o = c->o;
	while (tsc_before(c->end) && o->sent[RACE_BLIND] < seg.cap) {
		o->unacked += !fire(c->sl, c->vcpu, RACE_BLIND);
		o->sent[RACE_BLIND]++;
	}
}

/*
 * Aimed: after a publication, wait the tuner's delay, fire, wait for the iteration to finish,
 * feed the tuner; at most max trials. Returns the hits.
 */
static u64 aim(const struct chunk *c, struct tuner *t, u64 max)
{
	struct slot *sl = c->sl;
	struct sender_out *o = c->o;
	u64 aimed_last = ~0ull, hits = 0;
	for (u64 k = 0; k < max && tsc_before(c->end) && o->sent[RACE_AIMED] < seg.cap; k++) {
		u32 b = tuner_pick(t, c->rng);
		u64 d = t->lo + b * t->w + rng_next(c->rng) % t->w;
		/* aim at the newest publication when it is young enough, else at the next one */
		u64 tp, s = read_pub(sl, &tp);
		if (s == aimed_last || rdtsc() - tp > d) {
			if (!spin_seq_change(sl, s, c->end))
				break;
			s = read_pub(sl, &tp);
		}
		aimed_last = s;
		while (tsc_before(tp + d))
			;
		u64 h0 = READ_ONCE(sl->hits);
		bool acked = fire(sl, c->vcpu, RACE_AIMED);
		o->unacked += !acked;
		o->sent[RACE_AIMED]++;
		if (acked)
			settle(sl);
		bool hit = READ_ONCE(sl->hits) != h0;
		hits += hit;
		tuner_update(t, b, hit);
	}
	return hits;
}

/* Switches the victim to a shape and (first time) measures its period for the tuner. */
static bool use_shape(const struct chunk *c, u32 shape, struct tuner *t)
{
	if (!switch_shape(c->sl, shape, c->end))
		return false;
	if (t->ready)
		return true;
	u64 period = measure_period(c->sl, c->end);
	if (!period)
		return false;
	*t = (struct tuner){ .lo = 0, .w = MAX(period / NB, 1ull), .period = period, .ready = true };
	return true;
}

static u32 best_explored_shape(void)
{
	u32 best = 0;
	u64 best_rate = 0;
	for (u32 k = 0; k < cur->nshapes; k++) {
		u64 r = shape_tsc[k] ? muldiv64(shape_hits[k], timeinfo.tsc_hz, shape_tsc[k]) : 0;
		if (r > best_rate) {
			best_rate = r;
			best = k;
		}
	}
	return best;
}

/*
 * The first pairs try every shape for EXPLORE_TRIALS aimed trials; the pairs after them try the
 * shapes still short of that many (a slow pair can run out of time before its last shapes),
 * up to MAX_EXPLORING_PAIRS pairs in all. Returns the shape this pair uses.
 */
static u32 explored_pairs;
static u32 choose_shape(const struct chunk *c, struct tuner *tn)
{
	u32 chosen = 0, best = 0;
	bool short_of = false;
	for (u32 k = 0; k < cur->nshapes; k++) {
		chosen += READ_ONCE(shape_chosen[k]);
		short_of |= READ_ONCE(shape_trials[k]) < EXPLORE_TRIALS;
	}
	if (cur->nshapes < 2)
		return 0;
	if ((chosen >= EXPLORING_PAIRS && !short_of) || explored_pairs >= MAX_EXPLORING_PAIRS)
		return best_explored_shape();
	explored_pairs++;
	bool topping_up = chosen >= EXPLORING_PAIRS;
	u64 best_rate = 0, end = c->end;
	for (u32 k = 0; k < cur->nshapes; k++) {
		if (topping_up && READ_ONCE(shape_trials[k]) >= EXPLORE_TRIALS)
			continue;
		/* at most half of the pair's time (but MIN_CHUNK_NS a shape) goes to exploring */
		struct chunk ck = *c;
		ck.end = MIN(end, rdtsc() + MAX(seg.len / (2 * cur->nshapes), ns_to_tsc(MIN_CHUNK_NS)));
		u64 t0 = rdtsc(), sent0 = c->o->sent[RACE_AIMED], h = 0;
		if (use_shape(&ck, k, &tn[k]))
			h = aim(&ck, &tn[k], EXPLORE_TRIALS);
		u64 dt = rdtsc() - t0, r = dt ? muldiv64(h, timeinfo.tsc_hz, dt) : 0;
		__atomic_add_fetch(&shape_trials[k], c->o->sent[RACE_AIMED] - sent0, __ATOMIC_RELAXED);
		__atomic_add_fetch(&shape_hits[k], h, __ATOMIC_RELAXED);
		__atomic_add_fetch(&shape_tsc[k], dt, __ATOMIC_RELAXED);
		if (r > best_rate) {
			best_rate = r;
			best = k;
		}
	}
	if (topping_up) /* it explored a few shapes only: the best of all so far */
		return best_explored_shape();
	if (best_rate) /* a pair that saw no hit leaves the choice to the next one */
		__atomic_add_fetch(&shape_chosen[best], 1, __ATOMIC_RELAXED);
	return best;
}

/* Runs one mode's chunk and books its time, trials and hits. */
static void run_chunk(struct chunk *c, enum race_mode mode, u32 shape, struct tuner *t)
{
	u64 t0 = rdtsc();
	bool ok = mode == RACE_BLIND ? switch_shape(c->sl, 0, c->end) : use_shape(c, shape, t);
	u64 h0 = READ_ONCE(c->sl->hits);
	if (ok) {
		if (mode == RACE_BLIND)
			blind_chunk(c);
		else
			aim(c, t, ~0ull);
		settle(c->sl);
	}
	c->o->hits[mode] += READ_ONCE(c->sl->hits) - h0;
	c->o->tsc[mode] += rdtsc() - t0;
}

/*
 * Waits until the victim loops steadily: WARM_ITERS publications in a row, each within
 * WARM_GAP_NS of the last (under a hypervisor the pair's vCPUs may wait for host time).
 * Bounded by WARM_TIMEOUT_NS and half the pair's time, and counted in the pair's time.
 */
#define WARM_ITERS 16
#define WARM_GAP_NS 100000ull
#define WARM_TIMEOUT_NS 20000000ull
static void warm_up(struct slot *sl)
{
	u64 end = rdtsc() + MIN(ns_to_tsc(WARM_TIMEOUT_NS), seg.len / 2);
	u64 gap = ns_to_tsc(WARM_GAP_NS);
	for (u32 warm = 0; warm < WARM_ITERS;) {
		u64 s = READ_ONCE(sl->seq), t = rdtsc();
		if (!spin_seq_change(sl, s, end))
			return;
		warm = rdtsc() - t < gap ? warm + 1 : 0;
	}
}

/*
 * Where the budget ends; for the retries, a quarter of the budget after they began (the
 * schedule may have overrun the budget: every pair gets MIN_PAIR_NS and its start).
 */
static u64 retry_end;
static u64 budget_end(bool retry)
{
	return retry ? retry_end : cur_ctx->start_tsc + cur_ctx->budget_tsc;
}

static void sender(u32 me, u32 vpos, u32 round)
{
	struct slot *sl = &slots[vpos];
	struct sender_out *o = &outs[me];
	u64 rng = rng_seed(cur_ctx->seed, (u64)me * 977 + round * 131 + 1);
	*o = (struct sender_out){ 0 };
	/*
	 * The pair's time starts at the victim's first publication (bounded by START_TIMEOUT_NS):
	 * a victim vCPU woken for its turn took 11-35 ms to run in ~5% of the turns at smp 8
	 * under TCG, which spent a whole 10 ms turn; it includes the warm-up.
	 */
	spin_seq_change(sl, 0, tsc_deadline_ns(START_TIMEOUT_NS));
	u64 start = rdtsc();
	warm_up(sl);
	u64 chunk_len = MAX(seg.len / (2 * CHUNKS), ns_to_tsc(MIN_CHUNK_NS));
	struct tuner tn[RACE_MAX_SHAPES] = { 0 };
	struct chunk c = { sl, cpu_of[vpos], o, start + seg.len, &rng };
	/* exploring the shapes is aimed-mode time */
	u64 t0 = rdtsc(), h0 = READ_ONCE(sl->hits);
	u32 shape = choose_shape(&c, tn);
	settle(sl);
	o->hits[RACE_AIMED] += READ_ONCE(sl->hits) - h0;
	o->tsc[RACE_AIMED] += rdtsc() - t0;
	o->shape = shape;
	for (u32 k = 0; k < 2 * CHUNKS && tsc_before(start + seg.len); k++) {
		c.end = MIN(rdtsc() + chunk_len, start + seg.len);
		run_chunk(&c, k & 1 ? RACE_AIMED : RACE_BLIND, shape, &tn[shape]);
	}
	/*
	 * A pair that has not hit yet gets up to three more lengths, aimed, within the budget
	 * (unbounded, pairs stuck on a loaded host took 3-4x a 1.4 s budget at smp 8).
	 */
	if (!o->hits[RACE_BLIND] && !o->hits[RACE_AIMED]) {
		c.end = MIN(rdtsc() + 3 * seg.len, budget_end(seg.round >= nsched));
		if (tsc_before(c.end))
			run_chunk(&c, RACE_AIMED, shape, &tn[shape]);
	}
	o->period = tn[shape].period;
	o->delay = tn[shape].lo + tuner_best(&tn[shape]) * tn[shape].w + tn[shape].w / 2;
	__atomic_store_n(&sl->stop, 1, __ATOMIC_RELEASE);
}

static void victim(u32 me)
{
	struct slot *sl = &slots[me];
	u64 end = rdtsc() + 5 * seg.len + ns_to_tsc(START_TIMEOUT_NS);
	u64 flags = irq_save();
	if (cur->victim_begin)
		cur->victim_begin();
	while (!__atomic_load_n(&sl->stop, __ATOMIC_ACQUIRE) && tsc_before(end)) {
		u32 shape = __atomic_load_n(&sl->shape, __ATOMIC_ACQUIRE);
		bool hit = cur->victim_iter(shape);
		if (hit)
			sl->hits++;
		__atomic_store_n(&sl->res_seq, sl->seq, __ATOMIC_RELEASE);
	}
	if (cur->victim_end)
		cur->victim_end();
	irq_restore(flags);
}

static void account(void)
{
	const struct round *rd = &rounds[seg.round];
	u64 mode_tsc[RACE_MODES] = { 0, 0 };
	for (u32 i = 0; i < rd->npairs; i++) {
		u32 s = rd->s[i], v = rd->v[i];
		struct sender_out *o = &outs[s];
		struct pair_stat *p = &pairs[s][v];
		for (u32 m = 0; m < RACE_MODES; m++) {
			p->trials[m] += o->sent[m];
			p->hits[m] += o->hits[m];
			cur->trials[m] += o->sent[m];
			cur->hits[m] += o->hits[m];
			mode_tsc[m] = MAX(mode_tsc[m], o->tsc[m]);
		}
		cur->unacked += o->unacked;
		if (seg.round >= nsched) { /* a retry turn */
			nretries += !p->retried;
			p->retried++;
		}
		p->period = o->period;
		p->delay = o->delay;
		p->shape = o->shape;
	}
	for (u32 m = 0; m < RACE_MODES; m++)
		cur->tsc[m] += mode_tsc[m];
}

/*
 * After the schedule, every pair that saw no hit (its vCPUs descheduled through its turn, or
 * the budget spent by the pairs before it) takes one more turn, alone in its round; those
 * still without one after that turn, another (RETRY_PASSES in all).
 */
static void add_retries(void)
{
	for (u32 s = 0; s < n; s++)
		for (u32 v = 0; v < n; v++) {
			struct pair_stat *p = &pairs[s][v];
			if (s == v || p->hits[RACE_BLIND] || p->hits[RACE_AIMED] || nrounds == MAX_ROUNDS)
				continue;
			struct round *rd = &rounds[nrounds++];
			*rd = (struct round){ .npairs = 1, .s = { (u8)s }, .v = { (u8)v } };
		}
}

/* The leader plans the next round: what is left of the budget, shared by the rounds left. */
static void plan_next(void)
{
	if (seg.round == pass_end && retry_passes < RETRY_PASSES) {
		if (!retry_passes)
			retry_end = rdtsc() + cur_ctx->budget_tsc / RETRY_SHARE;
		retry_passes++;
		add_retries();
		pass_end = nrounds;
	}
	if (seg.round >= nrounds) {
		seg.done = true;
		return;
	}
	u64 now = rdtsc(), end = budget_end(seg.round >= nsched);
	u64 left = (s64)(end - now) > 0 ? end - now : 0;
	if (seg.round >= nsched && !left) { /* the retries' time is spent: the rest stay unhit */
		seg.done = true;
		return;
	}
	seg.len = MAX(left / (nrounds - seg.round), ns_to_tsc(MIN_PAIR_NS));
	if (seg.round >= nsched) /* a retry needs a turn, not the rest of the budget */
		seg.len = MIN(seg.len, ns_to_tsc(3 * MIN_PAIR_NS));
	seg.cap = MAX(cur_ctx->iterations / (2 * (u64)cur->npairs), 1ull);
	for (u32 i = 0; i < n; i++) {
		slots[i].seq = slots[i].res_seq = slots[i].hits = 0;
		slots[i].stop = slots[i].shape = 0;
	}
}

/* Runs this CPU's role in the current round, if it has one (an smp_call function). */
static void play(void *arg)
{
	(void)arg;
	u32 me = pos_of[this_cpu_index()];
	const struct round *rd = &rounds[seg.round];
	for (u32 i = 0; i < rd->npairs; i++) {
		if (rd->s[i] == me)
			sender(me, rd->v[i], seg.round);
		else if (rd->v[i] == me)
			victim(me);
	}
}

/*
 * The rounds, run from the boot CPU: each is an smp_call to the round's CPUs only (the others
 * stay halted in their idle loop: a barrier waking every CPU each round put 6 idle vCPUs of 8
 * in the host's run queue beside the pair), and the boot CPU waits halted unless it plays.
 */
static void run_rounds(void)
{
	for (;;) {
		plan_next();
		if (seg.done)
			return;
		const struct round *rd = &rounds[seg.round];
		struct cpumask m;
		cpumask_clear(&m);
		for (u32 i = 0; i < rd->npairs; i++) {
			cpumask_set(&m, cpu_of[rd->s[i]]);
			cpumask_set(&m, cpu_of[rd->v[i]]);
		}
		smp_call(&m, play, NULL, false);
		smp_wait_halt(&m);
		account();
		seg.round++;
	}
}

static u64 rate(u64 count, u64 tsc) { return tsc ? muldiv64(count, timeinfo.tsc_hz, tsc) : 0; }

static void print_gain(u64 aimed, u64 blind, char *buf, size_t size)
{
	if (!blind) {
		ksnprintf(buf, size, aimed ? "inf" : "0.0");
		return;
	}
	u64 g10 = muldiv64(aimed, 10, blind);
	ksnprintf(buf, size, "%lu.%lu", g10 / 10, g10 % 10);
}

static void report(void)
{
	cur->best_shape = best_explored_shape(); /* what the pairs after the explorers used */
	for (u32 s = 0; s < cur->nshapes && cur->nshapes > 1; s++)
		diag("race_shape %s trials=%lu hits=%lu hits_per_s=%lu chosen_by_pairs=%u",
		     cur->shape_name[s], shape_trials[s], shape_hits[s],
		     rate(shape_hits[s], shape_tsc[s]), shape_chosen[s]);
	cur->pairs_hit = 0;
	for (u32 s = 0; s < n; s++)
		for (u32 v = 0; v < n; v++) {
			if (s == v)
				continue;
			const struct pair_stat *p = &pairs[s][v];
			u64 t = p->trials[0] + p->trials[1], h = p->hits[0] + p->hits[1];
			cur->pairs_hit += h != 0;
			diag("pair %u->%u trials=%lu hits=%lu%s%s blind_trials=%lu blind_hits=%lu aimed_trials=%lu aimed_hits=%lu shape=%s period_ns=%lu delay_ns=%lu",
			     cpu_of[s], cpu_of[v], t, h, h ? "" : " zero_hits",
			     p->retried > 1 ? " retried_twice" : p->retried ? " retried" : "",
			     p->trials[0], p->hits[0],
			     p->trials[1], p->hits[1], cur->shape_name[p->shape],
			     tsc_to_ns(p->period), tsc_to_ns(p->delay));
		}
	diag("pairs=%u pairs_hit=%u pairs_zero=%u pairs_retried=%u", cur->npairs, cur->pairs_hit,
	     cur->npairs - cur->pairs_hit, nretries);
	hist_print("race_ack_blind", "ns", &ack_hist[RACE_BLIND]);
	hist_print("race_ack_aimed", "ns", &ack_hist[RACE_AIMED]);
	u64 ha = rate(cur->hits[1], cur->tsc[1]), hb = rate(cur->hits[0], cur->tsc[0]);
	char gain[24];
	print_gain(ha, hb, gain, sizeof(gain));
	/*
	 * No event landed in the window in either mode, on any pair: nothing to compare, and a gain
	 * of 0.0 would read as "aiming does not help". The platform does not deliver there (Bochs
	 * holds NMIs in the STI shadow with the maskable interrupts).
	 */
	if (!cur->hits[0] && !cur->hits[1] && cur->trials[0] + cur->trials[1]) {
		ksnprintf(gain, sizeof(gain), "unreachable");
		diag("race window=unreachable: no event landed in it in %lu trials (%lu aimed, %lu blind) "
		     "over %u ordered pairs: this platform does not deliver there",
		     cur->trials[0] + cur->trials[1], cur->trials[1], cur->trials[0], cur->npairs);
	}
	diag("race mode=aimed hits_per_s=%lu blind_hits_per_s=%lu gain=%s trials_per_s=%lu blind_trials_per_s=%lu hit_permille=%lu blind_hit_permille=%lu shape=%s unacked=%lu",
	     ha, hb, gain, rate(cur->trials[1], cur->tsc[1]), rate(cur->trials[0], cur->tsc[0]),
	     cur->trials[1] ? cur->hits[1] * 1000 / cur->trials[1] : 0,
	     cur->trials[0] ? cur->hits[0] * 1000 / cur->trials[0] : 0,
	     cur->shape_name[cur->best_shape], cur->unacked);
}

void race_budget_for_pairs(struct exp_ctx *ctx, u32 per_pair_ms)
{
	u64 n = MIN(ctx->ncpus, (u32)RACE_MAX_CPUS), pairs = n * (n - 1);
	u64 need = ns_to_tsc(pairs * per_pair_ms * 1000000ull);
	if (need <= ctx->budget_tsc)
		return;
	ctx->budget_tsc = need;
	diag("budget_raised_ms=%lu pairs=%lu per_pair_ms=%u", pairs * per_pair_ms, pairs, per_pair_ms);
}

bool race_run(struct race *r, const struct exp_ctx *ctx)
{
	n = 0;
	for (u32 i = 0; i < MAX_CPUS; i++)
		pos_of[i] = 0xff;
	for_each_online_cpu(i) {
		if (n < RACE_MAX_CPUS) {
			pos_of[i] = (u8)n;
			cpu_of[n++] = i;
		}
	}
	if (n < 2)
		return false;
	if (n < cpus_online())
		diag("race_cpus=%u of %u online (the first %u)", n, cpus_online(), n);
	cur = r;
	cur_ctx = ctx;
	for (u32 m = 0; m < RACE_MODES; m++) {
		r->trials[m] = r->hits[m] = r->tsc[m] = 0;
		hist_reset(&ack_hist[m]);
	}
	r->unacked = 0;
	r->npairs = n * (n - 1);
	for (u32 s = 0; s < n; s++)
		for (u32 v = 0; v < n; v++)
			pairs[s][v] = (struct pair_stat){ 0 };
	for (u32 s = 0; s < RACE_MAX_SHAPES; s++) {
		shape_trials[s] = shape_hits[s] = shape_tsc[s] = 0;
		shape_chosen[s] = 0;
	}
	if (r->nshapes == 0)
		r->nshapes = 1;
	r->best_shape = 0;
	explored_pairs = 0;
	seg.done = false;
	seg.round = 0;
	u32 par = parallel_pairs(r);
	build_schedule(par);
	nsched = nrounds;
	nretries = retry_passes = 0;
	pass_end = nsched;
	diag("race_schedule rounds=%u parallel_pairs=%u", nrounds, MIN(par, n / 2));
	run_rounds();
	report();
	return true;
}
