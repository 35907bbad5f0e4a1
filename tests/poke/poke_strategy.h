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

enum ps_load { LOAD_NONE, LOAD_NMI, LOAD_IRQ };

struct ps_run {
	/* configuration */
	enum poke_strategy strategy;
	enum ps_load load;
	u32 flags;            /* POKE_SKIP_SYNC2, POKE_IPI_NO_ACK ... */
	u32 max_restarts;
	u64 max_gap_ns;       /* events: random gap in [0, max_gap_ns) */
	u32 aim_permille;     /* also an event sent by the patcher to itself right after the int3
			       * or the tail write (step hook), in this share of those steps */
	u64 max_patches, end_tsc, seed;
	u32 want_deadlocks;   /* spin: stop after this many, or both windows seen */
	u32 max_executors;    /* 0: every CPU left; else the others stay idle */
	u64 hard_end_tsc;     /* past end_tsc the patcher goes on until its controls are
			       * reached, up to here */
	/* roles */
	u32 patcher, driver;  /* driver ~0u: no load, the boot CPU executes */
	/* results */
	volatile u64 stop, ready;
	u32 executors;
	u64 patches, failed, gave_up;
	u64 outcome[PO_N];    /* executors */
	u64 ev_out[PO_N];     /* calls from event handlers on the patcher */
	u64 calls, ev_calls;
	volatile u64 ev_sent, ev_handled, ev_lost, ev_aimed;
	u64 aim_rng;
	volatile u64 ev_window[PW_N], ev_hit[PW_N];
	struct hist lat_hist, restart_hist;
	u64 lat_median;
	struct poke_stats st;
	/* spin deadlocks found by the watchdog probe */
	volatile u32 deadlocks;
	u64 detect_ns_first, detect_ns_max;
	u32 deadlock_window[PW_N];
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
 * Every strategy poke= selects under one load, side by side: emulate, rollback, then spin
 * twice (no events on the patcher: must complete; the load: must deadlock, detected).
 */
enum exp_result ps_run_strategies(struct exp_ctx *ctx, enum ps_load load);

#endif
