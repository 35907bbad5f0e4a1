/* AP start-up (INIT-SIPI-SIPI, all APs in parallel) and the smp_call mailbox. */
#include "arch/x86/smp.h"
#include "arch/x86/mce.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/desc.h"
#include "arch/x86/paging.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "arch/x86/user.h"
#include "lib/printf.h"
#include "lib/lib.h"
#include "arch/x86/mem.h"

struct ap_boot_entry { u32 apic_id; u32 pad; u64 stack_top; struct cpu *cpu; };

struct ap_boot_entry ap_boot_table[MAX_CPUS];
volatile u32 ap_boot_count;
struct smp_report smp_report;

extern const char trampoline_start[], trampoline_end[], trampoline_gdtr[];
extern const char boot_gdtr[];
extern u32 boot_cr3;

u8 fw_lint_nmi(const struct fw_info *fw, u32 apic_id)
{
	if (fw->nnmi == 0)
		return 2; /* nothing said: LINT1 is the NMI pin on PC platforms */
	u32 uid = 0xfffffffeu;
	for (u32 i = 0; i < fw->ncpus; i++)
		if (fw->cpus[i].apic_id == apic_id)
			uid = fw->cpus[i].uid;
	u8 bits = 0;
	for (u32 i = 0; i < fw->nnmi; i++)
		if ((fw->nmi[i].uid == 0xffffffffu || fw->nmi[i].uid == uid) && fw->nmi[i].lint < 2)
			bits |= (u8)(1u << fw->nmi[i].lint);
	return bits;
}

bool cpu_setup(struct cpu *c)
{
	u8 *mem = alloc_pages(KSTACK_SIZE + IST_COUNT * IST_STACK_SIZE + 4096);
	if (!mem)
		return false;
	c->idt = mem;
	mem += 4096;
	c->stack_top = (u64)(mem + KSTACK_SIZE);
	mem += KSTACK_SIZE;
	for (u32 i = 1; i <= IST_COUNT; i++) {
		mem += IST_STACK_SIZE;
		c->ist_top[i] = (u64)mem;
	}
	return true;
}

void cpu_load_tables(struct cpu *c)
{
	percpu_install(c);
	gdt_load_percpu(c);
	idt_load_percpu();
	pat_init();
	user_init_cpu();
	mce_enable_this_cpu();
	c->syscall_kernel_rsp = c->stack_top;
	struct cpuid_regs r = cpuid(0, 0);
	if (r.eax >= 0x1a)
		c->core_type = cpuid(0x1a, 0).eax >> 24;
}

/* First C code on an AP, on its own stack; never returns. */
NORETURN void ap_main(struct cpu *c)
{
	cpu_load_tables(c);
	apic_init_cpu();
	__atomic_store_n(&c->state, CPU_ONLINE, __ATOMIC_RELEASE);
	for (;;) {
		irq_disable();
		u64 seq = __atomic_load_n(&c->call_seq, __ATOMIC_ACQUIRE);
		if (seq != c->call_done) {
			cpu_fn_t fn = c->call_fn;
			void *arg = c->call_arg;
			u32 from = c->call_from;
			irq_enable();
			fn(arg);
			__atomic_store_n(&c->call_done, seq, __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&cpus[from].wait_halted, __ATOMIC_SEQ_CST))
				ipi_send_cpu(from, ICR_FIXED | VEC_CALL);
			continue;
		}
		safe_halt(); /* a VEC_CALL IPI wakes us */
	}
}

bool ipi_send_cpu(u32 cpu, u32 icr_low)
{
	return apic_send_ipi(cpus[cpu].apic_id, icr_low);
}

bool ipi_send_cpu_fast(u32 cpu, u32 icr_low)
{
	return apic_send_ipi_fast(cpus[cpu].apic_id, icr_low);
}

void ipi_send_others(u32 icr_low)
{
	u32 me = this_cpu_index();
	if (cpus_online() == ncpus_possible && apic_send_ipi(0, icr_low | ICR_DEST_OTHERS))
		return;
	for_each_online_cpu(i)
		if (i != me)
			ipi_send_cpu(i, icr_low);
}

void cpumask_online(struct cpumask *m)
{
	cpumask_clear(m);
	for_each_online_cpu(i)
		cpumask_set(m, i);
}

static void wait_done(struct cpu *c)
{
	while (__atomic_load_n(&c->call_done, __ATOMIC_ACQUIRE) != READ_ONCE(c->call_seq))
		cpu_relax();
}

static void post_call(u32 cpu, cpu_fn_t fn, void *arg)
{
	struct cpu *c = &cpus[cpu];
	wait_done(c);
	c->call_fn = fn;
	c->call_arg = arg;
	c->call_from = this_cpu_index();
	__atomic_store_n(&c->call_seq, c->call_seq + 1, __ATOMIC_RELEASE);
	ipi_send_cpu(cpu, ICR_FIXED | VEC_CALL);
}

void smp_call(const struct cpumask *mask, cpu_fn_t fn, void *arg, bool wait)
{
	u32 me = this_cpu_index();
	for_each_cpu_in(i, mask, ncpus_possible)
		if (i != me && cpus[i].state == CPU_ONLINE)
			post_call(i, fn, arg);
	if (cpumask_test(mask, me))
		fn(arg);
	if (wait)
		smp_wait(mask);
}

void smp_call_one(u32 cpu, cpu_fn_t fn, void *arg, bool wait)
{
	if (cpu == this_cpu_index()) {
		fn(arg);
		return;
	}
	post_call(cpu, fn, arg);
	if (wait)
		wait_done(&cpus[cpu]);
}

bool smp_call_finished(u32 cpu)
{
	const struct cpu *c = &cpus[cpu];
	return __atomic_load_n(&c->call_done, __ATOMIC_ACQUIRE) == READ_ONCE(c->call_seq);
}

void smp_wait_one(u32 cpu)
{
	if (cpu != this_cpu_index())
		wait_done(&cpus[cpu]);
}

void smp_wait(const struct cpumask *mask)
{
	u32 me = this_cpu_index();
	for_each_cpu_in(i, mask, ncpus_possible)
		if (i != me && cpus[i].state == CPU_ONLINE)
			wait_done(&cpus[i]);
}

static bool all_done(const struct cpumask *mask, u32 me)
{
	for_each_cpu_in(i, mask, ncpus_possible)
		if (i != me && cpus[i].state == CPU_ONLINE &&
		    __atomic_load_n(&cpus[i].call_done, __ATOMIC_SEQ_CST) != READ_ONCE(cpus[i].call_seq))
			return false;
	return true;
}

void smp_wait_halt(const struct cpumask *mask)
{
	struct cpu *c = this_cpu();
	u64 flags = irq_save();
	__atomic_store_n(&c->wait_halted, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		irq_disable();
		if (all_done(mask, c->index))
			break;
		safe_halt(); /* each CPU of mask sends VEC_CALL as it finishes */
	}
	__atomic_store_n(&c->wait_halted, 0, __ATOMIC_SEQ_CST);
	irq_restore(flags);
}

static void install_trampoline(u64 pa)
{
	u64 size = (u64)(trampoline_end - trampoline_start);
	memcpy((void *)pa, trampoline_start, size);
	memcpy((void *)(pa + (u64)(trampoline_gdtr - trampoline_start)), boot_gdtr, 6);
	boot_cr3 = (u32)read_cr3();
}

/* Waits up to us microseconds for every attempted AP to come online. */
static u32 wait_online(u32 first, u32 last, u64 us)
{
	u64 end = tsc_deadline_ns(us * 1000);
	u32 up;
	do {
		up = 0;
		for (u32 i = first; i < last; i++)
			up += READ_ONCE(cpus[i].state) == CPU_ONLINE;
		if (up == last - first)
			break;
		cpu_relax();
	} while (tsc_before(end));
	return up;
}

void smp_boot(const struct fw_info *fw, u32 max_cpus, u64 tramp_pa)
{
	u32 bsp_id = cpus[0].apic_id, n = 1;
	for (u32 i = 0; i < fw->ncpus; i++) {
		const struct fw_cpu *fc = &fw->cpus[i];
		if (!fc->enabled)
			continue;
		smp_report.firmware_enabled++;
		if (fc->apic_id == bsp_id)
			continue;
		if (max_cpus && n >= max_cpus) {
			smp_report.limited++;
			continue;
		}
		if (fc->apic_id > apic_max_id()) {
			kprintf("# cpu apic id %u cannot be started: %s mode reaches IDs up to %u\n",
				fc->apic_id, apic_mode_name(apic.mode), apic_max_id());
			smp_report.unaddressable++;
			continue;
		}
		struct cpu *c = &cpus[n];
		c->index = n;
		c->apic_id = fc->apic_id;
		c->lint_nmi = fw_lint_nmi(fw, fc->apic_id);
		if (!cpu_setup(c)) {
			kprintf("# cpu %u apic id %u: out of memory for its stacks\n", n, fc->apic_id);
			continue;
		}
		c->state = CPU_STARTING;
		ap_boot_table[n - 1] = (struct ap_boot_entry){ c->apic_id, 0, c->stack_top, c };
		n++;
	}
	ncpus_possible = n;
	ap_boot_count = n - 1;
	smp_report.attempted = n - 1;
	if (n == 1) {
		smp_report.online = 1;
		return;
	}
	install_trampoline(tramp_pa);
	u32 sipi = ICR_SIPI | (u32)(tramp_pa >> 12);

	for (u32 i = 1; i < n; i++)
		ipi_send_cpu(i, ICR_INIT | ICR_ASSERT);
	udelay(10000);
	for (u32 i = 1; i < n; i++)
		ipi_send_cpu(i, sipi);
	u32 up = wait_online(1, n, 200);
	if (up < n - 1) {
		for (u32 i = 1; i < n; i++)
			if (READ_ONCE(cpus[i].state) != CPU_ONLINE)
				ipi_send_cpu(i, sipi);
		up = wait_online(1, n, 500000);
	}
	for (u32 i = 1; i < n; i++) {
		if (READ_ONCE(cpus[i].state) != CPU_ONLINE) {
			cpus[i].state = CPU_FAILED;
			ap_boot_table[i - 1].apic_id = 0xffffffffu; /* a late riser parks */
			kprintf("# cpu %u apic id %u did not start\n", i, cpus[i].apic_id);
			smp_report.not_started++;
		}
	}
	smp_report.online = up + 1;
}
