/*
 * The race engine's parts (race.h is its API) and the state they share:
 *
 *   race.c           entry points: race_run (set up, schedule, run, report), race_publish,
 *                    race_event_seen, race_budget_for_pairs
 *   race_schedule.c  which ordered pairs run in which round, the retries after the schedule,
 *                    each round's length, running the rounds (smp_call) and booking the results
 *   race_turn.c      one pair's turn: the victim's loop, the sender's blind, aimed and stream chunks
 *   race_tuner.c     the aimed sender's delay tuner (delay bins over the victim's loop period)
 *   race_shapes.c    which loop shape a pair uses: the first pairs explore every shape
 *   race_report.c    the `# race_shape`, `# pair`, `# pairs=`, histogram and `# race` lines
 *
 * A CPU takes part under its position (0 .. cpus.count - 1, the first RACE_MAX_CPUS online
 * CPUs): pairs, rounds, mailboxes and sender results are indexed by position.
 */
#ifndef RACEBED_RACE_INTERNAL_H
#define RACEBED_RACE_INTERNAL_H

#include "tests/common/race.h"
#include "kernel/hist.h"

#define RACE_MAX_ROUND_PAIRS (RACE_MAX_CPUS / 2)
#define RACE_MAX_ROUNDS (RACE_MAX_CPUS * RACE_MAX_CPUS)
#define RACE_NO_POSITION 0xff              /* race_cpus.position of a CPU that does not race */
#define RACE_ACK_TIMEOUT_NS 2000000ull     /* an event not handled by then is counted as unacked */
#define RACE_START_TIMEOUT_NS 200000000ull /* a victim's first publication after its call */
#define RACE_CHUNKS 4                      /* blind/aimed alternations per pair */
#define RACE_MIN_PAIR_NS 10000000ull       /* every pair gets at least this long */
#define RACE_MIN_CHUNK_NS 3000000ull       /* a shorter chunk measures the host's time slices */
#define RACE_DELAY_BINS 16                 /* delay bins of the aimed sender's tuner */

/* The CPUs that race: position -> CPU index and back. */
struct race_cpus {
	u32 count;              /* positions in use (at most RACE_MAX_CPUS) */
	u32 cpu[RACE_MAX_CPUS]; /* the CPU index at each position */
	u8 position[MAX_CPUS];  /* each CPU's position, RACE_NO_POSITION if none */
};

/* Per victim: what it publishes for its sender (one cache line each). */
struct race_mailbox {
	volatile u64 seq;      /* iterations published (race_publish) */
	volatile u64 pub_tsc;  /* TSC at the last publication */
	volatile u64 events;   /* events handled (race_event_seen) */
	volatile u64 done_seq; /* seq of the last iteration finished */
	volatile u64 hits;     /* iterations that returned a hit, this round */
	volatile u32 stop;     /* the sender is done with this round */
	volatile u32 shape;    /* the loop shape the sender asks for */
	volatile u64 first_hit_tsc; /* TSC of the round's first hit (0: none yet) */
} __attribute__((aligned(64)));

/* Per sender: what it measured with its victim in a round. */
struct race_sender_result {
	u64 sent[RACE_MODES], hits[RACE_MODES], tsc[RACE_MODES];
	u64 unacked;               /* events the victim never reported handling */
	u64 period_tsc, delay_tsc; /* the victim's loop period; the tuner's best delay */
	u32 shape;                 /* the shape the pair used */
	u64 turn_tsc;              /* the pair's time in this turn (from the victim's start) */
	u64 first_hit_tsc;         /* from the turn's start to its first hit (0: no hit) */
} __attribute__((aligned(64)));

/* The pairs that run at once, by position. */
struct race_round {
	u32 npairs;
	u8 sender[RACE_MAX_ROUND_PAIRS], victim[RACE_MAX_ROUND_PAIRS];
};

/* Every round: the schedule (each ordered pair once), then the retry passes appended. */
struct race_schedule {
	struct race_round rounds[RACE_MAX_ROUNDS];
	u32 nrounds;       /* rounds in all, the retries' included */
	u32 scheduled;     /* rounds of the schedule; those after it are retries */
	u32 retry_passes;  /* retry passes begun */
	u32 pass_end;      /* the round the current pass ends at */
	u64 retry_end_tsc; /* the retries' share of the budget ends here */
	u32 pairs_retried; /* pairs that took at least one retry turn */
	u32 starved_passes; /* passes for pairs that never fired, after the retries */
	u32 pairs_starved;  /* pairs that took such a turn */
};

/* The round the CPUs run next, set by the boot CPU before it calls them. */
struct race_round_plan {
	bool done;     /* no round left (or no time left for the retries) */
	u32 round;     /* index into race_schedule.rounds */
	u64 pair_tsc;  /* each pair's time in this round */
	u64 trial_cap; /* trials per mode a sender makes at most */
};

/* What each ordered pair measured, over all its turns. */
struct race_pair_stat {
	u64 trials[RACE_MODES], hits[RACE_MODES];
	u64 period_tsc, delay_tsc; /* from its last turn */
	u32 shape, retried;        /* shape of its last turn; retry turns taken */
	bool starved;              /* took a turn for pairs that never fired (race_schedule.c) */
	u64 turns_tsc;             /* the time of its turns before the one with its first hit */
	u64 first_hit_tsc;         /* its time to the first hit over its turns (0: none) */
};

/* The shape exploration, shared by every sender (added to atomically). */
struct race_shape_stats {
	u64 trials[RACE_MAX_SHAPES], hits[RACE_MAX_SHAPES], tsc[RACE_MAX_SHAPES];
	u32 chosen_by_pairs[RACE_MAX_SHAPES]; /* explorers that found the shape best */
	u32 exploring_pairs;                  /* pairs that explored (some shapes or all) */
};

/* The aimed sender's delay tuner: bins of width `width` from `low`, zooming in on the best. */
struct race_tuner {
	u64 low, width, period_tsc;
	u32 trials[RACE_DELAY_BINS], hits[RACE_DELAY_BINS];
	u32 trials_since_zoom, zooms;
	bool ready; /* started from a measured period */
};

/* The one race running: its experiment's description and context, and all it measures. */
struct race_engine {
	struct race *race;
	const struct exp_ctx *ctx;
	struct race_cpus cpus;
	struct race_schedule sched;
	struct race_round_plan plan;
	struct race_mailbox mailbox[RACE_MAX_CPUS];      /* by victim position */
	struct race_sender_result result[RACE_MAX_CPUS]; /* by sender position, this round */
	struct race_pair_stat pair[RACE_MAX_CPUS][RACE_MAX_CPUS]; /* [sender][victim] position */
	struct race_shape_stats shapes;
	struct hist ack_hist[RACE_MODES]; /* event sent -> handled, ns */
};

/* race_schedule.c */
void race_schedule_build(struct race_engine *e, u32 parallel);
u32 race_parallel_pairs(const struct race *r);
/* Where a round's time must end: the budget's end, or the retries' share of it. */
u64 race_budget_end(const struct race_engine *e, u32 round);
void race_run_rounds(struct race_engine *e);

/* race_turn.c: a pair's turn, as an smp_call function on the round's CPUs (arg: the engine) */
void race_play_round(void *engine);

/* A sender's view of its pair while it runs a chunk of its turn. */
struct race_chunk {
	struct race_engine *e;
	struct race_mailbox *mb; /* the victim's */
	u32 victim_cpu;
	struct race_sender_result *res;
	u64 end_tsc, *rng;
};
/* Switches the victim to a shape and (the first time) starts the shape's tuner. */
bool race_use_shape(const struct race_chunk *c, u32 shape, struct race_tuner *t);
/* Aimed trials (at most max) until the chunk's end; returns the hits. */
u64 race_aim(const struct race_chunk *c, struct race_tuner *t, u64 max);

/* race_tuner.c */
void race_tuner_start(struct race_tuner *t, u64 period_tsc);
u32 race_tuner_pick(struct race_tuner *t, u64 *rng);
u64 race_tuner_delay(const struct race_tuner *t, u32 bin, u64 *rng);
void race_tuner_update(struct race_tuner *t, u32 bin, bool hit);
/* The middle of the best bin so far. */
u64 race_tuner_best_delay(const struct race_tuner *t);

/* race_shapes.c */
void race_shapes_reset(struct race_shape_stats *s);
u32 race_choose_shape(const struct race_chunk *c, struct race_tuner *tuners);
u32 race_best_explored_shape(const struct race_engine *e);

/* race_report.c */
void race_report(struct race_engine *e);

#endif
