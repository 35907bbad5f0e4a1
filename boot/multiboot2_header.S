/* Multiboot2 header: asks GRUB for a linear framebuffer and page-aligned modules. */
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH_I386 0

	.section .multiboot2, "a"
	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

	/* framebuffer tag (type 5, optional flag set): any size, 32 bpp preferred */
	.balign 8
	.short 5
	.short 1
	.long 20
	.long 0		/* width: no preference */
	.long 0		/* height: no preference */
	.long 32	/* depth */

	/* module alignment tag (type 6) */
	.balign 8
	.short 6
	.short 0
	.long 8

	/* end tag */
	.balign 8
	.short 0
	.short 0
	.long 8
mb2_header_end:
