/*
 * Multiboot 1 header, for QEMU's own loader (`-kernel`, used by `make run-fast` with an ELF32
 * copy of the kernel). GRUB boots the ISO through the multiboot2 header; this one only has to
 * sit 4-byte aligned in the first 8 KiB of the file, which linker.ld ensures by placing
 * .multiboot1 right after .multiboot2 at the start of .text. No address fields (flag 16 clear):
 * the loader takes the load addresses and the entry point from the ELF headers.
 */
#define MB1_MAGIC 0x1badb002
#define MB1_PAGE_ALIGN (1 << 0)	/* modules on 4 KiB boundaries */
#define MB1_MEMORY_INFO (1 << 1)	/* mem_lower/mem_upper and the memory map */
#define MB1_FLAGS (MB1_PAGE_ALIGN | MB1_MEMORY_INFO)

	.section .multiboot1, "a"
	.balign 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
