/*
 * The alias window: physical page P of the text is also mapped, writable, at
 * POKE_ALIAS_BASE + P. Every byte the engine writes goes through it, so the text mapping the
 * CPUs execute from is never the one written. A site that crosses a page has both pages
 * prepared; each byte is translated on its own, so the two pages need not be contiguous.
 */
#include "patching/alias.h"

#define PAGE 4096ull

static bool page_mapped(u64 va)
{
	u64 pa;
	return pte_virt_to_phys(va, &pa);
}

u8 *poke_alias_map(u64 va)
{
	u64 pa;
	if (!pte_virt_to_phys(va, &pa))
		return NULL;
	u64 alias = POKE_ALIAS_BASE + pa;
	if (!page_mapped(alias) && !pte_map_4k(alias & ~(PAGE - 1), pa & ~(PAGE - 1)))
		return NULL;
	return (u8 *)alias;
}

bool poke_alias_span(u64 va, u32 len, u8 **wr)
{
	for (u32 i = 0; i < len; i++) {
		bool same_page = i && ((va + i) & (PAGE - 1));
		wr[i] = same_page ? wr[i - 1] + 1 : poke_alias_map(va + i);
		if (!wr[i])
			return false;
	}
	return true;
}

bool poke_alias_prepare(u64 va, u64 len)
{
	for (u64 page = va & ~(PAGE - 1); page < va + len; page += PAGE)
		if (!poke_alias_map(page))
			return false;
	return true;
}

u8 *poke_alias_of(u64 va)
{
	u64 pa;
	if (!pte_virt_to_phys(va, &pa) || !page_mapped(POKE_ALIAS_BASE + pa))
		return NULL;
	return (u8 *)(POKE_ALIAS_BASE + pa);
}
