/*
 * The int3 protocol for one batch of sites:
 *   publish the descriptors; int3 over each first byte; sync;
 *   each tail (bytes 1..4); sync; each new first byte; sync; retire the descriptors.
 * Every write goes through the alias window. In ATOMIC mode the tail is one locked xchg of
 * the (4-byte aligned) rel32, so a #BP handler reading it sees exactly the old or the new one.
 *
 * NMI, IRQ or #MC on the patching CPU itself reaching a site while its int3 is live: the
 * engine has three answers (cfg.strategy, see poke.h and seed 004).
 *
 * EMULATE (the default): the patching CPU emulates too, it never rolls forward or back. The
 * descriptors are published (reference held) before the first int3 is written and retired
 * only after the last int3 is gone and synced, so a #BP at a site on the patching CPU always
 * finds its descriptor; and the #BP handler never waits for anything (taking a reference is a
 * compare-exchange on a count that cannot be zero while the patcher holds its own, the sync
 * bit of the patcher is never set), so it completes whatever step the interrupted patcher was
 * in, and the patcher resumes that step unchanged.
 *
 * ROLLBACK (strategy_rollback.c): the patching CPU's #BP handler looks at the progress word
 * (enum poke_prog): before the first sync has completed it puts the old first bytes back and
 * marks the batch; poke_batch() sees the mark when it claims the first sync (one
 * compare-exchange, DEPLOY -> COMMITTED, which an interrupt on this CPU cannot split) and
 * starts again from the int3. After it, the handler writes the tails and then the first
 * bytes itself; poke_batch()'s later writes store the same bytes again and its syncs still
 * run. The alias mapping is set up once per site and stays (the handler must always be able
 * to write); POKE_ALIAS_PER_PHASE rebuilds it around each write step, to measure the cost.
 *
 * SPIN (strategy_spin.c): the naive handler waiting until the int3 is gone; a negative
 * control that deadlocks as soon as the patching CPU's own #BP hits the site.
 */
#include "patching/internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "patching/alias.h"

#define DEFAULT_MAX_RESTARTS 256

struct poke_engine poke_eng;
struct poke_cpu_stats poke_cpu_stats[MAX_CPUS];

static void reset_stats(void)
{
	for (u32 i = 0; i < MAX_CPUS; i++)
		poke_cpu_stats[i] = (struct poke_cpu_stats){ .last_stale_int3 = false };
	poke_eng.syncs = poke_eng.sync_timeouts = poke_eng.nsamples = 0;
	poke_eng.batches = poke_eng.sites = 0;
	for (u32 w = 0; w < PW_N; w++) {
		poke_eng.bp_window[w] = 0;
		for (u32 a = 0; a < PA_N; a++)
			poke_eng.patcher_bp[w][a] = 0;
	}
	poke_eng.restarts = poke_eng.restarts_max = poke_eng.gave_up = poke_eng.rescues = 0;
	poke_eng.spins = poke_eng.forward_no_sync2 = poke_eng.alias_cycles = 0;
	for (u32 s = 0; s < PS_N; s++)
		poke_eng.store_cycles[s] = poke_eng.stores[s] = 0;
	poke_eng.last_restarts = 0;
	inv_reset();
}

const char *poke_strategy_name(enum poke_strategy s)
{
	static const char *const n[POKE_NSTRATEGIES] = { "emulate", "rollback", "spin" };
	return (u32)s < POKE_NSTRATEGIES ? n[s] : "?";
}

const char *poke_window_name(enum poke_window w)
{
	static const char *const n[PW_N] = { "idle", "deploy", "tail", "first" };
	return (u32)w < PW_N ? n[w] : "?";
}

const char *poke_action_name(enum poke_action a)
{
	static const char *const n[PA_N] = { "emulated", "rolled_back", "rolled_forward",
					     "deadlocked", "reexecuted" };
	return (u32)a < PA_N ? n[a] : "?";
}

enum poke_window poke_window_of(u32 prog, u32 phase)
{
	if (prog == PROG_IDLE)
		return PW_IDLE;
	if (prog == PROG_DEPLOY || prog == PROG_ROLLED_BACK)
		return PW_DEPLOY;
	return phase >= POKE_PH_FIRST ? PW_FIRST : PW_TAIL;
}

enum poke_window poke_window_now(void)
{
	return poke_window_of(__atomic_load_n(&poke_eng.prog, __ATOMIC_SEQ_CST), poke_phase_now());
}

void poke_note_patcher(enum poke_action a)
{
	__atomic_add_fetch(&poke_eng.patcher_bp[poke_window_now()][a], 1, __ATOMIC_RELAXED);
}

bool poke_start(const struct poke_cfg *cfg)
{
	if (cfg->strategy >= POKE_NSTRATEGIES ||
	    ((cfg->flags & POKE_ALIAS_PER_PHASE) && cfg->strategy != POKE_EMULATE))
		return false;
	poke_eng.cfg = *cfg;
	poke_eng.prog = PROG_IDLE;
	poke_eng.patcher = this_cpu_index();
	poke_eng.phase = POKE_IDLE;
	reset_stats();
	poke_sync_install();
	poke_eng.prev_bp = trap_get_handler(VEC_BP);
	trap_set_handler(VEC_BP, poke_bp_handle);
	return true;
}

void poke_set_patcher(u32 cpu) { poke_eng.patcher = cpu; }

void poke_stop(void)
{
	trap_set_handler(VEC_BP, poke_eng.prev_bp);
}

static void step(enum poke_phase phase)
{
	__atomic_store_n(&poke_eng.phase, phase, __ATOMIC_SEQ_CST);
	if (poke_eng.cfg.step_hook)
		poke_eng.cfg.step_hook(phase);
}

static bool sync_unless(u32 skip_flag)
{
	if (!(poke_eng.cfg.flags & skip_flag))
		return poke_sync();
	inv_sync_skipped();
	return true;
}

void poke_write_tail(const struct poke_desc *d)
{
	u32 rel = 0;
	for (u32 i = 0; i < 4; i++)
		rel |= (u32)d->insn[1 + i] << (8 * i);
	bool one_word = ((u64)d->wr[1] & 3) == 0 && d->wr[4] == d->wr[1] + 3;
	if (poke_eng.cfg.mode == POKE_MODE_ATOMIC && one_word)
		__atomic_exchange_n((volatile u32 *)d->wr[1], rel, __ATOMIC_SEQ_CST);
	else if (one_word)
		*(volatile u32 *)d->wr[1] = rel;
	else
		for (u32 i = 1; i < POKE_INSN_LEN; i++)
			*(volatile u8 *)d->wr[i] = d->insn[i];
}

void poke_write_first_byte(const struct poke_desc *d, u8 b) { *(volatile u8 *)d->wr[0] = b; }

static void count_stores(enum poke_store_step s, u32 n, u64 t0)
{
	poke_eng.store_cycles[s] += rdtsc() - t0;
	poke_eng.stores[s] += n;
}

static void write_first(u32 n, bool int3)
{
	u64 t0 = rdtsc();
	for (u32 i = 0; i < n; i++) {
		struct poke_desc *d = table_at(i);
		poke_write_first_byte(d, int3 ? POKE_OP_INT3 : d->insn[0]);
	}
	count_stores(int3 ? PS_INT3 : PS_FIRST, n, t0);
}

/* POKE_ALIAS_PER_PHASE: map the sites' alias pages before a write step, unmap after it. */
static void alias_step(u32 n, bool map)
{
	if (!(poke_eng.cfg.flags & POKE_ALIAS_PER_PHASE))
		return;
	u64 t0 = rdtsc();
	for (u32 i = 0; i < n; i++)
		poke_alias_phase(table_at(i)->addr, POKE_INSN_LEN, map);
	poke_eng.alias_cycles += rdtsc() - t0;
}

static void set_prog(u32 prog) { __atomic_store_n(&poke_eng.prog, prog, __ATOMIC_SEQ_CST); }

/* True when the first sync is claimed; false when a ROLLBACK handler undid the int3s. */
static bool commit(void)
{
	u32 want = PROG_DEPLOY;
	return __atomic_compare_exchange_n(&poke_eng.prog, &want, PROG_COMMITTED, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* Puts the old first byte back where an int3 still is (a poke that gave up). */
static void undeploy(u32 n)
{
	for (u32 i = 0; i < n; i++) {
		struct poke_desc *d = table_at(i);
		if (*(const volatile u8 *)d->addr == POKE_OP_INT3)
			poke_write_first_byte(d, d->old[0]);
	}
}

static void note_restarts(u32 restarts)
{
	poke_eng.last_restarts = restarts;
	poke_eng.restarts += restarts;
	if (restarts > poke_eng.restarts_max)
		poke_eng.restarts_max = restarts;
}

/* The int3 over every first byte and the first sync, again after each roll-back. */
static bool deploy(u32 n, bool *ok)
{
	u32 cap = poke_eng.cfg.max_restarts ? poke_eng.cfg.max_restarts : DEFAULT_MAX_RESTARTS;
	for (u32 restarts = 0;; restarts++) {
		set_prog(PROG_DEPLOY);
		alias_step(n, true);
		write_first(n, true);
		alias_step(n, false);
		step(POKE_PH_INT3);
		*ok &= sync_unless(POKE_SKIP_SYNC1);
		if (commit()) {
			note_restarts(restarts);
			poke_eng.last_gave_up = false;
			return true;
		}
		if (restarts + 1 >= cap) {
			set_prog(PROG_ROLLED_BACK);
			undeploy(n);
			*ok &= poke_sync();
			note_restarts(restarts + 1);
			poke_eng.gave_up++;
			poke_eng.last_gave_up = true;
			return false;
		}
	}
}

bool poke_batch(const struct poke_op *ops, u32 n)
{
	if (!table_fill(ops, n, poke_eng.cfg.mode))
		return false;
	bool ok = true, counted = !(poke_eng.cfg.flags & POKE_NO_REFCOUNT);
	table_publish();
	bool deployed = deploy(n, &ok);
	if (deployed) {
		alias_step(n, true);
		u64 t0 = rdtsc();
		for (u32 i = 0; i < n; i++)
			poke_write_tail(table_at(i));
		count_stores(PS_TAIL, n, t0);
		alias_step(n, false);
		step(POKE_PH_TAIL);
		ok &= sync_unless(POKE_SKIP_SYNC2);
		alias_step(n, true);
		write_first(n, false);
		alias_step(n, false);
		step(POKE_PH_FIRST);
		ok &= sync_unless(POKE_SKIP_SYNC3);
	}
	step(POKE_PH_RETIRE);
	set_prog(PROG_IDLE);
	ok &= table_retire(counted);
	step(POKE_IDLE);
	poke_eng.batches += deployed;
	poke_eng.sites += deployed ? n : 0;
	return ok && deployed;
}

bool poke_one(u64 addr, const u8 insn[POKE_INSN_LEN])
{
	struct poke_op op = { .addr = addr };
	for (u32 i = 0; i < POKE_INSN_LEN; i++)
		op.insn[i] = insn[i];
	return poke_batch(&op, 1);
}

bool poke_text_set(u64 addr, const u8 insn[POKE_INSN_LEN])
{
	u8 *wr[POKE_INSN_LEN];
	if (!poke_alias_span(addr, POKE_INSN_LEN, wr))
		return false;
	for (u32 i = 0; i < POKE_INSN_LEN; i++)
		*(volatile u8 *)wr[i] = insn[i];
	cpuid(0, 0); /* serializes this CPU; the others serialize when they are next woken */
	return true;
}

enum poke_phase poke_phase_now(void) { return __atomic_load_n(&poke_eng.phase, __ATOMIC_SEQ_CST); }

void poke_stats_read(struct poke_stats *out)
{
	*out = (struct poke_stats){ .batches = poke_eng.batches, .sites = poke_eng.sites,
		.syncs = poke_eng.syncs, .sync_timeouts = poke_eng.sync_timeouts,
		.nsamples = poke_eng.nsamples };
	for (u32 i = 0; i < MAX_CPUS; i++) {
		const struct poke_cpu_stats *s = &poke_cpu_stats[i];
		out->emul_call += s->emul[POKE_CALL];
		out->emul_jmp += s->emul[POKE_JMP];
		out->emul_nop += s->emul[POKE_NOP];
		out->emul_cycles += s->cycles;
		out->bp_foreign += s->foreign;
		out->bp_stale_int3_after_sync += s->stale_int3;
		out->bp_emulated_int3_gone += s->int3_gone;
	}
	for (u32 w = 0; w < PW_N; w++) {
		out->bp_window[w] = poke_eng.bp_window[w];
		for (u32 a = 0; a < PA_N; a++)
			out->patcher_bp[w][a] = poke_eng.patcher_bp[w][a];
	}
	out->restarts = poke_eng.restarts;
	out->restarts_max = poke_eng.restarts_max;
	out->gave_up = poke_eng.gave_up;
	out->rescues = poke_eng.rescues;
	out->spins = poke_eng.spins;
	out->sync2_skipped_by_forward = poke_eng.forward_no_sync2;
	out->alias_map_cycles = poke_eng.alias_cycles;
	for (u32 s = 0; s < PS_N; s++) {
		out->store_cycles[s] = poke_eng.store_cycles[s];
		out->stores[s] = poke_eng.stores[s];
	}
	inv_read(out);
}

u64 poke_patcher_bps(void)
{
	u64 n = 0;
	for (u32 w = 0; w < PW_N; w++)
		for (u32 a = 0; a < PA_N; a++)
			n += poke_eng.patcher_bp[w][a];
	return n;
}

u32 poke_last_restarts(void) { return poke_eng.last_restarts; }
bool poke_last_gave_up(void) { return poke_eng.last_gave_up; }

u64 poke_cpu_emulations(u32 cpu)
{
	const struct poke_cpu_stats *s = &poke_cpu_stats[cpu];
	return s->emul[POKE_CALL] + s->emul[POKE_JMP] + s->emul[POKE_NOP];
}
