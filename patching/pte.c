/* 4 KiB page-table entries beside the boot identity map (which uses 2 MiB pages throughout). */
#include "patching/alias.h"
#include "arch/x86/cpu.h"
#include "arch/x86/mem.h"

#define PTE_P 0x1ull
#define PTE_W 0x2ull
#define PTE_PS 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

extern u64 boot_pml4[512];

static u64 *table_of(u64 entry) { return (u64 *)(entry & PTE_ADDR); }

static void invlpg(u64 va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

/* The next-level table under *e, allocated when absent; NULL under a large page. */
static u64 *next_level(u64 *e)
{
	if (*e & PTE_P)
		return (*e & PTE_PS) ? NULL : table_of(*e);
	u64 *t = alloc_pages(4096);
	if (!t)
		return NULL;
	*e = (u64)t | PTE_P | PTE_W;
	return t;
}

bool pte_map_4k(u64 va, u64 pa)
{
	u64 *t = boot_pml4;
	for (int shift = 39; shift > 12; shift -= 9) {
		t = next_level(&t[(va >> shift) & 511]);
		if (!t)
			return false;
	}
	t[(va >> 12) & 511] = (pa & PTE_ADDR) | PTE_P | PTE_W;
	invlpg(va);
	return true;
}

void pte_unmap_4k(u64 va)
{
	u64 *t = boot_pml4;
	for (int shift = 39; shift > 12; shift -= 9) {
		u64 e = t[(va >> shift) & 511];
		if (!(e & PTE_P) || (e & PTE_PS))
			return;
		t = table_of(e);
	}
	t[(va >> 12) & 511] = 0;
	invlpg(va);
}

bool pte_virt_to_phys(u64 va, u64 *pa)
{
	u64 *t = boot_pml4;
	for (int shift = 39; shift >= 12; shift -= 9) {
		u64 e = t[(va >> shift) & 511];
		if (!(e & PTE_P))
			return false;
		if (shift == 12 || (shift < 39 && (e & PTE_PS))) {
			u64 size = 1ull << shift;
			*pa = (e & PTE_ADDR & ~(size - 1)) | (va & (size - 1));
			return true;
		}
		t = table_of(e);
	}
	return false;
}
