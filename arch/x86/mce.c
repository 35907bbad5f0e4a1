/* Machine checks enabled on every CPU (see mce.h). */
#include "arch/x86/mce.h"
#include "arch/x86/cpu.h"

#define CPUID1_EDX_MCE (1u << 7)
#define CPUID1_EDX_MCA (1u << 14)

u32 mce_banks(void)
{
	u32 edx = cpuid(1, 0).edx;
	if (!(edx & CPUID1_EDX_MCE) || !(edx & CPUID1_EDX_MCA))
		return 0;
	return MCG_CAP_COUNT(rdmsr(MSR_MCG_CAP));
}

void mce_enable_this_cpu(void)
{
	u32 edx = cpuid(1, 0).edx;
	if (!(edx & CPUID1_EDX_MCE))
		return;
	if (edx & CPUID1_EDX_MCA) {
		u64 cap = rdmsr(MSR_MCG_CAP);
		if (cap & MCG_CAP_CTL_P)
			wrmsr(MSR_MCG_CTL, ~0ull);
		/* bank 0 of some Intel families is the BIOS's to configure; writing it is allowed */
		for (u32 b = 0; b < MCG_CAP_COUNT(cap); b++) {
			wrmsr(MSR_MC_CTL(b), ~0ull);
			wrmsr(MSR_MC_STATUS(b), 0);
		}
	}
	write_cr4(read_cr4() | CR4_MCE);
}
