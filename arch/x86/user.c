/* Ring-3 support (see user.h). */
#include "arch/x86/user.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "lib/printf.h"
#include "lib/lib.h"
#include "arch/x86/mem.h"
#include "arch/x86/percpu.h"

#define REGION_SIZE 0x200000ull
#define BLOB_AREA 0x10000ull           /* code copies: [0, 64 KiB) */
#define DATA_AREA BLOB_AREA            /* per-CPU data: 64 bytes each */
#define STACK_AREA 0x100000ull         /* per-CPU stacks: upper 1 MiB */
#define MAX_BLOBS 16
#define EFER_SCE 1ull
#define FMASK_BITS (RFLAGS_IF | RFLAGS_TF | (1ul << 10) /* DF */ | (1ul << 18) /* AC */)

extern void syscall_entry(void);
extern const char user_run_landing[];
/* Read by arch/x86/user_entry.S at fixed offsets. */
struct user_entry {
	u64 rip, rsp, rflags, rdi, rsi;
	u64 *saved_rsp;
	void *rsp0; /* the TSS's RSP0 field, not 8-byte aligned (the TSS is packed) */
	u32 mode;   /* enum user_entry_mode */
};
_Static_assert(offsetof(struct user_entry, mode) == 56, "user_entry.S offsets");
u64 user_run_asm(struct user_entry *e);

static u64 region;
static u64 blob_used;
static struct { const void *start; u64 addr; } blobs[MAX_BLOBS];
static u32 nblobs;
static u64 saved_rsp[MAX_CPUS];

bool user_available(void) { return region != 0; }

/* Default end of a ring-3 visit: `int $VEC_USER_EXIT` or SYSCALL returns to user_run's caller. */
static bool exit_to_kernel(struct trap_frame *f)
{
	if ((f->cs & 3) != 3)
		return false;
	user_return_to_kernel(f);
	return true;
}

bool user_init(void)
{
	u8 *mem = alloc_pages(2 * REGION_SIZE);
	if (!mem)
		return false;
	region = ALIGN_UP((u64)mem, REGION_SIZE);
	if (!paging_set_user_2m(region)) {
		region = 0;
		return false;
	}
	idt_set_dpl(VEC_USER_INT, 3);
	idt_set_dpl(VEC_USER_EXIT, 3);
	trap_set_handler(VEC_USER_EXIT, exit_to_kernel);
	trap_set_handler(VEC_SYSCALL, exit_to_kernel);
	return true;
}

void user_init_cpu(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* SYSCALL: CS = KCODE, SS = KDATA; SYSRET: SS = UCODE32+8 = UDATA, CS = UCODE32+16 = UCODE */
	wrmsr(MSR_STAR, ((u64)(SEG_UCODE32 | 3) << 48) | ((u64)SEG_KCODE << 32));
	wrmsr(MSR_LSTAR, (u64)syscall_entry);
	wrmsr(MSR_FMASK, FMASK_BITS);
}

u64 user_blob(const void *start, const void *end)
{
	for (u32 i = 0; i < nblobs; i++)
		if (blobs[i].start == start)
			return blobs[i].addr;
	u64 size = (u64)((const char *)end - (const char *)start);
	if (!region || nblobs == MAX_BLOBS || blob_used + size > BLOB_AREA)
		return 0;
	u64 addr = region + blob_used;
	memcpy((void *)addr, start, size);
	blob_used = ALIGN_UP(blob_used + size, 64);
	blobs[nblobs].start = start;
	blobs[nblobs].addr = addr;
	nblobs++;
	return addr;
}

u64 user_addr(const void *blob_start, const void *p)
{
	for (u32 i = 0; i < nblobs; i++)
		if (blobs[i].start == blob_start)
			return blobs[i].addr + (u64)((const char *)p - (const char *)blob_start);
	return 0;
}

u64 user_stack_top(void)
{
	u32 i = this_cpu_index() % (u32)((REGION_SIZE - STACK_AREA) / USER_STACK_SIZE);
	return region + STACK_AREA + (u64)(i + 1) * USER_STACK_SIZE;
}

void *user_data(void)
{
	u32 i = this_cpu_index() % (u32)((STACK_AREA - DATA_AREA) / USER_DATA_SIZE);
	return (void *)(region + DATA_AREA + (u64)i * USER_DATA_SIZE);
}

u64 user_run_mode(enum user_entry_mode mode, u64 rip, u64 rflags, u64 arg0, u64 arg1)
{
	struct cpu *c = this_cpu();
	struct user_entry e = { rip, user_stack_top(), rflags | 2, arg0, arg1,
				&saved_rsp[c->index], (u8 *)&c->tss + offsetof(struct tss, rsp), mode };
	irq_disable();
	u64 ret = user_run_asm(&e);
	c->tss.rsp[0] = c->stack_top;
	c->syscall_kernel_rsp = c->stack_top;
	return ret;
}

u64 user_run2(u64 rip, u64 rflags, u64 arg0, u64 arg1)
{
	return user_run_mode(USER_ENTER_IRETQ, rip, rflags, arg0, arg1);
}

u64 user_run(u64 rip, u64 rflags, u64 arg)
{
	return user_run2(rip, rflags, arg, 0);
}

void user_return_to_kernel(struct trap_frame *f)
{
	f->rip = (u64)user_run_landing;
	f->cs = SEG_KCODE;
	f->ss = SEG_KDATA;
	f->rsp = saved_rsp[this_cpu_index()];
	f->rflags = 2; /* interrupts stay off until user_run's caller decides */
	f->gs_swapped = 0; /* the entry's SWAPGS made GS the kernel's: keep it */
}
