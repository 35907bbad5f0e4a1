/* Firmware tables: ACPI (RSDP, RSDT/XSDT, MADT, HPET, FADT, SPCR) and, as a fallback, the MP table. */
#ifndef RACEBED_ACPI_H
#define RACEBED_ACPI_H

#include "lib/types.h"

/* Returns a readable pointer to physical [pa, pa+len), or NULL when that range is not mapped. */
typedef const void *(*phys_map_fn)(u64 pa, u64 len);
/* Diagnostics sink: one line per call, no trailing newline. */
typedef void (*acpi_log_fn)(const char *fmt, ...) PRINTF_FMT(1, 2);

struct fw_cpu {
	u32 apic_id;
	u32 uid;          /* ACPI processor UID (MP table: the entry index) */
	bool enabled;     /* usable now */
	bool online_capable;
	bool x2apic_entry; /* came from a MADT type 9 entry */
};

struct fw_ioapic { u32 id; u64 addr; u32 gsi_base; };
struct fw_iso { u8 bus; u8 source; u32 gsi; u16 flags; };
struct fw_lapic_nmi { u32 uid; u16 flags; u8 lint; }; /* uid 0xFFFFFFFF = all processors */

#define FW_MAX_IOAPIC 16
#define FW_MAX_ISO 32
#define FW_MAX_NMI 32

struct fw_info {
	/* ACPI */
	bool have_rsdp;
	u8 rsdp_rev;
	bool used_xsdt;
	char oem_id[7];
	bool have_madt;
	u32 madt_flags;       /* bit 0: PC-AT compatible 8259s present */
	/* CPUs and interrupt controllers, from the MADT or else the MP table */
	const char *cpu_source; /* "madt", "mptable" or "none" */
	u64 lapic_addr;       /* after any type 5 override; 0xFEE00000 when nothing said */
	u32 ncpus;            /* entries stored in cpus[] (enabled or online-capable only) */
	u32 ncpus_dropped;    /* entries beyond MAX_CPUS, or disabled and not online-capable */
	struct fw_cpu cpus[MAX_CPUS];
	u32 nioapic;
	struct fw_ioapic ioapic[FW_MAX_IOAPIC];
	u32 niso;
	struct fw_iso iso[FW_MAX_ISO];
	u32 nnmi;
	struct fw_lapic_nmi nmi[FW_MAX_NMI];
	/* timers */
	bool have_hpet;
	u64 hpet_addr;
	bool have_pm_timer;
	u32 pm_timer_port;    /* I/O port of the ACPI PM timer */
	bool pm_timer_32bit;  /* FADT flag TMR_VAL_EXT */
	/* FADT reset register, for exit=reboot */
	bool have_reset_reg;
	u8 reset_space;       /* 0 memory, 1 I/O */
	u64 reset_addr;
	u8 reset_value;
	/*
	 * ACPI S5 (soft off), for exit=poweroff: the PM1a/PM1b control blocks (I/O ports) from the
	 * FADT and SLP_TYPa/SLP_TYPb from the \_S5 package of the DSDT; the SMI command that
	 * hands the PM registers to the OS when the firmware left ACPI mode off.
	 */
	bool have_s5;
	u16 pm1a_cnt, pm1b_cnt;  /* 0: absent (PM1b usually is) */
	u8 slp_typa, slp_typb;
	u16 smi_cmd;
	u8 acpi_enable;
	/* SPCR: the firmware's serial console (a UART other than COM1 on many servers) */
	bool have_spcr;
	u8 spcr_interface;    /* 0 16550, 1 16450, 0x12 16550 with GAS access width; others unusable */
	u8 spcr_space;        /* 0 memory, 1 I/O */
	u8 spcr_access;       /* GAS access size: 1 byte, 2 word, 3 dword (0: byte) */
	u64 spcr_addr;
	u32 nwarn;            /* number of problems reported through the log callback */
};

/* Scans the EBDA (segment at 0x40E) first KiB and 0xE0000-0xFFFFF for a checksummed RSDP. */
bool acpi_find_rsdp_legacy(phys_map_fn map, u64 *rsdp_pa);
/*
 * Parses ACPI starting from an RSDP copy (rsdp_len bytes valid). Verifies every checksum and
 * length; prefers the XSDT when revision >= 2 and its address is non-zero. A bad table is
 * logged and skipped, never trusted. Fills the ACPI and (from MADT) CPU fields of out; returns
 * true when a usable MADT was found.
 */
/*
 * Finds `Name (_S5, Package () { SLP_TYPa, SLP_TYPb, ... })` in AML (a DSDT's body) and
 * returns the two values; false when absent or not in a form this reader knows.
 */
bool acpi_find_s5(const u8 *aml, u32 len, u8 *typa, u8 *typb);
bool acpi_parse(const void *rsdp, u32 rsdp_len, phys_map_fn map, acpi_log_fn log,
		struct fw_info *out);
/*
 * MP table fallback: finds the floating pointer (EBDA first KiB, last KiB of base memory,
 * 0xF0000-0xFFFFF), checks it and the configuration table, fills cpus/ioapic/lapic_addr.
 * Returns true when at least one enabled processor entry was found.
 */
bool mptable_parse(phys_map_fn map, acpi_log_fn log, struct fw_info *out);
/* Zeroes out and sets the defaults (lapic_addr 0xFEE00000, cpu_source "none"). */
void fw_info_init(struct fw_info *out);

#endif
