/* Local APIC access in both modes, chosen once at boot, and IPI sending with error checks. */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "lib/printf.h"
#include "lib/lib.h"
#include "arch/x86/percpu.h"
#include "lib/printf.h"

#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_X2APIC (1ull << 10)
#define APIC_BASE_ENABLE (1ull << 11)

struct apic_status apic;

static inline volatile u32 *mmio_reg(u32 reg) { return (volatile u32 *)(apic.mmio_base + reg); }

u32 apic_read(u32 reg)
{
	if (apic.mode == APIC_MODE_X2APIC)
		return (u32)rdmsr(0x800 + reg / 16);
	return *mmio_reg(reg);
}

void apic_write(u32 reg, u32 val)
{
	if (apic.mode == APIC_MODE_X2APIC)
		wrmsr(0x800 + reg / 16, val);
	else
		*mmio_reg(reg) = val;
}

u32 apic_read_id(void)
{
	u32 id = apic_read(APIC_ID);
	return apic.mode == APIC_MODE_X2APIC ? id : id >> 24;
}

void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

u32 apic_max_id(void) { return apic.mode == APIC_MODE_X2APIC ? 0xfffffffe : 0xfe; }

const char *apic_mode_name(enum apic_mode m)
{
	return m == APIC_MODE_X2APIC ? "x2apic" : m == APIC_MODE_XAPIC ? "xapic" : "none";
}

void apic_choose_mode(u64 firmware_base, enum apic_pref pref)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	apic.cpu_has_x2apic = (cpuid(1, 0).ecx >> 21) & 1;
	apic.has_tsc_deadline = (cpuid(1, 0).ecx >> 24) & 1;
	apic.firmware_x2apic = (base & APIC_BASE_ENABLE) && (base & APIC_BASE_X2APIC);
	apic.mmio_base = base & ~0xfffull & ((1ull << 52) - 1);
	if (firmware_base && firmware_base != apic.mmio_base)
		apic.mmio_base = firmware_base;
	apic.problem[0] = 0;

	bool x2 = apic.cpu_has_x2apic;
	if (pref == APIC_FORCE_XAPIC) {
		x2 = false;
		if (apic.firmware_x2apic) {
			/* leaving x2APIC needs a disable, which some platforms never undo */
			x2 = true;
			ksnprintf(apic.problem, sizeof(apic.problem),
				  "apic=xapic: firmware left x2APIC enabled, staying in x2APIC");
		}
	} else if (pref == APIC_FORCE_X2APIC && !apic.cpu_has_x2apic) {
		ksnprintf(apic.problem, sizeof(apic.problem),
			  "apic=x2apic: this CPU has no x2APIC, using xAPIC");
	}
	apic.mode = x2 ? APIC_MODE_X2APIC : APIC_MODE_XAPIC;
}

void apic_init_cpu(void)
{
	u64 base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE)) {
		base |= APIC_BASE_ENABLE;
		wrmsr(MSR_APIC_BASE, base);
	}
	if (apic.mode == APIC_MODE_X2APIC && !(base & APIC_BASE_X2APIC))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_X2APIC);

	apic_write(APIC_TPR, 0);
	apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	apic_write(APIC_LVT_PERF, APIC_LVT_MASKED);
	apic_write(APIC_LVT_THERMAL, APIC_LVT_MASKED);
	apic_write(APIC_LVT_ERROR, APIC_LVT_MASKED);
	apic_program_lint();
	apic_write(APIC_SVR, 0x100 | 0xff); /* software enable, spurious vector 0xff */
	apic_write(APIC_ESR, 0);
	apic_write(APIC_ESR, 0);
	apic_eoi();
}

void apic_program_lint(void)
{
	/* LINTn is either the firmware's NMI pin or masked (no 8259 ExtINT: the PICs are masked) */
	u8 nmi = this_cpu()->lint_nmi;
	apic_write(APIC_LVT_LINT0, (nmi & 1) ? ICR_NMI : APIC_LVT_MASKED);
	apic_write(APIC_LVT_LINT1, (nmi & 2) ? ICR_NMI : APIC_LVT_MASKED);
}

static bool wait_idle(void)
{
	if (apic.mode == APIC_MODE_X2APIC)
		return true; /* x2APIC ICR writes are not posted: no delivery status */
	for (u32 i = 0; i < 10000000; i++) {
		if (!(*mmio_reg(APIC_ICR) & ICR_PENDING))
			return true;
		cpu_relax();
	}
	return false;
}

/* The ICR write itself: x2APIC one WRMSR, xAPIC the destination then the low word (sends). */
static void icr_write(u32 dest, u32 icr_low)
{
	if (apic.mode == APIC_MODE_X2APIC) {
		wrmsr(0x830, ((u64)dest << 32) | icr_low);
	} else {
		*mmio_reg(APIC_ICR2) = dest << 24;
		*mmio_reg(APIC_ICR) = icr_low;
	}
}

bool apic_send_ipi_fast(u32 dest, u32 icr_low)
{
	u64 flags = irq_save();
	bool ok = wait_idle();
	if (ok)
		icr_write(dest, icr_low);
	irq_restore(flags);
	return ok;
}

bool apic_send_ipi(u32 dest, u32 icr_low)
{
	u64 flags = irq_save();
	bool ok = wait_idle();
	if (ok) {
		apic_write(APIC_ESR, 0);
		icr_write(dest, icr_low);
		ok = wait_idle();
	}
	u32 esr = 0;
	if (ok) {
		apic_write(APIC_ESR, 0); /* latches the errors of the send */
		esr = apic_read(APIC_ESR) & 0xef;
	}
	irq_restore(flags);
	if (!ok || esr) {
		kprintf("# apic: IPI 0x%x to %u failed: %s esr=0x%x\n", icr_low, dest,
			ok ? "error status" : "delivery status stuck", esr);
		return false;
	}
	return true;
}
