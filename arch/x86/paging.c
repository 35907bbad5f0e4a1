/* Page-table edits on the identity map built by boot/entry32.S (2 MiB pages throughout). */
#include "arch/x86/paging.h"
#include "arch/x86/cpu.h"
#include "lib/lib.h"
#include "arch/x86/mem.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_U 0x4ull
#define PTE_PWT 0x8ull
#define PTE_PCD 0x10ull
#define PTE_PS 0x80ull
#define PTE_PAT_LARGE 0x1000ull
#define PTE_ADDR 0x000ffffffffff000ull
#define SIZE_2M 0x200000ull

extern u64 boot_pml4[512];

void pat_init(void)
{
	/* PA0 WB(6) PA1 WC(1) PA2 UC-(7) PA3 UC(0), upper four the same */
	u64 pat = 0x0007010600070106ull;
	wrmsr(MSR_PAT, pat);
}

static u64 attr_bits(enum cache_attr a)
{
	switch (a) {
	case CACHE_WC: return PTE_PWT;           /* PAT entry 1 */
	case CACHE_UC: return PTE_PWT | PTE_PCD; /* PAT entry 3 */
	default: return 0;
	}
}

/* Returns the page-directory entry for pa, allocating tables on the way when allowed. */
static u64 *pde_for(u64 pa, bool create)
{
	u64 *table = boot_pml4;
	for (int shift = 39; shift > 21; shift -= 9) {
		u64 *e = &table[(pa >> shift) & 511];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			u64 *t = alloc_pages(4096);
			if (!t)
				return NULL;
			*e = (u64)t | PTE_P | PTE_W;
		}
		table = (u64 *)(*e & PTE_ADDR);
	}
	return &table[(pa >> 21) & 511];
}

static void flush_all(void)
{
	write_cr3(read_cr3());
}

bool map_identity(u64 pa, u64 len, enum cache_attr attr)
{
	u64 start = pa & ~(SIZE_2M - 1), end = ALIGN_UP(pa + len, SIZE_2M);
	if (end > (1ull << 46))
		return false;
	for (u64 a = start; a < end; a += SIZE_2M) {
		u64 *pde = pde_for(a, true);
		if (!pde)
			return false;
		*pde = a | PTE_P | PTE_W | PTE_PS | attr_bits(attr);
	}
	flush_all();
	return true;
}

bool paging_set_user_2m(u64 pa)
{
	/* U/S must be set at every level of the walk; the other PDEs stay supervisor-only */
	u64 *table = boot_pml4;
	for (int shift = 39; shift > 21; shift -= 9) {
		u64 *e = &table[(pa >> shift) & 511];
		if (!(*e & PTE_P))
			return false;
		*e |= PTE_U;
		table = (u64 *)(*e & PTE_ADDR);
	}
	u64 *pde = &table[(pa >> 21) & 511];
	if (!(*pde & PTE_P))
		return false;
	*pde |= PTE_U;
	flush_all();
	return true;
}

void unmap_identity_2m(u64 pa)
{
	u64 *pde = pde_for(pa, false);
	if (pde)
		*pde = 0;
	flush_all();
}

static bool overlaps_ram(const struct bootinfo *bi, u64 base, u64 len)
{
	for (u32 i = 0; i < bi->mmap_count; i++) {
		const struct mem_range *r = &bi->mmap[i];
		bool ram = r->type == MEM_AVAILABLE || r->type == MEM_ACPI_RECLAIM || r->type == MEM_NVS;
		if (ram && r->base < base + len && base < r->base + r->len)
			return true;
	}
	return false;
}

void paging_init(const struct bootinfo *bi)
{
	pat_init();
	/* the first 2 MiB hold the kernel and legacy areas: firmware MTRRs already cover VGA/ROM */
	for (u64 a = SIZE_2M; a < (1ull << 32); a += SIZE_2M) {
		u64 *pde = pde_for(a, false);
		if (pde && !overlaps_ram(bi, a, SIZE_2M))
			*pde |= PTE_PWT | PTE_PCD;
	}
	flush_all();
}
