/* State shared by the files of the text poke engine (not for its users). */
#ifndef RACEBED_POKE_INTERNAL_H
#define RACEBED_POKE_INTERNAL_H

#include "patching/poke.h"
#include "lib/cpumask.h"

/* One site of the batch being patched, as the #BP handler sees it. */
struct poke_desc {
	u64 addr;
	volatile u64 target;      /* destination of the new call/jmp (poisoned on retirement) */
	u8 *wr[POKE_INSN_LEN];    /* alias address of each byte */
	u8 old[POKE_INSN_LEN], insn[POKE_INSN_LEN];
	u8 kind;                  /* enum poke_kind of insn */
};

/*
 * Progress of the batch for the patching CPU's own #BP handler (ROLLBACK, and the window the
 * stats report): DEPLOY from before the first int3 until the first sync has completed and the
 * patcher has claimed it (DEPLOY -> COMMITTED by one compare-exchange, so a handler on the
 * same CPU either rolled back before it or sees COMMITTED); ROLLED_BACK and FORWARDED are
 * the handler's marks.
 */
enum poke_prog { PROG_IDLE, PROG_DEPLOY, PROG_ROLLED_BACK, PROG_COMMITTED, PROG_FORWARDED };

struct poke_engine {
	struct poke_cfg cfg;
	u32 patcher;
	volatile u32 phase;
	volatile u32 prog;
	u32 last_restarts;
	bool last_gave_up;
	trap_handler_t prev_bp;
	volatile u64 syncs, sync_timeouts, nsamples, batches, sites;
	volatile u64 patcher_bp[PW_N][PA_N], bp_window[PW_N];
	volatile u64 restarts, restarts_max, gave_up, rescues, spins, forward_no_sync2;
	volatile u64 alias_cycles;
	volatile u64 store_cycles[PS_N], stores[PS_N];
};
extern struct poke_engine poke_eng;

struct poke_cpu_stats {
	volatile u64 emul[3]; /* by enum poke_kind */
	volatile u64 cycles;
	volatile u64 foreign;
	volatile u64 stale_int3;     /* poke_stats.bp_stale_int3_after_sync */
	volatile u64 int3_gone;      /* poke_stats.bp_emulated_int3_gone */
	volatile bool last_stale_int3;
} __attribute__((aligned(64)));
extern struct poke_cpu_stats poke_cpu_stats[MAX_CPUS];

/* sync.c */
void poke_sync_install(void);
bool poke_sync(void);
void poke_sync_ack(void);

/* invariant.c: hpa's three cpumask invariants, checked in the sync path */
enum poke_ack_ctx { ACK_IPI, ACK_BP, ACK_THREAD };
void inv_reset(void);
void inv_check_set(const struct cpumask *m, u32 me); /* 1: after the patcher set the bits */
void inv_sync_skipped(void);                       /* 1: a write step with no sync after it */
void inv_cleared(enum poke_ack_ctx ctx);           /* 2, 3: this CPU cleared its bit */
void inv_iret_next(void);                          /* a handler is about to IRET */
void inv_check_done(const struct cpumask *m);      /* 3: every bit was cleared by a handler */
void inv_read(struct poke_stats *out);

/* write steps shared by poke.c and the ROLLBACK handler */
void poke_write_tail(const struct poke_desc *d);
void poke_write_first_byte(const struct poke_desc *d, u8 b);
/* What the patching CPU's #BP saw: counted by window and action. */
void poke_note_patcher(enum poke_action a);
enum poke_window poke_window_of(u32 prog, u32 phase);

/* strategy_rollback.c, strategy_spin.c: the #BP at a site of the batch (true: handled) */
bool poke_rollback_bp(struct trap_frame *f, u64 site);
bool poke_spin_bp(struct trap_frame *f, u64 site);

/* table.c: the published batch, sorted by address, guarded by a reference count */
bool table_fill(const struct poke_op *ops, u32 n, enum poke_mode mode);
u32 table_count(void);
struct poke_desc *table_at(u32 i);
void table_publish(void);
bool table_get(bool counted);
void table_put(bool counted);
bool table_retire(bool counted);
const struct poke_desc *table_find(u64 addr);

/* bp_emulate.c: leaves the #BP as if the CPU had run kind (enum poke_kind) at site */
bool poke_emulate_insn(struct trap_frame *f, u64 site, u8 kind, u64 target);
NORETURN void poke_resume_call(struct trap_frame *f, u64 target, u64 ret);

#endif
