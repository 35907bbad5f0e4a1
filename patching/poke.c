/*
 * The int3 protocol for one batch of sites:
 *   publish the descriptors; int3 over each first byte; sync;
 *   each tail (bytes 1..4); sync; each new first byte; sync; retire the descriptors.
 * Every write goes through the alias window. In ATOMIC mode the tail is one locked xchg of
 * the (4-byte aligned) rel32, so a #BP handler reading it sees exactly the old or the new one.
 *
 * NMI or #BP on the patching CPU itself: this engine EMULATES there too, it never rolls
 * forward or back. The descriptors are published (reference held) before the first int3 is
 * written and retired only after the last int3 is gone and synced, so a #BP at a site on the
 * patching CPU (e.g. from an NMI handler interrupting any step, or the patcher calling the
 * site itself) always finds its descriptor; and the #BP handler never waits for anything
 * (taking a reference is a compare-exchange on a count that cannot be zero while the patcher
 * holds its own, the sync bit of the patcher is never set), so it completes whatever step the
 * interrupted patcher was in, and the patcher resumes that step unchanged. Roll-forward /
 * roll-back would need the handler to know and change the patcher's progress, and a restart
 * of the interrupted step; emulation needs neither, and it is what every other CPU does anyway.
 */
#include "patching/internal.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "patching/alias.h"

struct poke_engine poke_eng;
struct poke_cpu_stats poke_cpu_stats[MAX_CPUS];

static void reset_stats(void)
{
	for (u32 i = 0; i < MAX_CPUS; i++)
		poke_cpu_stats[i] = (struct poke_cpu_stats){ .last_vanished = false };
	poke_eng.syncs = poke_eng.sync_timeouts = poke_eng.nsamples = 0;
	poke_eng.batches = poke_eng.sites = 0;
}

bool poke_start(const struct poke_cfg *cfg)
{
	poke_eng.cfg = *cfg;
	poke_eng.patcher = this_cpu_index();
	poke_eng.phase = POKE_IDLE;
	reset_stats();
	poke_sync_install();
	poke_eng.prev_bp = trap_get_handler(VEC_BP);
	trap_set_handler(VEC_BP, poke_bp_handle);
	return true;
}

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
	return (poke_eng.cfg.flags & skip_flag) || poke_sync();
}

static void write_tail(const struct poke_desc *d)
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

static void write_first(u32 n, bool int3)
{
	for (u32 i = 0; i < n; i++) {
		struct poke_desc *d = table_at(i);
		*(volatile u8 *)d->wr[0] = int3 ? POKE_OP_INT3 : d->insn[0];
	}
}

bool poke_batch(const struct poke_op *ops, u32 n)
{
	if (!table_fill(ops, n, poke_eng.cfg.mode))
		return false;
	bool ok = true, counted = !(poke_eng.cfg.flags & POKE_NO_REFCOUNT);
	table_publish();
	write_first(n, true);
	step(POKE_PH_INT3);
	ok &= sync_unless(POKE_SKIP_SYNC1);
	for (u32 i = 0; i < n; i++)
		write_tail(table_at(i));
	step(POKE_PH_TAIL);
	ok &= sync_unless(POKE_SKIP_SYNC2);
	write_first(n, false);
	step(POKE_PH_FIRST);
	ok &= sync_unless(POKE_SKIP_SYNC3);
	step(POKE_PH_RETIRE);
	ok &= table_retire(counted);
	step(POKE_IDLE);
	poke_eng.batches++;
	poke_eng.sites += n;
	return ok;
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
	if (!poke_alias_prepare(addr, POKE_INSN_LEN))
		return false;
	for (u32 i = 0; i < POKE_INSN_LEN; i++) {
		u8 *wr = poke_alias_of(addr + i);
		if (!wr)
			return false;
		*(volatile u8 *)wr = insn[i];
	}
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
		out->bp_vanished += s->vanished;
	}
}

u64 poke_cpu_emulations(u32 cpu)
{
	const struct poke_cpu_stats *s = &poke_cpu_stats[cpu];
	return s->emul[POKE_CALL] + s->emul[POKE_JMP] + s->emul[POKE_NOP];
}
