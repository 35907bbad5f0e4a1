/* State shared by the files of the text poke engine (not for its users). */
#ifndef RACEBED_POKE_INTERNAL_H
#define RACEBED_POKE_INTERNAL_H

#include "patching/poke.h"

/* One site of the batch being patched, as the #BP handler sees it. */
struct poke_desc {
	u64 addr;
	volatile u64 target;      /* destination of the new call/jmp (poisoned on retirement) */
	u8 *wr[POKE_INSN_LEN];    /* alias address of each byte */
	u8 old[POKE_INSN_LEN], insn[POKE_INSN_LEN];
	u8 kind;                  /* enum poke_kind of insn */
};

struct poke_engine {
	struct poke_cfg cfg;
	u32 patcher;
	volatile u32 phase;
	trap_handler_t prev_bp;
	volatile u64 syncs, sync_timeouts, nsamples, batches, sites;
};
extern struct poke_engine poke_eng;

struct poke_cpu_stats {
	volatile u64 emul[3]; /* by enum poke_kind */
	volatile u64 cycles;
	volatile u64 foreign;
	volatile u64 vanished;
	volatile bool last_vanished;
} __attribute__((aligned(64)));
extern struct poke_cpu_stats poke_cpu_stats[MAX_CPUS];

/* sync.c */
void poke_sync_install(void);
bool poke_sync(void);
void poke_sync_ack(void);

/* table.c: the published batch, sorted by address, guarded by a reference count */
bool table_fill(const struct poke_op *ops, u32 n, enum poke_mode mode);
u32 table_count(void);
struct poke_desc *table_at(u32 i);
void table_publish(void);
bool table_get(bool counted);
void table_put(bool counted);
bool table_retire(bool counted);
const struct poke_desc *table_find(u64 addr);

/* bp_emulate.c */
NORETURN void poke_resume_call(struct trap_frame *f, u64 target, u64 ret);

#endif
