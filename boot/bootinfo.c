/* Shared by the multiboot1 and multiboot2 parsers: recording what was malformed. */
#include "boot/bootinfo.h"
#include "lib/printf.h"

void bootinfo_warn(struct bootinfo *bi, const char *fmt, ...)
{
	va_list ap;

	/* nwarn counts every problem; only the first BOOTINFO_MAX_WARN are described */
	if (bi->nwarn++ >= BOOTINFO_MAX_WARN)
		return;
	va_start(ap, fmt);
	kvsnprintf(bi->warn[bi->nwarn - 1], sizeof(bi->warn[0]), fmt, ap);
	va_end(ap);
}
