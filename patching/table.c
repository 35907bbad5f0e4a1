/*
 * The batch being patched: descriptors sorted by site address (the #BP handler finds its site
 * by binary search) and a reference count that doubles as the "published" flag. The patcher
 * holds one reference from before the first int3 is written until after the last sync; a #BP
 * handler takes one before it clears its sync bit and drops it when it has read what it
 * needs. Retiring drops the patcher's reference and waits for zero before the descriptors are
 * poisoned and reused, so no handler ever reads a descriptor that is being rewritten.
 */
#include "patching/internal.h"
#include "patching/alias.h"
#include "kernel/wait.h"

#define RETIRE_TIMEOUT_NS 2000000000ull

static struct poke_desc descs[POKE_MAX_BATCH];
static volatile u32 ndescs;
static volatile u64 refs;

u32 table_count(void) { return ndescs; }
struct poke_desc *table_at(u32 i) { return &descs[i]; }

static bool desc_init(struct poke_desc *d, const struct poke_op *op, enum poke_mode mode)
{
	u64 target = 0;
	d->addr = op->addr;
	for (u32 i = 0; i < POKE_INSN_LEN; i++) {
		d->insn[i] = op->insn[i];
		d->old[i] = ((const volatile u8 *)op->addr)[i];
	}
	d->kind = (u8)poke_decode(op->addr, op->insn, &target);
	d->target = target;
	if (d->kind == POKE_OTHER || !poke_alias_span(op->addr, POKE_INSN_LEN, d->wr))
		return false;
	if (mode == POKE_MODE_ATOMIC)
		return d->kind != POKE_NOP && (op->addr + 1) % 4 == 0 && d->old[0] == d->insn[0];
	return true;
}

/* Insertion into the sorted array; false on a site overlapping another. */
static bool insert_sorted(const struct poke_desc *d, u32 n)
{
	u32 i = n;
	while (i > 0 && descs[i - 1].addr > d->addr) {
		descs[i] = descs[i - 1];
		i--;
	}
	descs[i] = *d;
	if (i > 0 && descs[i - 1].addr + POKE_INSN_LEN > d->addr)
		return false;
	return i + 1 > n || d->addr + POKE_INSN_LEN <= descs[i + 1].addr;
}

bool table_fill(const struct poke_op *ops, u32 n, enum poke_mode mode)
{
	if (n == 0 || n > POKE_MAX_BATCH)
		return false;
	ndescs = 0;
	for (u32 k = 0; k < n; k++) {
		struct poke_desc d;
		if (!desc_init(&d, &ops[k], mode) || !insert_sorted(&d, k))
			return false;
	}
	ndescs = n;
	return true;
}

void table_publish(void)
{
	__atomic_store_n(&refs, 1, __ATOMIC_SEQ_CST);
}

/* Handler side: a reference unless the table is unpublished (counted), or just a look. */
bool table_get(bool counted)
{
	u64 r = __atomic_load_n(&refs, __ATOMIC_ACQUIRE);
	if (!counted)
		return r != 0;
	while (r)
		if (__atomic_compare_exchange_n(&refs, &r, r + 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_ACQUIRE))
			return true;
	return false;
}

void table_put(bool counted)
{
	if (counted && __atomic_sub_fetch(&refs, 1, __ATOMIC_RELEASE) == 0)
		wake_cpu(poke_eng.patcher);
}

bool table_retire(bool counted)
{
	bool ok = true;
	if (!counted)
		__atomic_store_n(&refs, 0, __ATOMIC_SEQ_CST);
	else if (__atomic_sub_fetch(&refs, 1, __ATOMIC_ACQ_REL) != 0)
		ok = wait_eq_halt(&refs, 0, RETIRE_TIMEOUT_NS);
	for (u32 i = 0; i < ndescs; i++)
		descs[i].target = POKE_POISON_TARGET;
	return ok;
}

const struct poke_desc *table_find(u64 addr)
{
	u32 lo = 0, hi = ndescs;
	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;
		u64 a = descs[mid].addr;
		if (a == addr)
			return &descs[mid];
		if (a < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}
