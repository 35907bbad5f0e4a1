/* Host unit test for kernel/mb2.c: valid and malformed multiboot2 info in exact-size buffers. */
#include <stdint.h>
#include <stdlib.h>
#include "host/unit/check.h"
#include "host/unit/bootinfo_check.h"
#include "boot/bootinfo.h"

/* ---- building multiboot2 information structures ---- */

static uint8_t img[16384];
static size_t img_len;

static void put32(size_t off, uint32_t v) { memcpy(img + off, &v, 4); }
static uint32_t get32(size_t off) { uint32_t v; memcpy(&v, img + off, 4); return v; }

static void mb_begin(void)
{
	memset(img, 0, sizeof(img));
	img_len = 8;
}

/* Appends a tag with the given payload; returns the tag's offset. */
static size_t mb_tag(uint32_t type, const void *payload, size_t len)
{
	size_t off = img_len;

	put32(off, type);
	put32(off + 4, (uint32_t)(8 + len));
	if (len)
		memcpy(img + off + 8, payload, len);
	img_len = (off + 8 + len + 7) & ~(size_t)7;
	return off;
}

static size_t mb_str(uint32_t type, const char *s)
{
	return mb_tag(type, s, strlen(s) + 1);
}

/* Memory map tag with n entries of entry_size bytes: base i<<20, len 4096*(i+1), type 1+i%5. */
static size_t mb_mmap(uint32_t entry_size, uint32_t n)
{
	uint8_t p[8 + 256 * 32] = { 0 };

	memcpy(p, &entry_size, 4);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t base = (uint64_t)i << 20, len = 4096ull * (i + 1);
		uint32_t type = 1 + i % 5;
		uint8_t *e = p + 8 + (size_t)i * entry_size;

		memcpy(e, &base, 8);
		memcpy(e + 8, &len, 8);
		memcpy(e + 16, &type, 4);
	}
	return mb_tag(6, p, 8 + (size_t)n * entry_size);
}

static size_t mb_fb(uint8_t type, size_t payload_len)
{
	uint8_t p[32] = { 0 };
	uint64_t addr = 0xfd000000;
	uint32_t pitch = 4096, w = 1024, h = 768;

	memcpy(p, &addr, 8);
	memcpy(p + 8, &pitch, 4);
	memcpy(p + 12, &w, 4);
	memcpy(p + 16, &h, 4);
	p[20] = 32;
	p[21] = type;
	uint8_t colors[6] = { 16, 8, 8, 8, 0, 8 };
	memcpy(p + 24, colors, 6);
	return mb_tag(8, p, payload_len);
}

static uint8_t rsdp_v1[20], rsdp_v2[36];

static void make_rsdps(void)
{
	for (int i = 0; i < 36; i++)
		rsdp_v2[i] = (uint8_t)(0x40 + i);
	memcpy(rsdp_v2, "RSD PTR ", 8);
	rsdp_v2[15] = 2;
	memcpy(rsdp_v1, "RSD PTR ", 8);
	for (int i = 8; i < 20; i++)
		rsdp_v1[i] = (uint8_t)(0x10 + i);
	rsdp_v1[15] = 0;
}

/* Ends the structure (end tag + total_size). */
static void mb_end(void)
{
	mb_tag(0, NULL, 0);
	put32(0, (uint32_t)img_len);
}

/* ---- parsing from exact-size heap copies ---- */

static struct bootinfo bi;

/* Parses the first avail bytes of img from a heap buffer of exactly avail bytes at offset shift. */
static int parse_n(size_t avail, size_t shift)
{
	uint8_t *raw = malloc(avail + shift ? avail + shift : 1);
	int r;

	memcpy(raw + shift, img, avail);
	r = mb2_parse(raw + shift, avail, &bi);
	free(raw);
	return r;
}

static int parse(void)
{
	return parse_n(img_len, 0);
}

static int has_warn(const char *needle) { return bootinfo_has_warn(&bi, needle); }
static void dump_warns(void) { bootinfo_dump_warns(&bi); }

/* ---- the valid structure ---- */

static void build_full(void)
{
	uint32_t meminfo[2] = { 639, 130048 };
	uint64_t systab = 0x7fe00000;

	mb_begin();
	mb_str(1, "tests=ipi* seed=5");
	mb_str(2, "GRUB 2.06");
	mb_tag(4, meminfo, sizeof(meminfo));
	mb_mmap(24, 3);
	mb_fb(1, 30);
	mb_tag(12, &systab, 8);
	mb_tag(14, rsdp_v1, 20);
	mb_tag(21, &systab, 4); /* unknown to us: skipped */
	mb_end();
}

static void test_full(void)
{
	build_full();
	CHECK(parse() == 0);
	CHECK(bi.nwarn == 0);
	if (bi.nwarn)
		dump_warns();
	CHECK(bi.total_size == img_len);
	CHECK(bi.has_cmdline);
	CHECK_STR(bi.cmdline, "tests=ipi* seed=5");
	CHECK_STR(bi.loader, "GRUB 2.06");
	CHECK(bi.mmap_count == 3);
	CHECK(bi.mmap[0].base == 0 && bi.mmap[0].len == 4096 && bi.mmap[0].type == 1);
	CHECK(bi.mmap[2].base == 2u << 20 && bi.mmap[2].len == 3 * 4096 && bi.mmap[2].type == 3);
	CHECK(bi.has_fb);
	CHECK(bi.fb.addr == 0xfd000000 && bi.fb.pitch == 4096);
	CHECK(bi.fb.width == 1024 && bi.fb.height == 768 && bi.fb.bpp == 32 && bi.fb.type == 1);
	CHECK(bi.fb.red_pos == 16 && bi.fb.red_size == 8 && bi.fb.green_pos == 8);
	CHECK(bi.fb.green_size == 8 && bi.fb.blue_pos == 0 && bi.fb.blue_size == 8);
	CHECK(bi.efi_boot);
	CHECK(bi.has_rsdp && bi.rsdp_rev == 0 && bi.rsdp_len == 20);
	CHECK(memcmp(bi.rsdp, rsdp_v1, 20) == 0);
	/* the same bytes at odd alignment (UBSan would catch unaligned loads) */
	CHECK(parse_n(img_len, 3) == 0 && bi.nwarn == 0 && bi.mmap_count == 3);
	CHECK(bi.mmap[1].base == 1u << 20 && bi.fb.height == 768);
}

static void test_minimal(void)
{
	mb_begin();
	mb_end();
	CHECK(img_len == 16);
	CHECK(parse() == 0 && bi.nwarn == 0);
	CHECK(!bi.has_cmdline && !bi.has_fb && !bi.has_rsdp && !bi.efi_boot);
	CHECK(bi.mmap_count == 0 && bi.cmdline[0] == '\0' && bi.loader[0] == '\0');
}

static void test_fb_and_efi(void)
{
	mb_begin();
	mb_fb(0, 24 + 2);
	mb_tag(11, "\0\0\0\0", 4);
	mb_end();
	CHECK(parse() == 0);
	CHECK(bi.has_fb && bi.fb.type == 0 && bi.fb.width == 1024 && bi.fb.red_size == 0);
	CHECK(bi.nwarn == 1 && has_warn("indexed"));
	CHECK(bi.efi_boot);

	mb_begin();
	mb_fb(2, 24);
	mb_end();
	CHECK(parse() == 0 && bi.nwarn == 0 && bi.has_fb && bi.fb.type == 2);

	mb_begin();
	mb_fb(1, 24); /* RGB without its colour bytes */
	mb_end();
	CHECK(parse() == 0 && bi.has_fb && bi.nwarn == 1 && bi.fb.red_pos == 0);

	mb_begin();
	mb_fb(1, 20); /* not even the common part */
	mb_end();
	CHECK(parse() == 0 && !bi.has_fb && bi.nwarn == 1);
}

static void test_rsdp(void)
{
	mb_begin();
	mb_tag(14, rsdp_v1, 20);
	mb_tag(15, rsdp_v2, 36);
	mb_end();
	CHECK(parse() == 0 && bi.nwarn == 0);
	CHECK(bi.has_rsdp && bi.rsdp_rev == 2 && bi.rsdp_len == 36);
	CHECK(memcmp(bi.rsdp, rsdp_v2, 36) == 0);

	mb_begin();
	mb_tag(15, rsdp_v2, 36);
	mb_tag(14, rsdp_v1, 20);
	mb_end();
	CHECK(parse() == 0 && bi.nwarn == 0);
	CHECK(bi.has_rsdp && bi.rsdp_rev == 2 && bi.rsdp_len == 36);
	CHECK(memcmp(bi.rsdp, rsdp_v2, 36) == 0);

	uint8_t longer[40] = { 0 };
	memcpy(longer, rsdp_v2, 36);
	mb_begin();
	mb_tag(15, longer, sizeof(longer)); /* longer than 36: only 36 kept */
	mb_end();
	CHECK(parse() == 0 && bi.rsdp_len == 36 && bi.nwarn == 0 && bi.rsdp_rev == 2);

	mb_begin();
	mb_tag(15, rsdp_v2, 20); /* a v2 tag holding only the v1 part */
	mb_tag(14, rsdp_v1, 20);
	mb_end();
	CHECK(parse() == 0 && bi.rsdp_len == 20 && bi.nwarn == 0);
	CHECK(memcmp(bi.rsdp, rsdp_v2, 20) == 0);

	mb_begin();
	mb_tag(14, rsdp_v1, 12);
	mb_tag(15, rsdp_v2, 16);
	mb_end();
	CHECK(parse() == 0 && !bi.has_rsdp && bi.nwarn == 2);
}

static void test_mmap(void)
{
	mb_begin();
	mb_mmap(32, 4); /* bigger entries than we know: still fine */
	mb_end();
	CHECK(parse() == 0 && bi.nwarn == 0 && bi.mmap_count == 4);
	CHECK(bi.mmap[3].base == 3u << 20 && bi.mmap[3].len == 4 * 4096 && bi.mmap[3].type == 4);

	static const uint32_t bad[] = { 0, 8, 16, 20, 28 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mb_begin();
		size_t off = mb_mmap(24, 2);
		put32(off + 8, bad[i]);
		mb_end();
		CHECK(parse() == 0 && bi.mmap_count == 0 && bi.nwarn == 1);
		CHECK(has_warn("entry_size"));
	}

	mb_begin();
	mb_mmap(24, 200);
	mb_end();
	CHECK(parse() == 0 && bi.mmap_count == BOOTINFO_MAX_MMAP && bi.nwarn == 1);
	CHECK(bi.mmap[127].base == 127ull << 20);

	mb_begin();
	mb_tag(6, "\x18\0\0\0", 4); /* too small to hold entry_version */
	mb_end();
	CHECK(parse() == 0 && bi.mmap_count == 0 && bi.nwarn == 1);
}

static void test_strings(void)
{
	char big[1500];

	mb_begin();
	mb_tag(1, "seed=42 list", 12); /* no NUL inside the tag */
	mb_str(2, "after");
	mb_end();
	CHECK(parse() == 0 && bi.has_cmdline && bi.nwarn == 1);
	CHECK_STR(bi.cmdline, "seed=42 list");
	CHECK_STR(bi.loader, "after");
	CHECK(has_warn("NUL"));

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	mb_begin();
	mb_str(1, big);
	mb_str(2, big + 1400);
	mb_end();
	CHECK(parse() == 0 && bi.nwarn == 2);
	CHECK(strlen(bi.cmdline) == sizeof(bi.cmdline) - 1);
	CHECK(strlen(bi.loader) == sizeof(bi.loader) - 1);

	mb_begin();
	mb_tag(1, NULL, 0); /* empty, unterminated */
	mb_end();
	CHECK(parse() == 0 && bi.has_cmdline && bi.cmdline[0] == '\0' && bi.nwarn == 1);
}

/* ---- malformed structures ---- */

static void test_bad_tags(void)
{
	mb_begin();
	mb_str(2, "first");
	size_t off = mb_str(1, "never seen");
	put32(off + 4, 4); /* size < 8 */
	mb_end();
	CHECK(parse() == 0 && bi.nwarn == 1 && !bi.has_cmdline);
	CHECK_STR(bi.loader, "first");
	CHECK(has_warn("size 4"));

	mb_begin();
	mb_str(2, "first");
	off = mb_str(1, "never seen");
	mb_end();
	put32(off + 4, (uint32_t)(img_len - off + 1)); /* runs one byte past the end */
	CHECK(parse() == 0 && bi.nwarn == 1 && !bi.has_cmdline);
	CHECK(has_warn("runs past"));
	put32(off + 4, 0xfffffff8u);
	CHECK(parse() == 0 && bi.nwarn == 1 && !bi.has_cmdline);

	mb_begin();
	mb_str(2, "no end");
	put32(0, (uint32_t)img_len);
	CHECK(parse() == 0 && bi.nwarn == 1 && has_warn("end tag"));
	CHECK_STR(bi.loader, "no end");

	mb_begin();
	for (int i = 0; i < 10; i++)
		mb_tag(14, rsdp_v1, 4); /* ten small RSDP tags: ten warnings, eight kept */
	mb_end();
	CHECK(parse() == 0 && bi.nwarn == 10 && !bi.has_rsdp);
	CHECK(strstr(bi.warn[BOOTINFO_MAX_WARN - 1], "RSDP") != NULL);
}

static void test_bad_header(void)
{
	build_full();
	size_t len = img_len;

	CHECK(parse_n(7, 0) == -1);
	CHECK(parse_n(0, 0) == -1);
	put32(0, 4);
	CHECK(parse_n(len, 0) == -1);
	put32(0, 0);
	CHECK(parse_n(len, 0) == -1);

	put32(0, (uint32_t)len + 64); /* total_size larger than what we may read */
	CHECK(parse_n(len, 0) == 0 && bi.nwarn == 1 && has_warn("total_size"));
	CHECK(bi.mmap_count == 3 && bi.has_rsdp && bi.total_size == len + 64);

	put32(0, 12); /* < 16: walk what there is */
	CHECK(parse_n(len, 0) == 0 && bi.nwarn == 2 && !bi.has_cmdline);
	put32(0, 8);
	CHECK(parse_n(len, 0) == 0 && bi.nwarn == 2);
	put32(0, (uint32_t)len);
	CHECK(get32(0) == len);
}

/* Every prefix of a valid structure, and random corruption: no crash, no overread. */
static void test_robustness(void)
{
	int bad = 0;

	build_full();
	size_t len = img_len;
	for (size_t n = 0; n <= len; n++) {
		int r = parse_n(n, n & 7);
		if (r != (n < 8 ? -1 : 0) || (n >= 8 && n < len && bi.nwarn == 0))
			bad++;
	}
	CHECK(bad == 0);

	uint8_t orig[sizeof(img)];
	memcpy(orig, img, len);
	srand(12345);
	for (int iter = 0; iter < 20000; iter++) {
		memcpy(img, orig, len);
		for (int k = 0; k < 1 + iter % 4; k++)
			img[rand() % len] = (uint8_t)rand();
		parse_n(len, iter & 7);
		if (bi.mmap_count > BOOTINFO_MAX_MMAP)
			bad++;
		for (uint32_t i = 0; i < bi.nwarn && i < BOOTINFO_MAX_WARN; i++)
			bad += strnlen(bi.warn[i], sizeof(bi.warn[i])) == sizeof(bi.warn[i]);
		if (strnlen(bi.cmdline, sizeof(bi.cmdline)) == sizeof(bi.cmdline) ||
		    strnlen(bi.loader, sizeof(bi.loader)) == sizeof(bi.loader))
			bad++;
	}
	CHECK(bad == 0);
}

int main(void)
{
	make_rsdps();
	test_full();
	test_minimal();
	test_fb_and_efi();
	test_rsdp();
	test_mmap();
	test_strings();
	test_bad_tags();
	test_bad_header();
	test_robustness();
	return check_report("mb2");
}
