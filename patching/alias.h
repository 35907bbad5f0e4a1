/*
 * 4 KiB mappings for the text poke engine: a page-table walker that adds single 4 KiB pages
 * next to the 2 MiB identity map, and the writable alias window through which the engine
 * writes text (the identity mapping of the text is never written by the engine).
 */
#ifndef RACEBED_POKE_ALIAS_H
#define RACEBED_POKE_ALIAS_H

#include "lib/types.h"

/* Where the alias of physical page P lives: POKE_ALIAS_BASE + P (otherwise unused space). */
#define POKE_ALIAS_BASE 0x0000200000000000ull

/*
 * Maps the 4 KiB page at va to pa (present, writable, executable), allocating the tables on
 * the way. False when va is covered by a large page or no memory is left. Not concurrent:
 * one CPU edits the tables at a time; a new mapping needs no shootdown.
 */
bool pte_map_4k(u64 va, u64 pa);
/* Clears the 4 KiB entry for va (when there is one) and flushes it from this CPU's TLB. */
void pte_unmap_4k(u64 va);
/* Physical address behind va by walking the current tables (1 GiB, 2 MiB and 4 KiB pages). */
bool pte_virt_to_phys(u64 va, u64 *pa);

/* Maps the alias of every page that [va, va+len) touches. False when one can't be mapped. */
bool poke_alias_prepare(u64 va, u64 len);
/* Maps (map) or unmaps the alias pages of [va, va+len): the per-phase set-up and teardown
 * that POKE_ALIAS_PER_PHASE measures. */
void poke_alias_phase(u64 va, u64 len, bool map);
/* The writable alias of the byte at va, its page mapped first when it is not (two page
 * walks); NULL when va is unmapped or the alias can't be mapped. */
u8 *poke_alias_map(u64 va);
/* wr[i]: the writable alias of byte va + i, for i < len; one poke_alias_map per page the
 * span touches (the bytes after the first on a page follow it). False when one is missing. */
bool poke_alias_span(u64 va, u32 len, u8 **wr);
/* The writable alias of the byte at va (its page must have been prepared), or NULL. */
u8 *poke_alias_of(u64 va);

#endif
