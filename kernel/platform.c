/* The platform fingerprint from CPUID (and the microcode MSR where that is safe to read). */
#include "kernel/platform.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "lib/lib.h"
#include "lib/printf.h"

#define MSR_BIOS_SIGN_ID 0x8b

struct platform the_platform;

static void regs_to_str(char *out, const u32 *words, u32 n)
{
	memcpy(out, words, 4 * n);
	out[4 * n] = 0;
}

/* Keeps printable characters, turns spaces into '_' (one token in a key=value line). */
static void tokenize(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (*r == ' ' && (w == s || w[-1] == '_'))
			continue;
		*w++ = *r == ' ' ? '_' : (*r >= 33 && *r < 127 ? *r : '?');
	}
	while (w > s && w[-1] == '_')
		w--;
	*w = 0;
}

void platform_collect(struct platform *p, bool efi_boot, bool multiboot1)
{
	memset(p, 0, sizeof(*p));
	struct cpuid_regs r = cpuid(0, 0);
	u32 v[3] = { r.ebx, r.edx, r.ecx };
	regs_to_str(p->vendor, v, 3);
	r = cpuid(1, 0);
	u32 base_family = (r.eax >> 8) & 0xf, base_model = (r.eax >> 4) & 0xf;
	p->family = base_family == 0xf ? base_family + ((r.eax >> 20) & 0xff) : base_family;
	p->model = (base_family == 0x6 || base_family == 0xf) ? base_model | ((r.eax >> 12) & 0xf0)
							      : base_model;
	p->stepping = r.eax & 0xf;
	bool hv = cpu_under_hypervisor();
	if (cpuid(0x80000000, 0).eax >= 0x80000004) {
		u32 b[12];
		for (u32 i = 0; i < 3; i++) {
			struct cpuid_regs q = cpuid(0x80000002 + i, 0);
			b[4 * i] = q.eax, b[4 * i + 1] = q.ebx, b[4 * i + 2] = q.ecx, b[4 * i + 3] = q.edx;
		}
		regs_to_str(p->brand, b, 12);
		tokenize(p->brand);
	}
	if (hv) {
		struct cpuid_regs q = cpuid(0x40000000, 0);
		u32 s[3] = { q.ebx, q.ecx, q.edx };
		regs_to_str(p->hypervisor, s, 3);
		tokenize(p->hypervisor);
	} else {
		memcpy(p->hypervisor, "none", 5);
	}
	/*
	 * The microcode revision: Intel documents IA32_BIOS_SIGN_ID (write 0, CPUID 1, read the
	 * high half). Read on bare-metal Intel only: hypervisors may not implement the MSR.
	 */
	if (!hv && memcmp(p->vendor, "GenuineIntel", 12) == 0) {
		__asm__ volatile("wrmsr" ::"c"(MSR_BIOS_SIGN_ID), "a"(0), "d"(0));
		(void)cpuid(1, 0);
		p->microcode = (u32)(rdmsr(MSR_BIOS_SIGN_ID) >> 32);
		p->have_microcode = true;
	}
	p->apic_mode = apic_mode_name(apic.mode);
	p->cpus_online = cpus_online();
	p->firmware = multiboot1 ? "multiboot1" : efi_boot ? "uefi" : "bios";
}

void platform_format(char *out, size_t len, const struct platform *p)
{
	char mc[16] = "unknown";
	if (p->have_microcode)
		ksnprintf(mc, sizeof(mc), "0x%x", p->microcode);
	ksnprintf(out, len, "vendor=%s family=0x%x model=0x%x stepping=%u microcode=%s "
		  "hypervisor=%s apic=%s cpus=%u firmware=%s brand=%s",
		  p->vendor, p->family, p->model, p->stepping, mc, p->hypervisor, p->apic_mode,
		  p->cpus_online, p->firmware, p->brand[0] ? p->brand : "unreported");
}

void platform_print(const struct platform *p)
{
	char line[256];
	platform_format(line, sizeof(line), p);
	kprintf("# platform %s\n", line);
}
