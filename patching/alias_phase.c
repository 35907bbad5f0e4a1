/*
 * Per-phase alias set-up and teardown (POKE_ALIAS_PER_PHASE): what the engine would do if
 * the writable alias existed only around each write step, as the kernel's text poking did
 * per phase in 2019 (seed 004). The engine normally maps each alias page once and keeps it,
 * so a ROLLBACK handler on the patching CPU can always write; this exists to measure what
 * keeping it saves per poke.
 */
#include "patching/alias.h"

#define PAGE 4096ull

void poke_alias_phase(u64 va, u64 len, bool map)
{
	for (u64 page = va & ~(PAGE - 1); page < va + len; page += PAGE) {
		u64 pa;
		if (!pte_virt_to_phys(page, &pa))
			continue;
		if (map)
			pte_map_4k(POKE_ALIAS_BASE + pa, pa);
		else
			pte_unmap_4k(POKE_ALIAS_BASE + pa);
	}
}
