/*
 * Ablation writers for the negative controls: they rewrite a live site the way the int3
 * protocol exists to avoid, still only through the alias window. Never use them on a site
 * another CPU may execute unless you are measuring the damage.
 */
#include "patching/poke.h"
#include "patching/alias.h"

bool poke_unsafe_bytewise(u64 addr, const u8 insn[POKE_INSN_LEN])
{
	u8 *wr[POKE_INSN_LEN];
	if (!poke_alias_span(addr, POKE_INSN_LEN, wr))
		return false;
	for (u32 i = 0; i < POKE_INSN_LEN; i++)
		*(volatile u8 *)wr[i] = insn[i];
	return true;
}

bool poke_unsafe_store_rel32(u64 addr, const u8 insn[POKE_INSN_LEN])
{
	u8 *b[POKE_INSN_LEN];
	if (!poke_alias_span(addr, POKE_INSN_LEN, b))
		return false;
	u8 *wr = b[1];
	if (wr + 3 != b[4])
		return false; /* split across non-contiguous pages: not one store */
	u32 rel = 0;
	for (u32 i = 0; i < 4; i++)
		rel |= (u32)insn[1 + i] << (8 * i);
	/* one plain 4-byte store, possibly misaligned and across a cache line */
	__asm__ volatile("movl %1, %0" : "=m"(*(u32 *)wr) : "r"(rel) : "memory");
	return true;
}
