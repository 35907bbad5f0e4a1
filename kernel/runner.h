/* Selecting, running and reporting experiments in KTAP, each under the watchdog. */
#ifndef RACEBED_RUNNER_H
#define RACEBED_RUNNER_H

#include "kernel/cmdline.h"

/* Prints `KTAP version 1` (once); the plan must follow it directly. */
void runner_ktap_header(void);
/*
 * Selects experiments from tests=/skip=. On an unknown name prints the KTAP verdict for a bad
 * command line and exits; otherwise prints the version line and the plan and returns the
 * number selected. Every run-level diagnostic must be printed before this (they belong to no
 * test).
 */
u32 runner_select(const struct cmdline *cl);
/* Runs the selected experiments, prints `# Totals: ...` and ends the run. */
NORETURN void runner_run(const struct cmdline *cl);
/* A command-line problem found before or after selection: KTAP verdict and exit code 3. */
NORETURN void runner_bad_cmdline(const char *msg);
/* After a crash report: the running experiment's `not ok`, SKIPs for the rest, the totals,
 * exit value 2. Safe on any CPU; only the first caller prints. */
NORETURN void runner_crash_end(void);
/* Name of the experiment running now, for crash reports. */
const char *runner_current(void);
/* Prints the experiment list (for `list`) and exits. */
NORETURN void runner_list(void);
/* An experiment that needs the boot CPU's LAPIC timer stops the watchdog's use of it meanwhile. */
void watchdog_pause(void);
void watchdog_resume(void);
/*
 * A deadlock detector of the running experiment, called on every watchdog tick (boot CPU,
 * interrupt context, every 100 ms) until the experiment ends; it may call
 * watchdog_report_cpus() (every CPU's RIP, sampled by NMI, as for a TIMEOUT) and recover.
 */
struct trap_frame;
typedef void (*watchdog_hook_t)(struct trap_frame *f);
void watchdog_set_hook(watchdog_hook_t hook);
void watchdog_report_cpus(struct trap_frame *f);
/* A boot problem that the `boot` experiment reports as a failure. */
void boot_problem(const char *fmt, ...) PRINTF_FMT(1, 2);
u32 boot_problem_count(void);
void boot_problems_print(void);

#endif
