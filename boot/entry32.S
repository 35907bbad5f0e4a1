/*
 * 32-bit entry from GRUB (multiboot2), QEMU -kernel (Multiboot 1) and from the AP trampoline:
 * checks the magic, builds the boot identity map (0-4 GiB in 2 MiB pages), enables long mode and
 * jumps to 64-bit C.
 */
#include "boot/segments.h"

#define CR0_PE (1 << 0)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define MSR_EFER 0xc0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)
#define COM1 0x3f8

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	cld
	movl $boot_stack_top, %esp
	movl %eax, mb2_magic
	movl %ebx, mb2_info
	rdtsc
	movl %eax, boot_tsc
	movl %edx, boot_tsc + 4

	cmpl $0x36d76289, mb2_magic	/* multiboot2 (GRUB) */
	je 1f
	cmpl $0x2badb002, mb2_magic	/* Multiboot 1 (QEMU -kernel) */
	je 1f
	movl $msg_magic, %esi
	jmp fatal32
1:
	/* long mode available? CPUID 0x80000001 EDX bit 29 */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb no_lm
	movl $0x80000001, %eax
	cpuid
	btl $29, %edx
	jnc no_lm
	btl $20, %edx			/* NX: remember for EFER */
	jnc 2f
	movl $1, cpu_has_nx
2:
	call build_boot_map
	movl $boot_pml4, boot_cr3
	jmp enter_long_mode

no_lm:
	movl $msg_nolm, %esi
	jmp fatal32

/* Identity map 0-4 GiB with 2 MiB pages: PML4[0] -> PDPT[0..3] -> 4 page directories. */
build_boot_map:
	movl $boot_pd, %edi
	xorl %ecx, %ecx
3:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax			/* present, writable, 2 MiB */
	movl %eax, (%edi, %ecx, 8)
	movl %ecx, %eax
	shrl $11, %eax			/* high bits of (ecx << 21) */
	movl %eax, 4(%edi, %ecx, 8)
	incl %ecx
	cmpl $2048, %ecx
	jb 3b
	movl $boot_pdpt, %edi
	xorl %ecx, %ecx
4:	movl %ecx, %eax
	shll $12, %eax
	addl $boot_pd + 3, %eax
	movl %eax, (%edi, %ecx, 8)
	incl %ecx
	cmpl $4, %ecx
	jb 4b
	movl $boot_pdpt + 3, boot_pml4
	ret

/* Shared by the BSP and every AP: CR3 from boot_cr3, then far jump to 64-bit code. */
	.globl enter_long_mode
enter_long_mode:
	lgdt boot_gdtr
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl boot_cr3, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	cmpl $0, cpu_has_nx
	je 5f
	orl $EFER_NXE, %eax
5:	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_PE | CR0_WP), %eax
	movl %eax, %cr0
	ljmp $SEG_KCODE, $entry64

/* AP path: the real-mode trampoline jumps here with protected mode on and SEG_KCODE32 in CS. */
	.globl ap_entry32
ap_entry32:
	movw $SEG_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $1, ap_flag_scratch	/* only to touch memory: APs have no stack yet */
	jmp enter_long_mode

/* Print the string at %esi on COM1 (polled, bounded) and halt forever. */
fatal32:
	movw $COM1 + 5, %dx
6:	movb (%esi), %bl
	testb %bl, %bl
	jz 8f
	movl $100000, %ecx
7:	inb %dx, %al
	testb $0x20, %al
	jnz 9f
	loop 7b
9:	movw $COM1, %dx
	movb %bl, %al
	outb %al, %dx
	movw $COM1 + 5, %dx
	incl %esi
	jmp 6b
8:	cli
	hlt
	jmp 8b

	.code64
entry64:
	movw $SEG_KDATA, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorl %eax, %eax
	movw %ax, %fs
	movw %ax, %gs
	cmpl $0, ap_flag_scratch
	jne ap_entry64
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl mb2_info, %edi
	movl mb2_magic, %esi
	call kmain
10:	cli
	hlt
	jmp 10b

/*
 * An AP finds its stack and CPU structure by its APIC ID in ap_boot_table (filled by the BSP
 * before it sends the SIPIs). x2APIC ID from CPUID 0xB when that leaf exists, else CPUID 1.
 */
ap_entry64:
	xorl %eax, %eax
	cpuid
	cmpl $0xb, %eax
	jb 11f
	movl $0xb, %eax
	xorl %ecx, %ecx
	cpuid
	testl %ebx, %ebx
	jz 11f
	movl %edx, %r8d
	jmp 12f
11:	movl $1, %eax
	cpuid
	shrl $24, %ebx
	movl %ebx, %r8d
12:	movq $ap_boot_table, %rsi
	movl ap_boot_count, %ecx
13:	testl %ecx, %ecx
	jz 14f
	cmpl (%rsi), %r8d
	je 15f
	addq $24, %rsi
	decl %ecx
	jmp 13b
14:	cli				/* not ours to start: park */
	hlt
	jmp 14b
15:	movq 8(%rsi), %rsp
	movq 16(%rsi), %rdi
	xorl %ebp, %ebp
	call ap_main
	jmp 14b

	.section .rodata
msg_magic:
	.asciz "racebed: not booted by a multiboot2 or Multiboot 1 loader (bad magic in EAX); halting.\r\n"
msg_nolm:
	.asciz "racebed: this CPU has no long mode (64-bit); halting.\r\n"

	.data
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00209a0000000000	/* SEG_KCODE: 64-bit code */
	.quad 0x00cf92000000ffff	/* SEG_KDATA: flat data */
	.quad 0x00cf9a000000ffff	/* SEG_KCODE32: flat 32-bit code (AP trampoline) */
boot_gdt_end:
	.globl boot_gdtr
boot_gdtr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt
	.globl boot_cr3, mb2_magic, mb2_info, boot_tsc, cpu_has_nx, ap_flag_scratch
boot_cr3:	.long 0
mb2_magic:	.long 0
mb2_info:	.long 0
cpu_has_nx:	.long 0
ap_flag_scratch: .long 0
	.balign 8
boot_tsc:	.quad 0

	.bss
	.balign 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096 * 4
	.balign 16
boot_stack:	.skip 16384
	.globl boot_stack_top
boot_stack_top:
