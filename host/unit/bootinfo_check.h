/* Shared by the multiboot1 and multiboot2 unit tests: looking at what a parser warned about. */
#ifndef RACEBED_BOOTINFO_CHECK_H
#define RACEBED_BOOTINFO_CHECK_H

#include <stdio.h>
#include <string.h>

#include "boot/bootinfo.h"

static inline int bootinfo_has_warn(const struct bootinfo *b, const char *needle)
{
	for (uint32_t i = 0; i < b->nwarn && i < BOOTINFO_MAX_WARN; i++)
		if (strstr(b->warn[i], needle))
			return 1;
	return 0;
}

static inline void bootinfo_dump_warns(const struct bootinfo *b)
{
	for (uint32_t i = 0; i < b->nwarn && i < BOOTINFO_MAX_WARN; i++)
		fprintf(stderr, "  warn: %s\n", b->warn[i]);
}

#endif
