/*
 * The outcome of one call through a poked site, from what the executor and the target stub
 * recorded (struct poke_exec): the right target with a real call/jmp frame, a NOP fall-through,
 * or which way it broke. Plain C over the record: host/unit/test_classify.c tests it.
 */
#include "tests/poke/poke.h"

static enum poke_out classify_fault(const struct poke_exec *e)
{
	switch (e->fault_vector) {
	case VEC_BP: return e->fault_stale_int3 ? PO_STALE_BP : PO_BP;
	case VEC_UD: return PO_UD;
	case VEC_GP: return PO_GP;
	default: break;
	}
	if (e->fault_rip == POKE_POISON_TARGET)
		return PO_POISON;
	if (e->fault_rip >= POKE_HIGH_REGION)
		return PO_TORN;
	return PO_PF;
}

static bool call_frame_ok(const struct poke_exec *e, u64 site)
{
	return e->tgt_rsp == e->saved_rsp - 24 && e->w0 == site + POKE_INSN_LEN &&
	       e->w1 == PADDR(poke_exec_ret) && e->w2 == e->canary;
}

static bool jmp_frame_ok(const struct poke_exec *e)
{
	return e->tgt_rsp == e->saved_rsp - 16 && e->w0 == PADDR(poke_exec_ret) &&
	       e->w1 == e->canary;
}

enum poke_out poke_classify(const struct poke_exec *e, u64 site, bool returned, bool jmp_nop)
{
	if (!returned)
		return classify_fault(e);
	if (e->after_rsp != e->saved_rsp || e->after_canary != e->canary)
		return PO_BAD_FRAME;
	if (jmp_nop && e->nops == 1 && e->hits == 0)
		return PO_NOP;
	if (e->hits != 1 || e->nops != 0)
		return PO_BAD_TARGET;
	if (jmp_nop)
		return e->landed != POKE_TGT_A ? PO_BAD_TARGET : jmp_frame_ok(e) ? PO_JMP : PO_BAD_FRAME;
	if (e->landed != POKE_TGT_A && e->landed != POKE_TGT_B)
		return PO_BAD_TARGET;
	if (!call_frame_ok(e, site))
		return PO_BAD_FRAME;
	return e->landed == POKE_TGT_A ? PO_A : PO_B;
}

