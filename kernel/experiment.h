/* The experiment registry (a linker section) and what a running experiment may use. */
#ifndef RACEBED_EXPERIMENT_H
#define RACEBED_EXPERIMENT_H

#include "lib/types.h"

enum exp_result { EXP_PASS, EXP_FAIL, EXP_SKIP };

/* Features an experiment may need; the runner skips it, saying which, when one is missing. */
#define FEAT_X2APIC (1u << 0)
#define FEAT_MWAIT (1u << 1)
#define FEAT_TSC_DEADLINE (1u << 2)

struct exp_ctx {
	u64 iterations;     /* from iterations= or the experiment's default */
	u64 seed;
	u64 start_tsc;
	u64 start_print_cycles; /* console_print_cycles() at start: printing is not trial time */
	u64 budget_tsc;     /* soft time budget: experiments stop adding trials after it */
	u32 ncpus;          /* online CPUs */
	char reason[96];    /* SKIP reason or a one-line failure summary */
};

/*
 * Families, in run order. An experiment declares where it runs with
 * .order = EXP_ORDER(family, rank): families in this order, then ascending rank (10, 20, ...
 * leaves room to insert). The testbed's own negative controls (selftest_*) run last.
 */
enum exp_family { FAMILY_CORE = 1, FAMILY_STI, FAMILY_MOVSS, FAMILY_NMI, FAMILY_POKE, FAMILY_SELFTEST };
#define EXP_ORDER(family, rank) (((u32)(family) << 16) | (u32)(rank))
#define EXP_FAMILY(order) ((enum exp_family)((order) >> 16))
const char *exp_family_name(enum exp_family f);

struct experiment {
	u32 order;          /* EXP_ORDER(family, rank): required, unique */
	const char *name;
	const char *description;
	u32 min_cpus;
	u32 features;
	u64 default_iterations;
	u32 budget_ms;      /* soft budget; the watchdog allows timeout= (default 60 s) */
	bool manual;        /* negative controls: run only when tests= names them exactly */
	enum exp_result (*run)(struct exp_ctx *ctx);
};

#define EXPERIMENT(ident)                                                                    \
	static const struct experiment ident                                                 \
		__attribute__((used, section(".experiments"), aligned(8)))

/* The address of an assembly label, to compare against an interrupted RIP. */
#define RIP(label) ((u64)(label))

/* True once the soft time budget is used up. */
bool exp_budget_spent(const struct exp_ctx *ctx);
/* A `# key=value`-style diagnostic line (the '# ' and the newline are added). */
void diag(const char *fmt, ...) PRINTF_FMT(1, 2);
/* Records a failure reason (first one wins) and returns EXP_FAIL. */
enum exp_result exp_fail(struct exp_ctx *ctx, const char *fmt, ...) PRINTF_FMT(2, 3);
enum exp_result exp_skip(struct exp_ctx *ctx, const char *fmt, ...) PRINTF_FMT(2, 3);

/* Deterministic per-CPU pseudo-random numbers (xorshift64*), seeded from seed= . */
static inline u64 rng_next(u64 *state)
{
	u64 x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dull;
}
/*
 * The first state of one pseudo-random stream: seed= spread by a golden-ratio multiply, plus the
 * stream's own number (a CPU, a role, a variant), so that streams of one seed differ.
 */
static inline u64 rng_seed(u64 seed, u64 stream) { return seed * 0x9e3779b97f4a7c15ull + stream; }

#endif
