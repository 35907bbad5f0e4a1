/* The identity map: cache attributes per 2 MiB page and on-demand mapping above 4 GiB. */
#ifndef RACEBED_PAGING_H
#define RACEBED_PAGING_H

#include "boot/bootinfo.h"

enum cache_attr { CACHE_WB, CACHE_WC, CACHE_UC };

/* Every CPU: PAT with entry 1 = write-combining (entries 0 WB, 3 UC stay as at reset). */
void pat_init(void);
/* BSP, once: RAM (by the memory map) stays write-back, everything else below 4 GiB uncached. */
void paging_init(const struct bootinfo *bi);
/* Identity-maps [pa, pa+len) with the given attribute (2 MiB granularity). False if it can't. */
bool map_identity(u64 pa, u64 len, enum cache_attr attr);
/* Makes the 2 MiB page at pa user-accessible (U/S on its PDE and the entries above it). */
bool paging_set_user_2m(u64 pa);
/* Unmaps a 2 MiB-aligned identity range (so experiments can fault on purpose). */
void unmap_identity_2m(u64 pa);
/* First address not mapped by the boot identity map; used for deliberate #PF. */
#define UNMAPPED_TEST_ADDR 0x0000100000000000ull

#endif
