/*
 * The platform fingerprint: what a result was measured on. Printed once per run as
 * `# platform key=value ...` (docs/output-format.md) and used by the results screen.
 */
#ifndef RACEBED_PLATFORM_H
#define RACEBED_PLATFORM_H

#include "lib/types.h"

struct platform {
	char vendor[13];      /* CPUID 0 */
	char brand[49];       /* CPUID 0x80000002..4, trimmed; "" when not reported */
	u32 family, model, stepping; /* CPUID 1, display family/model (extended fields folded in) */
	bool have_microcode;
	u32 microcode;        /* IA32_BIOS_SIGN_ID[63:32] on Intel, when readable */
	char hypervisor[13];  /* CPUID 0x40000000 signature; "none" on bare metal */
	const char *apic_mode;
	u32 cpus_online;
	const char *firmware; /* "bios", "uefi" or "multiboot1" */
};

/* Fills *p from CPUID and the boot state (call once the APs are up). */
void platform_collect(struct platform *p, bool efi_boot, bool multiboot1);
/* The fields of the platform line (`vendor=... brand=...`, no newline) into out. */
void platform_format(char *out, size_t len, const struct platform *p);
/* Prints the `# platform ...` line. */
void platform_print(const struct platform *p);
/* The fingerprint collected at boot (kmain fills it in). */
extern struct platform the_platform;

#endif
