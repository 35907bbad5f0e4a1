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
 *
 * Two more arms tell the cause of QEMU TCG's stale code apart. The writer drops its own TLB
 * entry of the address it stores to (INVLPG, no architectural effect on coherence) before every
 * store: cpuid_orig_invlpg with the executor running the code while it is written,
 * cpuid_idle_invlpg (the positive control) with the executor idle. Under QEMU 7.2 TCG a store
 * invalidates translations only when it takes the slow path (accel/tcg/cputlb.c:
 * notdirty_write(), chosen by TLB_NOTDIRTY on the storing CPU's TLB entry). Two windows let a
 * translation outlive the stores made after it:
 *   - notdirty_write() invalidates the page's translations before the data lands, so a CPU
 *     translating at that moment links a translation of the old bytes (stale until the next
 *     store: short streaks, the stale value changing every trial);
 *   - the storing CPU's entry loses TLB_NOTDIRTY while another CPU re-protects the page: the
 *     flag is computed from cpu_physical_memory_is_clean() before tlb_set_page_full() takes
 *     the TLB lock, and notdirty_write() calls tlb_set_dirty() after dropping the page lock,
 *     racing tb_link_page() -> tlb_protect_code() on the executing CPU. From then on every
 *     store is a fast-path store that invalidates nothing, and one translation is run for the
 *     rest of the arm (streak = trials, the stale value fixed, the alias address stale too).
 * The INVLPG arms refill the writer's entry before each store, which closes the second window
 * only. The writer times each store: a slow-path store (the invalidation) takes microseconds.
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

#define NVARIANTS 7
#define SLOW_STORE_NS 1000 /* a store that took the slow path (invalidation) under TCG */
#define ACK_TIMEOUT_NS 1000000000ull /* a loaded host deschedules a vCPU for long */

typedef u32 (*code_fn)(void);

static const char *const names[NVARIANTS] = { "plain_orig", "cpuid_orig", "plain_alias",
					      "cpuid_alias", "plain_idle", "cpuid_orig_invlpg",
					      "cpuid_idle_invlpg" };
enum { V_IDLE_INVLPG = 6 };
static volatile u64 flag, ack, lost;
static volatile u32 variant, done;
static volatile u64 trials[NVARIANTS], old_code[NVARIANTS], other_code[NVARIANTS];
static volatile u64 live_runs[NVARIANTS]; /* runs of the code while the executor polled */
static volatile u64 poll_total[NVARIANTS], variant_tsc[NVARIANTS], max_streak[NVARIANTS];
static volatile u64 not_visible[NVARIANTS], new_elsewhere[NVARIANTS], new_code[NVARIANTS];
static volatile u64 stale_changes[NVARIANTS]; /* stale runs that returned another value than the last */
static volatile u64 old_while_polling; /* polls that ran the previous version: old is visible */
static volatile u64 slow_stores[NVARIANTS]; /* code stores that took >= SLOW_STORE_NS */
static volatile u64 store_tsc_max[NVARIANTS], store_tsc_sum[NVARIANTS];
static u32 writer_cpu;

static bool with_cpuid(u32 v) { return v == 1 || v == 3 || v == 5 || v == 6; }
static bool via_alias(u32 v) { return v == 2 || v == 3; }
static bool runs_while_waiting(u32 v) { return v != 4 && v != 6; }
static bool writer_invlpg(u32 v) { return v == 5 || v == 6; }
static void invlpg(const volatile void *p) { __asm__ volatile("invlpg (%0)" ::"r"(p) : "memory"); }

static void writer_trial(u32 v, u64 seq, volatile u32 *orig, volatile u32 *alias)
{
	volatile u32 *p = via_alias(v) ? alias : orig;
	if (writer_invlpg(v))
		invlpg(p);
	u64 t0 = rdtsc();
	*p = (u32)seq;
	u64 dt = rdtsc() - t0;
	slow_stores[v] += dt >= ns_to_tsc(SLOW_STORE_NS);
	store_tsc_sum[v] += dt;
	store_tsc_max[v] = MAX(store_tsc_max[v], dt);
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
		variant_tsc[v] = max_streak[v] = slow_stores[v] = 0;
		store_tsc_max[v] = store_tsc_sum[v] = 0;
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
		     "stale_value_changes=%lu other=%lu longest_old_streak=%lu code_live_when_written=%lu "
		     "slow_path_stores=%lu store_us=mean/max %lu/%lu polls=%lu ms=%lu",
		     names[v], trials[v], new_code[v], old_code[v], new_elsewhere[v], not_visible[v],
		     stale_changes[v], other_code[v], max_streak[v], live_runs[v], slow_stores[v],
		     trials[v] ? tsc_to_ns(store_tsc_sum[v] / trials[v]) / 1000u : 0,
		     tsc_to_ns(store_tsc_max[v]) / 1000u, poll_total[v],
		     tsc_to_ns(variant_tsc[v]) / 1000000u);
		all += trials[v];
		stale += old_code[v];
		runnable_new += new_code[v] + new_elsewhere[v];
	}
	report_rate(ctx, all, stale);
	/* positive controls: the executor can see old code, and the new code can be run */
	bool saw_old = control("old_code_run_while_polling", old_while_polling);
	bool saw_new = control("new_code_run", runnable_new);
	/* and at the code's own address, in the arm built to see it (executor idle, writer INVLPG) */
	bool saw_new_orig = control("new_code_at_orig_va", new_code[V_IDLE_INVLPG]);
	if (lost)
		return exp_fail(ctx, "%lu trials never acknowledged", lost);
	if (!saw_old || !saw_new)
		return exp_fail(ctx, "positive control: %s never seen", saw_old ? "new code" : "old code");
	if (!saw_new_orig)
		return exp_fail(ctx, "positive control: new code never run at its own address");
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
	.budget_ms = 840, /* 120 ms per arm */
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(poke_sdm_flag_rules) = {
	/* poke_sdm_flag: the recipe followed (CPUID after the flag) vs not */
	{ "poke_sdm_flag", "old_code_cpuid_*", ON_INTEL(NEVER, SDM_XMC), ON_AMD(NEVER, SDM_XMC) },
	{ "poke_sdm_flag", "old_code_plain_*",
	  ON_INTEL(ALLOWED, SDM_XMC_UNSYNCED), ON_AMD(ALLOWED, SDM_XMC_UNSYNCED) },
};
/* clang-format on */
