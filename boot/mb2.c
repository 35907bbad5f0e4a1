/* Multiboot2 information parser: walks the tags defensively and fills struct bootinfo. */
#include "boot/bootinfo.h"
#include "lib/bytes.h"
#include "lib/lib.h"
#include "lib/printf.h"

enum {
	TAG_END = 0, TAG_CMDLINE = 1, TAG_LOADER = 2, TAG_MMAP = 6, TAG_FB = 8,
	TAG_EFI32 = 11, TAG_EFI64 = 12, TAG_ACPI_OLD = 14, TAG_ACPI_NEW = 15,
};

#define FB_COMMON_SIZE 32 /* tag header, addr, pitch, width, height, bpp, type, reserved */
#define FB_RGB_SIZE 38    /* plus red/green/blue position and size bytes */
#define MMAP_HDR_SIZE 16  /* tag header, entry_size, entry_version */
#define RSDP_V1_LEN 20

struct mb2_ctx {
	struct bootinfo *bi;
	bool rsdp_v2;     /* the RSDP came from tag 15: tag 14 must not replace it */
	bool mmap_capped; /* the "too many entries" warning was given */
};

#define warn(c, ...) bootinfo_warn((c)->bi, __VA_ARGS__)

/* Copies a string of at most n bytes into dst (cap bytes), always terminating it. */
static void copy_str(struct mb2_ctx *c, char *dst, size_t cap, const u8 *src, size_t n,
		     const char *what)
{
	size_t len = 0;

	while (len < n && src[len])
		len++;
	if (len == n)
		warn(c, "%s tag is not NUL-terminated", what);
	if (len >= cap) {
		warn(c, "%s truncated from %zu to %zu bytes", what, len, cap - 1);
		len = cap - 1;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void add_range(struct mb2_ctx *c, const u8 *e, u32 total)
{
	struct bootinfo *bi = c->bi;
	struct mem_range *r;

	if (bi->mmap_count >= BOOTINFO_MAX_MMAP) {
		if (!c->mmap_capped)
			warn(c, "memory map has %u entries, keeping %u", total, BOOTINFO_MAX_MMAP);
		c->mmap_capped = true;
		return;
	}
	r = &bi->mmap[bi->mmap_count++];
	r->base = le64(e);
	r->len = le64(e + 8);
	r->type = le32(e + 16);
}

static void parse_mmap(struct mb2_ctx *c, const u8 *t, u32 size)
{
	u32 esize, count;

	if (size < MMAP_HDR_SIZE) {
		warn(c, "memory map tag too small (%u bytes)", size);
		return;
	}
	esize = le32(t + 8);
	if (esize < 24 || esize % 8) {
		warn(c, "memory map entry_size %u is invalid", esize);
		return;
	}
	count = (size - MMAP_HDR_SIZE) / esize;
	for (u32 i = 0; i < count; i++)
		add_range(c, t + MMAP_HDR_SIZE + (size_t)i * esize, count);
}

static void parse_fb(struct mb2_ctx *c, const u8 *t, u32 size)
{
	struct fb_info *fb = &c->bi->fb;

	if (size < FB_COMMON_SIZE) {
		warn(c, "framebuffer tag too small (%u bytes)", size);
		return;
	}
	memset(fb, 0, sizeof(*fb));
	fb->addr = le64(t + 8);
	fb->pitch = le32(t + 16);
	fb->width = le32(t + 20);
	fb->height = le32(t + 24);
	fb->bpp = t[28];
	fb->type = t[29];
	c->bi->has_fb = true;
	if (fb->type == 0)
		warn(c, "framebuffer is indexed colour (type 0)");
	if (fb->type != 1)
		return;
	if (size < FB_RGB_SIZE) {
		warn(c, "framebuffer tag too small for RGB fields (%u bytes)", size);
		return;
	}
	fb->red_pos = t[32];
	fb->red_size = t[33];
	fb->green_pos = t[34];
	fb->green_size = t[35];
	fb->blue_pos = t[36];
	fb->blue_size = t[37];
}

static void parse_rsdp(struct mb2_ctx *c, const u8 *t, u32 size, bool v2)
{
	struct bootinfo *bi = c->bi;
	u32 len = size - 8;

	if (len < RSDP_V1_LEN) {
		warn(c, "ACPI RSDP tag %u too small (%u bytes)", v2 ? 15u : 14u, size);
		return;
	}
	if (!v2 && c->rsdp_v2)
		return;
	if (len > sizeof(bi->rsdp))
		len = sizeof(bi->rsdp);
	if (!v2)
		len = RSDP_V1_LEN;
	memset(bi->rsdp, 0, sizeof(bi->rsdp));
	memcpy(bi->rsdp, t + 8, len);
	bi->rsdp_len = len;
	bi->rsdp_rev = v2 ? bi->rsdp[15] : 0;
	bi->has_rsdp = true;
	c->rsdp_v2 = v2;
}

static void parse_tag(struct mb2_ctx *c, u32 type, const u8 *t, u32 size)
{
	struct bootinfo *bi = c->bi;

	switch (type) {
	case TAG_CMDLINE:
		copy_str(c, bi->cmdline, sizeof(bi->cmdline), t + 8, size - 8, "command line");
		bi->has_cmdline = true;
		break;
	case TAG_LOADER:
		copy_str(c, bi->loader, sizeof(bi->loader), t + 8, size - 8, "boot loader name");
		break;
	case TAG_MMAP: parse_mmap(c, t, size); break;
	case TAG_FB: parse_fb(c, t, size); break;
	case TAG_EFI32: case TAG_EFI64: bi->efi_boot = true; break;
	case TAG_ACPI_OLD: parse_rsdp(c, t, size, false); break;
	case TAG_ACPI_NEW: parse_rsdp(c, t, size, true); break;
	default: break; /* basic meminfo and everything else: not needed */
	}
}

/* Walks the tags in [8, limit); stops at the end tag or the first malformed one. */
static void walk_tags(struct mb2_ctx *c, const u8 *p, size_t limit)
{
	size_t off = 8;

	for (;;) {
		if (limit - off < 8) {
			if (off == limit)
				warn(c, "no end tag before byte %zu", limit);
			else
				warn(c, "tag header at offset %zu runs past byte %zu", off, limit);
			return;
		}
		u32 type = le32(p + off), size = le32(p + off + 4);
		if (size < 8) {
			warn(c, "tag type %u at offset %zu has size %u < 8", type, off, size);
			return;
		}
		if (size > limit - off) {
			warn(c, "tag type %u at offset %zu (size %u) runs past byte %zu", type, off,
			     size, limit);
			return;
		}
		if (type == TAG_END)
			return;
		parse_tag(c, type, p + off, size);
		off += ALIGN_UP((size_t)size, 8);
		if (off > limit)
			off = limit;
	}
}

int mb2_parse(const void *info, size_t avail, struct bootinfo *out)
{
	struct mb2_ctx c = { .bi = out };
	const u8 *p = info;
	size_t limit;

	memset(out, 0, sizeof(*out));
	if (avail < 8)
		return -1;
	out->total_size = le32(p);
	limit = out->total_size;
	if (limit < 16 || limit > avail) {
		limit = MIN(limit, avail);
		if (limit < 8)
			return -1;
		warn(&c, "total_size %u is bad (%zu bytes available), using %zu", out->total_size,
		     avail, limit);
	}
	walk_tags(&c, p, limit);
	return 0;
}
