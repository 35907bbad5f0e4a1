/* Encoding and decoding of the 5-byte call, jmp and NOP the engine patches. */
#include "patching/insn.h"

static const u8 nop5[POKE_INSN_LEN] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };

bool poke_gen(enum poke_kind kind, u64 site, u64 target, u8 out[POKE_INSN_LEN])
{
	if (kind == POKE_NOP) {
		for (u32 i = 0; i < POKE_INSN_LEN; i++)
			out[i] = nop5[i];
		return true;
	}
	if (kind != POKE_CALL && kind != POKE_JMP)
		return false;
	s64 rel = (s64)(target - (site + POKE_INSN_LEN));
	if (rel != (s64)(s32)rel)
		return false;
	out[0] = kind == POKE_CALL ? POKE_OP_CALL : POKE_OP_JMP;
	for (u32 i = 0; i < 4; i++)
		out[1 + i] = (u8)((u64)rel >> (8 * i));
	return true;
}

enum poke_kind poke_decode(u64 site, const u8 insn[POKE_INSN_LEN], u64 *target)
{
	bool nop = true;
	for (u32 i = 0; i < POKE_INSN_LEN; i++)
		nop &= insn[i] == nop5[i];
	if (nop)
		return POKE_NOP;
	if (insn[0] != POKE_OP_CALL && insn[0] != POKE_OP_JMP)
		return POKE_OTHER;
	u32 rel = 0;
	for (u32 i = 0; i < 4; i++)
		rel |= (u32)insn[1 + i] << (8 * i);
	*target = poke_rel_target(site, (s32)rel);
	return insn[0] == POKE_OP_CALL ? POKE_CALL : POKE_JMP;
}
