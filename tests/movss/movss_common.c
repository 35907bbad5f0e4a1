/* Trial machinery of the MOV SS experiments (see movss.h). */
#include "arch/x86/debugreg.h"
#include "tests/movss/movss.h"
#include "arch/x86/cpu.h"
#include "arch/x86/paging.h"
#include "arch/x86/user.h"
#include "kernel/experiment.h"
#include "lib/lib.h"
#include "arch/x86/percpu.h"
#include "lib/printf.h"

extern const char movss_ublob_start[], movss_ublob_end[], trap_stubs[];
extern void syscall_entry(void);
static struct mss_trial trials[MAX_CPUS];
static u16 kvar[MAX_CPUS] __attribute__((aligned(8)));
static const u32 vectors[] = { VEC_DB, VEC_BP, VEC_UD, VEC_GP, VEC_PF, 0xe8 /* VEC_USER_INT */,
			       VEC_SYSCALL };
static trap_handler_t saved[ARRAY_SIZE(vectors)];
static volatile u64 kernel_word;

static bool record(struct trap_frame *f)
{
	struct mss_trial *t = &trials[this_cpu_index()];
	if (!t->active) {
		for (u32 i = 0; i < ARRAY_SIZE(vectors); i++)
			if (vectors[i] == f->vector)
				return saved[i] ? saved[i](f) : false;
		return false;
	}
	if (t->n < MSS_MAX_EVENTS) {
		struct mss_event *e = &t->ev[t->n];
		e->vector = (u32)f->vector;
		e->cpl = f->cs & 3;
		e->gs_swapped = (u8)f->gs_swapped;
		e->rip = f->rip;
		e->dr6 = f->vector == VEC_DB ? read_dr6() : 0;
	}
	t->n++;
	switch (f->vector) {
	case VEC_DB:
		write_dr6(DR6_RESET);
		f->rflags &= ~RFLAGS_TF; /* single-step cases want only the first step */
		break;
	case VEC_UD: case VEC_GP: case VEC_PF:
		f->rip = t->resume;
		break;
	default:
		break; /* traps (#BP, int n) and SYSCALL continue after the instruction */
	}
	return true;
}

void mss_install(void)
{
	for (u32 i = 0; i < ARRAY_SIZE(vectors); i++) {
		saved[i] = trap_get_handler(vectors[i]);
		trap_set_handler(vectors[i], record);
	}
}

void mss_remove(void)
{
	for (u32 i = 0; i < ARRAY_SIZE(vectors); i++)
		trap_set_handler(vectors[i], saved[i]);
}

bool mss_user_ready(void)
{
	return user_available() && user_blob(movss_ublob_start, movss_ublob_end);
}

void mss_watch(const void *addr)
{
	write_dr0((u64)addr);
	/* L0, R/W (11), 2 bytes (01), bit 10 reserved-one */
	write_dr7(DR7_L(0) | DR7_RW(0, DR7_RW_RW) | DR7_LEN(0, 2) | DR7_FIXED);
}

void mss_unwatch(void)
{
	write_dr7(DR7_FIXED);
}

u64 mss_addr(const struct mss_case *c, const char *label)
{
	if (!label)
		return 0;
	return c->user ? user_addr(movss_ublob_start, label) : (u64)label;
}

enum mss_pos mss_position(const struct mss_case *c, const struct mss_event *e)
{
	if (e->rip == mss_addr(c, c->movss))
		return POS_MOVSS;
	if (e->rip == mss_addr(c, c->next))
		return POS_NEXT;
	if (e->rip == mss_addr(c, c->after))
		return POS_AFTER;
	if (c->after2 && e->rip == mss_addr(c, c->after2))
		return POS_AFTER2;
	if (c->next_vector == VEC_SYSCALL && e->rip == (u64)syscall_entry)
		return POS_HANDLER;
	if (c->next_vector && c->next_vector < 256 && e->rip == (u64)trap_stubs + 16 * c->next_vector)
		return POS_HANDLER;
	return POS_OTHER;
}

const char *mss_pos_name(enum mss_pos p)
{
	static const char *const n[] = { "movss", "next", "after", "after2", "handler", "other" };
	return n[p];
}

const struct mss_event *mss_find_db(const struct mss_trial *t)
{
	const struct mss_event *step = NULL;
	for (u32 i = 0; i < MIN(t->n, (u32)MSS_MAX_EVENTS); i++) {
		const struct mss_event *e = &t->ev[i];
		if (e->vector == VEC_DB && (e->dr6 & DR6_BMASK))
			return e;
		if (e->vector == VEC_DB && (e->dr6 & DR6_BS) && !step)
			step = e;
	}
	return step;
}

static const char *vec_name(u32 v)
{
	switch (v) {
	case VEC_DB: return "#DB";
	case VEC_BP: return "#BP";
	case VEC_UD: return "#UD";
	case VEC_GP: return "#GP";
	case VEC_PF: return "#PF";
	case 0xe8: return "INTn";
	case VEC_SYSCALL: return "SYSCALL";
	default: return "?";
	}
}

void mss_signature(const struct mss_case *c, const struct mss_trial *t, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = 0;
	if (t->n == 0)
		ksnprintf(buf, len, "no-events");
	for (u32 i = 0; i < MIN(t->n, (u32)MSS_MAX_EVENTS) && used < len; i++) {
		const struct mss_event *e = &t->ev[i];
		char extra[24] = "";
		if (e->vector == VEC_DB)
			ksnprintf(extra, sizeof(extra), "(dr6=%lx%s)", e->dr6 & (DR6_BT | DR6_BS | DR6_BD | DR6_BMASK),
				  e->gs_swapped && e->cpl == 0 ? ",user-gs" : "");
		used += (size_t)ksnprintf(buf + used, len - used, "%s%s%s@%s/cpl%u", i ? "," : "",
					  vec_name(e->vector), extra, mss_pos_name(mss_position(c, e)),
					  e->cpl);
	}
}

void mss_tally_add(struct mss_tally *t, const char *sig)
{
	for (u32 i = 0; i < 4; i++) {
		if (t->count[i] && strcmp(t->sig[i], sig) == 0) {
			t->count[i]++;
			return;
		}
		if (!t->count[i]) {
			strlcpy(t->sig[i], sig, sizeof(t->sig[i]));
			t->count[i] = 1;
			return;
		}
	}
	t->other++;
}

void mss_tally_print(const char *case_name, const struct mss_tally *t)
{
	for (u32 i = 0; i < 4 && t->count[i]; i++)
		diag("outcome %s:%s=%lu", case_name, t->sig[i], t->count[i]);
	if (t->other)
		diag("outcome %s:other-signatures=%lu", case_name, t->other);
}

void mss_run(const struct mss_case *c, u64 dr6_preset, struct mss_trial *out)
{
	struct mss_trial *t = &trials[this_cpu_index()];
	u16 *var = c->user ? (u16 *)user_data() : &kvar[this_cpu_index()];
	*var = c->user ? (SEG_UDATA | 3) : SEG_KDATA;
	u64 fault_addr = c->user ? (u64)&kernel_word : UNMAPPED_TEST_ADDR;
	t->n = 0;
	t->resume = mss_addr(c, c->after);
	write_dr6(dr6_preset);
	mss_watch(var);
	t->active = 1;
	if (c->user) {
		user_run2(mss_addr(c, c->fn), 0, (u64)var, fault_addr);
	} else {
		__asm__ volatile("call *%0"
				 : : "r"(c->fn), "D"(var), "S"(fault_addr)
				 : "rax", "rcx", "rdx", "r8", "r9", "r10", "r11", "memory", "cc");
	}
	t->active = 0;
	mss_unwatch();
	write_dr6(DR6_RESET);
	irq_enable();
	*out = *t;
}
