/* What the boot loader told us, copied out of the multiboot2 information structure. */
#ifndef RACEBED_BOOTINFO_H
#define RACEBED_BOOTINFO_H

#include "types.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289u
#define BOOTINFO_MAX_MMAP 128
#define BOOTINFO_MAX_WARN 8

enum mem_type { MEM_AVAILABLE = 1, MEM_RESERVED = 2, MEM_ACPI_RECLAIM = 3, MEM_NVS = 4, MEM_BAD = 5 };

struct mem_range {
	u64 base;
	u64 len;
	u32 type; /* multiboot2 type: 1 available, 3 ACPI reclaimable, 4 NVS, 5 bad, else reserved */
};

struct fb_info {
	u64 addr;
	u32 pitch;  /* bytes per line */
	u32 width;  /* pixels (or text columns for type 2) */
	u32 height; /* pixels (or text rows for type 2) */
	u8 bpp;
	u8 type;    /* 0 indexed, 1 direct RGB, 2 EGA text */
	u8 red_pos, red_size, green_pos, green_size, blue_pos, blue_size;
};

struct bootinfo {
	bool has_cmdline;
	char cmdline[1024];
	char loader[64];
	u32 mmap_count;
	struct mem_range mmap[BOOTINFO_MAX_MMAP];
	bool has_rsdp;     /* from tag 14 (v1) or 15 (v2); v2 preferred when both */
	u8 rsdp_rev;       /* 0 for tag 14, the table's revision for tag 15 */
	u32 rsdp_len;      /* bytes valid in rsdp[] */
	u8 rsdp[36];       /* copy of the RSDP (20 bytes for v1, 36 for v2) */
	bool has_fb;
	struct fb_info fb;
	bool efi_boot;     /* an EFI system table tag (11 or 12) was present */
	u32 total_size;    /* from the header */
	u32 nwarn;         /* malformed things found; each described in warn[] */
	char warn[BOOTINFO_MAX_WARN][96];
};

/*
 * Parses the multiboot2 information at info, of which at most avail bytes may be read (the
 * kernel passes the header's total_size after checking it is sane; unit tests pass the buffer
 * size). Every tag is length-checked against both its own size field and the total; a bad tag is
 * described in warn[] and parsing stops or skips it, never reads past avail. Returns 0 when the
 * structure was usable (possibly with warnings), -1 when not even the header was valid.
 */
int mb2_parse(const void *info, size_t avail, struct bootinfo *out);

#endif
