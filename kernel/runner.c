/* The experiment runner: selection by glob, KTAP output, time budgets and the hang watchdog. */
#include "kernel/runner.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/experiment.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "kernel/record.h"
#include "kernel/results_screen.h"
#include "lib/glob.h"
#include "lib/lib.h"
#include "lib/printf.h"

#define DEFAULT_TIMEOUT_S 60
#define WATCHDOG_PERIOD_MS 100

extern const struct experiment __experiments_start[], __experiments_end[];

/* tools/list-experiments.py (`make list`) reads the registry from the ELF at these offsets. */
_Static_assert(sizeof(struct experiment) == 56 && __builtin_offsetof(struct experiment, name) == 8 &&
		       __builtin_offsetof(struct experiment, description) == 16 &&
		       __builtin_offsetof(struct experiment, min_cpus) == 24 &&
		       __builtin_offsetof(struct experiment, default_iterations) == 32 &&
		       __builtin_offsetof(struct experiment, budget_ms) == 40 &&
		       __builtin_offsetof(struct experiment, manual) == 44,
	       "struct experiment changed: update tools/list-experiments.py");

static bool selected[256];
static u32 nselected, npassed, nfailed, nskipped;
static bool header_printed, plan_printed;
static struct exp_ctx *current_ctx;
static const char *current_name = "(none: booting)";
static u32 current_number; /* KTAP number of the running experiment, 0 before the first */

const char *runner_current(void) { return current_name; }

/*
 * watchdog state, read by the BSP's timer interrupt. Two clocks, either of which ends the
 * experiment: the TSC against tsc_hz, and the count of the watchdog's own ticks (the LAPIC
 * timer, calibrated apart). A TSC slower than tsc_hz says (a CPUID frequency that is not the
 * TSC's: 3500 MHz on Bochs against 50 million simulated instructions a second) held the
 * watchdog off 70 times too long; the ticks, paused with the watchdog, never run early.
 */
static volatile u64 wd_deadline;
static volatile u64 wd_ticks, wd_tick_limit;
static volatile u32 wd_number;
static const struct experiment *volatile wd_exp;
static watchdog_hook_t volatile wd_hook;

/* The registry in run order (sorted by .order once, at the first use). */
static const struct experiment *exps[256];
static u32 nexps;

const char *exp_family_name(enum exp_family f)
{
	static const char *const names[] = { "?", "core", "sti", "movss", "nmi", "poke", "selftest" };
	return (u32)f < ARRAY_SIZE(names) ? names[f] : "?";
}

/*
 * Sorts the linker-section registry by .order. An experiment without an order, with an unknown
 * family or with the same order as another is a registry error: reported as a boot problem (the
 * boot experiment fails), and the experiment still runs, so nothing disappears silently.
 */
static void registry_sort(void)
{
	if (nexps)
		return;
	u32 n = (u32)(__experiments_end - __experiments_start);
	if (n > ARRAY_SIZE(exps)) {
		boot_problem("registry: %u experiments, only %u fit", n, (u32)ARRAY_SIZE(exps));
		n = ARRAY_SIZE(exps);
	}
	for (u32 i = 0; i < n; i++) {
		const struct experiment *e = &__experiments_start[i];
		u32 j = i;
		for (; j > 0 && exps[j - 1]->order > e->order; j--)
			exps[j] = exps[j - 1];
		exps[j] = e;
	}
	nexps = n;
	for (u32 i = 0; i < n; i++) {
		const struct experiment *e = exps[i];
		if (EXP_FAMILY(e->order) < FAMILY_CORE || EXP_FAMILY(e->order) > FAMILY_SELFTEST)
			boot_problem("registry: %s has no valid .order (family %u)", e->name,
				     e->order >> 16);
		else if (i > 0 && exps[i - 1]->order == e->order)
			boot_problem("registry: %s and %s have the same .order 0x%x", exps[i - 1]->name,
				     e->name, e->order);
	}
}

static u32 nexp(void)
{
	registry_sort();
	return nexps;
}

void diag(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("# %s\n", buf);
}

static enum exp_result set_reason(struct exp_ctx *ctx, const char *fmt, va_list ap)
{
	if (ctx->reason[0] == 0)
		kvsnprintf(ctx->reason, sizeof(ctx->reason), fmt, ap);
	return EXP_FAIL;
}

enum exp_result exp_fail(struct exp_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_reason(ctx, fmt, ap);
	va_end(ap);
	return EXP_FAIL;
}

enum exp_result exp_skip(struct exp_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_reason(ctx, fmt, ap);
	va_end(ap);
	return EXP_SKIP;
}

bool exp_budget_spent(const struct exp_ctx *ctx)
{
	return rdtsc() - ctx->start_tsc > ctx->budget_tsc;
}

/* ---- boot problems, reported by the boot experiment ---- */
static char problems[8][120];
static u32 nproblems;

void boot_problem(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (nproblems < ARRAY_SIZE(problems))
		kvsnprintf(problems[nproblems], sizeof(problems[0]), fmt, ap);
	nproblems++;
	va_end(ap);
	kprintf("# boot problem: %s\n", problems[MIN(nproblems, ARRAY_SIZE(problems)) - 1]);
}
u32 boot_problem_count(void) { return nproblems; }
void boot_problems_print(void)
{
	for (u32 i = 0; i < MIN(nproblems, ARRAY_SIZE(problems)); i++)
		diag("boot_problem=%s", problems[i]);
}

/* ---- selection ---- */
static bool pattern_matches_some(const char *pat, size_t len)
{
	char one[64];
	if (len >= sizeof(one))
		return false;
	memcpy(one, pat, len);
	one[len] = 0;
	for (u32 i = 0; i < nexp(); i++)
		if (glob_match(one, exps[i]->name))
			return true;
	return false;
}

/* Every pattern in a comma-separated list must match at least one experiment. */
static void check_patterns(const char *key, const char *list)
{
	const char *p = list;
	while (*p) {
		const char *end = p;
		while (*end && *end != ',')
			end++;
		if (end > p && !pattern_matches_some(p, (size_t)(end - p))) {
			char msg[160];
			ksnprintf(msg, sizeof(msg), "%s: no experiment matches '%.*s' (try 'list')",
				  key, (int)(end - p), p);
			runner_bad_cmdline(msg);
		}
		p = *end ? end + 1 : end;
	}
}

/*
 * The KTAP version line, once. The run diagnostics (loader, CPUs, platform) come before it, so
 * that the plan follows it directly: a parser that only accepts the plan right after the
 * version line (Linux's kunit.py) then knows how many results to expect and reports a
 * truncated log, and no run diagnostic is attached to test 1.
 */
void runner_ktap_header(void)
{
	if (!header_printed)
		kprintf("KTAP version 1\n");
	header_printed = true;
}

/* The last KTAP line, as kselftest and KUnit print it. */
static void print_totals(void)
{
	kprintf("# Totals: pass:%u fail:%u skip:%u total:%u\n", npassed, nfailed, nskipped,
		npassed + nfailed + nskipped);
}

NORETURN void runner_bad_cmdline(const char *msg)
{
	runner_ktap_header();
	kprintf("1..1\n# cmdline: %s\nnot ok 1 cmdline\n", msg);
	npassed = nskipped = 0;
	nfailed = 1;
	print_totals();
	run_exit(RUN_BAD_CMDLINE);
}

/*
 * `list`: valid KTAP in which every experiment is one skipped test (a parser sees the names and
 * that nothing ran), each after a line with its family and description.
 */
NORETURN void runner_list(void)
{
	runner_ktap_header();
	kprintf("1..%u\n", nexp());
	for (u32 i = 0; i < nexp(); i++) {
		const struct experiment *e = exps[i];
		kprintf("# experiment %s family=%s: %s (min cpus %u, default iterations %lu%s)\n",
			e->name, exp_family_name(EXP_FAMILY(e->order)), e->description, e->min_cpus,
			e->default_iterations, e->manual ? ", runs only when named" : "");
		kprintf("ok %u %s # SKIP listed, not run\n", i + 1, e->name);
		nskipped++;
	}
	print_totals();
	run_exit(RUN_PASS);
}

/* True when the comma-separated list holds exactly `name` as one of its items. */
static bool list_names(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *end = p;
		while (*end && *end != ',')
			end++;
		if ((size_t)(end - p) == n && strncmp(p, name, n) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

u32 runner_select(const struct cmdline *cl)
{
	check_patterns("tests", cl->tests);
	check_patterns("skip", cl->skip);
	nselected = 0;
	for (u32 i = 0; i < nexp() && i < ARRAY_SIZE(selected); i++) {
		const struct experiment *e = exps[i];
		const char *name = e->name;
		bool want = e->manual ? list_names(cl->tests, name)
				      : cl->tests[0] == 0 || glob_list_match(cl->tests, name);
		selected[i] = want && !glob_list_match(cl->skip, name);
		nselected += selected[i];
	}
	runner_ktap_header();
	kprintf("1..%u\n", nselected);
	plan_printed = true;
	return nselected;
}

/* ---- watchdog ---- */

/* Samples every other online CPU's RIP by NMI (bounded wait) and prints them. */
static void report_stuck_cpus(struct trap_frame *f)
{
	diag("cpu 0 rip=0x%lx (interrupted by the watchdog)", f->rip);
	for_each_online_cpu(i) {
		if (i == this_cpu_index())
			continue;
		__atomic_store_n(&cpus[i].sample_request, 1, __ATOMIC_RELEASE);
		ipi_send_cpu(i, ICR_NMI);
	}
	udelay(100000);
	for_each_online_cpu(i) {
		if (i == this_cpu_index())
			continue;
		if (READ_ONCE(cpus[i].sample_request))
			diag("cpu %u rip=unknown (did not answer the NMI)", i);
		else
			diag("cpu %u rip=0x%lx rsp=0x%lx", i, cpus[i].sampled_rip, cpus[i].sampled_rsp);
	}
}

void watchdog_set_hook(watchdog_hook_t hook) { wd_hook = hook; }
void watchdog_report_cpus(struct trap_frame *f) { report_stuck_cpus(f); }

/* The experiments after `number` are reported as not run, so the plan still adds up. */
static void skip_rest(u32 number, const char *what, const char *name)
{
	u32 num = 0;
	for (u32 i = 0; i < nexp(); i++) {
		if (!selected[i])
			continue;
		if (++num <= number)
			continue;
		kprintf("ok %u %s # SKIP not run: the run %s in %s\n", num, exps[i]->name, what, name);
		char reason[96];
		ksnprintf(reason, sizeof(reason), "not run: the run %s in %s", what, name);
		record_result(RECORD_SKIP, exps[i]->name, reason);
		nskipped++;
	}
}

/*
 * A crash (unexpected exception, a CPU faulting while reporting) ends the run: once the crash
 * report is printed, the other CPUs are stopped, the running experiment gets its `not ok`, the
 * experiments not run their SKIP, then the totals. Before the plan it is reported as the
 * failed test `boot`.
 */
NORETURN void runner_crash_end(void)
{
	if (!run_stop_others())
		cpu_halt_forever(); /* another CPU is ending the run */
	udelay(10000);          /* let the stop NMIs land before taking over the console */
	console_break_lock();
	ktap_sub_abort("the run crashed");
	const char *name = current_number ? current_name : "boot";
	if (!plan_printed) {
		runner_ktap_header();
		kprintf("1..1\n");
	}
	kprintf("# %s: failed: the run crashed (see the crash report above)\n"
		"not ok %u %s\n", name, current_number ? current_number : 1, name);
	results_note_failure(name, "the run crashed (crash report on serial)");
	record_result(RECORD_NOT_OK, name, "the run crashed (see the crash report above)");
	nfailed++;
	if (plan_printed)
		skip_rest(current_number, "crashed", name);
	deviations_print();
	print_totals();
	results_show(npassed, nfailed, nskipped);
	run_exit(RUN_CRASH);
}

static bool watchdog_tick(struct trap_frame *f)
{
	apic_eoi();
	if (wd_exp && wd_hook)
		wd_hook(f);
	if (!wd_exp)
		return true;
	bool by_ticks = ++wd_ticks >= wd_tick_limit;
	if (!by_ticks && tsc_before(wd_deadline))
		return true;
	const struct experiment *e = wd_exp;
	wd_exp = NULL;
	u64 tsc_s = tsc_to_ns(rdtsc() - current_ctx->start_tsc) / 1000000000u;
	report_stuck_cpus(f);
	if (by_ticks && tsc_before(wd_deadline))
		diag("watchdog: %lu ticks of %u ms passed while the TSC counted %lu s: the TSC runs "
		     "slower than tsc_hz=%lu", wd_ticks, WATCHDOG_PERIOD_MS, tsc_s, timeinfo.tsc_hz);
	ktap_sub_abort("the run timed out");
	u64 took_s = by_ticks ? wd_ticks * WATCHDOG_PERIOD_MS / 1000u : tsc_s;
	kprintf("not ok %u %s # TIMEOUT after %lu s\n", wd_number, e->name, took_s);
	results_note_failure(e->name, "TIMEOUT (watchdog)");
	char reason[48];
	ksnprintf(reason, sizeof(reason), "TIMEOUT after %lu s", took_s);
	record_result(RECORD_NOT_OK, e->name, reason);
	nfailed++;
	skip_rest(wd_number, "timed out", e->name);
	deviations_print();
	print_totals();
	results_show(npassed, nfailed, nskipped);
	run_exit(RUN_FAIL);
}

static void watchdog_arm(const struct experiment *e, u32 number, u64 timeout_s)
{
	wd_deadline = tsc_deadline_ns(timeout_s * 1000000000ull);
	wd_ticks = 0;
	wd_tick_limit = timeout_s * 1000u / WATCHDOG_PERIOD_MS;
	wd_number = number;
	wd_exp = e;
	watchdog_resume();
}

static void watchdog_disarm(void)
{
	wd_exp = NULL;
	wd_hook = NULL;
	apic_timer_stop();
}

void watchdog_pause(void)
{
	apic_timer_stop();
}

void watchdog_resume(void)
{
	if (wd_exp && timeinfo.apic_hz)
		apic_timer_periodic(VEC_WATCHDOG, timeinfo.apic_hz / (1000 / WATCHDOG_PERIOD_MS));
}

/* ---- running ---- */
static const char *missing_feature(u32 f)
{
	if ((f & FEAT_X2APIC) && apic.mode != APIC_MODE_X2APIC)
		return "needs x2APIC mode";
	if ((f & FEAT_MWAIT) && !((cpuid(1, 0).ecx >> 3) & 1))
		return "needs MONITOR/MWAIT";
	if ((f & FEAT_TSC_DEADLINE) && !apic.has_tsc_deadline)
		return "needs TSC-deadline timer";
	return NULL;
}

static u64 unexpected_irqs(void)
{
	u64 n = 0;
	for_each_online_cpu(i)
		n += cpus[i].unexpected_irq_count;
	return n;
}

static enum exp_result run_one(const struct experiment *e, u32 number, const struct cmdline *cl,
			       struct exp_ctx *ctx)
{
	u32 online = cpus_online();
	if (online < e->min_cpus)
		return exp_skip(ctx, "needs %u cpus, %u online", e->min_cpus, online);
	const char *why = missing_feature(e->features);
	if (why)
		return exp_skip(ctx, "%s", why);
	/* bench: ten times the default trials and budget, for throughput figures */
	u64 scale = cl->bench ? 10 : 1;
	ctx->iterations = cl->iterations ? cl->iterations : e->default_iterations * scale;
	ctx->seed = cl->seed;
	ctx->ncpus = online;
	ctx->budget_tsc = ns_to_tsc((u64)(e->budget_ms ? e->budget_ms : 5000) * scale * 1000000ull);
	u64 before = unexpected_irqs();
	kprintf("# %s: running, budget %lu ms\n", e->name,
		(u64)(e->budget_ms ? e->budget_ms : 5000) * scale);
	ktap_sub_reset();
	watchdog_arm(e, number, cl->timeout_s ? cl->timeout_s : DEFAULT_TIMEOUT_S);
	irq_enable();
	ctx->start_print_cycles = console_print_cycles();
	ctx->start_tsc = rdtsc();
	enum exp_result r = e->run(ctx);
	u64 took = rdtsc() - ctx->start_tsc;
	watchdog_disarm();
	diag("duration_ms=%lu", tsc_to_ns(took) / 1000000u);
	if (r != EXP_SKIP && unexpected_irqs() != before)
		r = exp_fail(ctx, "%lu unexpected interrupts", unexpected_irqs() - before);
	const char *first;
	u32 bad_cases = ktap_sub_failed(&first);
	if (r == EXP_PASS && bad_cases)
		r = exp_fail(ctx, "%u subtest(s) failed, first %s", bad_cases, first);
	return r;
}

NORETURN void runner_run(const struct cmdline *cl)
{
	trap_set_handler(VEC_WATCHDOG, watchdog_tick);
	u32 number = 0;
	for (u32 i = 0; i < nexp(); i++) {
		if (!selected[i])
			continue;
		const struct experiment *e = exps[i];
		struct exp_ctx ctx;
		memset(&ctx, 0, sizeof(ctx));
		current_ctx = &ctx;
		current_name = e->name;
		current_number = ++number;
		enum exp_result r = run_one(e, number, cl, &ctx);
		if (r == EXP_SKIP) {
			kprintf("ok %u %s # SKIP %s\n", number, e->name, ctx.reason);
			record_result(RECORD_SKIP, e->name, ctx.reason);
			nskipped++;
		} else if (r == EXP_PASS) {
			kprintf("ok %u %s\n", number, e->name);
			record_result(RECORD_OK, e->name, NULL);
			npassed++;
		} else {
			kprintf("# %s: failed: %s\nnot ok %u %s\n", e->name,
				ctx.reason[0] ? ctx.reason : "(no reason given)", number, e->name);
			results_note_failure(e->name, ctx.reason[0] ? ctx.reason : "(no reason given)");
			record_result(RECORD_NOT_OK, e->name,
				      ctx.reason[0] ? ctx.reason : "(no reason given)");
			nfailed++;
		}
	}
	deviations_print();
	print_totals();
	results_show(npassed, nfailed, nskipped);
	run_exit(nfailed ? RUN_FAIL : RUN_PASS);
}
