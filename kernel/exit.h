/* Ending the run: isa-debug-exit under QEMU, else halt or reboot (exit= on the command line). */
#ifndef RACEBED_EXIT_H
#define RACEBED_EXIT_H

#include "kernel/cmdline.h"

enum run_result { RUN_PASS = 0, RUN_FAIL = 1, RUN_CRASH = 2, RUN_BAD_CMDLINE = 3 };

void exit_set_mode(enum exit_mode m);
/* The firmware's ACPI S5 registers and values (exit=poweroff). */
struct fw_info;
void exit_set_acpi(const struct fw_info *fw);
/* Stops the other CPUs, then exits QEMU with `code`, or halts / reboots on real hardware. */
NORETURN void run_exit(enum run_result code);
/* Stops every other CPU (by NMI) so that only this one prints from now on. Returns false when
 * another CPU already did: that CPU is ending the run, this one should halt. */
bool run_stop_others(void);
/* Set by the results screen: what the CPU does instead of halting when the run ends halted
 * (pages of QR codes shown in turn); never returns. */
extern void (*run_exit_idle)(void);

#endif
