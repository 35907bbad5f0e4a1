/* What the boot loader told us, copied out of the multiboot2 information structure. */
#ifndef RACEBED_BOOTINFO_H
#define RACEBED_BOOTINFO_H

#include "lib/types.h"

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
/* Records one malformed thing in bi (counted always, described while warn[] has room). */
void bootinfo_warn(struct bootinfo *bi, const char *fmt, ...) PRINTF_FMT(2, 3);

/* Multiboot 1 (QEMU -kernel): EAX holds this magic, EBX the information structure's address. */
#define MB1_BOOTLOADER_MAGIC 0x2badb002u
/* Bytes of the Multiboot 1 information structure, through the framebuffer colour info. */
#define MB1_INFO_SIZE 116

/*
 * Returns a readable pointer to physical [pa, pa+len), or NULL when that range is not mapped
 * (the same contract as phys_map_fn in arch/x86/acpi.h).
 */
typedef const void *(*bootinfo_map_fn)(u64 pa, u64 len);

/*
 * Parses the Multiboot 1 information at info, of which at most avail bytes may be read (the
 * kernel passes MB1_INFO_SIZE; a field beyond avail that flags announce is a warning). The
 * command line, memory map and boot loader name are 32-bit physical pointers: they are read
 * only through map, strings one byte at a time up to their NUL (or the destination's size), the
 * memory map as one [mmap_addr, mmap_addr + mmap_length) range. A leading word without '=' that
 * contains '/' or '.' is the kernel image path that loaders put first (QEMU and GRUB do) and is
 * dropped from cmdline. No RSDP and no EFI in Multiboot 1: has_rsdp and efi_boot stay false,
 * and total_size stays 0. Fills the same fields as mb2_parse otherwise, with problems described
 * in warn[]. Returns 0 when the structure was usable (possibly with warnings), -1 when not even
 * the flags word could be read.
 */
int mb1_parse(const void *info, size_t avail, bootinfo_map_fn map, struct bootinfo *out);

#endif
