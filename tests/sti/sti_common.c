/* Trial machinery shared by the STI-shadow experiments (see sti.h). */
#include "tests/sti/sti.h"
#include "arch/x86/apic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/time.h"
#include "arch/x86/percpu.h"
#include "kernel/runner.h"

struct sti_trial sti_trials[MAX_CPUS];
static u32 bound_count[MAX_CPUS];

void sti_bound_prepare(u64 bound_ns)
{
	u64 ticks = muldiv64(bound_ns, timeinfo.apic_hz, 1000000000u);
	bound_count[this_cpu_index()] = apic_timer_prepare(VEC_STI_BOUND, ticks, APIC_TIMER_PERIODIC);
}

void sti_bound_start(void) { apic_write(APIC_TIMER_INIT, bound_count[this_cpu_index()]); }
void sti_bound_stop(void) { apic_write(APIC_TIMER_INIT, 0); }

static bool in_drain(u64 rip) { return rip >= RIP(seq_drain) && rip <= RIP(seq_drain_end); }

static bool on_test_irq(struct trap_frame *f)
{
	struct sti_trial *t = &sti_trials[this_cpu_index()];
	if (t->active && in_drain(f->rip)) {
		t->late_irq_count++;
	} else if (t->active && t->irq_count++ == 0) {
		t->irq_rip = f->rip;
		t->irq_cs = f->cs;
	}
	apic_eoi();
	return true;
}

static bool on_bound(struct trap_frame *f)
{
	struct sti_trial *t = &sti_trials[this_cpu_index()];
	if (t->active && !in_drain(f->rip))
		t->bound_fired++;
	apic_eoi();
	return true;
}

static bool on_nmi(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	if (c->sample_request)
		return false; /* the watchdog's sampling NMI */
	struct sti_trial *t = &sti_trials[c->index];
	if (t->active && t->nmi_count++ == 0)
		t->nmi_rip = f->rip;
	c->nmi_count++;
	return true;
}

void sti_handlers_install(void)
{
	trap_set_handler(VEC_STI_IRQ, on_test_irq);
	trap_set_handler(VEC_STI_BOUND, on_bound);
	trap_set_handler(VEC_NMI, on_nmi);
}

void sti_handlers_remove(void)
{
	trap_set_handler(VEC_NMI, NULL);
	trap_set_handler(VEC_STI_BOUND, NULL);
	trap_set_handler(VEC_STI_IRQ, NULL);
}

static bool irr_has(u32 vector)
{
	return (apic_read(APIC_IRR0 + (vector / 32) * 0x10) >> (vector % 32)) & 1;
}

bool sti_make_pending(void)
{
	if (!apic_send_ipi(0, ICR_FIXED | ICR_DEST_SELF | VEC_STI_IRQ))
		return false;
	for (u32 i = 0; i < 100000; i++)
		if (irr_has(VEC_STI_IRQ))
			return true;
	return false;
}

static void reset(struct sti_trial *t)
{
	t->irq_rip = t->irq_cs = t->nmi_rip = 0;
	t->irq_count = t->late_irq_count = t->nmi_count = t->bound_fired = 0;
}

bool sti_trial_run(sti_seq_fn seq, struct sti_trial *out)
{
	struct sti_trial *t = &sti_trials[this_cpu_index()];
	irq_disable();
	reset(t);
	t->active = 1;
	bool pending = sti_make_pending();
	if (pending) {
		sti_bound_start();
		seq();
		sti_bound_stop();
	}
	sti_drain();
	t->active = 0;
	*out = *t;
	return pending;
}

void sti_record_begin(void)
{
	struct sti_trial *t = &sti_trials[this_cpu_index()];
	reset(t);
	t->active = 1;
}

void sti_record_end(struct sti_trial *out)
{
	struct sti_trial *t = &sti_trials[this_cpu_index()];
	t->active = 0;
	*out = *t;
}

const sti_seq_fn sti_race_shapes[STI_RACE_SHAPES] = {
	(sti_seq_fn)seq_race_plain,   (sti_seq_fn)seq_race_cpuid4,   (sti_seq_fn)seq_race_cpuid16,
	(sti_seq_fn)seq_race_cpuid64, (sti_seq_fn)seq_race_cpuid256,
};

const sti_seq_fn sti_det_shapes[STI_RACE_SHAPES] = {
	(sti_seq_fn)seq_det_plain,   (sti_seq_fn)seq_det_cpuid4,   (sti_seq_fn)seq_det_cpuid16,
	(sti_seq_fn)seq_det_cpuid64, (sti_seq_fn)seq_det_cpuid256,
};

void sti_race_victim_begin(u64 bound_ns)
{
	sti_bound_prepare(bound_ns);
	sti_bound_start();
}

void sti_race_victim_end(void)
{
	sti_bound_stop();
	sti_drain();
	if (this_cpu_index() == 0)
		watchdog_resume(); /* the bounding timer used the boot CPU's watchdog timer */
}
