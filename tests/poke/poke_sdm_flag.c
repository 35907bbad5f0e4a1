/*
 * poke_sdm_flag: the SDM's cross-modifying-code recipe. A writer CPU stores new code (the
 * imm32 of `movl $imm32, %eax; ret`) and then a flag; an executor CPU that keeps running the
 * code while it polls sees the flag, optionally executes CPUID (the serializing instruction
 * the recipe asks for), then runs the code once more. How often does that last run still
 * return the old immediate? Five variants: with and without CPUID, the code written through
 * its own (identity) mapping or through the alias window, and (plain_idle) an executor that
 * does not run the code while it waits for the flag.
 *
 * How "old" is decided (tests/poke/sdm_classify.h): after the flag the executor runs the
 * code at its usual address, reads the imm32 as data through the same mapping, and when the run
 * was old, runs the same physical bytes once more at the alias address. Old with the data new
 * is a stale instruction fetch; old with the alias run new shows it is the translation of that
 * one linear address that went stale. Every trial is paired (the writer waits for the
 * executor's ack of its sequence number) and the addresses are checked to be one physical page.
 */
#include "tests/poke/poke.h"
#include "arch/x86/cpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "patching/alias.h"
#include "tests/poke/sdm_classify.h"
#include "kernel/arch_rules.h"

#define NVARIANTS 5
#define ACK_TIMEOUT_NS 1000000000ull /* a loaded host deschedules a vCPU for long */

typedef u32 (*code_fn)(void);

static const char *const names[NVARIANTS] = { "plain_orig", "cpuid_orig", "plain_alias",
					      "cpuid_alias", "plain_idle" };
static volatile u64 flag, ack, lost;
static volatile u32 variant, done;
static volatile u64 trials[NVARIANTS], old_code[NVARIANTS], other_code[NVARIANTS];
static volatile u64 live_runs[NVARIANTS]; /* runs of the code while the executor polled */
static volatile u64 poll_total[NVARIANTS], variant_tsc[NVARIANTS], max_streak[NVARIANTS];
static volatile u64 not_visible[NVARIANTS], new_elsewhere[NVARIANTS], new_code[NVARIANTS];
static volatile u64 stale_changes[NVARIANTS]; /* stale runs that returned another value than the last */
static volatile u64 old_while_polling; /* polls that ran the previous version: old is visible */
static u32 writer_cpu;

static bool with_cpuid(u32 v) { return v == 1 || v == 3; }
static bool via_alias(u32 v) { return v == 2 || v == 3; }
static bool runs_while_waiting(u32 v) { return v != 4; }

static void writer_trial(u32 v, u64 seq, volatile u32 *orig, volatile u32 *alias)
{
	*(via_alias(v) ? alias : orig) = (u32)seq;
	__atomic_store_n(&flag, seq, __ATOMIC_RELEASE);
	u64 end = tsc_deadline_ns(ACK_TIMEOUT_NS);
	while (__atomic_load_n(&ack, __ATOMIC_ACQUIRE) != seq) {
		if (tsc_past(end)) {
			lost++;
			__atomic_store_n(&ack, seq, __ATOMIC_RELEASE);
			return;
		}
		cpu_relax();
	}
	trials[v]++;
}

static void writer(const struct exp_ctx *ctx)
{
	u64 code = PADDR(poke_sdm_code), seq = 0, slice = ctx->budget_tsc * 9 / 10 / NVARIANTS;
	volatile u32 *orig = (volatile u32 *)(code + 1);
	volatile u32 *alias = (volatile u32 *)poke_alias_of(code + 1);
	for (u32 v = 0; v < NVARIANTS; v++) {
		u64 end = rdtsc() + slice, n = 0;
		variant = v;
		write_cr3(read_cr3()); /* each variant starts with the writer's TLB empty */
		u64 t0 = rdtsc();
		for (; n < ctx->iterations / NVARIANTS && tsc_before(end); n++)
			writer_trial(v, ++seq, orig, alias);
		variant_tsc[v] = rdtsc() - t0;
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
}

static void executor(void)
{
	code_fn code = (code_fn)PADDR(poke_sdm_code);
	code_fn elsewhere = (code_fn)poke_alias_of(PADDR(poke_sdm_code));
	const volatile u32 *imm = (const volatile u32 *)(PADDR(poke_sdm_code) + 1);
	u64 want = 1, streak = 0;
	u32 last_v = 0, last_stale = 0;
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		u64 polls = 0;
		u32 v = variant; /* stable while the writer waits for this trial's ack */
		while (__atomic_load_n(&flag, __ATOMIC_ACQUIRE) != want) {
			if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
				return;
			if (!runs_while_waiting(v)) {
				cpu_relax();
				continue;
			}
			old_while_polling += code() < (u32)want;
			polls++;
		}
		v = variant;
		if (with_cpuid(v))
			cpuid(0, 0);
		u32 got = code();
		u32 data = *imm;
		u32 other = got == (u32)want ? got : elsewhere();
		live_runs[v] += polls != 0;
		poll_total[v] += polls;
		switch (sdm_classify((u32)want, got, data)) {
		case SDM_NEW: new_code[v]++; break;
		case SDM_STALE_FETCH:
			old_code[v]++;
			stale_changes[v] += got != last_stale;
			last_stale = got;
			break;
		case SDM_NOT_VISIBLE: not_visible[v]++; break;
		default: other_code[v]++; break;
		}
		new_elsewhere[v] += sdm_stale_by_address((u32)want, got, other);
		streak = got < (u32)want ? (v == last_v ? streak + 1 : 1) : 0;
		last_v = v;
		if (streak > max_streak[v])
			max_streak[v] = streak;
		__atomic_store_n(&ack, want, __ATOMIC_RELEASE);
		want++;
	}
}

static void worker(void *arg)
{
	if (this_cpu_index() == writer_cpu)
		writer(arg);
	else
		executor();
}

static void reset(void)
{
	flag = ack = lost = old_while_polling = 0;
	done = variant = 0;
	for (u32 v = 0; v < NVARIANTS; v++) {
		trials[v] = old_code[v] = other_code[v] = live_runs[v] = poll_total[v] = 0;
		not_visible[v] = new_elsewhere[v] = new_code[v] = stale_changes[v] = 0;
		variant_tsc[v] = max_streak[v] = 0;
	}
}

static enum exp_result run(struct exp_ctx *ctx)
{
	u64 code = PADDR(poke_sdm_code);
	if (!poke_alias_prepare(code, POKE_INSN_LEN) || !poke_alias_of(code + 1))
		return exp_fail(ctx, "could not map the alias of the code page");
	u64 exec_pa, alias_pa;
	u64 alias = (u64)poke_alias_of(code);
	if (!pte_virt_to_phys(code, &exec_pa) || !pte_virt_to_phys(alias, &alias_pa))
		return exp_fail(ctx, "cannot resolve the code's mappings");
	diag("code exec_va=0x%lx pa=0x%lx write_va=0x%lx (same) alias_va=0x%lx pa=0x%lx", code,
	     exec_pa, code, alias, alias_pa);
	if (exec_pa != alias_pa)
		return exp_fail(ctx, "the alias maps another page (0x%lx, not 0x%lx)", alias_pa, exec_pa);
	reset();
	*(volatile u32 *)poke_alias_of(code + 1) = 0;
	writer_cpu = this_cpu_index();
	struct cpumask pair;
	cpumask_clear(&pair);
	cpumask_set(&pair, writer_cpu);
	for_each_online_cpu(i)
		if (i != writer_cpu && cpumask_weight(&pair) < 2)
			cpumask_set(&pair, i);
	smp_call(&pair, worker, ctx, true);
	u64 all = 0, stale = 0, runnable_new = 0;
	for (u32 v = 0; v < NVARIANTS; v++) {
		char name[40];
		ksnprintf(name, sizeof(name), "old_code_%s", names[v]);
		observation(name, old_code[v], trials[v]);
		diag("%s: trials=%lu new=%lu old=%lu old_but_new_at_alias_va=%lu not_visible_as_data=%lu "
		     "stale_value_changes=%lu other=%lu longest_old_streak=%lu code_live_when_written=%lu polls=%lu ms=%lu",
		     names[v], trials[v], new_code[v], old_code[v], new_elsewhere[v], not_visible[v],
		     stale_changes[v], other_code[v], max_streak[v], live_runs[v], poll_total[v],
		     tsc_to_ns(variant_tsc[v]) / 1000000u);
		all += trials[v];
		stale += old_code[v];
		runnable_new += new_code[v] + new_elsewhere[v];
	}
	report_rate(ctx, all, stale);
	/* positive controls: the executor can see old code, and the new code can be run */
	bool saw_old = control("old_code_run_while_polling", old_while_polling);
	bool saw_new = control("new_code_run", runnable_new);
	if (lost)
		return exp_fail(ctx, "%lu trials never acknowledged", lost);
	if (!saw_old || !saw_new)
		return exp_fail(ctx, "positive control: %s never seen", saw_old ? "new code" : "old code");
	for (u32 v = 0; v < NVARIANTS; v++)
		if (!trials[v] || (runs_while_waiting(v) && !live_runs[v]) || other_code[v] ||
		    not_visible[v])
			return exp_fail(ctx, "%s: %lu trials, %lu with the code live, %lu neither "
					"old nor new, %lu with the new code invisible as data", names[v],
					trials[v], live_runs[v], other_code[v], not_visible[v]);
	return EXP_PASS;
}

EXPERIMENT(exp_poke_sdm_flag) = {
	.order = EXP_ORDER(FAMILY_POKE, 120),
	.name = "poke_sdm_flag",
	.description = "SDM cross-modifying code (store code, store flag; see flag, [CPUID], run): old code seen?",
	.min_cpus = 2,
	.default_iterations = 400000,
	.budget_ms = 600,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
ARCH_RULES(poke_sdm_flag_rules) = {
	/* poke_sdm_flag: the recipe followed (CPUID after the flag) vs not */
	{ "poke_sdm_flag", "old_code_cpuid_*", ARCH_NEVER, "SDM-3A-8.1.3" },
	{ "poke_sdm_flag", "old_code_plain_*", ARCH_ALLOWED, "SDM-3A-8.1.3" },
};
