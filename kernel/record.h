/*
 * The run record: a compact text of the run (platform, each experiment's result and
 * observations, totals, deviations) kept as the run goes, for the QR codes of the results
 * screen. Its format, version 1, is docs/run-record.md; host/racebed_harness/run_record.py
 * reads it back into KTAP.
 */
#ifndef RACEBED_RECORD_H
#define RACEBED_RECORD_H

#include "kernel/arch_rules.h"
#include "kernel/platform.h"

#define RECORD_VERSION 1
#define RECORD_MAX 32768

enum record_result { RECORD_OK, RECORD_NOT_OK, RECORD_SKIP };

/* Starts the record with its version and the platform line. */
void record_begin(const struct platform *p);
/* `O NAME HITS TRIALS V`: an observation of the running experiment. */
void record_observation(const char *name, u64 hits, u64 trials, enum arch_verdict v);
/* `ok NAME`, `not ok NAME REASON`, `skip NAME REASON`: an experiment's result. */
void record_result(enum record_result r, const char *name, const char *reason);
/* `D N` (deviations) and `T PASS FAIL SKIP TOTAL`, the last lines. */
void record_end(u32 passed, u32 failed, u32 skipped, u32 deviations);
/* The record so far (NUL-terminated) and its length; a record that overflowed RECORD_MAX ends
 * in a `! truncated` line saying how many bytes were lost. */
const char *record_text(u32 *len);
/* Forgets the record (for the unit test). */
void record_reset(void);

#endif
