/* Bump allocator over the largest available RAM block below 4 GiB above the kernel image. */
#include "arch/x86/mem.h"
#include "lib/lib.h"

extern char __kernel_start[], __kernel_end[];

static u64 next, limit;
static const struct bootinfo *boot_map;

bool mem_range_is_free_ram(const struct bootinfo *bi, u64 base, u64 len)
{
	u64 end = base + len;
	if (base < (u64)__kernel_end && end > (u64)__kernel_start)
		return false;
	for (u32 i = 0; i < bi->mmap_count; i++) {
		const struct mem_range *r = &bi->mmap[i];
		if (r->type == MEM_AVAILABLE && base >= r->base && end <= r->base + r->len)
			return true;
	}
	return false;
}

bool mem_is_free_ram(u64 base, u64 len)
{
	return boot_map && mem_range_is_free_ram(boot_map, base, len);
}

void mem_init(const struct bootinfo *bi)
{
	boot_map = bi;
	u64 best = 0, best_len = 0;
	for (u32 i = 0; i < bi->mmap_count; i++) {
		const struct mem_range *r = &bi->mmap[i];
		if (r->type != MEM_AVAILABLE)
			continue;
		u64 lo = MAX(ALIGN_UP(r->base, 4096), (u64)__kernel_end);
		lo = MAX(lo, 0x100000ull);
		u64 hi = MIN(r->base + r->len, 1ull << 32) & ~0xfffull;
		if (hi > lo && hi - lo > best_len) {
			best = lo;
			best_len = hi - lo;
		}
	}
	next = best;
	limit = best + best_len;
}

void *alloc_pages(u64 bytes)
{
	bytes = ALIGN_UP(bytes, 4096);
	if (next == 0 || limit - next < bytes)
		return NULL;
	void *p = (void *)next;
	next += bytes;
	memset(p, 0, bytes);
	return p;
}
