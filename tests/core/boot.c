/* boot: every firmware-listed CPU came online, each with its own tables, APIC ID and mode. */
#include "arch/x86/apic.h"
#include "arch/x86/smp.h"
#include "kernel/experiment.h"
#include "kernel/runner.h"

struct self_check { volatile u32 apic_id, gs_ok, tr, idt_ok; };
static struct self_check checks[MAX_CPUS];

static void check_self(void *arg)
{
	(void)arg;
	struct cpu *c = this_cpu();
	struct self_check *s = &checks[c->index];
	struct PACKED { u16 limit; u64 base; } idtr;
	u16 tr;
	__asm__ volatile("sidt %0; str %1" : "=m"(idtr), "=r"(tr));
	s->apic_id = apic_read_id();
	s->gs_ok = c->self == c && c == &cpus[c->index];
	s->tr = tr;
	s->idt_ok = idtr.base == (u64)c->idt;
}

static const char *core_type_name(u32 t)
{
	return t == 0x20 ? "atom" : t == 0x40 ? "core" : t == 0 ? "unreported" : "other";
}

static enum exp_result run(struct exp_ctx *ctx)
{
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, check_self, NULL, true);

	u32 bad = 0;
	for (u32 i = 0; i < ncpus_possible; i++) {
		struct cpu *c = &cpus[i];
		const char *st = c->state == CPU_ONLINE ? "online" : "did-not-start";
		diag("cpu %u apic_id=%u %s mode=%s core_type=%s", i, c->apic_id, st,
		     apic_mode_name(apic.mode), core_type_name(c->core_type));
		if (c->state != CPU_ONLINE)
			continue;
		struct self_check *s = &checks[i];
		if (s->apic_id != c->apic_id || !s->gs_ok || s->tr != SEG_TSS || !s->idt_ok) {
			diag("cpu %u self-check failed: apic id %u gs %u tr 0x%x own idt %u", i,
			     s->apic_id, s->gs_ok, s->tr, s->idt_ok);
			bad++;
		}
	}
	const struct smp_report *r = &smp_report;
	diag("firmware_enabled=%u attempted=%u online=%u not_started=%u unaddressable=%u limited=%u",
	     r->firmware_enabled, r->attempted, r->online, r->not_started, r->unaddressable, r->limited);
	diag("apic_mode=%s cpu_has_x2apic=%u firmware_x2apic=%u", apic_mode_name(apic.mode),
	     apic.cpu_has_x2apic, apic.firmware_x2apic);
	boot_problems_print();

	if (bad)
		return exp_fail(ctx, "%u cpus failed the self-check", bad);
	if (boot_problem_count())
		return exp_fail(ctx, "%u boot problems", boot_problem_count());
	u32 expect = r->firmware_enabled - r->limited;
	if (r->online != expect)
		return exp_fail(ctx, "%u cpus online, firmware lists %u enabled (%u left out by cpus=/nosmp)",
				r->online, r->firmware_enabled, r->limited);
	return EXP_PASS;
}

EXPERIMENT(exp_boot) = {
	.order = EXP_ORDER(FAMILY_CORE, 10),
	.name = "boot",
	.description = "all firmware-listed CPUs online with their own GDT/TSS/IDT/GS and APIC ID",
	.min_cpus = 1,
	.default_iterations = 1,
	.run = run,
};
