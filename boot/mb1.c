/*
 * Multiboot 1 information parser (QEMU's -kernel loader): reads the fixed-layout structure and,
 * through a mapping callback, the command line, memory map and boot loader name it points to.
 * Fills struct bootinfo like mb2.c does for multiboot2.
 */
#include "boot/bootinfo.h"
#include "lib/bytes.h"
#include "lib/lib.h"
#include "lib/printf.h"

/* flags bits for the fields we use */
#define F_CMDLINE (1u << 2)
#define F_MMAP (1u << 6)
#define F_LOADER (1u << 9)
#define F_FB (1u << 12)

/* byte offsets in the information structure */
enum {
	OFF_FLAGS = 0,
	OFF_CMDLINE = 16,
	OFF_MMAP_LENGTH = 44,
	OFF_MMAP_ADDR = 48,
	OFF_LOADER = 64,
	OFF_FB_ADDR = 88,
	OFF_FB_PITCH = 96,
	OFF_FB_WIDTH = 100,
	OFF_FB_HEIGHT = 104,
	OFF_FB_BPP = 108,
	OFF_FB_TYPE = 109,
	OFF_FB_COLOR = 110, /* type 1: red pos/size, green pos/size, blue pos/size */
};

/* A memory map entry after its size field: base (8), length (8), type (4). */
#define MMAP_ENTRY_MIN 20

struct mb1_ctx {
	struct bootinfo *bi;
	const u8 *info;
	size_t avail;
	bootinfo_map_fn map;
};

#define warn(c, ...) bootinfo_warn((c)->bi, __VA_ARGS__)

/* True when the first end bytes of the structure may be read; else warns about what. */
static bool readable(struct mb1_ctx *c, size_t end, const char *what)
{
	if (end <= c->avail)
		return true;
	warn(c, "flags announce %s but only %zu bytes of information are readable", what,
	     c->avail);
	return false;
}

/*
 * Copies the NUL-terminated string at physical pa into dst (cap bytes, always terminated),
 * mapping one byte at a time so that nothing past the first unmapped byte is touched. Returns
 * false when not even the first byte is mapped.
 */
static bool copy_phys_str(struct mb1_ctx *c, char *dst, size_t cap, u32 pa, const char *what)
{
	size_t len = 0;

	for (;;) {
		const u8 *b = c->map((u64)pa + len, 1);

		if (!b) {
			if (len == 0) {
				warn(c, "%s at 0x%x is not mapped", what, pa);
				dst[0] = '\0';
				return false;
			}
			warn(c, "%s at 0x%x has no NUL before unmapped byte %zu", what, pa, len);
			break;
		}
		if (*b == '\0')
			break;
		if (len == cap - 1) {
			warn(c, "%s at 0x%x is longer than %zu bytes, truncated", what, pa, cap - 1);
			break;
		}
		dst[len++] = (char)*b;
	}
	dst[len] = '\0';
	return true;
}

/*
 * Loaders put the kernel image's path first on a Multiboot 1 command line. A racebed word never
 * contains '/' or '.' without '=', so a first word like that is the path and is dropped.
 */
static void drop_image_path(char *s)
{
	size_t n = 0;
	bool path = false;

	while (s[n] && s[n] != ' ' && s[n] != '\t') {
		if (s[n] == '=')
			return;
		if (s[n] == '/' || s[n] == '.')
			path = true;
		n++;
	}
	if (!path)
		return;
	while (s[n] == ' ' || s[n] == '\t')
		n++;
	memmove(s, s + n, strlen(s + n) + 1);
}

static void parse_mmap(struct mb1_ctx *c, u32 addr, u32 length)
{
	struct bootinfo *bi = c->bi;
	const u8 *m;
	u32 off = 0;

	if (length == 0) {
		warn(c, "flags announce a memory map but mmap_length is 0");
		return;
	}
	m = c->map(addr, length);
	if (!m) {
		warn(c, "memory map at 0x%x (%u bytes) is not mapped", addr, length);
		return;
	}
	while (off < length) {
		u32 left = length - off, size;

		if (left < 4) {
			warn(c, "memory map ends in %u stray bytes at offset %u", left, off);
			return;
		}
		size = le32(m + off);
		if (size < MMAP_ENTRY_MIN) {
			warn(c, "memory map entry at offset %u has size %u < %u", off, size,
			     MMAP_ENTRY_MIN);
			return;
		}
		if (size > left - 4) {
			warn(c, "memory map entry at offset %u (size %u) runs past mmap_length %u",
			     off, size, length);
			return;
		}
		if (bi->mmap_count == BOOTINFO_MAX_MMAP) {
			warn(c, "memory map has more than %u entries, keeping the first %u",
			     BOOTINFO_MAX_MMAP, BOOTINFO_MAX_MMAP);
			return;
		}
		struct mem_range *r = &bi->mmap[bi->mmap_count++];
		r->base = le64(m + off + 4);
		r->len = le64(m + off + 12);
		r->type = le32(m + off + 20);
		off += 4 + size; /* size <= left - 4: stays <= length */
	}
}

static void parse_fb(struct mb1_ctx *c)
{
	struct fb_info *fb = &c->bi->fb;
	const u8 *p = c->info;

	if (!readable(c, OFF_FB_COLOR, "a framebuffer"))
		return;
	memset(fb, 0, sizeof(*fb));
	fb->addr = le64(p + OFF_FB_ADDR);
	fb->pitch = le32(p + OFF_FB_PITCH);
	fb->width = le32(p + OFF_FB_WIDTH);
	fb->height = le32(p + OFF_FB_HEIGHT);
	fb->bpp = p[OFF_FB_BPP];
	fb->type = p[OFF_FB_TYPE];
	c->bi->has_fb = true;
	if (fb->type == 0)
		warn(c, "framebuffer is indexed colour (type 0)");
	if (fb->type != 1 || !readable(c, OFF_FB_COLOR + 6, "RGB framebuffer fields"))
		return;
	fb->red_pos = p[OFF_FB_COLOR];
	fb->red_size = p[OFF_FB_COLOR + 1];
	fb->green_pos = p[OFF_FB_COLOR + 2];
	fb->green_size = p[OFF_FB_COLOR + 3];
	fb->blue_pos = p[OFF_FB_COLOR + 4];
	fb->blue_size = p[OFF_FB_COLOR + 5];
}

int mb1_parse(const void *info, size_t avail, bootinfo_map_fn map, struct bootinfo *out)
{
	struct mb1_ctx c = { .bi = out, .info = info, .avail = avail, .map = map };
	const u8 *p = info;
	u32 flags;

	memset(out, 0, sizeof(*out));
	if (!info || avail < 4)
		return -1;
	flags = le32(p + OFF_FLAGS);
	if ((flags & F_CMDLINE) && readable(&c, OFF_CMDLINE + 4, "a command line")) {
		out->has_cmdline = copy_phys_str(&c, out->cmdline, sizeof(out->cmdline),
						 le32(p + OFF_CMDLINE), "command line");
		drop_image_path(out->cmdline);
	}
	if ((flags & F_MMAP) && readable(&c, OFF_MMAP_ADDR + 4, "a memory map"))
		parse_mmap(&c, le32(p + OFF_MMAP_ADDR), le32(p + OFF_MMAP_LENGTH));
	if ((flags & F_LOADER) && readable(&c, OFF_LOADER + 4, "a boot loader name"))
		copy_phys_str(&c, out->loader, sizeof(out->loader), le32(p + OFF_LOADER),
			      "boot loader name");
	if (flags & F_FB)
		parse_fb(&c);
	return 0;
}
