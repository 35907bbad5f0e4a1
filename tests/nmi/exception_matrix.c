/*
 * exception_matrix: for every pair (outer, inner) of {IRQ, NMI, #DB, #BP, #PF}, raise the inner
 * event inside the outer event's handler, on every CPU. Both must complete exactly once, the
 * outer handler's frame must be unchanged after the inner one, and the inner event is recorded
 * as nested (taken inside the outer handler) or deferred (taken after it: NMI inside NMI). #DB
 * and NMI run without IST here, so that same-vector nesting cannot overwrite the outer frame
 * (IST reuse is what nmi_nested_* measure).
 */
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/smp.h"
#include "arch/x86/time.h"
#include "arch/x86/trap.h"
#include "lib/lib.h"
#include "kernel/ktap.h"
#include "kernel/outcome.h"
#include "lib/printf.h"
#include "kernel/arch_rules.h"

#define VEC_MX_IRQ (VEC_EXP_FIRST + 0x36)
enum ev { E_IRQ, E_NMI, E_DB, E_BP, E_PF, NE };
static const char *const ev_name[NE] = { "irq", "nmi", "db", "bp", "pf" };
static const u32 ev_vector[NE] = { VEC_MX_IRQ, VEC_NMI, VEC_DB, VEC_BP, VEC_PF };

struct mx_state {
	volatile u32 active, depth, outer, inner;
	volatile u32 outer_count, inner_count, inner_depth, frame_bad;
};
static struct mx_state st[MAX_CPUS];
static volatile u64 nested[NE][NE], deferred[NE][NE], broken[NE][NE];

static void raise_ev(enum ev e)
{
	struct mx_state *s = &st[this_cpu_index()];
	u32 seen = s->inner_count + s->outer_count;
	switch (e) {
	case E_IRQ: {
		u64 flags = irq_save();
		apic_send_ipi(0, ICR_FIXED | ICR_DEST_SELF | VEC_MX_IRQ);
		irq_enable();
		for (u32 i = 0; i < 1000000 && s->inner_count + s->outer_count == seen; i++)
			cpu_relax();
		irq_disable();
		irq_restore(flags);
		break;
	}
	case E_NMI:
		apic_send_ipi(this_cpu()->apic_id, ICR_NMI);
		for (u32 i = 0; i < 100000 && s->inner_count + s->outer_count == seen; i++)
			cpu_relax();
		break;
	case E_DB:
		__asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; nop\n1:\n"
				 EXTABLE_ASM("1b", "1b", EXT_CLEAR_TF) ::: "memory", "cc");
		break;
	case E_BP:
		__asm__ volatile("int3\n1:\n" EXTABLE_ASM("1b", "1b", 0) ::: "memory");
		break;
	case E_PF:
		__asm__ volatile("movabsq %0, %%rax\n1: movq (%%rax), %%rax\n2:\n"
				 EXTABLE_ASM("1b", "2b", 0) ::"i"(UNMAPPED_TEST_ADDR) : "rax", "memory");
		break;
	default:
		break;
	}
}

static bool on_event(struct trap_frame *f)
{
	struct mx_state *s = &st[this_cpu_index()];
	enum ev e = NE;
	for (u32 i = 0; i < NE; i++)
		if (ev_vector[i] == f->vector)
			e = i;
	if (f->vector == VEC_NMI && this_cpu()->sample_request)
		return false;
	if (e == E_IRQ)
		apic_eoi();
	if (!s->active || e == NE)
		return e == E_IRQ || e == E_NMI;
	s->depth++;
	if (e == s->outer && s->outer_count == 0) {
		s->outer_count++;
		u64 copy[5] = { f->rip, f->cs, f->rflags, f->rsp, f->ss };
		raise_ev(s->inner);
		if (copy[0] != f->rip || copy[1] != f->cs || copy[2] != f->rflags ||
		    copy[3] != f->rsp || copy[4] != f->ss)
			s->frame_bad++;
	} else if (e == s->inner) {
		s->inner_count++;
		s->inner_depth = s->depth;
	}
	s->depth--;
	/* exceptions go on to the fixup table (which clears TF for the #DB) */
	return e == E_IRQ || e == E_NMI;
}

static void worker(void *arg)
{
	u64 iterations = (u64)arg;
	struct mx_state *s = &st[this_cpu_index()];
	idt_set_ist(VEC_DB, 0);
	idt_set_ist(VEC_NMI, 0);
	for (u64 it = 0; it < iterations; it++) {
		for (u32 o = 0; o < NE; o++) {
			for (u32 i = 0; i < NE; i++) {
				s->outer = o;
				s->inner = i;
				s->depth = s->outer_count = s->inner_count = s->inner_depth = 0;
				s->frame_bad = 0;
				s->active = 1;
				raise_ev(o);
				/* an inner event deferred past the outer one arrives now */
				for (u32 w = 0; w < 100000 && s->inner_count == 0; w++)
					cpu_relax();
				s->active = 0;
				irq_enable();
				if (s->outer_count != 1 || s->inner_count != 1 || s->frame_bad)
					__atomic_add_fetch(&broken[o][i], 1, __ATOMIC_RELAXED);
				else if (s->inner_depth == 2)
					__atomic_add_fetch(&nested[o][i], 1, __ATOMIC_RELAXED);
				else
					__atomic_add_fetch(&deferred[o][i], 1, __ATOMIC_RELAXED);
			}
		}
	}
	idt_set_ist(VEC_DB, IST_DB);
	idt_set_ist(VEC_NMI, IST_NMI);
}

static enum exp_result run(struct exp_ctx *ctx)
{
	memset((void *)nested, 0, sizeof(nested));
	memset((void *)deferred, 0, sizeof(deferred));
	memset((void *)broken, 0, sizeof(broken));
	for (u32 i = 0; i < NE; i++)
		trap_set_handler(ev_vector[i], on_event);
	struct cpumask all;
	cpumask_online(&all);
	smp_call(&all, worker, (void *)ctx->iterations, true);
	for (u32 i = 0; i < NE; i++)
		trap_set_handler(ev_vector[i], NULL);
	u64 bad = 0, total = 0;
	for (u32 o = 0; o < NE; o++) {
		char line[160];
		int n = ksnprintf(line, sizeof(line), "matrix outer=%s:", ev_name[o]);
		for (u32 i = 0; i < NE; i++) {
			n += ksnprintf(line + n, sizeof(line) - (size_t)n, " %s=%s", ev_name[i],
				       broken[o][i] ? "BROKEN" : deferred[o][i] ? (nested[o][i] ? "mixed" : "deferred")
				       : "nested");
			bad += broken[o][i];
			total += nested[o][i] + deferred[o][i] + broken[o][i];
		}
		diag("%s", line);
	}
	/* one subtest per (outer, inner) pair: it passes when every trial completed intact */
	struct ktap_sub sub;
	ktap_sub_begin(&sub, NE * NE);
	for (u32 o = 0; o < NE; o++) {
		for (u32 i = 0; i < NE; i++) {
			u64 runs = nested[o][i] + deferred[o][i] + broken[o][i];
			ktap_sub_diag(&sub, "nested=%lu deferred=%lu broken=%lu", nested[o][i],
				      deferred[o][i], broken[o][i]);
			bool good = runs && !broken[o][i];
			ktap_sub_result(&sub, good ? EXP_PASS : EXP_FAIL,
					runs ? "a trial did not complete with correct frames" : "no trial ran",
					"%s_in_%s", ev_name[i], ev_name[o]);
		}
	}
	ktap_sub_end(&sub);
	observation("nmi_inside_nmi_deferred", deferred[E_NMI][E_NMI], deferred[E_NMI][E_NMI] + nested[E_NMI][E_NMI]);
	observation("irq_inside_nmi_nested", nested[E_NMI][E_IRQ], nested[E_NMI][E_IRQ] + deferred[E_NMI][E_IRQ]);
	report_rate(ctx, total, total - bad);
	if (!control("nmi_nmi_pairs", deferred[E_NMI][E_NMI] + nested[E_NMI][E_NMI]) ||
	    !control("nmi_irq_pairs", nested[E_NMI][E_IRQ] + deferred[E_NMI][E_IRQ]))
		return exp_fail(ctx, "positive control: no inner event seen inside an NMI");
	if (bad)
		return exp_fail(ctx, "%lu pairs did not complete with correct frames", bad);
	return EXP_PASS;
}

EXPERIMENT(exp_exception_matrix) = {
	.order = EXP_ORDER(FAMILY_NMI, 80),
	.name = "exception_matrix",
	.description = "every (outer, inner) pair of IRQ, NMI, #DB, #BP, #PF: inner raised inside the outer handler",
	.min_cpus = 1,
	.default_iterations = 4,
	.run = run,
};

/* What the manuals say about the observations (kernel/arch_rules.h; the family README). */
/* clang-format off: a table laid out by hand */
ARCH_RULES(exception_matrix_rules) = {
	{ "exception_matrix", "nmi_inside_nmi_deferred",
	  ON_INTEL(ALWAYS, SDM_NMI_BLOCKED), ON_AMD(ALWAYS, SDM_NMI_BLOCKED) },
	{ "exception_matrix", "irq_inside_nmi_nested",
	  ON_INTEL(ALWAYS, SDM_NMI_NOT_IRQ), ON_AMD(ALWAYS, SDM_NMI_NOT_IRQ) },
};
/* clang-format on */
