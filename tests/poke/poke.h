/*
 * Shared fixtures of the poke_* experiments: the live sites and target stubs (poke_seq.S),
 * the executor that calls through a site and recovers from any fault, outcome classes, and
 * the poke run (poke_run.c): one patcher against executors on every other CPU.
 */
#ifndef RACEBED_TESTS_POKE_H
#define RACEBED_TESTS_POKE_H

/*
 * The two branch targets: one page of int3 with a stub at POKE_STUB_OFF, mapped at two high
 * addresses 0x01111000 apart. Their rel32s (from any site in the kernel) differ in bytes 1,
 * 2 and 3 but share the low 12 bits, so any mix of old and new rel32 bytes lands at the same
 * page offset in an unmapped page (a #PF at the mixed address), never in live code.
 */
#define POKE_STUB_OFF 0x800
#define POKE_TGT_A 0xffffffff90000800
#define POKE_TGT_B 0xffffffff91111800
#define POKE_HIGH_REGION 0xffffffff80000000

/* struct poke_exec field offsets, for poke_seq.S */
#define PX_SAVED_RSP 0
#define PX_CANARY 8
#define PX_LANDED 16
#define PX_TGT_RSP 24
#define PX_W0 32
#define PX_W1 40
#define PX_W2 48
#define PX_HITS 56
#define PX_NOPS 64
#define PX_AFTER_RSP 72
#define PX_AFTER_CANARY 80

#define POKE_NCALL_SITES 16
/*
 * poke_batch's sites: one a page from poke_batch_sites_start + 3 (poke_seq.S), as a kernel's
 * jump-label sites are spread over its text. 16 bytes apart (all on one page), QEMU TCG spent
 * 42% of its time in the page's translation lock (perf: page_lock), which writers and the
 * executors' translations share: 64 sites a batch were 7.6-8.8x single at smp 8, now 19.7x.
 */
#define POKE_NBATCH_SITES 256
#define POKE_BATCH_SITE_STRIDE 4096

#ifndef __ASSEMBLER__
#include "patching/poke.h"
#include "kernel/experiment.h"

/* One call through a site, as the executor and the target stub recorded it. */
struct poke_exec {
	u64 saved_rsp;    /* executor RSP before it pushed the canary (the recovery RSP) */
	u64 canary;
	u64 landed;       /* address the target stub ran at */
	u64 tgt_rsp;      /* RSP at the target */
	u64 w0, w1, w2;   /* the three stack words at the target */
	u64 hits;         /* target entries */
	u64 nops;         /* fall-throughs of a NOP site */
	u64 after_rsp, after_canary;
	u64 fault_vector, fault_rip, fault_cr2; /* set when a fault handler recovered */
	bool fault_stale_int3;                  /* a #BP at an int3 removed before the last sync */
	struct poke_exec *prev;
};

/* Labels of poke_seq.S */
extern const u64 poke_call_sites[POKE_NCALL_SITES];
extern const char poke_jsite[], poke_xline_site[], poke_xpage_site[], poke_sdm_code[];
extern const char poke_stub_page[], poke_exec_ret[], poke_exec_recover[];
extern const char poke_batch_sites_start[];
#define POKE_BATCH_SITE(k) (PADDR(poke_batch_sites_start) + POKE_BATCH_SITE_STRIDE * (k) + 3)
#define PADDR(label) ((u64)(label))

enum poke_out {
	PO_A, PO_B, PO_NOP, PO_JMP,       /* correct outcomes */
	PO_BAD_FRAME, PO_BAD_TARGET,      /* returned, but not as a real call/jmp/nop would */
	PO_TORN, PO_POISON,               /* #PF at a mixed rel32 target / a retired descriptor */
	PO_STALE_BP,                      /* #BP at an int3 removed and synced away: stale_int3_after_sync */
	PO_BP, PO_UD, PO_GP, PO_PF,       /* other unexpected traps, recovered */
	PO_N
};

/* Maps the target stubs (idempotent). */
bool poke_fixture_init(void);
/* Calls through site with e->canary on the stack; false when a fault handler recovered. */
bool poke_exec_run(struct poke_exec *e, u64 site);
enum poke_out poke_classify(const struct poke_exec *e, u64 site, bool returned, bool jmp_nop);
/* #UD #GP #PF #BP handlers that record and recover an executor (#BP: engine first). */
void poke_traps_install(void);
void poke_traps_remove(void);
/* Sets every site to its starting instruction (call A, or NOP for the jmp/nop site). */
bool poke_sites_reset(const u64 *sites, u32 n, bool jmp_nop);

enum poke_writer { WR_PROTOCOL, WR_BYTEWISE, WR_STORE };

#define POKE_RUN_MAX_SITES (POKE_NBATCH_SITES + 1)
#define POKE_MAX_SAMPLES 4096
#define POKE_MAX_BCAST 1024

struct poke_run {
	/* configuration */
	enum poke_mode mode;
	u32 flags;
	enum poke_writer writer;
	bool jmp_nop;                 /* NOP <-> jmp A, instead of call A <-> call B */
	u32 nsites, per_batch;
	u64 sites[POKE_RUN_MAX_SITES];
	u64 max_patches, end_tsc, pause_cycles, seed;
	u64 burst_ns, rest_ns;        /* executors call for burst_ns, then halt rest_ns each */
	void (*step_hook)(enum poke_phase phase);
	u32 patcher_cpu;              /* patches (~0u: the CPU calling poke_run_exec) */
	u32 sender_cpu;               /* runs sender() instead of executing (none: ~0u) */
	void (*sender)(struct poke_run *r); /* fires events (e.g. NMIs) at the patcher */
	u32 singles_per_round; /* interleaved single pokes after each pass (round_tsc) */
	u64 *round_tsc[2];     /* per round: TSC per site of the batches, of the singles */
	u32 max_rounds;
	bool bcast_probe; /* one broadcast round trip per poke (poke_bcast.c) */
	/* results */
	volatile u64 stop;
	u32 executors;
	u64 outcome[PO_N];
	u64 calls, patches, writes;
	u64 overlapped;               /* writes with a call in flight or completing meanwhile */
	u64 emulated_writes, live_flips, write_errors, patch_tsc;
	struct poke_stats st;
	u64 bad_taken, bad_site;      /* the first broken call */
	enum poke_out bad_out;
	struct poke_exec bad;
	u64 samples[POKE_MAX_SAMPLES];
	u64 ack_samples[POKE_MAX_SAMPLES], wake_samples[POKE_MAX_SAMPLES];
	u64 sync_median_tsc;          /* set by poke_run_report */
	/* bcast_probe: the round trips (TSC), their time (left out of patch_tsc), timeouts */
	u64 bcast_samples[POKE_MAX_BCAST];
	u64 nbcast, bcast_tsc, bcast_timeouts;
	u32 nrounds, next_single;
};

/* Defaults: one call site, DESC mode, int3 protocol, until the budget's end. */
void poke_run_init(struct poke_run *r, const struct exp_ctx *ctx, u64 budget_share_permille);
/* The patcher CPU (default: the calling one) patches; every other online CPU executes (or
 * sends events: sender_cpu). */
bool poke_run_exec(struct poke_run *r);
/* Calls an executor CPU has made through the sites, all runs added up. */
u64 poke_exec_calls(u32 cpu);
/* Outcome histogram, patches/s, emulations per patch, sync latency. */
void poke_run_report(const struct exp_ctx *ctx, struct poke_run *r, const char *prefix);
/* Mean ns per site of one write step over the run (0: none written). */
u64 poke_store_ns_per_site(const struct poke_stats *st, enum poke_store_step s);
/* Calls that went wrong, stale int3s (PO_STALE_BP) not counted. */
u64 poke_bad_outcomes(const struct poke_run *r);
/*
 * Fails on a broken call, a failed write or sync, fewer than three syncs per batch, no work,
 * or (need_emul) no #BP emulation. A stale int3 (executed after the sync that removed it) is
 * the platform breaking cross-modifying code, not the engine: reported, not failed.
 */
/* poke_bcast.c: the handler of the run's broadcast round trips, and one round trip */
void poke_bcast_install(void);
void poke_bcast_probe(struct poke_run *r);
/* ipi_broadcast's all-CPU round trip median in this boot (tests/core/ipi.c; 0: not run) */
extern u64 ipi_broadcast_median_ns;
/* Median sync with every other CPU idle (the broadcast round trip), TSC cycles; 0: failed. */
u64 poke_idle_sync_median_tsc(void);
/* `# PREFIXsync_vs_broadcast ...`: r's sync median against idle_tsc (after poke_run_report). */
void poke_report_sync_vs_broadcast(struct poke_run *r, u64 idle_tsc, const char *prefix);
enum exp_result poke_run_verdict(struct exp_ctx *ctx, const struct poke_run *r, bool need_emul);
/* The invariants poke_run_verdict checks first: NULL, or why the run broke one. */
const char *poke_run_broken(const struct poke_run *r);

#endif
#endif
