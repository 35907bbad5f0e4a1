/* The results screen: at the end of a run on a framebuffer, one page that stays. */
#ifndef RACEBED_RESULTS_SCREEN_H
#define RACEBED_RESULTS_SCREEN_H

#include "kernel/results.h"

/*
 * Renders the results page (totals, the failures and deviations noted with
 * results_note_failure/results_note_deviation, the_platform, what to do next) and puts it on
 * the framebuffer, where it stays. Prints `# results screen: ROWSxCOLS, N lines` on serial.
 * Nothing happens without a framebuffer console.
 */
void results_show(u32 passed, u32 failed, u32 skipped);

#endif
