/*
 * Machine-check architecture (Intel SDM vol. 3B ch. 16 "Machine-Check Architecture"; AMD APM
 * vol. 2 ch. 9 "Machine Check Mechanism"): every CPU enables #MC (CR4.MCE) and reporting in
 * every bank, so an injected or real uncorrected error arrives as #MC on its IST stack.
 */
#ifndef RACEBED_MCE_H
#define RACEBED_MCE_H

#include "lib/types.h"

#define MSR_MCG_CAP 0x179
#define MSR_MCG_STATUS 0x17a
#define MSR_MCG_CTL 0x17b
#define MSR_MC_CTL(bank) (0x400u + 4u * (bank))
#define MSR_MC_STATUS(bank) (0x401u + 4u * (bank))
#define MCG_CAP_COUNT(cap) ((u32)(cap) & 0xff)
#define MCG_CAP_CTL_P (1ull << 8)
#define MCG_STATUS_RIPV (1ull << 0)
#define MCG_STATUS_EIPV (1ull << 1)
#define MCG_STATUS_MCIP (1ull << 2)
#define MCI_STATUS_VAL (1ull << 63)
#define MCI_STATUS_UC (1ull << 61)
#define MCI_STATUS_EN (1ull << 60)
#define CR4_MCE (1ull << 6)

/* Banks this CPU reports (0: no MCA). */
u32 mce_banks(void);
/* On this CPU: CR4.MCE, MCG_CTL (when present) and every bank's CTL set, statuses cleared. */
void mce_enable_this_cpu(void);

#endif
