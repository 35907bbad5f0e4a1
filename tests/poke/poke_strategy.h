/*
 * The poke_strategy_* experiments: one call site flipped (call A <-> call B) by a patcher on
 * an AP, executors calling through it on the other CPUs, and a load of asynchronous events
 * fired at the patcher by the boot CPU (NMIs, or IRQs with interrupts enabled on the
 * patcher), each event's handler calling through the site; the same run for each strategy
 * of the engine (emulate, rollback, spin). The boot CPU never calls the site while events
 * are fired, so its watchdog tick stays alive to find a spin deadlock (the probe below),
 * report the stuck CPUs and end it.
 */
#ifndef RACEBED_POKE_STRATEGY_H
#define RACEBED_POKE_STRATEGY_H

#include "tests/poke/poke.h"
#include "kernel/hist.h"

/* LOAD_MCE: machine checks the host injects on the patcher, asked for by the patcher itself
 * right after a write step (kernel/hostreq.h), one at a time. LOAD_MCE_NMI: the same asked
 * for from an NMI the patcher sends itself, so the #MC lands inside the NMI handler, which
 * then calls through the site too. */
enum ps_load { LOAD_NONE, LOAD_NMI, LOAD_IRQ, LOAD_MCE, LOAD_MCE_NMI };
#define PS_MCE_BANK 1
#define PS_MCE_PER_STEP 3           /* machine checks after the int3, and after the tail */
#define PS_MCE_FIRST_ANSWER_MS 3000 /* the first request: is there a host at all */
#define PS_MCE_ANSWER_MS 2000
#define PS_MCE_ARRIVE_NS 500000000ull
/* Whether the host answered the last machine-check request (HOST_DONE when none was made). */
bool ps_mce_host_answered(void);
struct ps_plan;
/* A machine-check plan (LOAD_MCE, LOAD_MCE_NMI): skipped, *skipped set, without bank
 * PS_MCE_BANK or without a host answering the first request. */
enum exp_result ps_run_mce_strategies(struct exp_ctx *ctx, const struct ps_plan *plan,
				      bool *skipped);
/* Machine checks taken inside the patcher's NMI handler (LOAD_MCE_NMI), since the boot. */
u64 ps_mce_in_nmi(void);

/* What a run does: set by ps_init, adjusted by the experiment before ps_exec. */
struct ps_config {
	enum poke_strategy strategy;
	enum ps_load load;
	u32 flags;            /* POKE_SKIP_SYNC2, POKE_IPI_NO_ACK ... */
	u32 max_restarts;
	u64 max_gap_ns;       /* events: random gap in [0, max_gap_ns) */
	u32 aim_permille;     /* also an event sent by the patcher to itself right after the int3
			       * or the tail write (step hook), in this share of those steps */
	u64 max_patches, end_tsc, seed;
	u64 hard_end_tsc;     /* past end_tsc the patcher goes on until its controls are
			       * reached, up to here */
	u32 want_deadlocks;   /* spin: stop after this many, or both windows seen */
	u32 max_executors;    /* 0: every CPU left; else the others stay idle */
};

/* Who does what: set by ps_exec. */
struct ps_roles {
	u32 patcher;   /* the last online CPU (an AP when there is one) */
	u32 sender;    /* fires the events at the patcher; ~0u: no load, the boot CPU
			       * executes */
	u32 executors; /* CPUs calling through the site */
};

/* The events fired at the patcher and what their handlers' calls through the site did. */
struct ps_events {
	volatile u64 sent, aimed, handled, lost;
	volatile u64 in_window[PW_N]; /* handled while the patcher was in this window */
	volatile u64 hit_int3[PW_N];  /* ... and their call met the live int3 */
	u64 outcome[PO_N], calls;
};

/* Spin deadlocks found by the watchdog probe. */
struct ps_deadlocks {
	volatile u32 count;
	u64 detect_ns_first, detect_ns_max;
	u32 in_window[PW_N];
};

/* What a run measured: filled by ps_exec. */
struct ps_results {
	u64 patches, failed, gave_up;
	u64 outcome[PO_N], calls; /* the executors' calls */
	struct ps_events events;
	struct ps_deadlocks deadlocks;
	struct hist lat_hist, restart_hist; /* per poke: cycles, restarts */
	u64 lat_median;
	struct poke_stats st; /* the engine's counters */
};

struct ps_run {
	struct ps_config cfg;
	struct ps_roles roles;
	volatile u64 ready, stop; /* the patcher is set up; every role stops */
	u64 aim_rng;              /* the patcher's draws for aim_permille */
	struct ps_results res;
};

/* Defaults for strategy s: one site, budget share of the experiment's budget, no load. */
void ps_init(struct ps_run *r, const struct exp_ctx *ctx, enum poke_strategy s, u32 permille);
/* Runs it; false when the site or the stubs could not be set up, or the engine refused. */
bool ps_exec(struct ps_run *r);
/* Outcomes, controls, histograms and figures, each name prefixed with `p`. */
void ps_report(const struct ps_run *r, const char *p);
/* Calls gone wrong (executors and event handlers), stale int3s not counted. */
u64 ps_broken(const struct ps_run *r);
u64 ps_violations(const struct ps_run *r);
/* The verdict of a run that must complete (every strategy but spin with events on the
 * patcher): intact calls, no invariant broken, no lost event, windows hit. */
enum exp_result ps_verdict_complete(struct exp_ctx *ctx, const struct ps_run *r, const char *p);
/* The verdict of the spin negative control: passes when the deadlock was detected. */
enum exp_result ps_verdict_deadlock(struct exp_ctx *ctx, const struct ps_run *r, const char *p);
/* Whether poke= on the command line lets strategy s run (none given: all). */
bool ps_selected(enum poke_strategy s);
/* Median-latency ratio of a run against the emulate run of the same experiment. */
void ps_vs_emulate(const struct ps_run *r, u64 emulate_median, const char *p);
/*
 * A plan: every strategy poke= selects under one load, side by side: emulate, rollback, then
 * (spin) spin twice, with no events on the patcher (must complete) and under the load (must
 * deadlock, detected). Each run is reported (ps_report), its figures summed for report_rate,
 * and judged; the plan's verdict is the first run's that failed.
 */
struct ps_plan {
	enum ps_load load;
	u32 permille;                             /* emulate's and rollback's budget share */
	bool spin;                                /* also the two spin runs (150, 300 permille) */
	bool vs_emulate;                          /* ps_vs_emulate for the runs after emulate */
	void (*configure)(struct ps_config *cfg); /* after ps_init (NULL: nothing) */
	/* a run's verdict, after its report (NULL: ps_verdict_deadlock for spin under the
	 * load, else ps_verdict_complete) */
	enum exp_result (*verdict)(struct exp_ctx *ctx, const struct ps_run *r, const char *p);
	u64 (*hits)(const struct ps_run *r); /* report_rate's hits (NULL: events that met
						   * the live int3) */
};
/* Runs the plan; skipped when it has no spin runs and poke= selects neither of the others. */
enum exp_result ps_run_strategies(struct exp_ctx *ctx, const struct ps_plan *plan);

#endif
