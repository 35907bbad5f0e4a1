/* Kernel command line: key=value words separated by spaces. */
#ifndef RACEBED_CMDLINE_H
#define RACEBED_CMDLINE_H

#include "arch/x86/apic_pref.h"
#include "arch/x86/clock_pref.h"
#include "lib/types.h"

enum console_mode { CONSOLE_BOTH, CONSOLE_SERIAL, CONSOLE_FB };
enum exit_mode { EXIT_AUTO, EXIT_QEMU, EXIT_HALT, EXIT_REBOOT, EXIT_POWEROFF };

struct cmdline {
	char tests[256]; /* comma-separated globs; "" = all */
	char skip[256];  /* comma-separated globs; "" = none */
	u64 iterations;  /* 0 = each experiment's default */
	u64 seed;        /* default 1 */
	u32 timeout_s;   /* per-experiment watchdog; 0 = each experiment's default */
	u32 cpus;        /* 0 = all; else bring up at most this many (BSP included) */
	enum apic_pref apic;
	enum clock_pref clock;
	enum console_mode console;
	enum exit_mode exit;
	bool nosmp;
	bool list;
	bool bench;      /* benchmark mode: 10x default trials and time budgets */
	u32 poke;        /* poke=: CMDLINE_POKE_* bits of the text poke strategies to run; 0 = all */
};

/* poke=emulate|rollback|spin[,...]: which strategies the poke_strategy_* experiments run. */
#define CMDLINE_POKE_EMULATE (1u << 0)
#define CMDLINE_POKE_ROLLBACK (1u << 1)
#define CMDLINE_POKE_SPIN (1u << 2)

/*
 * Parses s into out (defaults first). On a bad word (unknown key, missing or malformed
 * value, number out of range, value too long) writes a one-line message naming the word into
 * err and returns -1; returns 0 on success. Numbers are decimal or 0x-hex, u64 range checked.
 * Keys: tests= skip= iterations= seed= timeout= cpus= apic=auto|xapic|x2apic nosmp
 *       clock=auto|pmtimer|hpet|pit
 *       console=serial|fb|both list bench exit=qemu|halt|reboot|poweroff poke=emulate|rollback|spin[,...]
 */
int cmdline_parse(const char *s, struct cmdline *out, char *err, size_t errlen);
/* The command line the kernel booted with (the last one parsed without error), or NULL. */
const struct cmdline *cmdline_active(void);

#endif
