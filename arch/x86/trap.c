/* IDT set-up and the C side of every interrupt and exception: handlers, fixups, crash dumps. */
#include "arch/x86/debugreg.h"
#include "arch/x86/trap.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/hooks.h"
#include "arch/x86/percpu.h"
#include "lib/lib.h"
#include "lib/printf.h"

struct PACKED idt_gate {
	u16 off_lo;
	u16 sel;
	u8 ist;
	u8 type_attr;
	u16 off_mid;
	u32 off_hi;
	u32 reserved;
};

extern const char trap_stubs[];
extern const struct extable_entry __ex_table_start[], __ex_table_end[];
extern const char __kernel_start[], __kernel_end[];

static struct idt_gate idt_template[256] __attribute__((aligned(16)));
static trap_handler_t handlers[257]; /* 256 vectors and VEC_SYSCALL */

static void set_gate(struct idt_gate *g, u64 addr, u8 ist, u8 dpl)
{
	g->off_lo = addr & 0xffff;
	g->sel = SEG_KCODE;
	g->ist = ist;
	g->type_attr = 0x8e | (dpl << 5); /* present, 64-bit interrupt gate */
	g->off_mid = (addr >> 16) & 0xffff;
	g->off_hi = addr >> 32;
	g->reserved = 0;
}

void idt_init(void)
{
	for (u32 v = 0; v < 256; v++)
		set_gate(&idt_template[v], (u64)trap_stubs + 16 * v, 0, 0);
	idt_template[VEC_NMI].ist = IST_NMI;
	idt_template[VEC_DB].ist = IST_DB;
	idt_template[VEC_MC].ist = IST_MC;
	idt_template[VEC_DF].ist = IST_DF;
	idt_template[VEC_BP].type_attr |= 3 << 5; /* int3 allowed from ring 3 */
}

void idt_load_percpu(void)
{
	struct cpu *c = this_cpu();
	memcpy(c->idt, idt_template, sizeof(idt_template));
	struct PACKED { u16 limit; u64 base; } p = { sizeof(idt_template) - 1, (u64)c->idt };
	__asm__ volatile("lidt %0" ::"m"(p));
}

void idt_set_dpl(u32 vector, u32 dpl)
{
	u8 *attr = &idt_template[vector & 0xff].type_attr;
	*attr = (u8)((*attr & ~0x60) | ((dpl & 3) << 5));
	((struct idt_gate *)this_cpu()->idt)[vector & 0xff].type_attr = *attr;
}

void idt_set_entry(u32 vector, u64 addr)
{
	struct idt_gate *g = &((struct idt_gate *)this_cpu()->idt)[vector & 0xff];
	g->off_lo = addr & 0xffff;
	g->off_mid = (addr >> 16) & 0xffff;
	g->off_hi = addr >> 32;
}

u64 idt_default_entry(u32 vector) { return (u64)trap_stubs + 16 * (vector & 0xff); }

void idt_set_ist(u32 vector, u32 ist)
{
	((struct idt_gate *)this_cpu()->idt)[vector & 0xff].ist = (u8)ist;
}

void trap_set_handler(u32 vector, trap_handler_t h) { handlers[MIN(vector, 256u)] = h; }
trap_handler_t trap_get_handler(u32 vector) { return handlers[MIN(vector, 256u)]; }

static const struct extable_entry *extable_find(u64 rip)
{
	for (const struct extable_entry *e = __ex_table_start; e < __ex_table_end; e++)
		if (e->rip == rip)
			return e;
	return NULL;
}

static bool try_fixup(struct trap_frame *f)
{
	const struct extable_entry *e = extable_find(f->rip);
	if (!e)
		return false;
	struct trap_record *r = &this_cpu()->last_trap;
	r->vector = f->vector;
	r->error = f->error;
	r->rip = f->rip;
	r->cr2 = f->vector == VEC_PF ? read_cr2() : 0;
	r->dr6 = f->vector == VEC_DB ? read_dr6() : 0;
	r->count++;
	if (f->vector == VEC_DB)
		write_dr6(DR6_RESET);
	if (e->flags & EXT_CLEAR_TF)
		f->rflags &= ~RFLAGS_TF;
	f->rip = e->fixup;
	return true;
}

static void default_nmi(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	c->nmi_count++;
	if (c->sample_request) {
		c->sampled_rip = f->rip;
		c->sampled_rsp = f->rsp;
		__atomic_store_n(&c->sample_request, 0, __ATOMIC_RELEASE);
	}
}

void trap_dispatch(struct trap_frame *f)
{
	u32 v = (u32)f->vector;
	trap_handler_t h = handlers[v];
	if (h && h(f))
		return;
	if (v == VEC_NMI) {
		default_nmi(f);
		return;
	}
	if (v == VEC_SYSCALL)
		trap_crash(f, "unexpected SYSCALL");
	if (v < 32) {
		if (try_fixup(f))
			return;
		trap_crash(f, "unexpected exception");
	}
	if (v == VEC_SPURIOUS)
		return; /* no EOI for the spurious vector */
	if (v == VEC_STOP)
		cpu_halt_forever();
	if (v == VEC_CALL) {
		/* only a wake-up: the idle loop reads the mailbox */
		apic_eoi();
		return;
	}
	this_cpu()->unexpected_irq_count++;
	kprintf("# warning: cpu %u unexpected interrupt vector %u at rip 0x%lx\n",
		this_cpu_index(), v, f->rip);
	apic_eoi();
}

static const char *vector_name(u64 v)
{
	static const char *const names[32] = {
		"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
		"#BR bound range", "#UD invalid opcode", "#NM device not available",
		"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
		"#NP segment not present", "#SS stack fault", "#GP general protection",
		"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
		"#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
	};
	if (v < 32 && names[v])
		return names[v];
	return v < 32 ? "reserved exception" : "interrupt";
}

static bool kernel_address(u64 a)
{
	return a >= (u64)__kernel_start && a < (u64)__kernel_end;
}

void print_backtrace(u64 rip, u64 rbp)
{
	kprintf("# backtrace:\n#   0x%016lx\n", rip);
	for (int depth = 0; depth < 24; depth++) {
		/* frames live on stacks we allocated (low memory, identity mapped) */
		if (rbp == 0 || (rbp & 7) || rbp < 0x1000 || rbp >= (1ull << 32))
			break;
		u64 ret = ((const u64 *)rbp)[1];
		u64 next = ((const u64 *)rbp)[0];
		if (!kernel_address(ret))
			break;
		kprintf("#   0x%016lx\n", ret);
		if (next <= rbp)
			break;
		rbp = next;
	}
	kprintf("# (resolve with: addr2line -f -e build/racebed.elf ADDRESS)\n");
}

static NORETURN void crash_end(void)
{
	if (arch_hooks->crash_end)
		arch_hooks->crash_end();
	cpu_halt_forever();
}

NORETURN void trap_crash(struct trap_frame *f, const char *why)
{
	struct cpu *c = this_cpu();
	irq_disable();
	if (++c->crash_depth > 1) {
		if (arch_hooks->crash_nested)
			arch_hooks->crash_nested();
		kprintf("# crash: cpu %u faulted again while reporting (vector %lu rip 0x%lx)\n",
			c->index, f->vector, f->rip);
		crash_end();
	}
	kprintf("# crash: %s on cpu %u (apic id %u) during %s: vector %lu %s, error 0x%lx\n"
		"#   rip 0x%016lx cs 0x%lx rflags 0x%lx rsp 0x%016lx ss 0x%lx\n"
		"#   cr0 0x%lx cr2 0x%016lx cr3 0x%lx cr4 0x%lx\n"
		"#   rax 0x%016lx rbx 0x%016lx rcx 0x%016lx rdx 0x%016lx\n"
		"#   rsi 0x%016lx rdi 0x%016lx rbp 0x%016lx r8  0x%016lx\n"
		"#   r9  0x%016lx r10 0x%016lx r11 0x%016lx r12 0x%016lx\n"
		"#   r13 0x%016lx r14 0x%016lx r15 0x%016lx gs_swapped %lu\n",
		why, c->index, c->apic_id, arch_hooks->context ? arch_hooks->context() : "(unknown)", f->vector, vector_name(f->vector), f->error, f->rip,
		f->cs, f->rflags, f->rsp, f->ss, read_cr0(), read_cr2(), read_cr3(), read_cr4(),
		f->rax, f->rbx, f->rcx, f->rdx, f->rsi, f->rdi, f->rbp, f->r8, f->r9, f->r10,
		f->r11, f->r12, f->r13, f->r14, f->r15, f->gs_swapped);
	print_backtrace(f->rip, f->rbp);
	crash_end();
}
