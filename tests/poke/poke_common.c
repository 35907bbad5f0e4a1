/*
 * Shared fixtures of the poke_* experiments: target stub mapping, the executor that recovers
 * from any trap, the trap handlers doing it, outcome classification, site reset.
 */
#include "tests/poke/poke.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "patching/alias.h"

u64 poke_exec_asm(struct poke_exec *e, u64 site);

#define PX_AT(field, off) _Static_assert(offsetof(struct poke_exec, field) == off, #field)
PX_AT(saved_rsp, PX_SAVED_RSP);
PX_AT(canary, PX_CANARY);
PX_AT(landed, PX_LANDED);
PX_AT(tgt_rsp, PX_TGT_RSP);
PX_AT(w0, PX_W0);
PX_AT(w1, PX_W1);
PX_AT(w2, PX_W2);
PX_AT(hits, PX_HITS);
PX_AT(nops, PX_NOPS);
PX_AT(after_rsp, PX_AFTER_RSP);
PX_AT(after_canary, PX_AFTER_CANARY);

static struct poke_exec *volatile cur_exec[MAX_CPUS];

bool poke_fixture_init(void)
{
	u64 pa;
	if (!pte_virt_to_phys(PADDR(poke_stub_page), &pa))
		return false;
	return pte_map_4k(POKE_TGT_A & ~0xfffull, pa) && pte_map_4k(POKE_TGT_B & ~0xfffull, pa);
}

bool poke_exec_run(struct poke_exec *e, u64 site)
{
	u32 me = this_cpu_index();
	e->landed = e->hits = e->nops = e->tgt_rsp = 0;
	e->fault_vector = ~0ull;
	e->fault_stale_int3 = false;
	e->prev = cur_exec[me];
	cur_exec[me] = e;
	u64 r = poke_exec_asm(e, site);
	cur_exec[me] = e->prev;
	return r == 0;
}

/* Any trap while this CPU runs an executor: note it and resume at the recovery point. */
static bool recover(struct trap_frame *f)
{
	struct poke_exec *e = cur_exec[this_cpu_index()];
	if (!e || (f->cs & 3))
		return false;
	e->fault_vector = f->vector;
	e->fault_rip = f->rip;
	e->fault_cr2 = f->vector == VEC_PF ? read_cr2() : 0;
	e->fault_stale_int3 = f->vector == VEC_BP && poke_bp_last_stale_int3();
	f->rip = PADDR(poke_exec_recover);
	f->rsp = e->saved_rsp;
	return true;
}

static bool on_bp(struct trap_frame *f) { return poke_bp_handle(f) || recover(f); }

static const u32 trapped[] = { VEC_UD, VEC_GP, VEC_PF, VEC_BP };
static trap_handler_t saved[ARRAY_SIZE(trapped)];

void poke_traps_install(void)
{
	for (u32 i = 0; i < ARRAY_SIZE(trapped); i++) {
		saved[i] = trap_get_handler(trapped[i]);
		trap_set_handler(trapped[i], trapped[i] == VEC_BP ? on_bp : recover);
	}
}

void poke_traps_remove(void)
{
	for (u32 i = 0; i < ARRAY_SIZE(trapped); i++)
		trap_set_handler(trapped[i], saved[i]);
}

bool poke_sites_reset(const u64 *sites, u32 n, bool jmp_nop)
{
	for (u32 i = 0; i < n; i++) {
		u8 insn[POKE_INSN_LEN];
		if (!poke_gen(jmp_nop ? POKE_NOP : POKE_CALL, sites[i], POKE_TGT_A, insn) ||
		    !poke_text_set(sites[i], insn))
			return false;
	}
	return true;
}
