/* The three 5-byte instructions the engine rewrites: call rel32, jmp rel32 and NOPL. */
#ifndef RACEBED_POKE_INSN_H
#define RACEBED_POKE_INSN_H

#include "lib/types.h"

#define POKE_INSN_LEN 5
#define POKE_OP_CALL 0xe8
#define POKE_OP_JMP 0xe9
#define POKE_OP_INT3 0xcc

enum poke_kind { POKE_CALL, POKE_JMP, POKE_NOP, POKE_OTHER };

/* Encodes kind at site (target ignored for NOP). False when target is out of rel32 reach. */
bool poke_gen(enum poke_kind kind, u64 site, u64 target, u8 out[POKE_INSN_LEN]);
/* Decodes 5 bytes at site; *target gets the destination of a call or jmp. */
enum poke_kind poke_decode(u64 site, const u8 insn[POKE_INSN_LEN], u64 *target);
/* Destination of a rel32 branch at site. */
static inline u64 poke_rel_target(u64 site, s32 rel) { return site + POKE_INSN_LEN + (s64)rel; }

#endif
