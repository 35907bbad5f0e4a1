/* Local APIC in xAPIC (MMIO) or x2APIC (MSR) mode: IPIs, EOI, timer. */
#ifndef RACEBED_APIC_H
#define RACEBED_APIC_H

#include "arch/x86/apic_pref.h"
#include "lib/types.h"

/* Register offsets as in xAPIC MMIO; x2APIC MSR = 0x800 + offset / 16. */
#define APIC_ID 0x20
#define APIC_VERSION 0x30
#define APIC_TPR 0x80
#define APIC_EOI 0xb0
#define APIC_LDR 0xd0
#define APIC_SVR 0xf0
#define APIC_ISR0 0x100
#define APIC_IRR0 0x200
#define APIC_ESR 0x280
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF 0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CUR 0x390
#define APIC_TIMER_DIV 0x3e0

#define APIC_LVT_MASKED (1u << 16)
#define APIC_TIMER_ONESHOT (0u << 17)
#define APIC_TIMER_PERIODIC (1u << 17)
#define APIC_TIMER_TSC_DEADLINE (2u << 17)

/* ICR delivery modes and shorthands */
#define ICR_FIXED (0u << 8)
#define ICR_SMI (2u << 8) /* not with the self shorthand: fixed delivery only there */
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_SIPI (6u << 8)
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_DEST_SELF (1u << 18)
#define ICR_DEST_ALL (2u << 18)
#define ICR_DEST_OTHERS (3u << 18)

enum apic_mode { APIC_MODE_NONE, APIC_MODE_XAPIC, APIC_MODE_X2APIC };

struct apic_status {
	enum apic_mode mode;
	u64 mmio_base;        /* xAPIC register page */
	bool cpu_has_x2apic;
	bool firmware_x2apic; /* x2APIC was already on when we came in */
	bool has_tsc_deadline;
	char problem[120];    /* non-empty when the requested mode could not be honoured */
};
extern struct apic_status apic;

/* BSP, once: picks the mode (x2APIC when available or already on, unless forced). */
void apic_choose_mode(u64 firmware_base, enum apic_pref pref);
/* Every CPU: switch to the chosen mode, software-enable, mask LVTs, set up LINT1 as NMI. */
void apic_init_cpu(void);
/* LINT0/LINT1 from this_cpu()->lint_nmi: NMI where the firmware says so, else masked. */
void apic_program_lint(void);
u32 apic_read(u32 reg);
void apic_write(u32 reg, u32 val);
u32 apic_read_id(void);
void apic_eoi(void);
/*
 * Sends an IPI. dest is a physical APIC ID (ignored with a shorthand). Waits (bounded) for
 * the xAPIC delivery-status bit; returns false and reports when it never clears or the ESR
 * shows an error.
 */
bool apic_send_ipi(u32 dest, u32 icr_low);
/*
 * The same for hot loops (a race's sender, the peer loop's): waits (bounded) for the delivery
 * status before the write, not after, and reads no ESR. Returns false when it never cleared.
 */
bool apic_send_ipi_fast(u32 dest, u32 icr_low);
/* Max APIC ID the current mode can address. */
u32 apic_max_id(void);
const char *apic_mode_name(enum apic_mode m);

#endif
