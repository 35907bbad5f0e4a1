/*
 * The text poke engine: rewrites 5-byte call rel32 / jmp rel32 / NOPL sites while other CPUs
 * execute them, with the int3 protocol (int3 over the first byte, sync, the tail, sync, the
 * new first byte, sync); a CPU that meets the int3 meanwhile has its #BP emulated.
 *
 * Sync: the patcher sets the bit of every other online CPU after a step and sends it an IPI;
 * only that CPU clears its bit, in the IPI handler (which returns with IRET, serializing) or
 * in the #BP handler (which also leaves with IRET before the site runs again).
 *
 * One patcher at a time: the CPU that called poke_start().
 */
#ifndef RACEBED_POKE_H
#define RACEBED_POKE_H

#include "arch/x86/trap.h"
#include "patching/insn.h"

#define VEC_POKE_SYNC (VEC_EXP_FIRST + 0x38)
#define POKE_MAX_BATCH 256 /* sites in one poke_batch() call */
/* What a retired descriptor's target is overwritten with: canonical and never mapped. */
#define POKE_POISON_TARGET 0xffffff00dead0000ull

/*
 * DESC: the #BP handler emulates the new instruction from the patcher's published descriptor
 * (reference counted). ATOMIC: only rel32 changes, written with one locked xchg; the handler
 * reads it with one aligned 4-byte load, so it emulates exactly the old or the new branch.
 * ATOMIC needs bytes 1..4 of each site 4-byte aligned and the same opcode before and after.
 */
enum poke_mode { POKE_MODE_DESC, POKE_MODE_ATOMIC };

/* Ablations (negative controls): leave one part of the protocol out. */
#define POKE_SKIP_SYNC1 (1u << 0)  /* after the int3 */
#define POKE_SKIP_SYNC2 (1u << 1)  /* after the tail */
#define POKE_SKIP_SYNC3 (1u << 2)  /* after the new first byte */
#define POKE_NO_REFCOUNT (1u << 3) /* handlers read descriptors without a reference */
/* Negative control of the invariant checker: the sync IPI handler does not clear the bit;
 * the CPU must call poke_sync_ack_thread() (thread context: no IRET follows). */
#define POKE_IPI_NO_ACK (1u << 4)
/* The pre-rollback layout: the alias of each site is mapped before each write step and torn
 * down (PTE cleared, INVLPG) after it. EMULATE only (a handler could not write). */
#define POKE_ALIAS_PER_PHASE (1u << 5)

/*
 * What the patching CPU does when its own #BP hits a site of the batch (an NMI, IRQ or #MC
 * handler calling through it while the int3 is live); other CPUs always emulate, except SPIN.
 *   EMULATE   emulate the new instruction, like every other CPU (the default)
 *   ROLLBACK  before the first sync has completed: put back the old first byte, and the poke
 *             restarts from the int3; after it: write the tail, then the first byte (roll
 *             forward, no sync in between), resume at the site; the patcher's syncs still run
 *   SPIN      (negative control) every CPU's #BP waits until the int3 is gone, clearing its
 *             sync bit while it waits: on the patching CPU nobody ever removes it (deadlock)
 */
enum poke_strategy { POKE_EMULATE, POKE_ROLLBACK, POKE_SPIN, POKE_NSTRATEGIES };
const char *poke_strategy_name(enum poke_strategy s);

/* Where a #BP on the patching CPU found the poke, and what its handler did. */
enum poke_window { PW_IDLE, PW_DEPLOY, PW_TAIL, PW_FIRST, PW_N };
enum poke_action { PA_EMULATED, PA_ROLLED_BACK, PA_ROLLED_FORWARD, PA_SPUN, PA_REEXECUTED,
		   PA_N };
const char *poke_window_name(enum poke_window w);
const char *poke_action_name(enum poke_action a);
/* Which of hpa's three cpumask invariants (seed 004) a violation broke. */
enum poke_inv { INV_SET_EACH_EVENT, INV_CLEAR_BEFORE_IRET, INV_CLEARED_BY_HANDLER, INV_N };

/* Where the patcher is (for observers such as an NMI handler on the patching CPU). */
enum poke_phase { POKE_IDLE, POKE_PH_INT3, POKE_PH_TAIL, POKE_PH_FIRST, POKE_PH_RETIRE,
		  POKE_NPHASES };

struct poke_op {
	u64 addr;
	u8 insn[POKE_INSN_LEN];
};

struct poke_cfg {
	enum poke_mode mode;
	u32 flags;                   /* POKE_SKIP_* / POKE_NO_REFCOUNT */
	u64 *sync_samples;           /* optional: each sync's latency in TSC cycles */
	u64 *ack_samples;            /* optional: its send to the last CPU's ack (0: unknown) */
	u64 *wake_samples;           /* optional: its last ack to the patcher going on */
	u32 max_samples;
	/* optional: runs on the patching CPU after each write step, before its sync */
	void (*step_hook)(enum poke_phase phase);
	enum poke_strategy strategy;
	u32 max_restarts;            /* ROLLBACK: restarts before a poke gives up (0: 256) */
};

/* The three write steps of a poke: the int3s, the tails, the new first bytes. */
enum poke_store_step { PS_INT3, PS_TAIL, PS_FIRST, PS_N };

struct poke_stats {
	u64 batches, sites, syncs, sync_timeouts, nsamples;
	u64 emul_call, emul_jmp, emul_nop; /* #BP emulations, all CPUs */
	u64 emul_cycles;                   /* TSC cycles spent deciding them */
	u64 bp_foreign;                    /* #BPs at an int3 still in memory, not at a live site */
	/*
	 * #BPs at an int3 that memory no longer holds, with no live batch covering the site: the
	 * CPU executed the int3 after the sync that followed its removal (it had acked that sync,
	 * i.e. serialized, before it ran the int3), which cross-modifying code forbids. A CPU
	 * that takes the #BP while the int3 is still there cannot be counted here: the patcher
	 * cannot retire the batch before that CPU's handler has taken its reference and acked.
	 */
	u64 bp_stale_int3_after_sync;
	/* #BPs emulated although the int3 was already gone from memory when the handler looked
	 * (taken just before the patcher restored the first byte): legal, and handled. */
	u64 bp_emulated_int3_gone;
	/* #BPs on the patching CPU at a site of the batch: where the poke was, what was done */
	u64 patcher_bp[PW_N][PA_N];
	u64 bp_window[PW_N];               /* #BPs at a site of the batch, all CPUs, by window */
	u64 restarts, restarts_max;        /* ROLLBACK: restarts from the int3, all / one poke */
	u64 gave_up;                       /* ROLLBACK: pokes abandoned after max_restarts */
	u64 rescues;                       /* SPIN: stuck pokes completed by poke_spin_rescue() */
	u64 spins;                         /* SPIN: #BPs that waited (all CPUs) */
	u64 sync2_skipped_by_forward;      /* roll-forwards: tail and first byte with no sync */
	u64 alias_map_cycles;              /* POKE_ALIAS_PER_PHASE: TSC cycles mapping/unmapping */
	/* TSC cycles in each write step and the sites it wrote (under an emulator a store to
	 * translated code can cost far more than a sync, see tests/poke/README.md) */
	u64 store_cycles[PS_N], stores[PS_N];
	u64 inv_checks, inv_violations[INV_N];
	u32 inv_first_cpu, inv_first_phase; /* the first violation (when there is one) */
	enum poke_inv inv_first;
};

/* Makes this CPU the patcher and installs the sync-IPI and #BP handlers. */
bool poke_start(const struct poke_cfg *cfg);
/* Puts back the #BP handler found by poke_start. */
void poke_stop(void);
/* Hands the patcher's role to another CPU (after poke_start, before it patches). */
void poke_set_patcher(u32 cpu);
/* Patches n sites (any order, each once) with three syncs. False: bad op or a sync timed out. */
bool poke_batch(const struct poke_op *ops, u32 n);
bool poke_one(u64 addr, const u8 insn[POKE_INSN_LEN]);
/* Sets a site with no CPU executing it (through the alias, no protocol). */
bool poke_text_set(u64 addr, const u8 insn[POKE_INSN_LEN]);
/* The #BP hook: true when it emulated a site being patched (a call does not return here). */
bool poke_bp_handle(struct trap_frame *f);
/* Whether this CPU's last unhandled #BP was a stale int3 (see bp_stale_int3_after_sync). */
bool poke_bp_last_stale_int3(void);
enum poke_phase poke_phase_now(void);
void poke_stats_read(struct poke_stats *out);
/* #BP emulations done on one CPU since poke_start. */
u64 poke_cpu_emulations(u32 cpu);
/* #BPs the patching CPU took at sites of the batch since poke_start (any strategy). */
u64 poke_patcher_bps(void);
/* Restarts of the last poke_batch (ROLLBACK), and whether it gave up (site left unchanged). */
u32 poke_last_restarts(void);
bool poke_last_gave_up(void);
/* Where the poke is now, as poke_window (for an event handler on the patching CPU). */
enum poke_window poke_window_now(void);

/* SPIN: a CPU waiting in its #BP (since TSC `since`, at `site`); false when it is not. */
bool poke_spin_state(u32 cpu, u64 *since, u64 *site);
/* SPIN: whether rip lies in the #BP wait loop (to name a sampled RIP). */
bool poke_spin_rip(u64 rip);
/* SPIN: completes the live batch from another CPU (tail, then first bytes): the recovery of
 * a detected deadlock, not part of the protocol. */
void poke_spin_rescue(void);
/* Invariant 2, the reaching side: call right before running a site that may be patched. */
void poke_inv_reach(void);
/* Negative control (POKE_IPI_NO_ACK): clears this CPU's sync bit from thread context. */
void poke_sync_ack_thread(void);

/* Ablation writers: no int3 and no sync. */
/* The 5 bytes one at a time through the alias, first to last. */
bool poke_unsafe_bytewise(u64 addr, const u8 insn[POKE_INSN_LEN]);
/* rel32 (bytes 1..4) rewritten with one 4-byte store through the alias, aligned or not. */
bool poke_unsafe_store_rel32(u64 addr, const u8 insn[POKE_INSN_LEN]);

#endif
