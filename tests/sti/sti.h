/* Shared machinery of the STI-shadow experiments: per-CPU trial records and handlers. */
#ifndef RACEBED_STI_H
#define RACEBED_STI_H

#include "arch/x86/trap.h"
#include "kernel/experiment.h"
#include "lib/types.h"

#define VEC_STI_BOUND (VEC_EXP_FIRST + 0x08) /* lower priority class than the test IRQ */
#define VEC_STI_IRQ (VEC_EXP_FIRST + 0x10)

typedef void (*sti_seq_fn)(void);

/* Labels from sti_seq.S (addresses compared against interrupted RIPs). */
#define SEQ(name) extern const char name[]
SEQ(seq_sti_hlt); SEQ(seq_sti_hlt_at_sti); SEQ(seq_sti_hlt_at_hlt); SEQ(seq_sti_hlt_after);
SEQ(seq_sti_nop); SEQ(seq_sti_nop_at_nop); SEQ(seq_sti_nop_after);
SEQ(seq_sti_mwait); SEQ(seq_sti_mwait_at_mwait); SEQ(seq_sti_mwait_after);
SEQ(seq_sti_nop_hlt); SEQ(seq_sti_nop_hlt_at_hlt); SEQ(seq_sti_nop_hlt_after);
SEQ(seq_sti_sti_hlt); SEQ(seq_sti_sti_hlt_at_sti2); SEQ(seq_sti_sti_hlt_at_hlt);
SEQ(seq_sti_sti_hlt_after);
SEQ(seq_if1_loop); SEQ(seq_if1_loop_at_sti); SEQ(seq_if1_loop_at_hlt); SEQ(seq_if1_loop_after);
SEQ(seq_drain); SEQ(seq_drain_end);
SEQ(seq_race_pad); SEQ(seq_race_at_sti); SEQ(seq_race_at_hlt); SEQ(seq_race_after);
SEQ(seq_race_plain); SEQ(seq_race_cpuid4); SEQ(seq_race_cpuid16); SEQ(seq_race_cpuid64);
SEQ(seq_race_cpuid256); SEQ(seq_race_end); SEQ(seq_race_shapes_end);
SEQ(seq_det_pad);
SEQ(seq_det_at_sti);
SEQ(seq_det_at_nop);
SEQ(seq_det_after);
SEQ(seq_det_plain);
SEQ(seq_det_cpuid4);
SEQ(seq_det_cpuid16);
SEQ(seq_det_cpuid64);
SEQ(seq_det_cpuid256);
SEQ(seq_det_end);
SEQ(seq_det_shapes_end);
SEQ(seq_peer_loop);
SEQ(seq_peer_at_sti);
SEQ(seq_peer_at_nop);
SEQ(seq_peer_after);
SEQ(seq_padded_loop);
SEQ(seq_padded_top);
SEQ(seq_padded_at_sti);
SEQ(seq_padded_at_nop);
SEQ(seq_step_sti); SEQ(seq_step_sti_at_sti); SEQ(seq_step_sti_at_nop); SEQ(seq_step_sti_after);
SEQ(seq_step_sti_after2);
SEQ(seq_step_movss); SEQ(seq_step_movss_at_movss); SEQ(seq_step_movss_at_nop);
SEQ(seq_step_movss_after); SEQ(seq_step_movss_after2);
SEQ(seq_step_popf); SEQ(seq_step_popf_at_nop); SEQ(seq_step_popf_after);
SEQ(seq_step_popf_after2);
#undef SEQ

/* What one trial on one CPU saw. Written by the handlers on that CPU. */
struct sti_trial {
	volatile u64 irq_rip, irq_cs;
	volatile u32 irq_count;
	volatile u32 late_irq_count; /* taken only in the drain after the sequence */
	volatile u64 nmi_rip;
	volatile u32 nmi_count;
	volatile u32 bound_fired;
	volatile u32 active;
};
extern struct sti_trial sti_trials[MAX_CPUS];

/* Installs the test-IRQ, bounding-timer and NMI handlers (NMIs are recorded while active). */
void sti_handlers_install(void);
void sti_handlers_remove(void);
/*
 * The bounding timer: periodic (so a lost sleep always ends, even when one tick was consumed
 * before HLT), set up once per CPU before its trials, started and stopped around each sleep.
 */
void sti_bound_prepare(u64 bound_ns);
void sti_bound_start(void);
void sti_bound_stop(void);
/*
 * One trial on this CPU (sti_bound_prepare first): with IF=0 makes the test IRQ pending
 * (self-IPI, confirmed in IRR), starts the bound, runs seq, stops the bound, drains. Returns
 * false when the IRQ never became pending. *out receives the record.
 */
bool sti_trial_run(sti_seq_fn seq, struct sti_trial *out);
/* With IF=0: sends the test IRQ to this CPU and waits until IRR shows it pending. */
bool sti_make_pending(void);
/* Takes pending interrupts in a window the handlers ignore (sti; nop; nop; cli). */
void sti_drain(void) __asm__("seq_drain");
/* The race engine's loop shapes over sti_seq.S's window: plain, then CPUID padding 4..256. */
#define STI_RACE_SHAPES 5
#define STI_RACE_SHAPE_NAMES                                        \
	{                                                           \
		"plain", "cpuid4", "cpuid16", "cpuid64", "cpuid256" \
	}
extern const sti_seq_fn sti_race_shapes[STI_RACE_SHAPES];
/*
 * Around a race victim's turn: the periodic bounding timer on (no HLT sleeps for ever), then
 * off, pending interrupts drained and, on the boot CPU, its LAPIC timer given back to the
 * watchdog.
 */
void sti_race_victim_begin(u64 bound_ns);
void sti_race_victim_end(void);
/* The detection loop's shapes (sti_seq.S): the race shapes' padding before `sti; nop`. */
extern const sti_seq_fn sti_det_shapes[STI_RACE_SHAPES];
/*
 * The peer design's blind loop (sti_peer_loop.c): from this CPU, one NMI at a time at
 * victim_cpu looping `sti; nop; cli`, for ns. The experiment's NMI handler calls
 * sti_peer_nmi first (true: the NMI was the loop's, counted).
 */
struct sti_peer_loop {
	u64 sent, nmis, in_shadow, unacked, tsc;
};
void sti_peer_loop_run(u32 victim_cpu, u64 ns, struct sti_peer_loop *out);
/* The same with 32 CPUIDs before `sti; nop` (the race shapes' padding): no aim, no trials. */
void sti_padded_loop_run(u32 victim_cpu, u64 ns, struct sti_peer_loop *out);
bool sti_peer_nmi(u64 rip);
/*
 * The self-aimed loop (sti_self_aim.c): every online CPU sends NMIs to itself, a lead, then
 * `sti; nop; cli`. sti_self_aim_learn tries each lead for learn_ns (the last, split, is the
 * control), then the best one on 1, 2, 4... CPUs, and returns the plan with the most NMIs in
 * the shadow per second; sti_self_aim_measure runs it. The experiment's NMI handler calls
 * sti_self_nmi (true: the NMI was the loop's, counted). A result's shape is an index into the
 * leads; sti_self_lead_name names it (lead0, spin1 ... spin1024, split).
 */
const char *sti_self_lead_name(u32 shape);
struct sti_self_result {
	u32 shape, cpus;
	u64 iters, nmis, at_sti, in_shadow, after, elsewhere, tsc;
};
struct sti_self_plan {
	u32 shape, ncpus;
};
struct sti_self_plan sti_self_aim_learn(u64 learn_ns, struct sti_self_result *control);
/* Runs the plan for ns and adds its counts and time to *acc. */
void sti_self_aim_measure(struct sti_self_plan plan, u64 ns, struct sti_self_result *acc);
bool sti_self_nmi(u64 rip);
/* Starts/stops recording on this CPU outside sti_trial_run (loops, custom sequences). */
void sti_record_begin(void);
void sti_record_end(struct sti_trial *out);

#endif
