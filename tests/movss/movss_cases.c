/*
 * The case runner the data-breakpoint MOV SS experiments share (movss_db_next, movss_tf_step,
 * movss_consecutive, movss_bd_sticky): every case on every CPU, its events classified by where
 * the #DB landed and tallied by signature (see movss.h).
 */
#include "arch/x86/debugreg.h"
#include "arch/x86/smp.h"
#include "arch/x86/spinlock.h"
#include "lib/lib.h"
#include "tests/movss/movss.h"

struct mss_counts mss_counts[MSS_MAX_CASES];
static struct mss_tally tally[MSS_MAX_CASES];
static struct spinlock tally_lock;

struct job { const struct mss_case *cases; u32 ncases; u64 dr6; u64 iterations; };

static void worker(void *arg)
{
	const struct job *j = arg;
	for (u64 it = 0; it < j->iterations; it++) {
		for (u32 i = 0; i < j->ncases; i++) {
			const struct mss_case *c = &j->cases[i];
			struct mss_counts *k = &mss_counts[i];
			struct mss_trial t;
			char sig[96];
			mss_run(c, j->dr6, &t);
			mss_signature(c, &t, sig, sizeof(sig));
			const struct mss_event *db = mss_find_db(&t);
			u32 p = db ? mss_position(c, db) : POS_NO_DB;
			__atomic_add_fetch(&k->pos[p], 1, __ATOMIC_RELAXED);
			if (db && p == POS_HANDLER && db->cpl == 0 && db->gs_swapped)
				__atomic_add_fetch(&k->handler_user_gs, 1, __ATOMIC_RELAXED);
			if (db && (db->dr6 & DR6_BD))
				__atomic_add_fetch(&k->bd_seen, 1, __ATOMIC_RELAXED);
			for (u32 e = 0; e < t.n && e < MSS_MAX_EVENTS; e++)
				if (t.ev[e].vector == VEC_UD) {
					__atomic_add_fetch(&k->ud_seen, 1, __ATOMIC_RELAXED);
					break;
				}
			__atomic_add_fetch(&k->runs, 1, __ATOMIC_RELAXED);
			spin_lock(&tally_lock);
			mss_tally_add(&tally[i], sig);
			spin_unlock(&tally_lock);
		}
	}
}

void mss_run_cases(const struct mss_case *cases, u32 n, u64 dr6, const struct exp_ctx *ctx)
{
	memset(tally, 0, sizeof(tally));
	memset(mss_counts, 0, sizeof(mss_counts));
	struct job j = { cases, n, dr6, ctx->iterations };
	mss_install();
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, &j, true);
	mss_remove();
	for (u32 i = 0; i < n; i++)
		mss_tally_print(cases[i].name, &tally[i]);
}

u64 mss_total_runs(u32 n)
{
	u64 s = 0;
	for (u32 i = 0; i < n; i++)
		s += mss_counts[i].runs;
	return s;
}
