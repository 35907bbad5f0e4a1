/* kmain: from the multiboot2 hand-over to a running experiment runner on every CPU. */
#include "arch/x86/acpi.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/hooks.h"
#include "arch/x86/paging.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "arch/x86/user.h"
#include "boot/bootinfo.h"
#include "kernel/cmdline.h"
#include "kernel/console.h"
#include "kernel/exit.h"
#include "kernel/platform.h"
#include "kernel/record.h"
#include "lib/lib.h"
#include "arch/x86/mem.h"
#include "lib/printf.h"
#include "kernel/runner.h"

#define TRAMPOLINE_DEFAULT 0x8000ull

extern u64 boot_tsc;
extern u16 exit_reset_port;
extern u8 exit_reset_value;

static struct bootinfo bi;
static struct cmdline cl;
static struct fw_info fw;

/* ACPI and MP-table readers get identity pointers; above 4 GiB the range is mapped first. */
static const void *phys_map(u64 pa, u64 len)
{
	if (pa == 0 || pa + len < pa)
		return NULL;
	if (pa + len > (1ull << 32) && !map_identity(pa, len, CACHE_WB))
		return NULL;
	return (const void *)pa;
}

static PRINTF_FMT(1, 2) void fw_log(const char *fmt, ...)
{
	char buf[200];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kprintf("# firmware: %s\n", buf);
}

/* Multiboot 1 pointers are 32-bit physical addresses: all inside the boot identity map. */
static const void *boot_map_low(u64 pa, u64 len)
{
	if (pa == 0 || len > (1ull << 32) || pa > (1ull << 32) - len)
		return NULL;
	return (const void *)pa;
}

static void parse_boot_info(u32 info_pa, u32 magic)
{
	if (magic == MB1_BOOTLOADER_MAGIC) {
		if (mb1_parse((const void *)(u64)info_pa, MB1_INFO_SIZE, boot_map_low, &bi) < 0)
			boot_problem("Multiboot 1 information unusable");
		for (u32 i = 0; i < MIN(bi.nwarn, BOOTINFO_MAX_WARN); i++)
			kprintf("# multiboot1: %s\n", bi.warn[i]);
		if (bi.nwarn)
			boot_problem("%u problem(s) in the Multiboot 1 information", bi.nwarn);
		return;
	}
	const u32 *hdr = (const u32 *)(u64)info_pa;
	u32 total = hdr[0];
	size_t avail = total >= 8 && total <= (1u << 20) ? total : (1u << 16);
	if (mb2_parse(hdr, avail, &bi) < 0) {
		kprintf("# multiboot2 information unusable (total_size %u)\n", total);
		boot_problem("multiboot2 information unusable");
	}
	for (u32 i = 0; i < MIN(bi.nwarn, BOOTINFO_MAX_WARN); i++)
		kprintf("# multiboot2: %s\n", bi.warn[i]);
	if (bi.nwarn)
		boot_problem("%u malformed multiboot2 tag(s)", bi.nwarn);
}

static void parse_cmdline(void)
{
	char err[160];
	if (cmdline_parse(bi.cmdline, &cl, err, sizeof(err)) < 0)
		runner_bad_cmdline(err);
	console_set_mode(cl.console);
	exit_set_mode(cl.exit);
	if (cl.list)
		runner_list();
}

static void find_firmware_tables(void)
{
	fw_info_init(&fw);
	const void *rsdp = bi.has_rsdp ? bi.rsdp : NULL;
	u32 rsdp_len = bi.rsdp_len;
	u64 pa;
	if (!rsdp && acpi_find_rsdp_legacy(phys_map, &pa)) {
		rsdp = phys_map(pa, 36);
		rsdp_len = 36;
	}
	if (rsdp && acpi_parse(rsdp, rsdp_len, phys_map, fw_log, &fw))
		return;
	kprintf("# firmware: no usable ACPI MADT, trying the MP table\n");
	if (mptable_parse(phys_map, fw_log, &fw))
		return;
	kprintf("# firmware: no MADT and no MP table: running on the boot CPU alone\n");
	boot_problem("no CPU list from firmware (no MADT, no MP table)");
}

static u64 pick_trampoline(void)
{
	if (mem_range_is_free_ram(&bi, TRAMPOLINE_DEFAULT, 4096))
		return TRAMPOLINE_DEFAULT;
	for (u64 pa = 0x1000; pa < 0x9f000; pa += 4096)
		if (mem_range_is_free_ram(&bi, pa, 4096))
			return pa;
	return 0;
}

static void setup_bsp(void)
{
	struct cpu *c = &cpus[0];
	c->index = 0;
	if (!cpu_setup(c)) {
		kprintf("# no free memory for the boot CPU's stacks\n");
		run_exit(RUN_CRASH);
	}
	idt_init();
	cpu_load_tables(c);
	console_mark_percpu_ready();
	ncpus_possible = 1;
}

static void setup_apic(void)
{
	outb(0x21, 0xff); /* mask both 8259s: all interrupts come through the local APIC */
	outb(0xa1, 0xff);
	apic_choose_mode(fw.lapic_addr, cl.apic);
	if (apic.mode == APIC_MODE_XAPIC)
		map_identity(apic.mmio_base, 4096, CACHE_UC);
	if (apic.problem[0])
		boot_problem("%s", apic.problem);
	apic_init_cpu();
	cpus[0].apic_id = apic_read_id();
	cpus[0].lint_nmi = fw_lint_nmi(&fw, cpus[0].apic_id);
	apic_program_lint();
	cpus[0].state = CPU_ONLINE;
	if (fw.have_hpet)
		map_identity(fw.hpet_addr, 4096, CACHE_UC);
	exit_set_acpi(&fw);
	if (fw.have_reset_reg && fw.reset_space == 1) {
		exit_reset_port = (u16)fw.reset_addr;
		exit_reset_value = fw.reset_value;
	}
}

/* What arch/ reports upwards: crash context, lock breaking and the end of a crashed run. */
static const struct arch_hooks kernel_hooks = {
	.context = runner_current,
	.crash_nested = console_break_lock,
	.crash_end = runner_crash_end,
};

NORETURN void kmain(u32 info_pa, u32 magic)
{
	/* the magic was checked in boot/entry32.S: multiboot2 from GRUB, multiboot1 from QEMU */
	console_init();
	arch_set_hooks(&kernel_hooks);
	/*
	 * Firmware and GRUB may leave a bare carriage return or escape sequences on the current
	 * line: a newline first, so every line the kernel prints starts a line for any reader.
	 * The run diagnostics come next, then `KTAP version 1` and the plan (runner_select).
	 */
	kprintf("\n");
	parse_boot_info(info_pa, magic);
	parse_cmdline();
	kprintf("# racebed: loader '%s', command line '%s'%s\n# seed=%lu\n", bi.loader,
		bi.cmdline, bi.efi_boot ? ", EFI" : "", cl.seed);

	mem_init(&bi);
	paging_init(&bi);
	setup_bsp();
	if (bi.has_fb && cl.console != CONSOLE_SERIAL) {
		if (map_identity(bi.fb.addr, (u64)bi.fb.pitch * bi.fb.height, CACHE_WC))
			console_attach_fb(&bi.fb);
		kprintf("# framebuffer %ux%u bpp %u type %u at 0x%lx: %s\n", bi.fb.width,
			bi.fb.height, bi.fb.bpp, bi.fb.type, bi.fb.addr,
			console_has_fb() ? "console" : "unusable");
	}
	if (!user_init())
		boot_problem("no memory for the ring-3 region");
	find_firmware_tables();
	console_find_uart(&fw);
	setup_apic();
	time_init(&fw, cl.clock);
	kprintf("# tsc_hz=%lu source=%s apic_timer_hz=%lu clock=%s calib_bound_ppm=%u\n",
		timeinfo.tsc_hz, timeinfo.tsc_source, timeinfo.apic_hz, timeinfo.clock,
		timeinfo.calib_bound_ppm);
	if (timeinfo.cpuid_disagrees)
		kprintf("# tsc: %s says %lu Hz, %s measures %lu Hz: the measurement is used\n",
			timeinfo.cpuid_source, timeinfo.cpuid_hz, timeinfo.tsc_source, timeinfo.tsc_hz);
	if (timeinfo.problem[0])
		boot_problem("%s", timeinfo.problem);

	u64 tramp = pick_trampoline();
	u32 limit = cl.nosmp ? 1 : cl.cpus;
	if (!tramp && fw.ncpus > 1) {
		boot_problem("no free page below 1 MiB for the AP trampoline");
		limit = 1;
	}
	smp_boot(&fw, limit, tramp);
	kprintf("# cpus online %u/%u\n", smp_report.online, MAX(smp_report.firmware_enabled, 1u));
	kprintf("# boot_ms=%lu\n", tsc_to_ns(rdtsc() - boot_tsc) / 1000000u);
	platform_collect(&the_platform, bi.efi_boot, magic == MB1_BOOTLOADER_MAGIC);
	platform_print(&the_platform);
	record_begin(&the_platform);
	if (cl.bench)
		kprintf("# bench mode: 10x default trials and time budgets\n");
	/* every run-level diagnostic is printed above: the plan, then the experiments */
	runner_select(&cl);
	runner_run(&cl);
}
