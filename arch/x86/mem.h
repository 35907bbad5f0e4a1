/* Boot-time page allocator: hands out zeroed, page-aligned memory from the largest free RAM block. */
#ifndef RACEBED_MEM_H
#define RACEBED_MEM_H

#include "boot/bootinfo.h"

void mem_init(const struct bootinfo *bi);
/* Returns zeroed memory (page aligned), or NULL when none is left. Never freed. */
void *alloc_pages(u64 bytes);
/* True when [base, base+len) lies in available RAM and outside the kernel image. */
bool mem_range_is_free_ram(const struct bootinfo *bi, u64 base, u64 len);
/* The same against the memory map mem_init() was given (false before it ran). */
bool mem_is_free_ram(u64 base, u64 len);

#endif
