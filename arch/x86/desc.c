/* Per-CPU descriptor tables: GDT with a TSS whose IST stacks serve NMI, #DB, #MC and #DF. */
#include "arch/x86/desc.h"
#include "lib/lib.h"
#include "arch/x86/percpu.h"

/* Flat descriptors: access byte and flags per the SDM's segment descriptor format. */
#define DESC_KCODE64 0x00209a0000000000ull
#define DESC_KDATA 0x00cf92000000ffffull
#define DESC_KCODE32 0x00cf9a000000ffffull
#define DESC_UCODE32 0x00cffa000000ffffull
#define DESC_UDATA 0x00cff2000000ffffull
#define DESC_UCODE64 0x0020fa0000000000ull

struct PACKED desc_ptr {
	u16 limit;
	u64 base;
};

static void set_tss_descriptor(u64 *slot, const struct tss *tss)
{
	u64 base = (u64)tss, limit = sizeof(*tss) - 1;
	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

void gdt_load_percpu(struct cpu *c)
{
	c->gdt[0] = 0;
	c->gdt[SEG_KCODE / 8] = DESC_KCODE64;
	c->gdt[SEG_KDATA / 8] = DESC_KDATA;
	c->gdt[SEG_KCODE32 / 8] = DESC_KCODE32;
	c->gdt[SEG_UCODE32 / 8] = DESC_UCODE32;
	c->gdt[SEG_UDATA / 8] = DESC_UDATA;
	c->gdt[SEG_UCODE / 8] = DESC_UCODE64;
	memset(&c->tss, 0, sizeof(c->tss));
	c->tss.rsp[0] = c->stack_top;
	for (u32 i = 1; i <= IST_COUNT; i++)
		c->tss.ist[i - 1] = c->ist_top[i];
	c->tss.iomap_base = sizeof(struct tss); /* no I/O bitmap */
	set_tss_descriptor(&c->gdt[SEG_TSS / 8], &c->tss);

	struct desc_ptr p = { sizeof(c->gdt) - 1, (u64)c->gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(p), "i"(SEG_KCODE), "r"(SEG_KDATA), "r"(SEG_TSS)
			 : "rax", "memory");
}
