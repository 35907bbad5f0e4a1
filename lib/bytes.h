/* Unaligned little-endian loads and byte sums, for parsers of firmware and boot-loader data. */
#ifndef RACEBED_BYTES_H
#define RACEBED_BYTES_H

#include "lib/types.h"

static inline u16 le16(const u8 *p) { u16 v; __builtin_memcpy(&v, p, sizeof(v)); return v; }
static inline u32 le32(const u8 *p) { u32 v; __builtin_memcpy(&v, p, sizeof(v)); return v; }
static inline u64 le64(const u8 *p) { u64 v; __builtin_memcpy(&v, p, sizeof(v)); return v; }

/* Sum of len bytes modulo 256 (ACPI and MP table checksums make it 0). */
static inline u8 sum8(const u8 *p, u32 len)
{
	u8 s = 0;
	for (u32 i = 0; i < len; i++)
		s += p[i];
	return s;
}

#endif
