/*
 * Host unit test for kernel/mb1.c: Multiboot 1 information in exact-size buffers, with the
 * strings and the memory map in a fake physical address space that the parser can only reach
 * through the mapping callback (each region is its own exact-size heap block, so ASan reports
 * any read past what the callback handed out).
 */
#include <stdint.h>
#include <stdlib.h>
#include "host/unit/check.h"
#include "host/unit/bootinfo_check.h"
#include "boot/bootinfo.h"

#define F_MEM (1u << 0)
#define F_BOOTDEV (1u << 1)
#define F_CMDLINE (1u << 2)
#define F_MMAP (1u << 6)
#define F_LOADER (1u << 9)
#define F_FB (1u << 12)

#define PA_CMDLINE 0x10000u
#define PA_MMAP 0x20000u
#define PA_LOADER 0x30000u

/* ---- the fake physical memory ---- */

struct region {
	uint64_t pa;
	uint8_t *buf;
	size_t len;
};

static struct region regions[4];
static unsigned nregions, map_calls, map_refused;

static void phys_reset(void)
{
	for (unsigned i = 0; i < nregions; i++)
		free(regions[i].buf);
	nregions = 0;
	map_calls = 0;
	map_refused = 0;
}

/* Makes [pa, pa+len) readable with the given contents (an exact-size heap copy). */
static void phys_add(uint64_t pa, const void *data, size_t len)
{
	struct region *r = &regions[nregions++];

	r->pa = pa;
	r->len = len;
	r->buf = malloc(len ? len : 1);
	if (len)
		memcpy(r->buf, data, len);
}

static const void *phys_map(uint64_t pa, uint64_t len)
{
	map_calls++;
	for (unsigned i = 0; i < nregions; i++) {
		const struct region *r = &regions[i];

		if (pa >= r->pa && pa - r->pa <= r->len && len <= r->len - (pa - r->pa))
			return r->buf + (pa - r->pa);
	}
	map_refused++;
	return NULL;
}

/* ---- building the information structure ---- */

static uint8_t info[MB1_INFO_SIZE];

static void put32(size_t off, uint32_t v) { memcpy(info + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(info + off, &v, 8); }
static uint32_t get32(size_t off) { uint32_t v; memcpy(&v, info + off, 4); return v; }

static void set_flags(uint32_t f) { put32(0, f); }
static void add_flags(uint32_t f) { put32(0, get32(0) | f); }

static void info_begin(void)
{
	phys_reset();
	memset(info, 0, sizeof(info));
}

/* A string at PA_CMDLINE / PA_LOADER; with_nul false leaves the terminator out of the region. */
static void cmdline_at(uint32_t pa, const char *s, int with_nul)
{
	phys_add(pa, s, strlen(s) + (with_nul ? 1 : 0));
	put32(16, pa);
	add_flags(F_CMDLINE);
}

static void loader_at(uint32_t pa, const char *s)
{
	phys_add(pa, s, strlen(s) + 1);
	put32(64, pa);
	add_flags(F_LOADER);
}

/* n entries with size field esize: base i<<20, len 4096*(i+1), type 1+i%5. extra: trailing bytes. */
static void mmap_at(uint32_t esize, uint32_t n, size_t extra)
{
	size_t stride = 4 + (size_t)esize, len = n * stride + extra;
	uint8_t *m = calloc(1, len ? len : 1);

	for (uint32_t i = 0; i < n; i++) {
		uint8_t *e = m + i * stride;
		uint64_t base = (uint64_t)i << 20, l = 4096ull * (i + 1);
		uint32_t type = 1 + i % 5;

		memcpy(e, &esize, 4);
		memcpy(e + 4, &base, 8);
		memcpy(e + 12, &l, 8);
		memcpy(e + 20, &type, 4);
	}
	phys_add(PA_MMAP, m, len);
	free(m);
	put32(44, (uint32_t)len);
	put32(48, PA_MMAP);
	add_flags(F_MMAP);
}

static void fb_fields(uint8_t type)
{
	static const uint8_t colors[6] = { 16, 8, 8, 8, 0, 8 };

	put64(88, 0xfd000000);
	put32(96, 4096);
	put32(100, 1024);
	put32(104, 768);
	info[108] = 32;
	info[109] = type;
	memcpy(info + 110, colors, 6);
	add_flags(F_FB);
}

/* ---- parsing ---- */

static struct bootinfo bi;

/* Parses the first avail bytes of info from a heap block of exactly avail bytes at offset shift. */
static int parse_n(size_t avail, size_t shift)
{
	uint8_t *raw = malloc(avail + shift ? avail + shift : 1);
	int r;

	memcpy(raw + shift, info, avail);
	r = mb1_parse(raw + shift, avail, phys_map, &bi);
	free(raw);
	return r;
}

static int parse(void)
{
	return parse_n(sizeof(info), 0);
}

static int has_warn(const char *needle) { return bootinfo_has_warn(&bi, needle); }
static void dump_warns(void) { bootinfo_dump_warns(&bi); }

/* ---- valid structures ---- */

static void build_full(void)
{
	info_begin();
	set_flags(F_MEM | F_BOOTDEV);
	put32(4, 639);
	put32(8, 261120);
	cmdline_at(PA_CMDLINE, "build/racebed32.elf tests=ipi* seed=5", 1);
	mmap_at(20, 3, 0);
	loader_at(PA_LOADER, "qemu");
	fb_fields(1);
}

static void test_full(void)
{
	build_full();
	CHECK(parse() == 0);
	CHECK(bi.nwarn == 0);
	if (bi.nwarn)
		dump_warns();
	CHECK(map_refused == 0);
	CHECK(bi.has_cmdline);
	CHECK_STR(bi.cmdline, "tests=ipi* seed=5");
	CHECK_STR(bi.loader, "qemu");
	CHECK(bi.mmap_count == 3);
	CHECK(bi.mmap[0].base == 0 && bi.mmap[0].len == 4096 && bi.mmap[0].type == 1);
	CHECK(bi.mmap[2].base == 2u << 20 && bi.mmap[2].len == 3 * 4096 && bi.mmap[2].type == 3);
	CHECK(bi.has_fb);
	CHECK(bi.fb.addr == 0xfd000000 && bi.fb.pitch == 4096);
	CHECK(bi.fb.width == 1024 && bi.fb.height == 768 && bi.fb.bpp == 32 && bi.fb.type == 1);
	CHECK(bi.fb.red_pos == 16 && bi.fb.red_size == 8 && bi.fb.green_pos == 8);
	CHECK(bi.fb.green_size == 8 && bi.fb.blue_pos == 0 && bi.fb.blue_size == 8);
	CHECK(!bi.has_rsdp && !bi.efi_boot && bi.total_size == 0);
	/* the same bytes at odd alignment (UBSan would catch unaligned loads) */
	CHECK(parse_n(sizeof(info), 3) == 0 && bi.nwarn == 0 && bi.mmap_count == 3);
	CHECK(bi.mmap[1].base == 1u << 20 && bi.fb.height == 768);
	CHECK_STR(bi.cmdline, "tests=ipi* seed=5");
}

/* QEMU's own layout: 20-byte entries; larger entries are stepped over by their size field. */
static void test_mmap_entry_sizes(void)
{
	info_begin();
	mmap_at(24, 4, 0);
	CHECK(parse() == 0 && bi.nwarn == 0 && bi.mmap_count == 4);
	CHECK(bi.mmap[3].base == 3u << 20 && bi.mmap[3].len == 4 * 4096 && bi.mmap[3].type == 4);
}

/* Flags bits clear: the fields behind them are never looked at, whatever they hold. */
static void test_flags_absent(void)
{
	build_full();
	set_flags(F_MEM | F_BOOTDEV);
	CHECK(parse() == 0 && bi.nwarn == 0);
	CHECK(map_calls == 0);
	CHECK(!bi.has_cmdline && bi.cmdline[0] == '\0' && bi.loader[0] == '\0');
	CHECK(bi.mmap_count == 0 && !bi.has_fb);

	/* each bit alone */
	build_full();
	set_flags(F_LOADER);
	CHECK(parse() == 0 && bi.nwarn == 0 && !bi.has_cmdline && bi.mmap_count == 0);
	CHECK_STR(bi.loader, "qemu");
	build_full();
	set_flags(F_MMAP);
	CHECK(parse() == 0 && bi.nwarn == 0 && bi.mmap_count == 3 && bi.loader[0] == '\0');
	build_full();
	set_flags(F_CMDLINE);
	CHECK(parse() == 0 && bi.nwarn == 0 && bi.has_cmdline && !bi.has_fb);
	build_full();
	set_flags(F_FB);
	CHECK(parse() == 0 && bi.nwarn == 0 && bi.has_fb && map_calls == 0);

	/* garbage pointers behind clear bits */
	info_begin();
	put32(16, 0xdeadbeef);
	put32(44, 0xffffffff);
	put32(48, 0x12345678);
	put32(64, 0xcafebabe);
	CHECK(parse() == 0 && bi.nwarn == 0 && map_calls == 0);
}

static void test_bad_header(void)
{
	build_full();
	CHECK(parse_n(0, 0) == -1);
	CHECK(parse_n(3, 1) == -1);
	CHECK(mb1_parse(NULL, sizeof(info), phys_map, &bi) == -1);
	CHECK(parse_n(4, 0) == 0); /* flags only: everything announced is out of reach */
	CHECK(bi.nwarn == 4 && !bi.has_cmdline && bi.mmap_count == 0 && !bi.has_fb);
	CHECK(has_warn("command line") && has_warn("memory map") && has_warn("loader"));
	CHECK(has_warn("framebuffer") && has_warn("4 bytes"));
	CHECK(map_calls == 0);

	/* just enough for each field in turn */
	CHECK(parse_n(20, 0) == 0 && bi.has_cmdline && bi.nwarn == 3);
	CHECK(parse_n(52, 0) == 0 && bi.mmap_count == 3 && bi.nwarn == 2);
	CHECK(parse_n(68, 0) == 0 && !strcmp(bi.loader, "qemu") && bi.nwarn == 1);
	CHECK(parse_n(109, 0) == 0 && !bi.has_fb && bi.nwarn == 1 && has_warn("framebuffer"));
	CHECK(parse_n(110, 0) == 0 && bi.has_fb && bi.fb.bpp == 32 && bi.fb.red_pos == 0);
	CHECK(bi.nwarn == 1 && has_warn("RGB"));
	CHECK(parse_n(116, 0) == 0 && bi.nwarn == 0 && bi.fb.red_pos == 16);
}

/* ---- strings ---- */

static void test_cmdline(void)
{
	static const struct {
		const char *given, *want;
	} cases[] = {
		{ "build/racebed32.elf tests=boot,ipi_fixed", "tests=boot,ipi_fixed" },
		{ "/boot/racebed.elf  nosmp\tlist", "nosmp\tlist" },
		{ "racebed32.elf", "" },
		{ "build/racebed32.elf ", "" },
		{ "", "" },
		{ "nosmp list", "nosmp list" },       /* no path first: kept whole */
		{ "kernel tests=boot", "kernel tests=boot" }, /* not recognisable as a path */
		{ "seed=1.5 cpus=2", "seed=1.5 cpus=2" },     /* '=' makes it a racebed word */
		{ "tests=a/b", "tests=a/b" },
		{ " x.elf seed=1", " x.elf seed=1" },     /* only a path at the very start */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		info_begin();
		cmdline_at(PA_CMDLINE, cases[i].given, 1);
		CHECK(parse() == 0 && bi.nwarn == 0 && bi.has_cmdline);
		CHECK_STR(bi.cmdline, cases[i].want);
	}
}

static void test_bad_strings(void)
{
	char big[1500];

	/* command line pointer unmapped: null, or no region there */
	info_begin();
	put32(16, 0);
	add_flags(F_CMDLINE);
	CHECK(parse() == 0 && !bi.has_cmdline && bi.nwarn == 1 && has_warn("not mapped"));
	CHECK(bi.cmdline[0] == '\0');
	info_begin();
	put32(16, 0x7fff0000);
	add_flags(F_CMDLINE);
	loader_at(PA_LOADER, "after");
	CHECK(parse() == 0 && !bi.has_cmdline && bi.nwarn == 1 && has_warn("0x7fff0000"));
	CHECK_STR(bi.loader, "after");

	/* unterminated: the mapped bytes end before a NUL; nothing past them is read */
	info_begin();
	cmdline_at(PA_CMDLINE, "x.elf seed=42 list", 0);
	CHECK(parse() == 0 && bi.has_cmdline && bi.nwarn == 1 && has_warn("no NUL"));
	CHECK_STR(bi.cmdline, "seed=42 list");
	CHECK(map_refused == 1);

	/* longer than the destination: truncated at 1023 bytes, never reads further */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	info_begin();
	cmdline_at(PA_CMDLINE, big, 1);
	loader_at(PA_LOADER, big + 1400);
	CHECK(parse() == 0 && bi.nwarn == 2 && has_warn("truncated"));
	CHECK(strlen(bi.cmdline) == sizeof(bi.cmdline) - 1);
	CHECK(strlen(bi.loader) == sizeof(bi.loader) - 1);
	CHECK(map_calls == sizeof(bi.cmdline) + sizeof(bi.loader));

	/* boot loader name unmapped and unterminated */
	info_begin();
	put32(64, PA_LOADER + 8);
	add_flags(F_LOADER);
	CHECK(parse() == 0 && bi.nwarn == 1 && bi.loader[0] == '\0' && has_warn("boot loader"));
	info_begin();
	phys_add(PA_LOADER, "GRUB", 4);
	put32(64, PA_LOADER);
	add_flags(F_LOADER);
	CHECK(parse() == 0 && bi.nwarn == 1 && has_warn("no NUL"));
	CHECK_STR(bi.loader, "GRUB");

	/* empty region at the pointer: nothing is mapped there */
	info_begin();
	cmdline_at(PA_CMDLINE, "", 0);
	CHECK(parse() == 0 && !bi.has_cmdline && bi.nwarn == 1);
}

/* ---- memory map ---- */

static void test_bad_mmap(void)
{
	/* entry size below 20: stop there, keep what came before */
	static const uint32_t bad[] = { 0, 4, 16, 19 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		info_begin();
		mmap_at(20, 3, 0);
		memcpy(regions[0].buf + 24, &bad[i], 4); /* the second entry */
		CHECK(parse() == 0 && bi.mmap_count == 1 && bi.nwarn == 1);
		CHECK(has_warn("size") && has_warn("offset 24"));
	}

	/* last entry runs past mmap_length (the length field is one byte short) */
	info_begin();
	mmap_at(20, 3, 0);
	put32(44, 3 * 24 - 1);
	CHECK(parse() == 0 && bi.mmap_count == 2 && bi.nwarn == 1 && has_warn("runs past"));

	/* an entry size far too large */
	info_begin();
	mmap_at(20, 3, 0);
	uint32_t huge = 0xfffffff0u;
	memcpy(regions[0].buf, &huge, 4);
	CHECK(parse() == 0 && bi.mmap_count == 0 && bi.nwarn == 1 && has_warn("runs past"));

	/* a few bytes left over after the last whole entry */
	info_begin();
	mmap_at(20, 2, 3);
	CHECK(parse() == 0 && bi.mmap_count == 2 && bi.nwarn == 1 && has_warn("stray"));
	/* leftovers of 4 or more bytes make a (too short) entry header */
	info_begin();
	mmap_at(20, 2, 10);
	CHECK(parse() == 0 && bi.mmap_count == 2 && bi.nwarn == 1 && has_warn("size 0"));

	/* mmap_length beyond what is mapped: the map is not read at all */
	info_begin();
	mmap_at(20, 3, 0);
	put32(44, 3 * 24 + 1);
	CHECK(parse() == 0 && bi.mmap_count == 0 && bi.nwarn == 1 && has_warn("not mapped"));
	info_begin();
	mmap_at(20, 3, 0);
	put32(48, 0);
	CHECK(parse() == 0 && bi.mmap_count == 0 && bi.nwarn == 1 && has_warn("not mapped"));

	/* announced but empty */
	info_begin();
	mmap_at(20, 0, 0);
	CHECK(parse() == 0 && bi.mmap_count == 0 && bi.nwarn == 1 && has_warn("mmap_length is 0"));

	/* too many entries: the first BOOTINFO_MAX_MMAP kept, one warning */
	info_begin();
	mmap_at(20, 200, 0);
	CHECK(parse() == 0 && bi.mmap_count == BOOTINFO_MAX_MMAP && bi.nwarn == 1);
	CHECK(has_warn("more than 128"));
	CHECK(bi.mmap[127].base == 127ull << 20 && bi.mmap[127].len == 128 * 4096ull);
	info_begin();
	mmap_at(20, BOOTINFO_MAX_MMAP, 0); /* exactly the limit: fine */
	CHECK(parse() == 0 && bi.mmap_count == BOOTINFO_MAX_MMAP && bi.nwarn == 0);
}

/* ---- framebuffer ---- */

static void test_fb(void)
{
	info_begin();
	fb_fields(0);
	CHECK(parse() == 0 && bi.has_fb && bi.fb.type == 0 && bi.fb.red_size == 0);
	CHECK(bi.nwarn == 1 && has_warn("indexed"));

	info_begin();
	fb_fields(2);
	CHECK(parse() == 0 && bi.nwarn == 0 && bi.has_fb && bi.fb.type == 2);
	CHECK(bi.fb.width == 1024 && bi.fb.red_pos == 0);
}

/* ---- robustness ---- */

/* Every prefix and random corruption of the information and of the pointed-to data. */
static void test_robustness(void)
{
	int bad = 0;

	for (size_t n = 0; n <= sizeof(info); n++) {
		build_full();
		int r = parse_n(n, n & 7);
		if (r != (n < 4 ? -1 : 0) || (n >= 4 && n < sizeof(info) && bi.nwarn == 0))
			bad++;
	}
	CHECK(bad == 0);

	srand(4321);
	for (int iter = 0; iter < 20000; iter++) {
		build_full();
		for (int k = 0; k < 1 + iter % 4; k++) {
			int where = rand() % 4;

			if (where == 0 || iter % 5 == 0) {
				info[rand() % sizeof(info)] = (uint8_t)rand();
			} else {
				struct region *r = &regions[where - 1];
				if (r->len)
					r->buf[rand() % r->len] = (uint8_t)rand();
			}
		}
		if (iter % 7 == 0)
			put32(44, get32(44) + (uint32_t)(rand() % 64) - 32);
		parse_n(sizeof(info), iter & 7);
		if (bi.mmap_count > BOOTINFO_MAX_MMAP)
			bad++;
		for (uint32_t i = 0; i < bi.nwarn && i < BOOTINFO_MAX_WARN; i++)
			bad += strnlen(bi.warn[i], sizeof(bi.warn[i])) == sizeof(bi.warn[i]);
		if (strnlen(bi.cmdline, sizeof(bi.cmdline)) == sizeof(bi.cmdline) ||
		    strnlen(bi.loader, sizeof(bi.loader)) == sizeof(bi.loader))
			bad++;
	}
	CHECK(bad == 0);
	phys_reset();
}

int main(void)
{
	test_full();
	test_mmap_entry_sizes();
	test_flags_absent();
	test_bad_header();
	test_cmdline();
	test_bad_strings();
	test_bad_mmap();
	test_fb();
	test_robustness();
	return check_report("mb1");
}
