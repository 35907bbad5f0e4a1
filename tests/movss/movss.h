/* Shared machinery of the MOV SS / POP SS experiments: cases, event recording, DR0 set-up. */
#ifndef RACEBED_MOVSS_H
#define RACEBED_MOVSS_H

#include "arch/x86/trap.h"
#include "kernel/experiment.h"
#include "tests/movss/movss_pos.h"

#define MSS_MAX_EVENTS 8

struct mss_event { u32 vector; u8 cpl, gs_swapped; u64 rip, dr6; };

struct mss_trial {
	volatile u32 active;
	volatile u32 n;
	struct mss_event ev[MSS_MAX_EVENTS];
	u64 resume; /* where a fault in the sequence resumes */
};

struct mss_case {
	const char *name;
	bool user;
	const char *fn, *movss, *next, *after, *after2;
	u32 next_vector; /* what the next instruction raises (0: nothing) */
};


void mss_install(void);
void mss_remove(void);
/* Watches the 2 bytes at addr for reads and writes with DR0 (this CPU), or turns it off. */
void mss_watch(const void *addr);
void mss_unwatch(void);
/* Runs one case on this CPU and leaves its events in *out. dr6_preset: DR6 before the case. */
void mss_run(const struct mss_case *c, u64 dr6_preset, struct mss_trial *out);
/* Translated address of a case label (user cases live in the user region). */
u64 mss_addr(const struct mss_case *c, const char *label);
enum mss_pos mss_position(const struct mss_case *c, const struct mss_event *e);
const char *mss_pos_name(enum mss_pos p);
/* First #DB with a DR6.B0-B3 bit (the data breakpoint), else the first single-step #DB (BS). */
const struct mss_event *mss_find_db(const struct mss_trial *t);
/* One-line signature of a trial's events, e.g. "#DB(B0)@handler,#BP@after". */
void mss_signature(const struct mss_case *c, const struct mss_trial *t, char *buf, size_t len);
/* Counts trials per distinct signature for one case and prints them. */
struct mss_tally { char sig[4][96]; u64 count[4]; u64 other; };
void mss_tally_add(struct mss_tally *t, const char *sig);
void mss_tally_print(const char *case_name, const struct mss_tally *t);
bool mss_user_ready(void);

/* movss_cases.c: runs cases on every CPU, counting per case where its #DB landed. */
#define MSS_MAX_CASES 20
/* handler_user_gs: the #DB in the handler (POS_HANDLER) at CPL 0 with the user's GS loaded;
 * ud_seen: trials with a #UD among their events */
struct mss_counts { u64 pos[POS_NO_DB + 1]; u64 handler_user_gs, bd_seen, ud_seen, runs; };
extern struct mss_counts mss_counts[MSS_MAX_CASES];
void mss_run_cases(const struct mss_case *cases, u32 n, u64 dr6_preset, const struct exp_ctx *ctx);
u64 mss_total_runs(u32 n);

#endif
