/*
 * Host unit test for the outcome decisions that are plain C: poke_sdm_flag's trial classes
 * (tests/poke/sdm_classify.h), the movss_shadow_* buckets by interrupted RIP
 * (tests/movss/shadow_classify.h), and the architectural verdicts (kernel/arch_rules.c
 * with every experiment's rules), so a mislabeled counter or verdict fails here.
 */
#include "host/unit/check.h"
#include "tests/poke/sdm_classify.h"
#include "tests/movss/shadow_classify.h"
#include "tests/sti/sti_classify.h"
#include "kernel/arch_rules.h"
#include "tests/poke/poke.h"
/* every ARCH_RULES table of tests/, in link order, as one array all_rules[] (the Makefile
 * gathers them from the experiments' files into build/gen/arch_rules_all.c) */
#include "arch_rules_all.c"

static void check_sdm(void)
{
	CHECK(sdm_classify(5, 5, 5) == SDM_NEW);
	CHECK(sdm_classify(5, 4, 5) == SDM_STALE_FETCH);  /* ran old bytes, memory new */
	CHECK(sdm_classify(5, 1, 5) == SDM_STALE_FETCH);  /* any older version is old */
	CHECK(sdm_classify(5, 4, 4) == SDM_NOT_VISIBLE);  /* the store not even visible as data */
	CHECK(sdm_classify(5, 5, 4) == SDM_NOT_VISIBLE);
	CHECK(sdm_classify(5, 6, 5) == SDM_OTHER);        /* a value never written yet */
	CHECK(sdm_classify(5, 5, 6) == SDM_OTHER);
	CHECK(sdm_stale_by_address(5, 4, 5));
	CHECK(!sdm_stale_by_address(5, 4, 4));            /* stale at the other address too */
	CHECK(!sdm_stale_by_address(5, 5, 5));            /* not stale at all */
}

static void check_shadow(void)
{
	const struct shadow_labels one = { 0x1000, 0, 0x1003, 0x1004 };
	const struct shadow_labels two = { 0x2000, 0x2003, 0x2006, 0x2007 };
	CHECK(shadow_bucket(&one, 0x1000) == SB_AT_INSN);
	CHECK(shadow_bucket(&one, 0x1003) == SB_IN_WINDOW);
	CHECK(shadow_bucket(&one, 0x1004) == SB_AFTER_NEXT);
	CHECK(shadow_bucket(&one, 0x0ffc) == SB_ELSEWHERE);
	CHECK(shadow_bucket(&one, 0) == SB_ELSEWHERE);    /* between = 0 must not match RIP 0 */
	CHECK(shadow_bucket(&two, 0x2000) == SB_AT_INSN);
	CHECK(shadow_bucket(&two, 0x2003) == SB_BETWEEN);     /* inside the first shadow */
	CHECK(shadow_bucket(&two, 0x2006) == SB_AFTER_SECOND); /* not "in shadow": no guarantee */
	CHECK(shadow_bucket(&two, 0x2007) == SB_AFTER_NEXT);
	CHECK(shadow_bucket(&two, 0x1003) == SB_ELSEWHERE);
}

static void check_sti(void)
{
	const struct sti_labels l = { 0x3000, 0x3001, 0x3002 }; /* sti; hlt; after */
	CHECK(sti_irq_classify(&l, 0x3001, false) == STI_IRQ_BEFORE); /* taken at HLT: in shadow */
	CHECK(sti_irq_classify(&l, 0x3002, false) == STI_IRQ_AFTER);  /* woke the HLT */
	CHECK(sti_irq_classify(&l, 0x3001, true) == STI_IRQ_LATE);    /* the drain wins */
	CHECK(sti_irq_classify(&l, 0x3000, false) == STI_IRQ_ELSEWHERE);
	CHECK(sti_nmi_classify(&l, false, 0, 0x3002) == STI_NO_NMI);
	CHECK(sti_nmi_classify(&l, false, 0x3001, 0x3001) == STI_NO_NMI_IRQ_BEFORE);
	CHECK(sti_nmi_classify(&l, true, 0x3000, 0x3002) == STI_NMI_BEFORE_STI);
	CHECK(sti_nmi_classify(&l, true, 0x3001, 0x3001) == STI_NMI_IN_SHADOW_IRQ_BEFORE);
	CHECK(sti_nmi_classify(&l, true, 0x3001, 0x3002) == STI_NMI_IN_SHADOW_IRQ_AFTER);
	CHECK(sti_nmi_classify(&l, true, 0x3002, 0x3002) == STI_NMI_AFTER);
	CHECK(sti_nmi_classify(&l, true, 0x4000, 0x3002) == STI_NMI_ELSEWHERE);
}

/* sti_shadow_nmi's whole-trial classes: every trial in one class, every lost wakeup counted */
static void check_sti_trial(void)
{
	/* entry stubs [0x5000, 0x5040), padding 0x3f00.., sti 0x4000, hlt 0x4001, cli 0x4002 */
	const struct sti_race_map m = { 0x5000, 0x5040, 0x3f00, { 0x4000, 0x4001, 0x4002 }, 0x4005,
					0x6000 };
	struct sti_nmi_trial t = { .irq_rip = 0x4002 };
	CHECK(sti_trial_classify(&m, &t) == STC_NO_NMI);
	t.irq_rip = 0x4001;
	CHECK(sti_trial_classify(&m, &t) == STC_NO_NMI_IRQ_BEFORE);
	/* the first NMI in setup, a second one in the shadow: the shadow one decides */
	t = (struct sti_nmi_trial){ 2, 1, STI_PHASE_SETUP, 0x9999, 0x4001 };
	CHECK(sti_trial_classify(&m, &t) == STC_SHADOW_IRQ_BEFORE);
	t.irq_rip = 0x4002;
	CHECK(sti_trial_classify(&m, &t) == STC_SHADOW_IRQ_AFTER);
	/* NMIs, none in the shadow, IRQ before HLT: its own class, whatever the phase */
	t = (struct sti_nmi_trial){ 1, 0, STI_PHASE_DRAIN, 0x9999, 0x4001 };
	CHECK(sti_trial_classify(&m, &t) == STC_OUTSIDE_IRQ_BEFORE);
	t.irq_rip = 0x4002;
	CHECK(sti_trial_classify(&m, &t) == STC_IN_DRAIN);
	t.first_phase = STI_PHASE_SETUP;
	CHECK(sti_trial_classify(&m, &t) == STC_IN_SETUP);
	t.first_phase = STI_PHASE_IRQ;
	CHECK(sti_trial_classify(&m, &t) == STC_IN_IRQ_HANDLER);
	t.first_phase = STI_PHASE_IDLE;
	CHECK(sti_trial_classify(&m, &t) == STC_ELSEWHERE);
	t.first_phase = STI_PHASE_SEQ;
	t.first_rip = 0x5010; /* a shape's entry stub */
	CHECK(sti_trial_classify(&m, &t) == STC_BEFORE_STI);
	t.first_rip = 0x5040; /* one past the stubs */
	CHECK(sti_trial_classify(&m, &t) == STC_ELSEWHERE);
	t.first_rip = 0x3f00;
	CHECK(sti_trial_classify(&m, &t) == STC_BEFORE_STI);
	t.first_rip = 0x4000;
	CHECK(sti_trial_classify(&m, &t) == STC_BEFORE_STI);
	t.first_rip = 0x4002;
	CHECK(sti_trial_classify(&m, &t) == STC_AFTER_HLT);
	t.first_rip = 0x4004; /* the tail: popq, ret */
	CHECK(sti_trial_classify(&m, &t) == STC_AFTER_HLT);
	t.first_rip = 0x4005;
	CHECK(sti_trial_classify(&m, &t) == STC_ELSEWHERE);
	t.first_rip = 0x6000; /* the IRQ handler's first instruction, before it notes its phase */
	CHECK(sti_trial_classify(&m, &t) == STC_IN_IRQ_HANDLER);
	u64 n[STC_N] = { 0 };
	n[STC_NO_NMI] = 100, n[STC_NO_NMI_IRQ_BEFORE] = 1, n[STC_SHADOW_IRQ_BEFORE] = 7;
	n[STC_SHADOW_IRQ_AFTER] = 3, n[STC_OUTSIDE_IRQ_BEFORE] = 2, n[STC_IN_SETUP] = 50;
	CHECK(sti_lost_wakeups(n) == 10);
}

/* the labels tests/poke/poke_classify.c compares against (poke_seq.S in the kernel) */
const char poke_exec_ret[1], poke_stub_page[1], poke_exec_recover[1];

#define SITE 0x117003ull
#define RSP 0x8000ull

/* A call through SITE that landed at target with the stack of a real call. */
static struct poke_exec good_call(u64 target)
{
	struct poke_exec e = { .saved_rsp = RSP, .canary = 0x1234, .landed = target,
			       .tgt_rsp = RSP - 24, .w0 = SITE + POKE_INSN_LEN,
			       .w1 = (u64)poke_exec_ret, .w2 = 0x1234, .hits = 1,
			       .after_rsp = RSP, .after_canary = 0x1234 };
	return e;
}

static struct poke_exec fault(u64 vector, u64 rip, bool stale)
{
	struct poke_exec e = good_call(0);
	e.fault_vector = vector;
	e.fault_rip = rip;
	e.fault_stale_int3 = stale;
	return e;
}

static void check_poke(void)
{
	struct poke_exec e = good_call(POKE_TGT_A);
	CHECK(poke_classify(&e, SITE, true, false) == PO_A);
	e = good_call(POKE_TGT_B);
	CHECK(poke_classify(&e, SITE, true, false) == PO_B);
	e.w0 = SITE; /* wrong return address pushed */
	CHECK(poke_classify(&e, SITE, true, false) == PO_BAD_FRAME);
	e = good_call(POKE_TGT_A);
	e.after_canary = 0; /* the executor's stack damaged after the return */
	CHECK(poke_classify(&e, SITE, true, false) == PO_BAD_FRAME);
	e = good_call(POKE_TGT_A);
	e.hits = 2; /* the target ran twice */
	CHECK(poke_classify(&e, SITE, true, false) == PO_BAD_TARGET);
	e = good_call(POKE_TGT_A + 0x1000);
	CHECK(poke_classify(&e, SITE, true, false) == PO_BAD_TARGET);
	/* jmp/nop sites: a NOP falls through, a jmp leaves no return address */
	e = good_call(0);
	e.hits = 0;
	e.nops = 1;
	CHECK(poke_classify(&e, SITE, true, true) == PO_NOP);
	e = good_call(POKE_TGT_A);
	e.tgt_rsp = RSP - 16;
	e.w0 = (u64)poke_exec_ret;
	e.w1 = 0x1234;
	CHECK(poke_classify(&e, SITE, true, true) == PO_JMP);
	e = good_call(POKE_TGT_A); /* a call frame where a jmp was due */
	CHECK(poke_classify(&e, SITE, true, true) == PO_BAD_FRAME);
	/* faults: which counter each lands in */
	e = fault(VEC_BP, SITE + 1, true);
	CHECK(poke_classify(&e, SITE, false, false) == PO_STALE_BP);
	e = fault(VEC_BP, SITE + 1, false);
	CHECK(poke_classify(&e, SITE, false, false) == PO_BP);
	e = fault(VEC_UD, SITE, false);
	CHECK(poke_classify(&e, SITE, false, false) == PO_UD);
	e = fault(VEC_GP, SITE, false);
	CHECK(poke_classify(&e, SITE, false, false) == PO_GP);
	e = fault(VEC_PF, POKE_POISON_TARGET, false);
	CHECK(poke_classify(&e, SITE, false, false) == PO_POISON);
	e = fault(VEC_PF, 0xffffffff90111800ull, false); /* a mixed rel32: torn */
	CHECK(poke_classify(&e, SITE, false, false) == PO_TORN);
	e = fault(VEC_PF, 0x1000, false);
	CHECK(poke_classify(&e, SITE, false, false) == PO_PF);
}

#define TABLE(t) { t, t + ARRAY_SIZE(t) }
static const struct { const struct arch_rule *first, *end; } tables[] = {
	TABLE(all_rules),
};

static enum arch_verdict verdict(const char *exp, const char *obs)
{
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++) {
		const struct arch_rule *r = arch_rule_match(tables[i].first, tables[i].end, exp, obs);
		if (r)
			return r->verdict;
	}
	return ARCH_UNKNOWN;
}

#define VERDICT(exp, obs, want) CHECK_STR(arch_verdict_name(verdict(exp, obs)), want)

static void check_rules(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(tables); i++)
		for (const struct arch_rule *r = tables[i].first; r < tables[i].end; r++) {
			CHECK(r->ref != NULL && strchr(r->ref, ' ') == NULL); /* one token */
			/* a claim names its section; a control names none */
			CHECK((r->verdict == ARCH_CONTROL) == (strcmp(r->ref, "none") == 0));
			CHECK(r->verdict != ARCH_UNKNOWN);
		}
	VERDICT("sti_hlt_wakeup", "irq_before_hlt", "never");
	VERDICT("sti_hlt_wakeup", "control_irq_before_hlt", "control");
	VERDICT("sti_single_step", "db_held_after_sti_if1", "never");
	VERDICT("sti_single_step", "db_held_by_sti_shadow", "model-specific");
	VERDICT("sti_single_step", "db_held_by_movss", "always");
	VERDICT("sti_shadow_nmi", "nmi_in_shadow", "model-specific");
	VERDICT("sti_consecutive", "irq_at_hlt_after_if0_sti", "never");
	/* the plain-load control comes before the MOV SS rules: its #DB is never held */
	VERDICT("movss_db_next", "mk_load_db_held", "never");
	VERDICT("movss_db_next", "mk_nop_db_held", "always");
	VERDICT("movss_db_next", "mu_popss_int3_db_held", "always");
	VERDICT("movss_db_next", "mu_syscall_db_in_handler", "allowed");
	VERDICT("movss_db_next", "mk_ud_db_lost", "allowed");
	VERDICT("movss_consecutive", "db_after_first_movss", "never");
	VERDICT("movss_shadow_nmi", "event_in_movss_shadow", "never");
	VERDICT("movss_shadow_irq", "event_after_second_movss", "allowed");
	VERDICT("nmi_faulting_iret", "faulting_iret_unblocks_nmi", "always");
	VERDICT("nmi_faulting_iret", "nmi_held_until_gp_iret", "never");
	VERDICT("nmi_nested_db", "naive_outer_frame_overwritten", "always");
	VERDICT("poke_call_flip", "stale_int3_after_sync", "never");
	VERDICT("poke_call_flip", "broken_call", "never");
	VERDICT("poke_jmp_nop", "broken_pass", "never");
	VERDICT("poke_no_sync3", "stale_int3_seen", "allowed");
	VERDICT("poke_no_sync1", "stale_int3_seen", "never");
	VERDICT("poke_torn_rel32", "torn_call_seen_inline", "model-specific");
	VERDICT("poke_torn_rel32", "stale_descriptor_seen_xline", "control");
	VERDICT("poke_sdm_flag", "old_code_cpuid_alias", "never");
	VERDICT("poke_sdm_flag", "old_code_plain_idle", "allowed");
	VERDICT("poke_nmi_patcher", "self_call_bp_after_first", "never");
	VERDICT("no_such_experiment", "x", "unknown");
}

static void check_words(void)
{
	CHECK_STR(arch_word(0, 0), "Unreached");
	CHECK_STR(arch_word(0, 7), "Never");
	CHECK_STR(arch_word(7, 7), "Always");
	CHECK_STR(arch_word(3, 7), "Sometimes");
	CHECK(!arch_deviates(ARCH_NEVER, 0, 7));
	CHECK(arch_deviates(ARCH_NEVER, 1, 7));
	CHECK(arch_deviates(ARCH_NEVER, 7, 7));
	CHECK(!arch_deviates(ARCH_ALWAYS, 7, 7));
	CHECK(arch_deviates(ARCH_ALWAYS, 6, 7));
	CHECK(arch_deviates(ARCH_ALWAYS, 0, 7));
	CHECK(!arch_deviates(ARCH_ALWAYS, 0, 0)); /* unreached: nothing to contradict */
	CHECK(!arch_deviates(ARCH_ALLOWED, 3, 7));
	CHECK(!arch_deviates(ARCH_MODEL_SPECIFIC, 7, 7));
	CHECK(!arch_deviates(ARCH_CONTROL, 0, 7));
	CHECK(!arch_deviates(ARCH_UNKNOWN, 1, 7));
}

/* the rules of the controls and counts added for issue 21 (deliverables 4 and 5) */
static void check_control_rules(void)
{
	VERDICT("sti_single_step", "popf_db_after_first_insn", "always");
	VERDICT("sti_consecutive", "irq_at_hlt_after_if0_sti_nop", "always");
	VERDICT("sti_shadow_nmi", "lost_wakeup_without_nmi_in_shadow", "never");
	VERDICT("sti_shadow_nmi", "nmi_outside_sequence", "control");
	VERDICT("movss_db_next", "mk_icebp_raised_ud", "never");
	VERDICT("movss_db_next", "mu_icebp_raised_ud", "never");
	VERDICT("poke_sdm_flag", "old_code_cpuid_orig_invlpg", "never");
	VERDICT("poke_sdm_flag", "old_code_cpuid_idle_invlpg", "never");
}

int main(void)
{
	check_sdm();
	check_shadow();
	check_poke();
	check_sti();
	check_sti_trial();
	check_rules();
	check_control_rules();
	check_words();
	return check_report("classify");
}
